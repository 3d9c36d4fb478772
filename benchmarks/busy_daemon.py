"""The README's test command on a busy Docker engine: runs `python -m pytest -q` `--runs` times
in a row while another process builds and removes images (and starts and removes containers)
on the same daemon, as a second user or a CI job beside this one would. Prints each run's
result and time, and how many images the other process built and removed; exits 1 if any run
failed.

    python benchmarks/busy_daemon.py [--runs 3] [-- PYTEST ARGS]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _churn(stop, counts) -> None:
    """Build an image from a container of the base image, list the images, remove it; again."""
    import docker

    client = docker.from_env()
    base = next((t for i in client.api.images(name="supercoder-base") for t in i.get("RepoTags") or []), None)
    if base is None:
        return
    n = 0
    while not stop.is_set():
        n += 1
        try:
            container = client.api.create_container(base, ["true"], labels={"supercoder.busy": "1"})
            image = client.api.commit(container["Id"], repository="supercoder-busy", tag=str(n))["Id"]
            client.api.remove_container(container["Id"], force=True)
            client.api.images()
            client.api.remove_image(image, force=True)
            counts[0] += 1
        except docker.errors.APIError:
            counts[1] += 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("pytest_args", nargs="*")
    args = ap.parse_args()
    stop, counts = multiprocessing.Event(), multiprocessing.Array("i", [0, 0])
    churner = multiprocessing.Process(target=_churn, args=(stop, counts))
    churner.start()
    runs = []
    try:
        for n in range(1, args.runs + 1):
            t0 = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.pytest_args], cwd=ROOT,
                                  capture_output=True, text=True)
            summary = (done.stdout.strip().splitlines() or [""])[-1]
            runs.append({"run": n, "exit": done.returncode, "summary": summary, "s": round(time.monotonic() - t0)})
            print(f"[{n}/{args.runs}] exit {done.returncode}: {summary}", file=sys.stderr)
            if done.returncode:
                print(done.stdout[-5000:], file=sys.stderr)
    finally:
        stop.set()
        churner.join()
    print(json.dumps({"runs": runs, "images_built_and_removed_meanwhile": counts[0], "engine_errors_meanwhile": counts[1]},
                     indent=2))
    return 0 if all(r["exit"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())

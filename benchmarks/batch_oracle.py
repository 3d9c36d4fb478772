"""`supercoder swebench run` over SWE-bench instances with a scripted model (the oracle of
oracle_pipeline.py, answering each instance from its gold patch), as a user runs it: a
subprocess, with workers. Measures:

- resume: `--kills N` kills the batch (kill -9, the driver and its workers) at random moments
  N times, checking after each that preds.jsonl has no partial line and no duplicate, then lets
  it finish: it must end with exactly one line per instance;
- scheduling: a clean run's wall time against the slowest worker's share (the sum of the
  instance times that worker ran); target: under 1.3x.

    python benchmarks/batch_oracle.py --dataset ../shared/swebench-lite/dev.jsonl --repo-cache CLONES \\
        --output /tmp/batch [--workers 2] [--kills 5] [--instances ID ...]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the oracle
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the fake OpenAI server
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the source tree first: tests/ has folders named like its packages
from fakes.openai_server import FakeOpenAIServer  # noqa: E402
from oracle_pipeline import Oracle, gold_edits  # noqa: E402

from agent.batch.multiswe import swebench_rows  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from sandbox.instances import clone_for  # noqa: E402


class Router:
    """One oracle per instance, chosen by the issue text the prompt quotes."""

    def __init__(self, rows: list[dict], cache: Path):
        settings = load_settings(None, [])
        self.oracles: list[tuple[str, Oracle]] = []
        for row in rows:
            clone = clone_for(cache, row["repo"], settings.sandbox)
            edits, added, spans, _ = gold_edits(clone, row["base_commit"], row["patch"])
            key = row["problem_statement"].strip()[:400]
            self.oracles.append((key, Oracle(edits, added, spans)))

    def __call__(self, body: dict) -> str:
        text = "\n".join(str(m.get("content", "")) for m in body["messages"])
        for key, oracle in self.oracles:
            if key in text:
                return oracle(body)
        return "I cannot answer that."


def lines(preds: Path) -> list[dict]:
    if not preds.exists():
        return []
    return [json.loads(line) for line in preds.read_text().splitlines()]  # a partial line would raise here


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--repo-cache", required=True)
    ap.add_argument("--output", required=True, help="a scratch folder (emptied first)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kills", type=int, default=0)
    ap.add_argument("--instances", nargs="*")
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()]
    if args.instances:
        rows = [r for r in rows if r["instance_id"] in args.instances]
    out = Path(args.output)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    dataset = out / "dataset.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rng = random.Random(args.seed)
    report: dict = {"instances": len(rows), "workers": args.workers}
    with FakeOpenAIServer() as server:
        server.responder = Router(swebench_rows(rows), Path(args.repo_cache))
        sets = ["llm.model=oracle", f"llm.base_url={server.base_url}", "llm.cache=false",
                'llm.prices={"oracle": {"input_per_mtok": 0, "output_per_mtok": 0}}', "editing.temperatures=[0.0]",
                "editing.samples_per_temperature=1", "repair.rounds=1", "repair.reproduction_test=false",
                "repair.related_tests=false", "sandbox.backend=docker"]

        def command(folder: Path) -> list[str]:
            return [sys.executable, "-c", "from agent.cli import main; main()", "swebench", "run", "--dataset", str(dataset),
                    "--repo-cache", args.repo_cache, "--output", str(folder), "--workers", str(args.workers),
                    *[a for s in sets for a in ("--set", s)]]

        if args.kills:
            folder, kills = out / "killed", []
            for _ in range(args.kills):
                proc = subprocess.Popen(command(folder), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        start_new_session=True)
                wait = rng.uniform(3.0, 40.0)
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                ids = [p["instance_id"] for p in lines(folder / "preds.jsonl")]
                assert len(ids) == len(set(ids)), "a duplicate line"
                kills.append({"after_s": round(wait, 1), "lines": len(ids)})
                print(f"kill after {wait:.1f} s: {len(ids)} line(s)", file=sys.stderr)
            done = subprocess.run(command(folder), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            ids = [p["instance_id"] for p in lines(folder / "preds.jsonl")]
            report["resume"] = {"kills": kills, "exit": done.returncode, "lines": len(ids),
                                "one_line_per_instance": sorted(ids) == sorted(r["instance_id"] for r in rows)}
        folder = out / "clean"
        start = time.monotonic()
        done = subprocess.run(command(folder), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wall = time.monotonic() - start
    results = [json.loads((folder / r["instance_id"] / "result.json").read_text())
               for r in rows if (folder / r["instance_id"] / "result.json").exists()]
    shares: dict[str, float] = {}
    for r in results:
        shares[r["worker"]] = shares.get(r["worker"], 0.0) + r["duration_s"]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    report["clean"] = {"exit": done.returncode, "finished": len(results), "lost": len(rows) - len(results),
                       "wall_s": round(wall, 1), "worker_shares_s": {k: round(v, 1) for k, v in shares.items()},
                       "wall_over_slowest_share": round(wall / max(shares.values()), 3) if shares else None,
                       "statuses": statuses}
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

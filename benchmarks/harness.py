"""The sandbox against SWE-bench's own verdicts, in Docker.

    python benchmarks/harness.py --dataset ../shared/swebench-lite/dev.jsonl --repo-cache CLONES [--instances ID ...]
    python benchmarks/harness.py --dataset ../shared/multi-swe-js/dev.jsonl --repo-cache CLONES

Multi-SWE-bench rows are read as SWE-bench's (their f2p, s2p and n2p tests must pass, their
p2p tests keep passing); their environment is the one derived from the package's own files.

For each instance it builds (or reuses) the layered images, then validates the gold patch and
no patch. An instance behaves as SWE-bench says when gold resolves and no patch leaves some
FAIL_TO_PASS test failing. Printed: that count with every exception and its reason, image
build times (cold: the layers built by this run; reused: a second request for the same image),
and the overhead per candidate (container start, patch, one trivial command, removal) apart
from the tests' own time. --details writes one JSON line per instance.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

# This script's folder is not a package: keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from agent.batch.multiswe import swebench_rows  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from sandbox.base import SandboxError, terminate_as_interrupt  # noqa: E402
from sandbox.docker_backend import DockerSandbox  # noqa: E402
from sandbox.docker_engine import docker_client  # noqa: E402
from sandbox.instances import ensure_instance, validate  # noqa: E402


def overhead(image: str, patch: str, cfg, client) -> float:
    t0 = time.monotonic()
    with DockerSandbox(image, cfg, client=client) as sb:
        sb.apply_diff(patch)
        sb.run("true")
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--repo-cache", required=True)
    ap.add_argument("--instances", nargs="*")
    ap.add_argument("--set", action="append", default=[], help="dotted override, as on the CLI")
    ap.add_argument("--details", help="write per-instance results as JSONL here")
    args = ap.parse_args()
    terminate_as_interrupt()  # a killed run removes its containers
    cfg = load_settings(None, args.set).sandbox
    client = docker_client()
    rows = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()]
    rows = swebench_rows(rows)
    if args.instances:
        rows = [r for r in rows if r["instance_id"] in args.instances]
    cache = Path(args.repo_cache)
    records, builds, reuses, overheads = [], [], [], []
    for n, row in enumerate(rows, 1):
        rec: dict = {"instance_id": row["instance_id"]}
        try:
            t0 = time.monotonic()
            image = ensure_instance(row, cache, cfg, client=client, progress=lambda m: print(f"  {m}", file=sys.stderr))
            rec["build_s"] = round(time.monotonic() - t0, 1)
            t0 = time.monotonic()
            ensure_instance(row, cache, cfg, client=client)
            reuses.append(time.monotonic() - t0)
            if rec["build_s"] > 5:
                builds.append(rec["build_s"])
            overheads.append(overhead(image, row["patch"], cfg, client))
        except SandboxError as exc:
            rec["error"] = str(exc)
        if "error" not in rec:
            gold = validate(row, cache, cfg, row["patch"], client=client)
            none = validate(row, cache, cfg, None, client=client)
            rec.update(gold_resolved=gold.resolved, none_resolved=none.resolved, gold_error=gold.error, none_error=none.error,
                       gold_s=gold.duration_s, none_s=none.duration_s,
                       gold_f2p_failed=gold.fail_to_pass.failed[:5], gold_p2p_failed=gold.pass_to_pass.failed[:5])
            rec["as_swebench"] = gold.resolved and not none.resolved and bool(none.fail_to_pass.failed)
        records.append(rec)
        if args.details:  # after each instance, so a long run that dies keeps what it measured
            Path(args.details).write_text("".join(json.dumps(r) + "\n" for r in records))
        print(f"[{n}/{len(rows)}] {row['instance_id']}: {'ok' if rec.get('as_swebench') else 'DIFFERS'}", file=sys.stderr)
    differs = [r for r in records if not r.get("as_swebench")]
    result = {
        "instances": len(records),
        "as_swebench": len(records) - len(differs),
        "differs": {r["instance_id"]: r.get("error") or r.get("gold_error") or r.get("none_error")
                    or ("gold not resolved: " + ", ".join(r.get("gold_f2p_failed", []) + r.get("gold_p2p_failed", []))
                        if not r.get("gold_resolved") else "no patch resolves too") for r in differs},
        "build_s_cold_median": round(statistics.median(builds), 1) if builds else None,
        "build_s_reused_max": round(max(reuses), 2) if reuses else None,
        "overhead_s_per_candidate_median": round(statistics.median(overheads), 2) if overheads else None,
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # Ctrl-C or SIGTERM: the sandboxes are closed on the way out
        print("interrupted", file=sys.stderr)
        sys.exit(130)

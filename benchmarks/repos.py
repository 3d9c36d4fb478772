"""Can SuperCoder run the tests of repositories it was not built against? `supercoder sandbox
test`, as a user runs it, on each repository of a list at its HEAD.

    python benchmarks/repos.py --repos repos.txt --repo-cache CLONES [--backend docker] [--details out.jsonl]

`repos.txt` holds one `owner/name` per line (`#` comments); each is read from CLONES/owner__name
(a clone, bare or not). Printed per repository: the stage reached (build: the environment did
not build; collect: the tests did not run; run), the counts, the time and, when it did not work,
why in one line. Then the share that work: the environment built, at least --min-tests tests
ran (skipped ones did not), and at least --min-pass of those passed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def works(report: dict, min_tests: int, min_pass: float) -> bool:
    counts = report.get("counts") or {}
    ran = sum(n for status, n in counts.items() if status != "skipped")  # a skipped test did not run
    return report.get("stage") == "run" and ran >= min_tests and counts.get("passed", 0) >= min_pass * ran


def one(repo: str, cache: Path, sets: list[str]) -> dict:
    clone = cache / repo.replace("/", "__")
    rec: dict = {"repo": repo}
    if not clone.exists():
        return {**rec, "stage": "clone", "problem": f"no clone at {clone}"}
    with tempfile.TemporaryDirectory(prefix="repos-") as tmp:
        tree = Path(tmp) / "tree"
        done = subprocess.run(["git", "clone", "-q", "--shared", str(clone), str(tree)], capture_output=True, text=True)
        if done.returncode != 0:
            return {**rec, "stage": "clone", "problem": done.stderr.strip()[-300:]}
        exe = ROOT / ".venv/bin/supercoder"
        cmd = [str(exe) if exe.exists() else "supercoder", "sandbox", "test", "--repo", str(tree), "--json",
               *[a for s in sets for a in ("--set", s)]]
        start = time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True)
        rec["s"] = round(time.monotonic() - start, 1)
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {**rec, "stage": "crashed", "problem": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    return {**rec, **{k: report.get(k) for k in ("stage", "counts", "problem", "failing")},
            "python": report.get("environment", {}).get("python")}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repos", required=True)
    ap.add_argument("--repo-cache", required=True)
    ap.add_argument("--backend", default="docker")
    ap.add_argument("--set", action="append", default=[], help="dotted override, as on the CLI")
    ap.add_argument("--min-tests", type=int, default=10)
    ap.add_argument("--min-pass", type=float, default=0.95)
    ap.add_argument("--details", help="write per-repository results as JSONL here")
    args = ap.parse_args()
    repos = [line.split("#")[0].strip() for line in Path(args.repos).read_text().splitlines()]
    repos = [r for r in repos if r]
    records = []
    for n, repo in enumerate(repos, 1):
        rec = one(repo, Path(args.repo_cache), [f"sandbox.backend={args.backend}", *args.set])
        rec["works"] = works(rec, args.min_tests, args.min_pass)
        records.append(rec)
        if args.details:
            Path(args.details).write_text("".join(json.dumps(r) + "\n" for r in records))
        counts = ", ".join(f"{v} {k}" for k, v in sorted((rec.get("counts") or {}).items()))
        why = "" if rec["works"] else f" -- {(rec.get('problem') or 'too few tests ran, or too many failed')[:200]}"
        print(f"[{n}/{len(repos)}] {repo}: {rec['stage']} (Python {rec.get('python')}) {counts} {rec.get('s', '-')} s"
              f"{' WORKS' if rec['works'] else ''}{why}", file=sys.stderr, flush=True)
    ok = sum(r["works"] for r in records)
    print(json.dumps({"repositories": len(records), "work": ok, "share_pct": round(100 * ok / len(records), 1) if records else None,
                      "by_stage": {s: sum(r["stage"] == s for r in records) for s in dict.fromkeys(r["stage"] for r in records)}},
                     indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)

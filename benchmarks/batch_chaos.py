"""`supercoder swebench run` against an endpoint on a bad day, as a user runs it (a subprocess,
workers, Docker): the model's answers come from the oracle of oracle_pipeline.py, but chat
requests are answered in rotation with garbage, prose, 429 with Retry-After, 500, truncated JSON,
a huge answer, code that does not parse, a dropped connection and an answer slower than
`llm.timeout_s`; every `--outage-every` seconds the endpoint goes away and comes back, for each of
`--outage-s` in turn (by default one the client's retries wait out, one they do not). With `--kills N` the batch is first killed (kill -9, driver and workers) N times at random
moments, and resumed each time.

Checks, printed as JSON (exit 1 if one fails): exactly one prediction line per instance (and no
partial or duplicate line after any kill), a status and a reason for each in exit_statuses.json,
no traceback on any run's stderr, an endpoint that stopped answering counted as `rate_limited` or
`infra_error` (never as the model's failure), and `--retry-errors` then finishing those once the
endpoint behaves.

    python benchmarks/batch_chaos.py --dataset ../shared/swebench-lite/dev.jsonl --repo-cache CLONES \\
        --output /tmp/chaos [--filter 'pytest-dev|pallets'] [--count 20] [--kills 3] [--kill-between 8 40] \\
        [--agent-tests] [--workers 2] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the oracle
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the fake OpenAI server
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the source tree first: tests/ has folders named like its packages
from batch_oracle import Router, lines  # noqa: E402
from fakes.openai_server import FakeOpenAIServer, Hostile  # noqa: E402

RETRYABLE = {"rate_limited", "infra_error"}
# What the client says when the endpoint stopped answering (retries ran out, or it was unreachable).
UNAVAILABLE = re.compile(r"attempt\(s\)|cannot reach|unavailable|Connection", re.I)


class Outages:
    """The endpoint goes away every `every` seconds, for each of `seconds` in turn, until stopped."""

    def __init__(self, server: FakeOpenAIServer, every: float, seconds: list[float]):
        self.server, self.every, self.seconds, self.count = server, every, seconds, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.every):
            self.server.outage(self.seconds[self.count % len(self.seconds)])
            self.count += 1

    def __enter__(self) -> "Outages":
        if self.every > 0:
            self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--repo-cache", required=True)
    ap.add_argument("--output", required=True, help="a scratch folder (emptied first)")
    ap.add_argument("--filter", default="pytest-dev|pallets", help="regex on instance ids")
    ap.add_argument("--count", type=int, default=20)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--kills", type=int, default=3)
    ap.add_argument("--kill-between", type=float, nargs=2, default=(8.0, 40.0), metavar=("MIN_S", "MAX_S"),
                    help="each kill comes this many seconds into its run, uniformly at random")
    ap.add_argument("--agent-tests", action="store_true", help="let the agent run the related tests in Docker (as a user's default)")
    ap.add_argument("--timeout-s", type=float, default=3.0, help="llm.timeout_s; slow answers take a second longer")
    ap.add_argument("--outage-every", type=float, default=45.0)
    ap.add_argument("--outage-s", type=float, nargs="+", default=[6.0, 25.0],
                    help="outage lengths, in turn; the retries' backoff spans 7.5-15 s")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()]
    rows = [r for r in rows if re.search(args.filter, r["instance_id"])][: args.count]
    ids = sorted(r["instance_id"] for r in rows)
    out = Path(args.output)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    dataset, folder = out / "dataset.jsonl", out / "run"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    rng = random.Random(args.seed)
    report: dict = {"instances": len(rows), "workers": args.workers}
    stderrs: list[str] = []
    with FakeOpenAIServer() as server:
        hostile = Hostile(Router(rows, Path(args.repo_cache)), kinds=["ok", "ok", *Hostile.KINDS], slow_s=args.timeout_s + 1)
        hostile.install(server)
        sets = ["llm.model=chaos", f"llm.base_url={server.base_url}", "llm.cache=false", f"llm.timeout_s={args.timeout_s}",
                "llm.max_retries=4", "llm.backoff_initial_s=1", "llm.backoff_max_s=8", "llm.retry_after_max_s=2",
                'llm.prices={"chaos": {"input_per_mtok": 0, "output_per_mtok": 0}}', "embeddings.provider=none",
                "editing.temperatures=[0.0]", "editing.samples_per_temperature=1", "editing.max_retries=1", "repair.rounds=1",
                "repair.reproduction_test=false", f"repair.related_tests={str(args.agent_tests).lower()}",
                f"repair.preflight={str(args.agent_tests).lower()}", "sandbox.backend=docker"]
        command = [sys.executable, "-c", "from agent.cli import main; main()", "swebench", "run", "--dataset", str(dataset),
                   "--repo-cache", args.repo_cache, "--output", str(folder), "--workers", str(args.workers),
                   *[a for s in sets for a in ("--set", s)]]

        def batch(*extra: str, kill_after: float | None = None) -> int | None:
            log = out / f"stderr-{len(stderrs) + 1}.txt"
            with open(log, "w") as err:
                proc = subprocess.Popen([*command, *extra], stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
                try:
                    code = proc.wait(timeout=kill_after)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    code = None
            stderrs.append(log.read_text(errors="replace"))
            return code

        start = time.monotonic()
        with Outages(server, args.outage_every, args.outage_s) as outages:
            kills = []
            for _ in range(args.kills):
                wait = rng.uniform(*args.kill_between)
                code = batch(kill_after=wait)
                found = [p["instance_id"] for p in lines(folder / "preds.jsonl")]  # a partial line would raise here
                kills.append({"after_s": round(wait, 1), "killed": code is None, "lines": len(found),
                              "duplicates": len(found) - len(set(found))})
                print(f"kill -9 after {wait:.1f} s: {len(found)} line(s)", file=sys.stderr)
            first, refused = batch(), 0
            while first == 2 and "cannot reach the model endpoint" in stderrs[-1] and refused < 3:
                refused += 1  # it started during an outage and said so: a user tries again a little later
                time.sleep(max(args.outage_s))
                first = batch()
        report["chaos"] = {"kills": kills, "exit": first, "refused_to_start": refused, "wall_s": round(time.monotonic() - start, 1), "outages": outages.count,
                           "answers_by_kind": dict(sorted(hostile.counts.items()))}
        statuses = json.loads((folder / "exit_statuses.json").read_text())["instances"]
        preds = [p["instance_id"] for p in lines(folder / "preds.jsonl")]
        blamed = [i for i, s in statuses.items() if s["status"] not in RETRYABLE and s["status"] != "resolved_by_own_tests"
                  and UNAVAILABLE.search(s.get("reason") or "")]
        report["chaos"].update(
            one_line_per_instance=sorted(preds) == ids, statuses=_count(statuses),
            every_instance_has_status_and_reason=sorted(statuses) == ids and all(s.get("status") and s.get("reason") for s in statuses.values()),
            unavailable_blamed_on_the_model=blamed)
        hostile.kinds = ["ok"]  # the endpoint behaves again
        retry = batch("--retry-errors")
        statuses = json.loads((folder / "exit_statuses.json").read_text())["instances"]
        report["retry_errors"] = {"exit": retry, "statuses": _count(statuses),
                                  "still_retryable": sorted(i for i, s in statuses.items() if s["status"] in RETRYABLE)}
    report["tracebacks"] = sum(text.count("Traceback") for text in stderrs)
    report["sandbox_containers_left"] = _containers_left()
    checks = (all(k["duplicates"] == 0 for k in report["chaos"]["kills"]) and report["chaos"]["one_line_per_instance"]
              and report["chaos"]["every_instance_has_status_and_reason"] and not report["chaos"]["unavailable_blamed_on_the_model"]
              and not report["retry_errors"]["still_retryable"] and report["tracebacks"] == 0)
    report["ok"] = checks
    print(json.dumps(report, indent=2))
    return 0 if checks else 1


def _containers_left() -> int | None:
    """Sandbox containers still on the engine (a kill -9 leaves its run's; `sandbox prune` removes them)."""
    try:
        import docker

        from sandbox.docker_engine import LABEL
        return len(docker.from_env().containers.list(all=True, filters={"label": LABEL}))
    except Exception:  # no engine: nothing to count
        return None


def _count(statuses: dict[str, dict]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for s in statuses.values():
        counts[s["status"]] = counts.get(s["status"], 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)

"""The whole repair pipeline on SWE-bench instances with an oracle for a model: how much do
localization, editing and validation leave of a perfect model?

    python benchmarks/oracle_pipeline.py --dataset ../shared/swebench-lite/dev.jsonl --repo-cache CLONES [--instances ID ...]
    python benchmarks/oracle_pipeline.py --dataset ../shared/multi-swe-js/dev.jsonl --repo-cache CLONES \
        --harness-details HARNESS.jsonl   (Multi-SWE-bench rows, read as SWE-bench's)

The oracle knows the gold patch but answers only from what it is shown (the formats are those
of docs/prompts.md): in localization it picks the gold files and units among those offered (a
search/replace edit's lines as a `<module>:A-B` span); in generation it returns the gold
post-image of the units and statements in its prompt (and of units the gold patch adds to files
in its prompt), and the gold search/replace edits whose search lines the prompt shows; it writes
no reproduction test. The pipeline runs as
`supercoder repair` does, in the instance's Docker image; then the sandbox grades the patch
with FAIL_TO_PASS and PASS_TO_PASS. Printed: resolved among the instances whose gold patch
validates, where the misses come from (not expressible as unit edits, not located, no patch,
tests), and the agent's own overhead: its wall time less model calls and test runs.
--details writes one JSON line per instance.

The oracle gives one candidate in one round, so the agent's own tests cannot change the patch
it returns; they are skipped unless --agent-tests is given (they cost minutes per instance).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This script's folder is not a package: keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))  # the fake OpenAI server
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the source tree first: tests/ has folders named like its packages

from fakes.openai_server import FakeOpenAIServer  # noqa: E402
from unidiff import PatchSet  # noqa: E402

from agent.batch.multiswe import swebench_rows  # noqa: E402
from agent.batch.solve import Instance  # noqa: E402
from agent.pipeline import RepairRequest  # noqa: E402
from agent.repair import run  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from editing.oracle import derive  # noqa: E402
from editing.replace import bare_lines, exact_positions  # noqa: E402
from sandbox.base import git, terminate_as_interrupt  # noqa: E402
from sandbox.instances import clone_for, validate  # noqa: E402


class Oracle:
    """Answers each stage's prompt from the gold edits, as far as the prompt shows them."""

    def __init__(self, edits: list, added: set[tuple[str, str]], spans: dict[int, str]):
        self.units = {(e.path, e.unit): e.code for e in edits if e.unit}
        self.replaces = [e for e in edits if e.search is not None]
        self.files = list(dict.fromkeys(e.path for e in edits))
        self.added = added
        self.spans = spans  # index in self.replaces -> "path::<module>:A-B", where its search text sits

    def _names(self, prompt: str) -> list[str]:
        # A unit the gold patch adds cannot be named (it does not exist yet): name the class it goes in.
        named = [(p, u.rpartition(".")[0] if (p, u) in self.added else u) for (p, u) in self.units]
        names = [f"{p}::{u}" for (p, u) in named if p in prompt and u and u not in ("<imports>", "<file>", "<delete>")]
        names += [span for span in self.spans.values() if span.split("::")[0] in prompt]
        return list(dict.fromkeys(names))

    def __call__(self, body: dict) -> str:
        prompt = body["messages"][-1]["content"]
        if "Which files most likely need to be edited" in prompt or "Which of these files need to be edited" in prompt:
            shown = _tree_paths(prompt)
            return "```json\n" + json.dumps({"files": [f for f in self.files if f in prompt or f in shown]}) + "\n```"
        if "Name the functions, methods or classes" in prompt:
            return "```json\n" + json.dumps({"units": self._names(prompt)}) + "\n```"
        if "These names are not defined" in prompt:
            choices = re.findall(r"^- (\S+)$", prompt, re.M)
            return "```json\n" + json.dumps({"units": [c for c in choices if tuple(c.split("::", 1)) in self.units]}) + "\n```"
        if "Your edits could not be used" in prompt:
            prompt = body["messages"][0]["content"]  # answer the original question again
        if "You are fixing an issue" in prompt:
            shown = set(re.findall(r'<unit path="([^"]+)" name="([^"]+)"(?: lines="[^"]*")?>', prompt))
            files = {p for p, _ in shown}
            chosen = [(p, u) for (p, u) in self.units
                      if (p, u) in shown or (p in files and ((p, u) in self.added or u == "<imports>"))]
            blocks = [f'<edit path="{p}" unit="{u}">\n{self.units[(p, u)]}\n</edit>' for p, u in chosen]
            # A search/replace edit once every line it searches for was shown.
            blocks += [f'<edit path="{e.path}">\n<<<<<<< SEARCH\n{e.search.rstrip(chr(10))}\n=======\n{e.replace.rstrip(chr(10))}\n>>>>>>> REPLACE\n</edit>'
                       for e in self.replaces if e.path in files and all(line in prompt for line in e.search.splitlines() if line.strip())]
            return "\n".join(blocks) or "No change."
        return "I cannot answer that."


def _tree_paths(prompt: str) -> set[str]:
    """The paths a file map (localization.repomap.file_tree: a folder line, then its files indented) shows."""
    out, folder = set(), None
    for line in prompt.splitlines():
        if line.endswith("/") and not line.startswith(" "):
            folder = line[:-1]
        elif folder is not None and line.startswith("  ") and not line.startswith("   ") and line.strip():
            out.add(line.strip() if folder == "." else f"{folder}/{line.strip()}")
        else:
            folder = None
    return out


def _span(pre: str, search: str) -> str | None:
    """"<module>:A-B", the lines of `search` in `pre`."""
    wanted = bare_lines(search)
    at = next(iter(exact_positions(bare_lines(pre), wanted)), None)
    return None if at is None else f"<module>:{at + 1}-{at + len(wanted)}"


def gold_edits(clone: Path, commit: str, patch: str) -> tuple[list, set, dict, str | None]:
    """The gold patch as the edits a perfect model returns, or why it cannot be."""
    edits, added, spans, problem = [], set(), {}, None
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = list(PatchSet(patch))
        for f in files:
            shown = git(clone, "show", f"{commit}:{f.source_file[2:]}") if not f.is_added_file else None
            if shown is not None and shown.returncode == 0:
                (root / f.source_file[2:]).parent.mkdir(parents=True, exist_ok=True)
                (root / f.source_file[2:]).write_bytes(shown.stdout)
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        done = subprocess.run(["git", "apply", "-"], cwd=root, input=patch.encode(), capture_output=True)
        if done.returncode != 0:
            return [], set(), {}, "the gold patch does not apply"
        for f in files:
            pre = None if f.is_added_file else git(clone, "show", f"{commit}:{f.source_file[2:]}").stdout.decode("utf-8", "replace")
            target = f.target_file[2:] if not f.is_removed_file else f.source_file[2:]
            post = (root / target).read_text(encoding="utf-8") if (root / target).exists() else None
            d = derive(target, pre, post)
            if d.problem:
                problem = problem or d.problem
            for e in d.edits:
                if e.search is not None and pre is not None and (span := _span(pre, e.search)):
                    spans[len([x for x in edits if x.search is not None])] = f"{e.path}::{span}"
                edits.append(e)
            added |= {(target, name) for name in d.added}
    return edits, added, spans, problem


def run_one(row: dict, cache: Path, settings, server: FakeOpenAIServer, runs: Path) -> dict:
    rec: dict = {"instance_id": row["instance_id"]}
    clone = clone_for(cache, row["repo"], settings.sandbox)
    edits, added, spans, problem = gold_edits(clone, row["base_commit"], row["patch"])
    if problem or not edits:
        return {**rec, "miss": "not expressible", "detail": problem or "no change"}
    server.responder = Oracle(edits, added, spans)
    gold_units = {(e.path, e.unit) for e in edits if e.unit and e.unit not in ("<imports>", "<file>", "<delete>") and (e.path, e.unit) not in added}
    gold_units |= {tuple(span.split("::", 1)) for span in spans.values()}
    start = time.monotonic()
    # As `supercoder swebench run` solves an instance (the repair entry, on the instance's tree and image).
    outcome = run(RepairRequest(issue=row["problem_statement"]), Instance(row, cache, settings.sandbox), settings,
                  runs_dir=runs, warn=lambda _: None)
    if outcome.failure == "sandbox":
        return {**rec, "miss": "infrastructure", "detail": outcome.reason[:300]}
    record = Path(outcome.run_dir)
    rec["agent_s"] = round(time.monotonic() - start, 1)
    rec["stages_s"] = json.loads((record / "timings.json").read_text())
    rec["overhead_s"] = round(rec["agent_s"] - model_s(record) - tests_s(record), 2)
    located = {(u["path"], u["name"]) for u in json.loads((record / "localize.json").read_text())["units"]}
    # Every gold unit located, and every gold file (a file the gold patch only adds to has no gold unit).
    located_all = gold_units <= located and {e.path for e in edits} <= {p for p, _ in located}
    rec.update(status=outcome.status, run_dir=str(record), located_all=located_all,
               located=sorted(f"{p}::{u}" for p, u in gold_units & located), missed=sorted(f"{p}::{u}" for p, u in gold_units - located))
    if not outcome.patch:
        return {**rec, "miss": "not located" if not rec["located_all"] else "no patch"}
    graded = validate(row, cache, settings.sandbox, outcome.patch)
    rec.update(resolved=graded.resolved, grade_error=graded.error, tests_s=graded.duration_s)
    if not graded.resolved:
        rec["miss"] = "not located" if not rec["located_all"] else "tests"
    return rec


def model_s(run: Path) -> float:
    calls = run / "calls.jsonl"
    lines = calls.read_text().splitlines() if calls.exists() else []
    return sum(json.loads(line)["duration_s"] for line in lines if line.strip())


def tests_s(run: Path) -> float:
    """Time spent inside test runs (baseline and candidates), from the run record."""
    total = 0.0
    for path in run.glob("*.json"):
        data = json.loads(path.read_text())
        if path.stem == "baseline":
            total += data["run"]["duration_s"]
        elif path.stem.startswith("round-"):
            total += sum(t["run"]["duration_s"] for t in data["tried"])
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--repo-cache", required=True)
    ap.add_argument("--instances", nargs="*")
    ap.add_argument("--harness-details", help="benchmarks/harness.py --details output: only instances whose gold validates")
    ap.add_argument("--set", action="append", default=[], help="dotted override, as on the CLI")
    ap.add_argument("--details", help="write per-instance results as JSONL here")
    ap.add_argument("--resume", action="store_true", help="keep the instances already in --details, run the rest")
    ap.add_argument("--keep-runs", help="keep each instance's run record (patch, prompts, stages) in this folder")
    ap.add_argument("--agent-tests", action="store_true", help="let the agent run its own tests (slow; the oracle's one candidate is returned either way)")
    args = ap.parse_args()
    terminate_as_interrupt()
    rows = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()]
    rows = swebench_rows(rows)
    if args.instances:
        rows = [r for r in rows if r["instance_id"] in args.instances]
    if args.harness_details:
        ok = {json.loads(line)["instance_id"] for line in Path(args.harness_details).read_text().splitlines()
              if json.loads(line).get("gold_resolved")}
        rows = [r for r in rows if r["instance_id"] in ok]
    cache = Path(args.repo_cache)
    records = []
    if args.resume and args.details and Path(args.details).exists():
        records = [json.loads(line) for line in Path(args.details).read_text().splitlines() if line.strip()]
        done = {r["instance_id"] for r in records}
        rows = [r for r in rows if r["instance_id"] not in done]
    with FakeOpenAIServer() as server, tempfile.TemporaryDirectory(prefix="oracle-runs-") as scratch:
        runs = args.keep_runs or scratch
        settings = load_settings(None, [
            "llm.model=oracle", f"llm.base_url={server.base_url}", "llm.cache=false", "llm.max_retries=0",
            'llm.prices={"oracle": {"input_per_mtok": 0, "output_per_mtok": 0}}',
            "editing.temperatures=[0.0]", "editing.samples_per_temperature=1", "repair.rounds=1",
            "repair.reproduction_test=false", "sandbox.backend=docker",
            f"repair.related_tests={str(args.agent_tests).lower()}", *args.set])
        for n, row in enumerate(rows, 1):
            rec = run_one(row, cache, settings, server, Path(runs))
            records.append(rec)
            if args.details:
                Path(args.details).write_text("".join(json.dumps(r) + "\n" for r in records))
            print(f"[{n}/{len(rows)}] {row['instance_id']}: {'resolved' if rec.get('resolved') else rec.get('miss')}", file=sys.stderr)
    misses: dict[str, int] = {}
    for r in records:
        if not r.get("resolved"):
            misses[r.get("miss", "tests")] = misses.get(r.get("miss", "tests"), 0) + 1
    resolved = sum(1 for r in records if r.get("resolved"))
    agent = sorted(r["agent_s"] for r in records if "agent_s" in r)
    overhead = sorted(r["overhead_s"] for r in records if "overhead_s" in r)
    print(json.dumps({"instances": len(records), "resolved": resolved,
                      "resolved_pct": round(100 * resolved / len(records), 1) if records else None,
                      "misses": misses, "agent_s_median": agent[len(agent) // 2] if agent else None,
                      "overhead_s_median": overhead[len(overhead) // 2] if overhead else None,
                      "overhead_s_max": overhead[-1] if overhead else None}, indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)

"""How far can a user trust `validated`? `supercoder repair` runs as a user runs it (the
environment derived from the repository's own files, the agent's own tests, Docker) on SWE-bench
instances, with a scripted model that answers with a given patch: once the gold patch (a correct
fix), once a wrong one. Printed, per instance and overall: correct fixes validated (recall),
wrong fixes validated (false positives), time, and why each correct fix was not validated.

    python benchmarks/verify_accuracy.py --dataset ../shared/swebench-lite/dev.jsonl --repo-cache CLONES \\
        [--per-repo 4] [--instances ID ...] [--workers 2] [--details out.jsonl] [--resume]

The user is one who wrote the failing test first: the instance's test patch is committed on top
of its base commit (dated as the base commit), and its FAIL_TO_PASS tests are named with --tests.
The model locates the patch's files and units and returns the patch's units (as the oracle of
oracle_pipeline.py does).

The wrong fix is the gold patch with one change block reverted, when it has several: the block
whose code (not comments or docstrings: a block of prose only is never chosen) shares most names
with the lines the test patch adds, the largest on a tie; else the gold patch with one operator of its added code inverted (is and is not, not in and in,
== and !=, < and >=, and and or, True and False, + and -, `not ` dropped): a plausible-looking change to the same unit that
does not do what the issue asks. Either can happen to be correct after all (a block that only
tidies, an equivalent mutant). So a wrong fix the verifier validates is judged apart, by
SWE-bench's harness in its own environment of the instance: when no FAIL_TO_PASS or PASS_TO_PASS
test passes with gold but fails with it, the instance's tests cannot tell it from gold; it is
no wrong fix, left out of the false positives and listed (`wrong_same_as_gold`). One the
harness cannot judge counts as a false positive.
"""

from __future__ import annotations

import argparse
import ast
import importlib.util
import json
import re
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT / "tests"))  # the fake OpenAI server
sys.path.insert(0, str(ROOT))

from fakes.openai_server import FakeOpenAIServer  # noqa: E402
from unidiff import PatchSet  # noqa: E402


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


oracle = _load("oracle_pipeline")  # Oracle: the scripted model; gold_edits: a patch as unit edits

_FLIPS = [(r"\bis not\b", "is"), (r"\bis\b", "is not"), (r"\bnot in\b", "in"), (r"==", "!="), (r"!=", "=="), (r"<=", ">"), (r">=", "<"), (r"(?<![<>=!])<(?![<=])", ">="), (r"(?<![<>=!-])>(?![>=])", "<="),
          (r"\band\b", "or"), (r"\bor\b", "and"), (r"\bTrue\b", "False"), (r"\bFalse\b", "True"), (r"\bnot ", ""),
          (r"(?<![+=*])\+(?![+=])", "-"), (r"(?<![-=*>])-(?![-=>])", "+")]


def git(cwd: Path, *args: str, input: str | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "user.email=u@example.com", "-c", "user.name=user", *args], cwd=cwd, capture_output=True,
                          text=True, input=input, env=env)


def _blocks(patch: str) -> list[tuple[str, int, int]]:
    """(file, hunk index, first line index in the hunk) of each run of changed lines of a .py file."""
    out = []
    for f in PatchSet(patch):
        if not f.path.endswith(".py"):
            continue
        for h_no, hunk in enumerate(f):
            prev = " "
            for i, line in enumerate(hunk):
                if line.line_type in "+-" and prev not in "+-":
                    out.append((f.path, h_no, i))
                prev = line.line_type
    return out


def _hunk_lines(hunk, h_no: int, revert: tuple[int, int] | None, mutate: tuple[int, int, str] | None) -> list[tuple[str, str]]:
    """The hunk's (type, text) lines, with the block starting at `revert` left as it was and the
    added line at `mutate` (hunk, index, new text) changed."""
    out, prev, in_block = [], " ", False
    for i, line in enumerate(hunk):
        kind, text = line.line_type, line.value
        if kind not in " +-":
            continue
        if kind in "+-" and prev not in "+-":
            in_block = revert == (h_no, i)
        prev = kind
        if in_block and kind == "-":
            kind = " "
        elif in_block and kind == "+":
            continue
        if mutate is not None and (h_no, i) == mutate[:2]:
            text = mutate[2]
        out.append((kind, text))
    return out


def _patch(files: dict, revert: dict | None = None, mutate: dict | None = None) -> str:
    """A unified diff of `files` (path -> unidiff PatchedFile), a block reverted or a line changed
    (keyed by path); hunk headers recounted, so that `git apply` finds each hunk as it finds the gold's."""
    text = []
    for path, f in files.items():
        body = []
        for h_no, hunk in enumerate(f):
            lines = _hunk_lines(hunk, h_no, (revert or {}).get(path), (mutate or {}).get(path))
            if not any(k in "+-" for k, _ in lines):
                continue
            old = sum(k in " -" for k, _ in lines)
            new = sum(k in " +" for k, _ in lines)
            body.append(f"@@ -{hunk.source_start},{old} +{hunk.target_start},{new} @@\n")
            body += [k + (t if t.endswith("\n") else t + "\n") for k, t in lines]
        if body:
            text += [f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n", *body]
    return "".join(text)


def _code(text: str) -> str | None:
    """The module's syntax tree without docstrings (None when it does not parse): equal for two
    texts that differ only in comments, docstrings or layout."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]
    return ast.dump(tree)


def _posts(clone: Path, commit: str, patch: str) -> dict[str, str]:
    """The patched .py files' texts (empty when the patch does not apply)."""
    files = [f.path for f in PatchSet(patch) if f.path.endswith(".py")]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for path in files:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).write_bytes(oracle.git(clone, "show", f"{commit}:{path}").stdout)
        subprocess.run(["git", "init", "-q"], cwd=root)
        if subprocess.run(["git", "apply", "-"], cwd=root, input=patch.encode(), capture_output=True).returncode:
            return {}
        return {p: (root / p).read_text(errors="replace") for p in files if (root / p).exists()}


def _words(lines: list[str]) -> set[str]:
    return {w for line in lines for w in re.findall(r"[A-Za-z_]\w{2,}", line)}


def wrong_variant(clone: Path, commit: str, patch: str, test_patch: str = "") -> tuple[str, str] | None:
    """(a wrong patch, its kind), or None when neither recipe gives a change. Of several blocks,
    the one reverted is the one whose code (not its comments or docstrings) shares most names with
    the lines the test patch adds (the block the tests exercise), the largest on a tie."""
    files = {f.path: f for f in PatchSet(patch) if f.path.endswith(".py") and not f.is_added_file and not f.is_removed_file}
    blocks = [b for b in _blocks(patch) if b[0] in files]
    tested = _words([line.value for f in PatchSet(test_patch) for h in f for line in h if line.line_type == "+"]) if test_patch else set()
    if len(blocks) > 1:
        gold = {p: _code(t) for p, t in _posts(clone, commit, _patch(files)).items()}

        def changed(b) -> list[str]:
            out = []
            for line in list(list(files[b[0]])[b[1]])[b[2]:]:
                if line.line_type not in "+-":
                    break
                out.append(line.value)
            return out

        ranked = sorted(blocks, key=lambda b: (len(_words(changed(b)) & tested), len(changed(b))), reverse=True)
        for path, h_no, i in ranked:
            wrong = _patch(files, revert={path: (h_no, i)})
            posts = _posts(clone, commit, wrong)
            if posts and any(_code(t) != gold.get(p) for p, t in posts.items()):  # not a block of prose only
                return wrong, "the tested block reverted"
    for path, f in files.items():
        for h_no, hunk in enumerate(f):
            for i, line in enumerate(hunk):
                code = line.value.strip()
                if line.line_type != "+" or not code or code.startswith(("#", '"', "'")):
                    continue
                for pattern, repl in _FLIPS:
                    mutated = re.sub(pattern, repl, line.value, count=1)
                    if mutated != line.value:
                        return _patch(files, mutate={path: (h_no, i, mutated)}), "operator inverted"
    return None


def test_ids(row: dict, repo: Path) -> list[str]:
    """FAIL_TO_PASS as pytest ids (sympy's are bare function names: found in the files the test
    patch touches, in the user's checkout)."""
    ids = json.loads(row["FAIL_TO_PASS"]) if isinstance(row["FAIL_TO_PASS"], str) else row["FAIL_TO_PASS"]
    patched = [f.path for f in PatchSet(row["test_patch"]) if f.path.endswith(".py") and not f.is_removed_file]
    out = []
    for t in ids:
        if "::" in t or "/" in t:
            out.append(t)
            continue
        name = t.split(" ")[0]
        owner = next((p for p in patched if (repo / p).exists()
                      and re.search(rf"^\s*def {re.escape(name)}\(", (repo / p).read_text(errors="replace"), re.M)), None)
        out.append(f"{owner}::{name}" if owner else t)
    return out


def user_repo(row: dict, clone: Path, dest: Path) -> Path:
    """The user's checkout: the base commit with the instance's test patch committed, dated as the base."""
    for args in (["clone", "-q", "--shared", "--no-checkout", str(clone), str(dest)],):
        done = git(dest.parent, *args)
        if done.returncode:
            raise RuntimeError(done.stderr.strip()[-300:])
    git(dest, "-c", "advice.detachedHead=false", "checkout", "-q", row["base_commit"])
    applied = git(dest, "apply", "-", input=row["test_patch"])
    if applied.returncode:
        raise RuntimeError(f"the test patch does not apply: {applied.stderr.strip()[-200:]}")
    when = git(dest, "show", "-s", "--format=%cI", "HEAD").stdout.strip()
    env = {"GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when, "PATH": "/usr/bin:/bin:/usr/local/bin", "HOME": str(dest.parent)}
    git(dest, "add", "-A")
    git(dest, "commit", "-qm", "a failing test for the issue", "--no-verify", env=env)
    return dest


def repair(repo: Path, row: dict, patch: str, clone: Path, server: FakeOpenAIServer, runs: Path, sets: list[str]) -> dict:
    """`supercoder repair` with `server` (this worker's own) answering as an oracle of `patch`."""
    edits, added, problem = oracle.gold_edits(clone, row["base_commit"], patch)
    if problem or not edits:
        return {"status": "not expressible", "reason": problem or "no unit edits"}
    issue = Path(tempfile.mkdtemp(dir=runs)) / "issue.md"
    issue.write_text(row["problem_statement"])
    cmd = [str(ROOT / ".venv/bin/supercoder") if (ROOT / ".venv/bin/supercoder").exists() else "supercoder", "repair",
           "--repo", str(repo), "--issue-file", str(issue), "--backend", "docker", "--json",
           "--model", "oracle", "--base-url", server.base_url,
           *[a for t in test_ids(row, repo) for a in ("--tests", t)],
           *[a for s in ["llm.cache=false", "llm.max_retries=0", "editing.temperatures=[0.0]", "editing.samples_per_temperature=1",
                         "repair.rounds=1", "repair.candidates_per_round=1", f"repair.runs_dir={runs}",
                         'llm.prices={"oracle": {"input_per_mtok": 0, "output_per_mtok": 0}}', *sets] for a in ("--set", s)]]
    start = time.monotonic()
    server.responder = oracle.Oracle(edits, added)
    done = subprocess.run(cmd, capture_output=True, text=True)
    took = round(time.monotonic() - start, 1)
    try:
        out = json.loads(done.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return {"status": "crashed", "reason": done.stderr.strip()[-300:], "s": took}
    tests = out.get("tests") or {}
    return {"status": out["status"], "reason": out["reason"], "s": took, "named": test_ids(row, repo), "targets_from": out.get("targets_from"),
            "environment": out.get("environment"), "known_failing": list(tests.get("known_failing", {})),
            "flaky": list(tests.get("flaky", {})), "target": tests.get("target", {}), "run_dir": out.get("run_dir")}




def differs_from_gold(row: dict, wrong: str, cache: Path, sets: list[str]) -> bool | None:
    """Whether the instance's own tests tell the wrong fix from the gold one, judged apart from the
    verifier: SWE-bench's harness (its environment of the instance, its test command, its grading)
    runs both, and some FAIL_TO_PASS or PASS_TO_PASS test passes with gold but not with it. None
    when the harness cannot tell (it failed, or gold does not resolve the instance there)."""
    from agent.settings import load_settings
    from sandbox.instances import validate

    try:
        cfg = load_settings(None, sets).sandbox
        gold, other = validate(row, cache, cfg, row["patch"]), validate(row, cache, cfg, wrong)
    except Exception:  # the harness failed: it cannot tell
        return None
    if gold.error or other.error or not gold.resolved:
        return None
    return bool(set(gold.fail_to_pass.passed + gold.pass_to_pass.passed) - set(other.fail_to_pass.passed + other.pass_to_pass.passed))


def why_not(rec: dict, f2p: list[str]) -> str:
    """Why a correct fix was not validated."""
    if rec["status"] in ("not expressible", "crashed"):
        return rec["status"]
    reason = rec.get("reason", "")
    if reason.startswith("sandbox:"):
        return "env failure"
    if rec.get("environment"):
        return "env failure"
    if any(t in rec.get("known_failing", []) for t in f2p):
        return "known failing"
    if any(t in rec.get("flaky", []) for t in f2p):
        return "flaky"
    if not rec.get("targets_from"):
        return "no reproduction"
    if "localization" in reason or "no candidate patch" in reason:
        return "not located"
    return "tests"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--repo-cache", required=True)
    ap.add_argument("--instances", nargs="*")
    ap.add_argument("--per-repo", type=int, default=4, help="at most this many instances of each repository (dataset order)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--set", action="append", default=[], help="dotted override, as on the CLI")
    ap.add_argument("--details", help="write per-instance results as JSONL here")
    ap.add_argument("--runs-dir", help="keep each run's record here (one folder per instance); default: dropped")
    ap.add_argument("--resume", action="store_true", help="keep the instances already in --details")
    args = ap.parse_args()
    rows = [json.loads(line) for line in Path(args.dataset).read_text().splitlines() if line.strip()]
    if args.instances:
        rows = [r for r in rows if r["instance_id"] in args.instances]
    else:  # the first --per-repo of each repository, taken in turns, so that a partial run covers them all
        groups: dict[str, list[dict]] = {}
        for r in rows:
            groups.setdefault(r["repo"], [])
            if len(groups[r["repo"]]) < args.per_repo:
                groups[r["repo"]].append(r)
        rows = [group[i] for i in range(args.per_repo) for group in groups.values() if i < len(group)]
    records: list[dict] = []
    if args.resume and args.details and Path(args.details).exists():
        records = [json.loads(line) for line in Path(args.details).read_text().splitlines() if line.strip()]
        rows = [r for r in rows if r["instance_id"] not in {x["instance_id"] for x in records}]
    cache = Path(args.repo_cache)
    servers = [FakeOpenAIServer() for _ in range(args.workers)]
    for s in servers:
        s.__enter__()
    free = list(servers)
    lock = __import__("threading").Lock()

    def one(row: dict) -> dict:
        with lock:
            server = free.pop()
        try:
            clone = cache / row["repo"].replace("/", "__")
            rec: dict = {"instance_id": row["instance_id"], "repo": row["repo"]}
            with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
                repo = user_repo(row, clone, Path(tmp) / "repo")
                runs = Path(args.runs_dir) / row["instance_id"] if args.runs_dir else Path(tmp) / "runs"
                runs.mkdir(parents=True, exist_ok=True)
                rec["gold"] = repair(repo, row, row["patch"], clone, server, runs, args.set)
                wrong = wrong_variant(clone, row["base_commit"], row["patch"], row["test_patch"])
                if wrong is None:
                    rec["wrong"] = {"status": "no wrong variant"}
                else:
                    rec["wrong"] = {**repair(repo, row, wrong[0], clone, server, runs, args.set), "kind": wrong[1]}
                    if rec["wrong"]["status"] == "validated":  # is it wrong at all? the instance's tests, run apart, say
                        rec["wrong"]["differs_from_gold"] = differs_from_gold(row, wrong[0], cache, args.set)
            if rec["gold"]["status"] != "validated":
                rec["why"] = why_not(rec["gold"], rec["gold"].get("named", []))
            return rec
        except Exception as exc:  # one instance's trouble is reported, not fatal
            return {"instance_id": row["instance_id"], "repo": row["repo"], "gold": {"status": "crashed", "reason": repr(exc)[:300]},
                    "wrong": {"status": "crashed"}, "why": "crashed"}
        finally:
            with lock:
                free.append(server)

    with ThreadPoolExecutor(args.workers) as pool:
        for n, rec in enumerate((f.result() for f in as_completed([pool.submit(one, r) for r in rows])), 1):
            records.append(rec)
            if args.details:
                Path(args.details).write_text("".join(json.dumps(r) + "\n" for r in records))
            print(f"[{n}/{len(rows)}] {rec['instance_id']}: gold {rec['gold']['status']} ({rec['gold'].get('s', '-')} s)"
                  f"{' [' + rec['why'] + ']' if rec.get('why') else ''}; wrong {rec['wrong']['status']}"
                  f"{' (' + rec['wrong'].get('kind', '') + ')' if rec['wrong'].get('kind') else ''}"
                  f"{'; its tests cannot tell it from gold' if rec['wrong'].get('differs_from_gold') is False else ''}",
                  file=sys.stderr, flush=True)
    for s in servers:
        s.__exit__(None, None, None)
    gold_ok = sum(r["gold"]["status"] == "validated" for r in records)
    tried = [r for r in records if r["wrong"]["status"] not in ("no wrong variant", "not expressible", "crashed")]
    # A wrong fix the instance's own tests cannot tell from gold (SWE-bench's harness runs both) is
    # no wrong fix: the benchmark's own miss, left out and counted apart. One it cannot judge counts.
    same = [r for r in tried if r["wrong"].get("differs_from_gold") is False]
    wrongs = [r for r in tried if r not in same]
    wrong_ok = sum(r["wrong"]["status"] == "validated" for r in wrongs)
    why: dict[str, int] = {}
    for r in records:
        if r.get("why"):
            why[r["why"]] = why.get(r["why"], 0) + 1
    by_repo: dict[str, list[int]] = {}
    for r in records:
        by_repo.setdefault(r["repo"], [0, 0])
        by_repo[r["repo"]][0] += r["gold"]["status"] == "validated"
        by_repo[r["repo"]][1] += 1
    times = sorted(x["s"] for r in records for x in (r["gold"], r["wrong"]) if "s" in x)
    print(json.dumps({"instances": len(records), "correct_validated": gold_ok,
                      "recall_pct": round(100 * gold_ok / len(records), 1) if records else None,
                      "wrong_tried": len(wrongs), "wrong_validated": wrong_ok,
                      "wrong_same_as_gold": [r["instance_id"] for r in same],
                      "false_positive_pct": round(100 * wrong_ok / len(wrongs), 1) if wrongs else None,
                      "why_not_validated": why, "by_repo": {k: f"{a}/{b}" for k, (a, b) in by_repo.items()},
                      "run_s_median": times[len(times) // 2] if times else None, "run_s_max": times[-1] if times else None},
                     indent=2))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)

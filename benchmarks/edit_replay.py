"""Replay gold patches as unit edits: how exact is the editing engine?

    python benchmarks/edit_replay.py --dataset ../shared/swebench-lite/dev.jsonl --repo-cache CLONES
    python benchmarks/edit_replay.py --dataset ../shared/multi-swe-js/dev.jsonl --repo-cache CLONES

For each instance it reads the pre-images of the files the gold patch changes from
`CLONES/<owner>__<name>` at the base commit (the clone is only read), builds the post-images
with `git apply`, and derives the edits a perfect model would return (editing.oracle: the
post-image source of every changed unit, plus `<imports>` when the import block changed; in
JavaScript and TypeScript files, editing.script_oracle). Multi-SWE-bench's rows are read as
SWE-bench's.
It replays them on the pre-images through `supercoder edit --json` and compares with the
gold post-images. Printed:

- expressible: gold patches the edits can express (units, named statements, search/replace,
  whole files; the rest, with reasons, in --details); `kinds` counts the edits of each kind, and
  `fallback` the files whose structured derivation gave way to search/replace hunks;
- same_tree: replays whose syntax tree equals the gold post-image's, apart from where newly
  added units sit (JavaScript and TypeScript: the same tokens in the same trees, comments aside);
- structured: expressible patches whose every changed source file went as unit and statement
  edits (hunks only for code no unit holds), without giving way to whole-file hunks; identical_text: replays equal to the gold post-image byte for byte;
- git_apply_ok: produced diffs that `git apply --check` accepts on the pre-images;
- edits_per_s: the engine alone, in this process, lint off (`--repeat` passes over all edits);
- with --history N instead of a dataset, the gold patches are the last N small commits of every
  clone in the cache (changes the development set never showed: docs, changelogs, configs, new
  and removed files); binary files there are counted as not expressible, by design;
- identity: units of the pre-images (up to `--identity-units` per file) given back unchanged but
  dedented to column 0, as a model writes them: how many leave the file byte-for-byte as it was.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This script's folder is not a package: keep it off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from unidiff import PatchSet  # noqa: E402

from agent.batch.multiswe import swebench_rows  # noqa: E402
from editing.code import parse_code  # noqa: E402
from editing.engine import apply_edits  # noqa: E402
from editing.models import (
    Edit,  # noqa: E402
    EditError,  # noqa: E402
)
from editing.oracle import derive, same_tree  # noqa: E402
from editing.paths import MissingFile, is_python  # noqa: E402
from editing.script import is_script, same_script_tree, spans  # noqa: E402
from editing.source import Source  # noqa: E402
from editing.units import definitions  # noqa: E402


def git_show(clone: Path, commit: str, path: str) -> bytes:
    git_dir = clone / ".git" if (clone / ".git").exists() else clone
    return subprocess.run(["git", "--git-dir", str(git_dir), "show", f"{commit}:{path}"], capture_output=True, check=True).stdout


def load_instances(path: Path, only: list[str] | None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = swebench_rows(rows)
    return [r for r in rows if not only or r["instance_id"] in only]


def _git(clone: Path, *args: str) -> str:
    git_dir = clone / ".git" if (clone / ".git").exists() else clone
    return subprocess.run(["git", "--git-dir", str(git_dir), *args], capture_output=True, check=True).stdout.decode("utf-8", "replace")


def history_rows(cache: Path, per_repo: int, max_files: int, max_lines: int) -> list[dict]:
    """Rows like a dataset's from each clone's own history: the last `per_repo` commits (merges
    aside) that change at most `max_files` files and `max_lines` lines, each diffed against its parent."""
    rows = []
    for clone in sorted(p for p in cache.iterdir() if "__" in p.name):
        taken = 0
        for sha in _git(clone, "log", "--no-merges", "--format=%H", "-n", str(per_repo * 10), "HEAD").split():
            stat = [line.split("\t") for line in _git(clone, "show", "--numstat", "--format=", sha).splitlines() if line.strip()]
            lines = sum(int(a) + int(d) for a, d, _ in stat if a.isdigit() and d.isdigit())
            if not stat or len(stat) > max_files or lines > max_lines:
                continue
            parent = _git(clone, "rev-parse", f"{sha}^").strip()
            patch = _git(clone, "diff", "--binary", parent, sha)
            rows.append({"instance_id": f"{clone.name}@{sha[:10]}", "repo": clone.name.replace("__", "/", 1), "base_commit": parent, "patch": patch})
            taken += 1
            if taken >= per_repo:
                break
    return rows


def supercoder_cmd() -> list[str]:
    exe = shutil.which("supercoder", path=str(Path(sys.executable).parent)) or shutil.which("supercoder")
    return [exe] if exe else [sys.executable, "-c", "from agent.cli import main; main()"]


def prepare(row: dict, clone: Path, work: Path) -> tuple[dict[str, str | None], dict[str, str | None], str | None]:
    """Pre-images written under work/pre, post-images under work/post (None: no such file on
    that side); a reason when the patch cannot be replayed (a binary file)."""
    pre: dict[str, str | None] = {}
    for side in ("pre", "post"):
        (work / side).mkdir(parents=True, exist_ok=True)
    for pf in PatchSet(row["patch"]):
        source, target = pf.source_file[2:], pf.target_file[2:]
        if pf.is_binary_file:
            return pre, {}, f"{pf.path}: a binary file"
        if not pf.is_added_file:
            text = git_show(clone, row["base_commit"], source)
            for side in ("pre", "post"):
                dest = work / side / source
                dest.parent.mkdir(parents=True, exist_ok=True)
                dest.write_bytes(text)
            try:
                pre[source] = text.decode("utf-8")
            except UnicodeDecodeError:
                return pre, {}, f"{source}: not UTF-8 text"
        if not pf.is_removed_file and target != source:
            pre[target] = None
        if pf.is_added_file:
            pre[pf.path] = None
    subprocess.run(["git", "apply", "-"], cwd=work / "post", input=row["patch"].encode(), check=True, capture_output=True)
    try:
        post = {p: (work / "post" / p).read_text(encoding="utf-8") if (work / "post" / p).is_file() else None for p in pre}
    except UnicodeDecodeError:
        return pre, {}, "a post-image is not UTF-8 text"
    return pre, post, None


def replay(row: dict, clone: Path, identity_units: int) -> dict:
    rec: dict = {"instance_id": row["instance_id"]}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pre, post, problem = prepare(row, clone, work)
        edits: list[Edit] = []
        added: set[str] = set()
        kinds: dict[str, int] = {}
        for path in pre:
            if problem:
                break
            derived = derive(path, pre[path], post[path])
            problem = derived.problem
            if derived.fallback:
                rec.setdefault("fallback", []).append(f"{path}: {derived.fallback}")
            edits += derived.edits
            added |= derived.added
        if problem:
            rec["expressible"] = False
            rec["reason"] = problem
            return rec
        for e in edits:
            kinds[_kind(e)] = kinds.get(_kind(e), 0) + 1
        rec.update(expressible=True, edits=len(edits), kinds=kinds,
                   structured=not rec.get("fallback") and any(is_python(p) or is_script(p) for p in pre))
        edits_file = work / "edits.json"
        edits_file.write_text(json.dumps([e.model_dump(exclude_defaults=True) for e in edits]))
        out = subprocess.run([*supercoder_cmd(), "edit", "--repo", str(work / "pre"), "--edits", str(edits_file), "--json"], capture_output=True, text=True)
        if out.returncode != 0:
            rec.update(same_tree=False, identical_text=False, git_apply_ok=False, error=out.stderr.strip()[-500:])
            return rec
        result = json.loads(out.stdout)
        replayed = {p: None if p in result["deleted"] else result["files"].get(p, pre[p]) for p in pre}
        same = {p: replayed[p] == post[p] or (replayed[p] is not None and post[p] is not None and (
            (is_python(p) and same_tree(replayed[p], post[p], added)) or (is_script(p) and same_script_tree(p, replayed[p], post[p], added))))
            for p in pre}
        rec["same_tree"] = all(same.values())
        rec["identical_text"] = all(replayed[p] == post[p] for p in pre)
        check = subprocess.run(["git", "apply", "--check", "-"], cwd=work / "pre", input=result["diff"].encode(), capture_output=True)
        rec["git_apply_ok"] = check.returncode == 0 and bool(result["diff"])
        rec["lint"] = len(result["lint"])
        if not rec["same_tree"]:
            rec["mismatch"] = [p for p in pre if not same[p]]
        rec["_edits"] = edits
        rec["_pre"] = {p: t for p, t in pre.items() if t is not None}
        rec["identity_tried"], rec["identity_same"] = identity(rec["_pre"], identity_units)
    return rec


def _kind(edit: Edit) -> str:
    """unit, statement, imports, replace, file or delete."""
    if edit.kind == "unit" and is_script(edit.path):
        return "statement" if any(s.name == edit.unit and s.kind == "statement" for s in spans(edit.path, edit.code)) else "unit"
    if edit.kind == "unit":
        return "statement" if parse_code(edit.unit, edit.code)[0].kind == "statement" else "unit"
    return edit.kind


def identity(pre: dict[str, str], limit: int) -> tuple[int, int]:
    """(units tried, files left unchanged) for units re-given at column 0."""
    tried = same = 0
    for path, text in pre.items():
        if not is_python(path):
            continue
        src = Source(text)
        names: dict[str, list] = {}
        for d in definitions(src):
            names.setdefault(d.name, []).append(d)
        for name, group in list(names.items())[:limit]:
            if len(group) > 1:
                continue
            d = group[0]
            code = "".join(line[len(d.indent):] if line.startswith(d.indent) else line for line in src.lines[d.comment_row : d.end])
            tried += 1
            try:
                result = apply_edits({path: text}.__getitem__, [Edit(path=path, unit=name, code=code)], lint=False)
            except EditError:
                continue
            same += not result.files
    return tried, same


def _reader(files: dict[str, str]):
    def read(path: str) -> str:
        if path not in files:
            raise MissingFile(f"no such file: {path}")  # a file the change creates
        return files[path]

    return read


def speed(records: list[dict], repeat: int) -> float:
    total = 0
    t0 = time.perf_counter()
    for _ in range(repeat):
        for rec in records:
            apply_edits(_reader(rec["_pre"]), rec["_edits"], lint=False)
            total += len(rec["_edits"])
    return total / (time.perf_counter() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", help="SWE-bench-style JSONL (or use --history)")
    ap.add_argument("--repo-cache", required=True)
    ap.add_argument("--history", type=int, metavar="N",
                    help="instead of a dataset: the last N small commits of every clone in --repo-cache, their diffs as gold patches")
    ap.add_argument("--history-max-files", type=int, default=5, help="--history: commits changing more files are skipped")
    ap.add_argument("--history-max-lines", type=int, default=300, help="--history: commits changing more lines are skipped")
    ap.add_argument("--instances", nargs="*")
    ap.add_argument("--repeat", type=int, default=3, help="passes over all edits for the speed figure")
    ap.add_argument("--details", help="write per-instance results as JSONL here")
    ap.add_argument("--identity-units", type=int, default=60, help="units per file for the identity figure")
    args = ap.parse_args()
    if bool(args.dataset) == bool(args.history):
        ap.error("give --dataset or --history")
    if args.history:
        rows = history_rows(Path(args.repo_cache), args.history, args.history_max_files, args.history_max_lines)
    else:
        rows = load_instances(Path(args.dataset), args.instances)
    records = []
    for n, row in enumerate(rows, 1):
        clone = Path(args.repo_cache) / row["repo"].replace("/", "__")
        rec = replay(row, clone, args.identity_units)
        records.append(rec)
        state = "not expressible: " + rec["reason"] if not rec["expressible"] else ("ok" if rec["same_tree"] and rec["git_apply_ok"] else "MISMATCH")
        print(f"[{n}/{len(rows)}] {row['instance_id']}: {state}", file=sys.stderr)
    done = [r for r in records if r["expressible"]]
    result = {
        "instances": len(records),
        "expressible": len(done),
        "expressible_share": round(len(done) / max(len(records), 1), 4),
        "structured": sum(r["structured"] for r in done),
        "same_tree": sum(r["same_tree"] for r in done),
        "identical_text": sum(r["identical_text"] for r in done),
        "git_apply_ok": sum(r["git_apply_ok"] for r in done),
        "edits": sum(r["edits"] for r in done),
        "kinds": {k: sum(r["kinds"].get(k, 0) for r in done) for k in sorted({k for r in done for k in r["kinds"]})},
        "fallback": sum(1 for r in done if r.get("fallback")),
        "edits_per_s": round(speed([r for r in done if r["same_tree"]], args.repeat), 1),
        "identity_units": sum(r.get("identity_tried", 0) for r in done),
        "identity_unchanged": sum(r.get("identity_same", 0) for r in done),
    }
    if args.details:
        Path(args.details).write_text("".join(json.dumps({k: v for k, v in r.items() if not k.startswith("_")}) + "\n" for r in records))
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Localization benchmark on SWE-bench-style instances, retrieval only (no model).

    python benchmarks/localization.py --dataset ../shared/swebench-lite/dev.jsonl --repo-cache CLONES
    python benchmarks/localization.py --dataset ../shared/multi-swe-js/dev.jsonl --repo-cache CLONES --no-timing

For each instance it exports the base commit from `CLONES/<owner>__<name>` (bare or not; the
clone is only read) into a temporary directory, runs the localizer and compares with the gold
patch. Multi-SWE-bench's rows (JavaScript, TypeScript) are read as SWE-bench's. A gold file is a
file of the patch that is code in a language the index reads, less that language's own exclusions
(type declarations, tests): a README or a `.d.ts` the fix also touched is not localization's to
find. Nor is a file the fix creates: no ranking of the commit's files can hold it (Agentless's
oracle takes the same files, those the patch changes that exist before it); such files are
counted, and so is the file@5 that would count them as missed. An instance whose patch changes
no such file is left out and counted. File Acc@k: every gold file within the top k
(any_file_acc@5: at least one). Function Acc@k: every gold unit within the
top k units, where a gold unit is the innermost function or method holding a changed line, or
the class when its body outside methods changes (changes at module level name no unit; an
instance whose changes name no unit is left out of the function figures and counted).
Recall within the map: every gold file among the files stage 1 shows the model (`Ranking.map`:
the best-ranked and the files the best ones import), for the configured number of places given
to imported files and for each of MAP_IMPORT_SLOTS, cross-validated.

It also times the index on one instance (default: the first sympy one) in a fresh process:
cold (empty cache), warm (second build), the first query (which loads the embedding model and
embeds the candidates), a second query, and peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# This script's name matches the package it measures: keep its own folder off the import path.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

from unidiff import PatchSet  # noqa: E402

from agent.batch.multiswe import swebench_rows  # noqa: E402
from agent.settings import load_settings  # noqa: E402
from localization.config import RetrievalConfig  # noqa: E402
from localization.globs import matches  # noqa: E402
from localization.index import CodeIndex  # noqa: E402
from localization.languages import language_of, parse_file  # noqa: E402
from localization.localize import Localizer, clean_issue  # noqa: E402
from localization.models import MODULE_UNIT  # noqa: E402


def export_commit(clone: Path, commit: str, dest: Path) -> None:
    git_dir = clone / ".git" if (clone / ".git").exists() else clone
    archive = subprocess.Popen(["git", "--git-dir", str(git_dir), "archive", "--format=tar", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    if archive.wait() != 0:
        raise RuntimeError(f"git archive {commit} failed in {clone}")


def is_code(path: str, index: CodeIndex) -> bool:
    """Code in a language the index reads, and not one of that language's own exclusions."""
    lang = language_of(path)
    return lang is not None and index.reads(path) and not any(matches(path, g) for g in lang.exclude)


def gold_locations(patch: str, tree: Path, index: CodeIndex) -> tuple[set[str], set[tuple[str, str]], set[str]]:
    """The files and units the patch changes, and the code files it creates (not gold: not there to rank)."""
    files: set[str] = set()
    units: set[tuple[str, str]] = set()
    created: set[str] = set()
    for pf in PatchSet(patch):
        if pf.is_added_file:
            if is_code(pf.target_file[2:], index):
                created.add(pf.target_file[2:])
            continue
        path = pf.source_file[2:] if pf.source_file.startswith("a/") else pf.source_file
        if not is_code(path, index):
            continue
        files.add(path)
        src = tree / path
        if not src.is_file():
            continue
        parsed = parse_file(path, src.read_bytes()).units
        for hunk in pf:
            lines = []
            for line in hunk:
                if line.is_removed:
                    lines.append(line.source_line_no)
                elif line.is_added:
                    # An insertion belongs to the unit around the line before it.
                    prev = [x.source_line_no for x in hunk if x.source_line_no and x.target_line_no is not None and x.target_line_no < line.target_line_no]
                    if prev:
                        lines.append(max(prev))
            for ln in lines:
                holders = [u for u in parsed if u.name != MODULE_UNIT and u.start_line <= ln <= u.end_line]
                funcs = [u for u in holders if u.kind in ("function", "method")]
                pick = funcs or holders
                if pick:
                    inner = min(pick, key=lambda u: u.end_line - u.start_line)
                    units.add((path, inner.name))
    return files, units, created


# The weights cross-validation may choose, one at a time around the configured value: few, and
# each with a reason to move (how far the structure spreads, how much a file's best unit, dense
# similarity, whole-file BM25 and a unit's file count).
GRID = {
    "structure_weight": [0.0, 0.25, 0.5],
    "file_best_unit_weight": [0.0, 0.5, 1.0],
    "dense_weight": [1.5, 3.0, 6.0],
    "file_lexical_weight": [0.5, 1.0, 2.0],
    "unit_file_weight": [0.25, 0.5, 1.0],
}
MISSING = 10**6  # the rank of a gold file or unit the ranking does not hold


def grid_variants(cfg: RetrievalConfig, grid: str) -> list[tuple[str, RetrievalConfig]]:
    """The configured weights first, then each grid value that differs from them."""
    out = [("config", cfg)]
    if grid == "none":
        return out
    spec = GRID if grid == "default" else {k: [json.loads(x) for x in v.split(",")] for k, _, v in (p.partition("=") for p in grid.split(";"))}
    for name, values in spec.items():
        out += [(f"{name}={v}", cfg.model_copy(update={name: v})) for v in values if v != getattr(cfg, name)]
    return out


MAP_IMPORT_SLOTS = (0, 10, 20, 30)  # how many of the map's places the files the best ones import may take


def gold_ranks(ranking, gold_files: set[str], gold_units: set[tuple[str, str]], map_size: int, import_slots: int) -> dict:
    files = [p for p, _ in ranking.files]
    at = [files.index(f) + 1 if f in files else MISSING for f in gold_files]
    in_map = {k: gold_files <= set(ranking.map(map_size, k)) for k in {*MAP_IMPORT_SLOTS, import_slots}}
    out = {"file_rank": max(at), "first_file_rank": min(at), "in_map": in_map[import_slots],
           "in_map_by_slots": {str(k): in_map[k] for k in MAP_IMPORT_SLOTS}}
    if gold_units:
        units = list(dict.fromkeys((u.path, u.name) for u, _ in ranking.units))
        out["unit_rank"] = max((units.index(u) + 1 if u in units else MISSING) for u in gold_units)
    return out


def figures(ranks: list[dict], map_files: int) -> dict:
    """Acc@k over instances, function Acc@k over those whose gold names a unit, and the recall of
    every gold file within the files the stage-1 map shows."""
    funcs = [r["unit_rank"] for r in ranks if "unit_rank" in r]
    out = {f"file_acc@{k}": round(sum(r["file_rank"] <= k for r in ranks) / max(len(ranks), 1), 4) for k in (1, 3, 5)}
    # Where a patch changes several files: some gold file (not every one) within the top 5.
    out["any_file_acc@5"] = round(sum(r.get("first_file_rank", r["file_rank"]) <= 5 for r in ranks) / max(len(ranks), 1), 4)
    out[f"file_recall@{map_files}"] = round(sum(r["in_map"] for r in ranks) / max(len(ranks), 1), 4)
    out.update({f"func_acc@{k}": round(sum(u <= k for u in funcs) / max(len(funcs), 1), 4) for k in (5, 10)})
    return out


def _objective(ranks: list[dict], map_files: int) -> int:
    """What a fold's weights are chosen for: instances with every gold file in the top 5, within the map, and units in the top 10."""
    return sum((r["file_rank"] <= 5) + r["in_map"] + (r.get("unit_rank", MISSING) <= 10) for r in ranks)


def map_slots(details: list[dict], configured: int) -> dict:
    """The map's recall for each number of places given to imported files (configured weights),
    and cross-validated: each fold's count chosen on the other fold (the configured one on a tie)."""
    rows = [d["variants"][0]["in_map_by_slots"] for d in details]
    out = {f"slots={k}": round(sum(r[str(k)] for r in rows) / max(len(rows), 1), 4) for k in MAP_IMPORT_SLOTS}
    held_out, chosen = 0, []
    a, b = _folds(details)
    for test, train in ((a, b), (b, a)):
        best = max(MAP_IMPORT_SLOTS, key=lambda k: (sum(rows[i][str(k)] for i in train), k == configured))
        chosen.append(best)
        held_out += sum(rows[i][str(best)] for i in test)
    return {**out, "cross_validated": round(held_out / max(len(rows), 1), 4), "chosen": chosen}


def _folds(details: list[dict]) -> list[list[int]]:
    """Two halves, alternating within each repository."""
    folds: list[list[int]] = [[], []]
    seen: dict[str, int] = {}
    for i, d in enumerate(details):
        folds[seen.get(d["repo"], 0) % 2].append(i)
        seen[d["repo"]] = seen.get(d["repo"], 0) + 1
    return folds


def cross_validate(details: list[dict], variants: list[tuple[str, RetrievalConfig]], map_files: int) -> dict:
    """Two folds, alternating within each repository: each fold's figures come from the weights
    that did best on the other fold (the configured ones on a tie)."""
    folds = _folds(details)
    held_out: list[dict] = []
    chosen = []
    for test, train in ((folds[0], folds[1]), (folds[1], folds[0])):
        scores = [_objective([details[i]["variants"][v] for i in train], map_files) for v in range(len(variants))]
        best = max(range(len(variants)), key=lambda v: (scores[v], -v))
        chosen.append(variants[best][0])
        held_out += [details[i]["variants"][best] for i in test]
    return {**figures(held_out, map_files), "chosen": chosen}


def load_instances(path: Path, only: list[str] | None, limit: int | None) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = swebench_rows(rows)
    if only:
        rows = [r for r in rows if r["instance_id"] in only]
    return rows[:limit] if limit else rows


def open_index(tree: Path, settings) -> Localizer:
    """The index as a query needs it: with the code graph (built on first use) when the structure is on."""
    loc = Localizer.open(tree, settings)
    if settings.retrieval.structure_weight > 0:
        loc.retriever.graph  # noqa: B018 - built or loaded here, so that the index timing counts it
    return loc


def timing(args) -> dict:
    """Runs in a fresh process so that peak memory is this measurement's alone."""
    row = load_instances(Path(args.dataset), [args.timing_instance], None)[0]
    clone = Path(args.repo_cache) / row["repo"].replace("/", "__")
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryDirectory() as cache:
        tree = Path(tmp)
        export_commit(clone, row["base_commit"], tree)
        settings = load_settings(args.config, [*args.set, f"index.cache_dir={cache}"])
        t0 = time.perf_counter()
        open_index(tree, settings)
        cold = time.perf_counter() - t0
        t0 = time.perf_counter()
        loc = open_index(tree, settings)
        warm = time.perf_counter() - t0
        t0 = time.perf_counter()
        loc.retrieve(row["problem_statement"])  # loads the embedding model and embeds the candidates, if dense is on
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        loc.retrieve(row["problem_statement"])
        query = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"instance": row["instance_id"], "units": len(loc.index.units), "files": len(loc.index.paths),
            "cold_index_s": round(cold, 2), "warm_index_s": round(warm, 2), "first_query_s": round(first, 2), "query_s": round(query, 3), "peak_mib": round(peak)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", required=True)
    ap.add_argument("--repo-cache", required=True)
    ap.add_argument("--instances", nargs="*")
    ap.add_argument("--limit", type=int)
    ap.add_argument("--config")
    ap.add_argument("--set", action="append", default=[], help="dotted override, as on the CLI")
    ap.add_argument("--timing-instance", help="instance to time (default: the first sympy one)")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--details", help="write per-instance results as JSONL here")
    ap.add_argument("--keep-trees", help="export base commits here and reuse them on later runs")
    ap.add_argument("--grid", default="default",
                    help="weights cross-validation may choose: default (GRID), none (the config alone), or 'field=v1,v2;field2=v3'")
    ap.add_argument("--_timing-only", dest="timing_only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.timing_only:
        print(json.dumps(timing(args)))
        return 0

    rows = load_instances(Path(args.dataset), args.instances, args.limit)
    settings = load_settings(args.config, args.set)
    variants = grid_variants(settings.retrieval, args.grid)
    map_files = settings.localization.llm_map_files
    details: list[dict] = []
    skipped: list[str] = []
    only_created: list[str] = []
    creating: dict[str, list[str]] = {}
    t_start = time.perf_counter()
    query_times = []
    for n, row in enumerate(rows, 1):
        clone = Path(args.repo_cache) / row["repo"].replace("/", "__")
        with tempfile.TemporaryDirectory() as tmp:
            tree = Path(tmp)
            if args.keep_trees:
                tree = Path(args.keep_trees) / row["instance_id"]
                if not (tree / ".exported").exists():
                    tree.mkdir(parents=True, exist_ok=True)
                    export_commit(clone, row["base_commit"], tree)
                    (tree / ".exported").touch()
            else:
                export_commit(clone, row["base_commit"], tree)
            loc = Localizer.open(tree, settings)
            gold_files, gold_units, created = gold_locations(row["patch"], tree, loc.index)
            if created:
                creating[row["instance_id"]] = sorted(created)
            if not gold_files:
                (only_created if created else skipped).append(row["instance_id"])
                why = "creates all the code it changes" if created else "changes no code the index reads"
                print(f"[{n}/{len(rows)}] {row['instance_id']}: its patch {why}; left out", file=sys.stderr)
                continue
            issue = clean_issue(row["problem_statement"], settings.localization.issue_max_chars)
            ranks = []
            for i, (_, cfg) in enumerate(variants):
                t0 = time.perf_counter()
                ranking = loc.retriever.rank(issue, cfg)
                if i == 0:
                    query_times.append(time.perf_counter() - t0)
                    first = ranking
                ranks.append(gold_ranks(ranking, gold_files, gold_units, map_files, settings.localization.llm_map_import_files))
        files = [p for p, _ in first.files]
        units = list(dict.fromkeys((u.path, u.name) for u, _ in first.units))
        rec = {"instance_id": row["instance_id"], "repo": row["repo"], "gold_files": sorted(gold_files), "gold_units": sorted(gold_units),
               **ranks[0], "top_files": files[:5], "top_units": units[:10], "variants": ranks}
        details.append(rec)
        print(f"[{n}/{len(rows)}] {row['instance_id']}: file rank {rec['file_rank']}, unit rank {rec.get('unit_rank', '-')}", file=sys.stderr)
    result = {"instances": len(details), "no_code_in_patch": skipped, "func_instances": sum("unit_rank" in d for d in details),
              "in_sample": figures([d["variants"][0] for d in details], map_files)}
    result["only_created_code"] = only_created
    result["created_files"] = creating
    # The figure as if a created file were a gold file the ranking missed, over every instance with code in its patch.
    counted = len(details) + len(only_created)
    hits = sum(d["file_rank"] <= 5 and d["instance_id"] not in creating for d in details)
    result["file_acc@5_counting_created_as_missed"] = round(hits / max(counted, 1), 4)
    if len(variants) > 1:
        result["cross_validated"] = cross_validate(details, variants, map_files)
    result["map_import_slots"] = map_slots(details, settings.localization.llm_map_import_files)
    result["mean_query_s"] = round(sum(query_times) / max(len(query_times), 1), 3)
    result["total_s"] = round(time.perf_counter() - t_start, 1)
    if args.details:
        Path(args.details).write_text("".join(json.dumps(d) + "\n" for d in details))
    if not args.no_timing:
        tid = args.timing_instance or next((r["instance_id"] for r in load_instances(Path(args.dataset), None, None) if r["repo"] == "sympy/sympy"), None)
        if tid:
            cmd = [sys.executable, __file__, "--_timing-only", "--dataset", args.dataset, "--repo-cache", args.repo_cache, "--timing-instance", tid]
            cmd += [x for s in args.set for x in ("--set", s)] + (["--config", args.config] if args.config else [])
            out = subprocess.run(cmd, capture_output=True, text=True)
            result["timing"] = json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr.strip().splitlines()[-1:]}
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

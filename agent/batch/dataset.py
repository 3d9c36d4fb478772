"""SWE-bench-style instances from a local JSON, JSONL or parquet file, or from the Hugging Face
hub by name when the network allows (Multi-SWE-bench's rows read as SWE-bench's: multiswe.py);
and the slice of them a run asks for."""

from __future__ import annotations

import json
import re
from pathlib import Path

from agent.batch.multiswe import is_multi_swe, to_swebench
from configs.errors import UserError

REQUIRED = ("instance_id", "repo", "base_commit", "problem_statement")  # to solve an instance
VALIDATION_FIELDS = ("instance_id", "repo", "version", "base_commit", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS")  # to validate one
# What a solver may see; the rest (patch, test_patch, FAIL_TO_PASS, PASS_TO_PASS) is the grader's.
# version and environment_setup_commit choose the environment, as the official images do.
SOLVER_FIELDS = ("instance_id", "repo", "base_commit", "problem_statement", "version", "environment_setup_commit")
GRADER_FIELDS = ("patch", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS")


def load(spec: str, split: str = "test", needs: tuple[str, ...] = REQUIRED) -> list[dict]:
    """Every instance of the dataset, each checked to have the fields in `needs`."""
    path = Path(spec).expanduser()
    if path.is_file():
        rows = _read_file(path)
    elif path.exists():
        raise UserError(f"--dataset {spec}: not a file")
    elif re.fullmatch(r"[\w.-]+/[\w.-]+", spec) and not spec.endswith((".json", ".jsonl", ".parquet")):
        rows = _from_hub(spec, split)
    else:
        raise UserError(f"--dataset {spec}: no such file")
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise UserError(f"--dataset {spec}: instance {n} is not an object")
        if is_multi_swe(row):
            rows[n - 1] = row = to_swebench(row, f"--dataset {spec}")
        # An empty list of tests (or test patch) is given; an empty id, repository, commit or issue is not.
        missing = [k for k in needs if row.get(k) is None or (k in REQUIRED and not row[k])]
        if missing:
            raise UserError(f"--dataset {spec}: instance {row.get('instance_id') or n} lacks {', '.join(missing)}")
    ids = [r["instance_id"] for r in rows]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise UserError(f"--dataset {spec}: instance ids repeat: {', '.join(dupes[:5])}")
    return rows


def _read_file(path: Path) -> list[dict]:
    try:
        if path.suffix == ".parquet":
            import pyarrow.parquet as pq

            return pq.read_table(path).to_pylist()
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".jsonl":
            return [_json_line(path, n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
        data = json.loads(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"--dataset {path}: cannot read it: {exc}") from None
    except json.JSONDecodeError as exc:
        raise UserError(f"--dataset {path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except Exception as exc:  # pyarrow's errors share no useful base class
        raise UserError(f"--dataset {path}: cannot read it as parquet: {exc}") from None
    if isinstance(data, dict) and isinstance(data.get("instances"), list):
        data = data["instances"]
    if not isinstance(data, list):
        raise UserError(f"--dataset {path}: expected a list of instances")
    return data


def _json_line(path: Path, n: int, line: str) -> dict:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise UserError(f"--dataset {path}:{n}: not valid JSON ({exc.msg})") from None


def _from_hub(name: str, split: str) -> list[dict]:
    try:
        import datasets
    except ImportError:
        raise UserError(f"--dataset {name}: loading from the hub needs the 'datasets' package; "
                        "or pass a local .json, .jsonl or .parquet file") from None
    from huggingface_hub.utils import logging as hub_logging

    # Their warnings about each failed request and retry: the one-line error below says it.
    datasets.logging.set_verbosity_error()
    hub_logging.set_verbosity_error()
    try:
        return [dict(r) for r in datasets.load_dataset(name, split=split)]
    except Exception as exc:  # offline, unknown name, unknown split
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise UserError(f"--dataset {name}: cannot load it from the hub ({first[:200]}); "
                        "pass a local .json, .jsonl or .parquet file instead") from None


def select(rows: list[dict], instances: list[str] | None = None, slice_: str | None = None,
           pattern: str | None = None, flag: str = "--instances") -> list[dict]:
    """Named instances (`flag` names them in errors), then a regex on the id, then a Python-style
    A:B slice."""
    if instances:
        known = {r["instance_id"] for r in rows}
        unknown = [i for i in instances if i not in known]
        if unknown:
            raise UserError(f"{flag}: not in the dataset: {', '.join(unknown[:5])}")
        wanted = set(instances)
        rows = [r for r in rows if r["instance_id"] in wanted]
    if pattern:
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise UserError(f"--filter {pattern!r}: {exc}") from None
        rows = [r for r in rows if rx.search(r["instance_id"])]
    if slice_:
        m = re.fullmatch(r"\s*(-?\d*)\s*:\s*(-?\d*)\s*", slice_)
        if not m:
            raise UserError(f"--slice {slice_!r}: expected A:B, as in 0:10 or 5: or :-3")
        rows = rows[slice(int(m[1]) if m[1] else None, int(m[2]) if m[2] else None)]
    return rows


def solver_view(row: dict, hints: bool = False) -> dict:
    """Only what a solver may see of an instance."""
    view = {k: row[k] for k in SOLVER_FIELDS if k in row}
    if hints and row.get("hints_text"):
        view["hints_text"] = row["hints_text"]
    return view

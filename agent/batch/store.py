"""A batch's output folder:

    OUTPUT/
        preds.jsonl          one line per attempted instance: instance_id, model_name_or_path, model_patch
        preds.multi_swe.jsonl  the same, as Multi-SWE-bench takes them (org, repo, number, fix_patch),
                             for the instances that came in its format
        exit_statuses.json   instances by exit status, and each instance's status, cost and time
        config.json          the resolved configuration
        <instance_id>/       result.json, patch.diff and the agent's run record (run/)

Only the driver writes here. preds.jsonl and exit_statuses.json are rewritten whole through a
temporary file and a rename after each instance, predictions first: after a kill at any moment
neither holds a partial line, and an instance counts as done only when both name it.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

from agent.batch.multiswe import PREDS as MULTI_SWE_PREDS
from agent.batch.multiswe import submission
from agent.batch.solve import RETRYABLE, InstanceResult
from configs.files import read_json, write_atomic

PREDS = "preds.jsonl"
STATUSES = "exit_statuses.json"
_PLAIN = re.compile(r"[A-Za-z0-9_.-]{1,200}")  # an instance id that can name its folder as it is


class Output:
    def __init__(self, root: Path, origins: dict[str, dict] | None = None):
        """`origins`: instance id -> its Multi-SWE-bench names (org, repo, number), for those that have them."""
        self.root = root
        self.origins = origins or {}
        root.mkdir(parents=True, exist_ok=True)
        # Kept across runs of other slices of the dataset, as preds.jsonl is: keyed by what names an instance there.
        self.submissions: dict[tuple, dict] = {}
        for sub in _json_objects(root / MULTI_SWE_PREDS):
            try:
                self.submissions[(sub["org"], sub["repo"], sub["number"])] = sub
            except (TypeError, KeyError):  # a line without those names, or with one that cannot be a key
                continue
        self.preds: dict[str, dict] = {p["instance_id"]: p for p in _json_objects(root / PREDS) if p.get("instance_id")}
        data = _json(root / STATUSES)
        self.instances: dict[str, dict] = {k: v for k, v in (data.get("instances") or {}).items() if isinstance(v, dict)}

    def done(self) -> dict[str, str]:
        """instance id -> exit status, for instances both files name."""
        return {i: v.get("status", "") for i, v in self.instances.items() if i in self.preds}

    def todo(self, ids: list[str], redo: bool, retry_errors: bool) -> list[str]:
        done = {} if redo else self.done()
        return [i for i in ids if i not in done or (retry_errors and done[i] in RETRYABLE)]

    def folder(self, instance_id: str) -> Path:
        """The instance's folder: its id, when that is a plain name; else a plain name made from it."""
        if _PLAIN.fullmatch(instance_id) and instance_id not in (".", ".."):
            return self.root / instance_id
        digest = hashlib.sha256(instance_id.encode("utf-8", "replace")).hexdigest()[:12]
        return self.root / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', instance_id)[:80].lstrip('.')}-{digest}"

    def save(self, result: InstanceResult, model: str, gold_files: list[str]) -> InstanceResult:
        """The instance's folder (run record, patch, result) as far as it can be written, then its
        lines in preds.jsonl and exit_statuses.json, written whatever happened to the folder; the
        result as recorded (a folder that could not be written is said in its reason)."""
        try:
            self._write_folder(result, gold_files)
        except (OSError, ValueError) as exc:  # ValueError: a name holding a NUL
            note = f"its folder could not be written: {type(exc).__name__}: {exc}"
            result = result.model_copy(update={"reason": f"{result.reason}; {note}" if result.reason else note})
        self._account(result, model)
        return result

    def _write_folder(self, result: InstanceResult, gold_files: list[str]) -> None:
        folder = self.folder(result.instance_id)
        folder.mkdir(mode=0o700, exist_ok=True)  # a result with an empty record still gets its folder
        run = folder / "run"
        if run.exists():
            shutil.rmtree(run)  # a rerun replaces the instance's record
        for name, text in result.record.items():
            if "\0" in name:
                continue  # names come from a worker: one that cannot be a path is left out
            path = (run / name).resolve()
            if run.resolve() in path.parents:  # ... and one that leaves the folder too
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                write_atomic(path, text)  # private, as the worker's record was
        write_atomic(folder / "patch.diff", result.patch)
        summary = {**result.model_dump(exclude={"record"}), "gold_files": gold_files}
        write_atomic(folder / "result.json", json.dumps(summary, indent=2) + "\n")

    def _account(self, result: InstanceResult, model: str) -> None:
        self.preds[result.instance_id] = {"instance_id": result.instance_id, "model_name_or_path": model,
                                          "model_patch": result.patch}
        write_atomic(self.root / PREDS, "".join(json.dumps(p) + "\n" for p in self.preds.values()))
        origin = self.origins.get(result.instance_id)
        if origin is not None:
            self.submissions[(origin["org"], origin["repo"], origin["number"])] = submission(self.preds[result.instance_id], origin)
            write_atomic(self.root / MULTI_SWE_PREDS, "".join(json.dumps(p) + "\n" for p in self.submissions.values()))
        self.instances[result.instance_id] = {"status": result.status, "cost_usd": result.cost_usd,
                                              "duration_s": result.duration_s, "reason": result.reason}
        by_status: dict[str, list[str]] = {}
        for iid, info in self.instances.items():
            by_status.setdefault(info["status"], []).append(iid)
        write_atomic(self.root / STATUSES, json.dumps({"instances_by_exit_status": by_status,
                                                       "instances": self.instances}, indent=2) + "\n")

    def results(self) -> list[dict]:
        """Every instance's result.json that can be read."""
        out = []
        for iid in self.instances:
            data = _json(self.folder(iid) / "result.json")
            if data:
                out.append(data)
        return out


def _json_objects(path: Path) -> list[dict]:
    """The JSON objects of a JSON-lines file; other lines are left out (they cannot happen with
    atomic writes; a hand-edited file keeps what it can)."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        try:
            obj = json.loads(line) if line.strip() else None
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            out.append(obj)
    return out


def _json(path: Path) -> dict:
    data = read_json(path)
    return data if isinstance(data, dict) else {}

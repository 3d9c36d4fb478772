"""A batch's output folder:

    OUTPUT/
        preds.jsonl          one line per attempted instance: instance_id, model_name_or_path, model_patch
        exit_statuses.json   instances by exit status, and each instance's status, cost and time
        config.json          the resolved configuration
        <instance_id>/       result.json, patch.diff and the agent's run record (run/)

Only the driver writes here. preds.jsonl and exit_statuses.json are rewritten whole through a
temporary file and a rename after each instance, predictions first: after a kill at any moment
neither holds a partial line, and an instance counts as done only when both name it.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from agent.batch.solve import RETRYABLE, InstanceResult
from configs.files import read_json, write_atomic

PREDS = "preds.jsonl"
STATUSES = "exit_statuses.json"


class Output:
    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.preds: dict[str, dict] = {}
        for line in _lines(root / PREDS):
            try:
                pred = json.loads(line)
            except json.JSONDecodeError:
                continue  # cannot happen with atomic writes; a hand-edited file keeps what it can
            if isinstance(pred, dict) and pred.get("instance_id"):
                self.preds[pred["instance_id"]] = pred
        data = _json(root / STATUSES)
        self.instances: dict[str, dict] = {k: v for k, v in (data.get("instances") or {}).items() if isinstance(v, dict)}

    def done(self) -> dict[str, str]:
        """instance id -> exit status, for instances both files name."""
        return {i: v.get("status", "") for i, v in self.instances.items() if i in self.preds}

    def todo(self, ids: list[str], redo: bool, retry_errors: bool) -> list[str]:
        done = {} if redo else self.done()
        return [i for i in ids if i not in done or (retry_errors and done[i] in RETRYABLE)]

    def save(self, result: InstanceResult, model: str, gold_files: list[str]) -> None:
        folder = self.root / result.instance_id
        folder.mkdir(mode=0o700, exist_ok=True)  # a result with an empty record still gets its folder
        run = folder / "run"
        if run.exists():
            shutil.rmtree(run)  # a rerun replaces the instance's record
        for name, text in result.record.items():
            path = (run / name).resolve()
            if run.resolve() in path.parents:  # names come from a worker: stay inside the folder
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                write_atomic(path, text)  # private, as the worker's record was
        write_atomic(folder / "patch.diff", result.patch)
        summary = {**result.model_dump(exclude={"record"}), "gold_files": gold_files}
        write_atomic(folder / "result.json", json.dumps(summary, indent=2) + "\n")
        self.preds[result.instance_id] = {"instance_id": result.instance_id, "model_name_or_path": model,
                                          "model_patch": result.patch}
        write_atomic(self.root / PREDS, "".join(json.dumps(p) + "\n" for p in self.preds.values()))
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
            data = _json(self.root / iid / "result.json")
            if data:
                out.append(data)
        return out


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError):
        return []


def _json(path: Path) -> dict:
    data = read_json(path)
    return data if isinstance(data, dict) else {}

"""`swebench eval`: grade predictions in the sandbox as the official harness does (the patch,
then the test patch, then FAIL_TO_PASS and PASS_TO_PASS), writing its report file
`<model>.<run_id>.json` and per-instance logs under `logs/run_evaluation/<run_id>/<model>/<id>/`."""

from __future__ import annotations

import concurrent.futures as cf
import json
import shlex
from pathlib import Path
from typing import Callable

from agent.settings import SandboxConfig
from configs.errors import UserError
from configs.files import write_atomic

REPORT_SCHEMA = 2  # the official harness's report schema_version


def load_predictions(path: Path) -> list[dict]:
    """Predictions as the official harness reads them (swebench's own loader), checked."""
    from sandbox.swebench_adapter import predictions_from_file

    if not path.is_file():
        raise UserError(f"--predictions {path}: no such file")
    try:
        preds = predictions_from_file(str(path))
    except (ValueError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"--predictions {path}: {str(exc).splitlines()[0]}") from None
    for pred in preds:
        if not isinstance(pred.get("model_patch", ""), (str, type(None))):
            raise UserError(f"--predictions {path}: {pred['instance_id']}: model_patch is not text")
    return preds


def safe_name(model: str) -> str:
    return model.replace("/", "__")


def evaluate(preds: list[dict], rows: dict[str, dict], repo_cache: Path, cfg: SandboxConfig, workers: int, run_id: str,
             logs_root: Path, on_done: Callable[[str, str], None] = lambda *_: None) -> dict:
    """Grade each prediction; `on_done(instance_id, outcome)` as each finishes. Returns the report."""
    from sandbox.instances import validate

    unknown = [p["instance_id"] for p in preds if p["instance_id"] not in rows]
    if unknown:
        raise UserError(f"predictions for instances not in the dataset: {', '.join(unknown[:5])}")
    model = safe_name(str(preds[0].get("model_name_or_path") or "model")) if preds else "model"
    resolved, unresolved, errors, empty = [], [], [], []

    def grade(pred: dict) -> tuple[str, str]:
        iid, patch = pred["instance_id"], pred.get("model_patch") or ""
        folder = logs_root / run_id / model / iid
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / "patch.diff", patch)
        if not patch.strip():
            return iid, "empty"
        result = validate(rows[iid], repo_cache, cfg, patch)
        write_atomic(folder / "test_output.txt", result.output)
        report = {iid: {"patch_is_None": False, "patch_exists": True, "patch_successfully_applied": result.error is None,
                        "resolved": result.resolved, "error": result.error, "refused": result.refused,
                        "tests_status": {"FAIL_TO_PASS": {"success": result.fail_to_pass.passed, "failure": result.fail_to_pass.failed},
                                         "PASS_TO_PASS": {"success": result.pass_to_pass.passed, "failure": result.pass_to_pass.failed}}}}
        write_atomic(folder / "report.json", json.dumps(report, indent=2) + "\n")
        # Grading fails closed: a run that could not be read or finished is an error, never a pass.
        return iid, "error" if result.error else ("resolved" if result.resolved else "unresolved")

    lists = {"resolved": resolved, "unresolved": unresolved, "error": errors, "empty": empty}
    with cf.ThreadPoolExecutor(max(1, workers)) as pool:
        futures = {pool.submit(grade, p): p["instance_id"] for p in preds}
        for future in cf.as_completed(futures):
            try:
                iid, outcome = future.result()
            except Exception as exc:  # an unexpected failure grades as an error, and says what
                iid, outcome = futures[future], "error"
                write_atomic(logs_root / run_id / model / iid / "error.txt", f"{type(exc).__name__}: {exc}\n")
            lists[outcome].append(iid)
            on_done(iid, outcome)
    submitted = sorted(p["instance_id"] for p in preds)
    completed = sorted(resolved + unresolved)
    return {
        "total_instances": len(rows), "submitted_instances": len(submitted), "completed_instances": len(completed),
        "resolved_instances": len(resolved), "unresolved_instances": len(unresolved),
        "empty_patch_instances": len(empty), "error_instances": len(errors),
        "completed_ids": completed, "incomplete_ids": sorted(set(rows) - set(completed) - set(empty)),
        "empty_patch_ids": sorted(empty), "submitted_ids": submitted, "resolved_ids": sorted(resolved),
        "unresolved_ids": sorted(unresolved), "error_ids": sorted(errors), "schema_version": REPORT_SCHEMA,
    }


def write_report(report: dict, model: str, run_id: str, where: Path) -> Path:
    path = where / f"{safe_name(model)}.{run_id}.json"
    write_atomic(path, json.dumps(report, indent=4) + "\n")
    return path


def official_command(dataset: str, predictions: Path, workers: int, run_id: str) -> str:
    return ("python -m swebench.harness.run_evaluation --dataset_name " + shlex.quote(dataset)
            + " --predictions_path " + shlex.quote(str(predictions)) + f" --max_workers {workers} --run_id "
            + shlex.quote(run_id))

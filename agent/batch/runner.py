"""The driver of `swebench run`: choose what to run (resume by default), keep `workers`
instances in flight, write each result as it comes back, stop starting new ones past the total
cost limit."""

from __future__ import annotations

import json
from collections import deque
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from pydantic import BaseModel

from agent.batch.dataset import solver_view
from agent.batch.executors import Executor
from agent.batch.progress import BatchDisplay
from agent.batch.solve import RETRYABLE, InstanceResult
from agent.batch.store import Output
from agent.settings import Settings
from configs.errors import RunError
from configs.files import write_atomic
from sandbox.instances import unsupported


class BatchSummary(BaseModel):
    selected: int
    skipped: int  # finished in an earlier run
    ran: int
    by_status: dict[str, int]
    cost_usd: float | None
    stopped: str | None = None  # why instances were left unstarted


def gold_files(row: dict) -> list[str]:
    from unidiff import PatchSet
    from unidiff.errors import UnidiffParseError

    try:
        return [f.path for f in PatchSet(row.get("patch") or "")]
    except UnidiffParseError:
        return []


def run_batch(rows: list[dict], output: Path, settings: Settings, executor: Executor, repo_cache: Path,
              display: BatchDisplay, redo: bool = False, retry_errors: bool = False) -> BatchSummary:
    cfg = settings.batch
    out = Output(output, {r["instance_id"]: r["multi_swe"] for r in rows if isinstance(r.get("multi_swe"), dict)})
    write_atomic(output / "config.json", json.dumps(settings.public_dump(), indent=2, default=str) + "\n")
    by_id = {r["instance_id"]: r for r in rows}
    todo = out.todo(list(by_id), redo, retry_errors)
    worker_settings = settings
    if cfg.max_cost_per_instance_usd is not None:
        worker_settings = settings.model_copy(update={"llm": settings.llm.model_copy(
            update={"max_cost_usd": cfg.max_cost_per_instance_usd})})
    model = cfg.model_name or settings.llm.model or "supercoder"
    spent: float | None = sum((i.get("cost_usd") or 0.0) for iid, i in out.instances.items() if iid in by_id)
    counts: dict[str, int] = {}
    for iid, status in out.done().items():
        if iid in by_id and iid not in todo:
            counts[status] = counts.get(status, 0) + 1
    display.start(total=len(rows), done=len(rows) - len(todo), counts=counts, cost=spent)
    pending, stopped, ran = deque(todo), None, 0
    with _displayed(display), executor:
        while pending or executor.in_flight:
            while pending and executor.in_flight < cfg.workers and stopped is None:
                if cfg.max_total_cost_usd is not None and spent is not None and spent >= cfg.max_total_cost_usd:
                    stopped = f"the batch spent ${spent:.2f}, over batch.max_total_cost_usd"
                    break
                iid = pending.popleft()
                why = unsupported(by_id[iid], settings.sandbox)
                if why:  # said before any model call, and nothing spent on it
                    result = record(out, InstanceResult(instance_id=iid, status="unsupported_environment", reason=why, cost_usd=0.0),
                                    model, by_id, counts)
                    ran += 1
                    display.finished(result, counts, spent)
                    continue
                executor.submit(solver_view(by_id[iid], cfg.hints), worker_settings, repo_cache)
            if stopped and not executor.in_flight:
                break
            for result in executor.finished(cfg.poll_interval_s):
                result = record(out, result, model, by_id, counts)
                ran += 1
                spent = None if spent is None or result.cost_usd is None else spent + result.cost_usd
                display.finished(result, counts, spent)
            for event in executor.events():
                display.stage(*event)
    return BatchSummary(selected=len(rows), skipped=len(rows) - len(todo), ran=ran, by_status=counts, cost_usd=spent,
                        stopped=stopped)


@contextmanager
def _displayed(display: BatchDisplay) -> Iterator[None]:
    try:
        yield
    finally:
        display.stop()  # also when interrupted: the terminal gets its cursor back


def record(out: Output, result: InstanceResult, model: str, by_id: dict[str, dict], counts: dict[str, int]) -> InstanceResult:
    """Write one instance's result down; the result as recorded. Whatever its result holds, the
    batch goes on: a result that cannot be written becomes an infrastructure error that says why
    (and is run again by --retry-errors). `counts` holds only instances not (re)run now, so a
    rerun instance counts once."""
    try:
        result = out.save(result, model, gold_files(by_id.get(result.instance_id, {})))
    except Exception as exc:  # the accounting files themselves: try once more with nothing to write but the why
        result = InstanceResult(instance_id=result.instance_id, status="infra_error", cost_usd=result.cost_usd,
                                duration_s=result.duration_s, worker=result.worker,
                                reason=f"its result could not be recorded: {type(exc).__name__}: {exc}"[:500])
        try:
            result = out.save(result, model, [])
        except Exception as again:
            raise RunError(f"cannot write the batch's output in {out.root}: {type(again).__name__}: {again}") from None
    counts[result.status] = counts.get(result.status, 0) + 1
    return result


def exit_code(summary: BatchSummary) -> int:
    """0: every selected instance was processed; 1: some ended in an infrastructure (or rate-limit)
    error, or were left unstarted."""
    errors = sum(n for status, n in summary.by_status.items() if status in RETRYABLE)
    return 1 if errors or summary.stopped else 0

"""One instance of a batch: the repair pipeline on the instance's tree at its base commit, in
its sandbox, seeing only the solver's view of the instance. Runs in a worker process (or a Ray
task on another machine), so it returns everything it made, the run record included, and the
driver writes it down."""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, Field

from agent.config import Settings

ExitStatus = Literal["resolved_by_own_tests", "unvalidated_patch", "no_patch", "cost_limit", "model_refused",
                     "rate_limited", "infra_error"]
# Not the model's failures: `--retry-errors` runs them again.
RETRYABLE: frozenset[str] = frozenset({"rate_limited", "infra_error"})


class InstanceResult(BaseModel):
    instance_id: str
    status: ExitStatus
    patch: str = ""
    reason: str = ""
    cost_usd: float | None = 0.0
    duration_s: float = 0.0
    located_files: list[str] = Field(default_factory=list)
    stages_s: dict[str, float] = Field(default_factory=dict)
    worker: str = ""  # host:pid of the process that ran it
    record: dict[str, str] = Field(default_factory=dict)  # the run record's files, by name


def issue_text(task: dict) -> str:
    hints = task.get("hints_text")
    return task["problem_statement"] + (f"\n\nHints:\n{hints}" if hints else "")


def status_of(outcome) -> ExitStatus:
    if outcome.status == "validated":
        return "resolved_by_own_tests"
    if outcome.stop == "unavailable":
        return "rate_limited"
    if outcome.stop == "limit":
        return "cost_limit"
    if outcome.stop == "refused":
        return "model_refused"
    return "unvalidated_patch" if outcome.patch else "no_patch"


def solve(task: dict, settings: Settings, repo_cache: Path, progress: Callable[[str], None] = lambda _: None) -> InstanceResult:
    """`task` is the solver's view of an instance (see dataset.solver_view)."""
    from agent.llm import LLMError, OpenAIClient, stop_kind
    from agent.pipeline import RepairRequest, failed, repair
    from agent.records import RunRecord, read_json
    from agent.workspace import checkout_workspace
    from sandbox.base import SandboxError
    from sandbox.instances import clone_for, instance_sandbox

    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="supercoder-batch-") as tmp:
        record = RunRecord(Path(tmp) / "runs")
        llm = OpenAIClient(settings.llm, on_call=record.call)
        record.write("config", settings.public_dump())
        record.write("task", task)

        @contextlib.contextmanager
        def sandboxes():
            with instance_sandbox(task, repo_cache, settings.sandbox, progress=progress) as (sb, _):
                yield sb

        try:
            progress("checking out")
            clone = clone_for(repo_cache, task["repo"], settings.sandbox, progress)
            ws = checkout_workspace(clone, task["base_commit"], Path(tmp) / "repo")
            outcome = repair(RepairRequest(repo=ws.path, issue=issue_text(task)), ws, settings, llm, record, progress,
                             sandboxes=sandboxes)
            status = status_of(outcome)
        except SandboxError as exc:
            outcome, status = failed(record, llm, f"sandbox: {exc}"), "infra_error"
        except LLMError as exc:  # outside generation (which records its own failures)
            outcome = failed(record, llm, f"model: {exc}", stop=stop_kind(exc) or "unavailable")
            status = status_of(outcome)
        located = read_json(record.dir / "localize.json") or {}
        timings = read_json(record.dir / "timings.json") or {}
        files = {p.relative_to(record.dir).as_posix(): p.read_text(encoding="utf-8", errors="replace")
                 for p in sorted(record.dir.rglob("*")) if p.is_file()}
    return InstanceResult(instance_id=task["instance_id"], status=status, patch=outcome.patch, reason=outcome.reason,
                          cost_usd=outcome.cost_usd, duration_s=round(time.monotonic() - start, 1),
                          located_files=list(dict.fromkeys(u["path"] for u in located.get("units", []))),
                          stages_s=timings, record=files)

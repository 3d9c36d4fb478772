"""One instance of a batch: the repair pipeline on the instance's tree at its base commit, in
its sandbox, seeing only the solver's view of the instance. Runs in a worker process (or a Ray
task on another machine), so it returns everything it made, the run record included, and the
driver writes it down."""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from agent.pipeline import Progress, RepairOutcome, RepairRequest
from agent.repair import run
from agent.settings import Settings
from agent.workspace import Workspace, checkout_workspace
from configs.files import read_json
from sandbox.config import SandboxConfig
from sandbox.instances import clone_for, instance_environment
from sandbox.recipes import Environment

ExitStatus = Literal["resolved_by_own_tests", "unvalidated_patch", "no_patch", "cost_limit", "model_refused",
                     "rate_limited", "infra_error", "unsupported_environment"]
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


def status_of(outcome: RepairOutcome) -> ExitStatus:
    if outcome.status == "validated":
        return "resolved_by_own_tests"
    if outcome.failure == "sandbox":
        return "infra_error"
    if outcome.stop == "unavailable":
        return "rate_limited"
    if outcome.stop == "limit":
        return "cost_limit"
    if outcome.stop == "refused":
        return "model_refused"
    return "unvalidated_patch" if outcome.patch else "no_patch"


@dataclass
class Instance:
    """An instance's repository at its base commit (from the clone cache), in the instance's own
    environment: the repair's source in a batch."""

    task: dict
    repo_cache: Path
    cfg: SandboxConfig  # where a missing clone comes from
    repo = None  # no user's tree to keep the run record out of

    def workspace(self, dest: Path, progress: Progress) -> Workspace:
        progress("checking out")
        clone = clone_for(self.repo_cache, self.task["repo"], self.cfg, progress)
        return checkout_workspace(clone, self.task["base_commit"], dest)

    def environment(self, ws: Workspace, cfg: SandboxConfig, progress: Progress) -> Environment:
        return instance_environment(self.task, self.repo_cache, cfg, progress)


def solve(task: dict, settings: Settings, repo_cache: Path, progress: Progress = lambda _: None) -> InstanceResult:
    """`task` is the solver's view of an instance (see dataset.solver_view)."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="supercoder-batch-") as tmp:
        outcome = run(RepairRequest(issue=issue_text(task)), Instance(task, repo_cache, settings.sandbox), settings,
                      progress=progress, runs_dir=Path(tmp), about={"task": task})
        folder = Path(outcome.run_dir)
        located = read_json(folder / "localize.json") or {}
        timings = read_json(folder / "timings.json") or {}
        files = {p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8", errors="replace")
                 for p in sorted(folder.rglob("*")) if p.is_file()}
    return InstanceResult(instance_id=task["instance_id"], status=status_of(outcome), patch=outcome.patch, reason=outcome.reason,
                          cost_usd=outcome.cost_usd, duration_s=round(time.monotonic() - start, 1),
                          located_files=list(dict.fromkeys(u["path"] for u in located.get("units", []))),
                          stages_s=timings, record=files)

"""The one repair entry every front-end calls (`supercoder repair`, the batch solver, the GitHub
bot): it cleans the issue, opens the run record and the model client, makes the workspace from
its source, runs the pipeline, and turns whatever ends the run into an outcome recorded with
why. A front-end says where the tree comes from (a Source) and what to do with the outcome."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Protocol

from agent.llm import OpenAIClient, check_endpoint, print_warning
from agent.pipeline import Progress, RepairOutcome, RepairRequest, failed, repair
from agent.records import RunRecord, default_runs_dir
from agent.settings import Settings
from agent.workspace import Workspace, make_workspace
from configs.errors import LLMError, UserError
from localization.localize import clean_issue
from sandbox.base import SandboxError
from sandbox.config import SandboxConfig
from sandbox.project import project_environment
from sandbox.recipes import Environment


class Source(Protocol):
    """Where the tree a repair works on comes from, and the environment its tests run in."""

    repo: Path | None  # the user's own repository, if any: only read, and the run record stays out of it

    def workspace(self, dest: Path, progress: Progress) -> Workspace:
        """A private copy of the tree at `dest`."""

    def environment(self, ws: Workspace, cfg: SandboxConfig, progress: Progress) -> Environment:
        """The workspace's tree installed for its tests."""


@dataclass
class LocalRepository:
    """A repository on disk as it stands, uncommitted changes included, in the environment derived
    from its own files: the CLI's and the bot's."""

    repo: Path

    def workspace(self, dest: Path, progress: Progress) -> Workspace:
        progress("copying the repository")
        return make_workspace(self.repo, dest)

    def environment(self, ws: Workspace, cfg: SandboxConfig, progress: Progress) -> Environment:
        return project_environment(ws.path, ws.commit, cfg, ephemeral=True)  # the copy's commit is this run's own


def run(request: RepairRequest, source: Source, settings: Settings, *, progress: Progress = lambda _: None,
        warn: Callable[[str], None] = print_warning, runs_dir: Path | None = None, about: dict[str, Any] | None = None,
        preflight: bool = False) -> RepairOutcome:
    """Repair `request.issue` in the tree `source` gives. A sandbox or model failure is an
    outcome (`failure` says which); bad input (a UserError), an interruption or an unexpected
    error is recorded, then raised. `runs_dir` (default: repair.runs_dir) holds the run record;
    `about` adds what the front-end knows to its request.json; `preflight` asks the endpoint for
    its models first, so a bad key or URL stops before any work (as a UserError)."""
    request = request.model_copy(update={"issue": clean_issue(request.issue, settings.localization.issue_max_chars)})
    if preflight:  # before the record: a run refused before it starts leaves none
        check_endpoint(settings.llm, warn)
    record = RunRecord(runs_dir or settings.repair.runs_dir or default_runs_dir(), repo=source.repo)
    llm = OpenAIClient(settings.llm, on_call=record.call, warn=warn)
    record.write("config", settings.public_dump())
    record.write("request", {**request.model_dump(), **(about or {})})
    try:
        with tempfile.TemporaryDirectory(prefix="supercoder-workspace-") as scratch:
            ws = source.workspace(Path(scratch) / "repo", progress)
            for line in ws.skipped:
                warn(f"not copied: {line}")
            return repair(request, ws, settings, llm, record, progress,
                          environment=lambda: source.environment(ws, settings.sandbox, progress))
    except SandboxError as exc:
        return failed(record, llm, f"sandbox: {exc}", failure="sandbox")
    except LLMError as exc:  # outside generation, which records its own failures
        return failed(record, llm, f"model: {exc}", stop=exc.stop or "unavailable", failure="model")
    except UserError as exc:
        failed(record, llm, str(exc))
        raise
    except KeyboardInterrupt:
        failed(record, llm, "interrupted")
        raise
    except Exception as exc:
        failed(record, llm, f"unexpected {type(exc).__name__}: {exc}")
        raise

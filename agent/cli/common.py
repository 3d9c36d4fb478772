"""What every command shares: the stderr console and notices, the --config and --set options
(and flags that are shorthand for a --set override), the settings they give, and the options
several commands take alike."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console

from agent.settings import Settings, load_settings
from configs.errors import UserError

err = Console(stderr=True, highlight=False, soft_wrap=True)

ConfigOpt = Annotated[Optional[Path], typer.Option("--config", help="YAML config file, merged over the packaged defaults.")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Dotted override, e.g. --set localization.top_files=8 (repeatable).")]
RepoOpt = Annotated[Path, typer.Option("--repo", help="Path to the repository (never written).")]
IssueOpt = Annotated[Optional[str], typer.Option("--issue", help="The issue text.")]
IssueFileOpt = Annotated[Optional[Path], typer.Option("--issue-file", help="File holding the issue text ('-' for stdin).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
BackendOpt = Annotated[Optional[str], typer.Option("--backend", help="docker or local (default: sandbox.backend).")]
DatasetOpt = Annotated[str, typer.Option("--dataset", help="A .json, .jsonl or .parquet file, or a hub name.")]
SplitOpt = Annotated[str, typer.Option("--split", help="Split of a hub dataset.")]
RepoCacheOpt = Annotated[Path, typer.Option("--repo-cache", help="Folder of <owner>__<name> clones (only read; missing ones are cloned).")]
WorkersOpt = Annotated[Optional[int], typer.Option("--workers", min=1, help="Instances at once (batch.workers).")]


def with_flags(set_: list[str] | None, flags: dict[str, object]) -> list[str]:
    """The --set overrides, then one `key=value` per flag the user gave (None: not given), so a
    flag wins over a --set of the same key."""
    return list(set_ or []) + [f"{key}={value}" for key, value in flags.items() if value is not None]


def settings_of(config: Path | None, set_: list[str] | None, flags: dict[str, object] | None = None) -> Settings:
    return load_settings(config, with_flags(set_, flags or {}))


def notice(message: str) -> None:
    """A line on stderr (progress, warnings, notices): stdout holds only the result."""
    err.print(message, markup=False)


def warn(message: str) -> None:
    notice(f"warning: {message}")


def read_issue(issue: str | None, issue_file: Path | None) -> str:
    if (issue is None) == (issue_file is None):
        raise UserError("give the issue with exactly one of --issue TEXT or --issue-file FILE")
    if issue_file is not None:
        if str(issue_file) == "-":
            return sys.stdin.buffer.read().decode("utf-8", "replace")
        if not issue_file.exists():
            raise UserError(f"issue file not found: {issue_file}")
        if not issue_file.is_file():
            raise UserError(f"issue file is not a file: {issue_file}")
        try:
            return issue_file.read_text(encoding="utf-8", errors="replace")
        except OSError as exc:
            raise UserError(f"cannot read issue file {issue_file}: {exc.strerror}") from None
    return issue or ""


def group(name_help: str) -> typer.Typer:
    """A command group's own app (`supercoder sandbox ...`)."""
    return typer.Typer(help=name_help, no_args_is_help=True)


def commands() -> typer.Typer:
    """An app whose commands join the top level (`supercoder repair`)."""
    return typer.Typer()

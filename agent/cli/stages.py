"""The stages one at a time: `supercoder index`, `localize` and `edit`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from agent.cli.common import ConfigOpt, IssueFileOpt, IssueOpt, RepoOpt, SetOpt, commands, err, notice, read_issue, settings_of
from agent.settings import Settings
from configs.errors import UserError
from configs.files import write_atomic

app = commands()


class _IndexProgress:
    """A rich progress bar on a terminal; start and end lines otherwise."""

    def __init__(self) -> None:
        self._bar = None
        self._task = None
        self._started = False

    def __call__(self, done: int, total: int) -> None:
        if total == 0:
            return
        if err.is_terminal:
            if self._bar is None:
                from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

                self._bar = Progress(TextColumn("indexing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(), console=err, transient=True)
                self._bar.start()
                self._task = self._bar.add_task("index", total=total)
            self._bar.update(self._task, completed=done)
            if done >= total:
                self._bar.stop()
        elif not self._started:
            self._started = True
            notice(f"indexing {total} changed files...")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _warn_about_index(stats, settings: Settings) -> None:
    if stats.with_syntax_errors:
        notice(f"warning: {stats.with_syntax_errors} files have syntax errors; indexed what could be parsed")
    if stats.skipped_large or stats.skipped_binary:
        notice(f"warning: skipped {stats.skipped_large} files over {settings.index.max_file_bytes} bytes and {stats.skipped_binary} binary files")


def _with_progress(build):
    """Run `build(progress)` with the index progress display, closed whatever happens."""
    progress = _IndexProgress()
    try:
        return build(progress)
    finally:
        progress.close()


@app.command()
def index(repo: RepoOpt, config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Build or refresh the code index of a repository (cached outside it)."""
    settings = settings_of(config, set_)
    from localization.index import build_index

    idx = _with_progress(lambda progress: build_index(repo, settings.index, settings.retrieval.body_max_chars, progress))
    stats = idx.stats
    _warn_about_index(stats, settings)
    skipped = stats.skipped_large + stats.skipped_binary
    print(json.dumps({"repo": str(idx.root), "files": stats.files, "units": stats.units, "parsed": stats.parsed,
                      "from_cache": stats.from_cache, "skipped": skipped, "syntax_errors": stats.with_syntax_errors}))


@app.command()
def localize(
    repo: RepoOpt,
    issue: IssueOpt = None,
    issue_file: IssueFileOpt = None,
    top_files: Annotated[Optional[int], typer.Option("--top-files", min=1, help="Files to report.")] = None,
    top_units: Annotated[Optional[int], typer.Option("--top-units", min=1, help="Units to report.")] = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Retrieval only, even when a model is configured.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: files and units, best first, and notes.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Rank the files and code units an issue is about."""
    settings = settings_of(config, set_, {"localization.top_files": top_files, "localization.top_units": top_units})
    from localization.localize import Localizer, clean_issue

    text = clean_issue(read_issue(issue, issue_file), settings.localization.issue_max_chars)  # before any indexing
    llm, remote, mode_notice = None, None, None
    if no_llm:
        mode_notice = "retrieval only (--no-llm)"
    elif not settings.llm.configured:
        mode_notice = "no model configured (llm.model): retrieval only"
    else:
        from agent.llm import OpenAIEmbedder, make_llm

        llm = make_llm(settings.llm)
        remote = lambda: OpenAIEmbedder(settings.embeddings, settings.llm)  # noqa: E731
    localizer = _with_progress(lambda progress: Localizer.open(repo, settings, progress, remote))
    _warn_about_index(localizer.index.stats, settings)
    if mode_notice:  # after the repository opened, so that a bad --repo gives one error line only
        notice(mode_notice)
    result = localizer.localize(text, llm)
    for note in result.notes:
        notice(note if note.startswith("warning:") else f"note: {note}")
    if as_json:
        print(json.dumps(result.public()))
        return
    out = Console(highlight=False)
    files = Table(title="Files", title_justify="left")
    for col in ("#", "path", "score"):  # fold, never truncate: a path must stay usable
        files.add_column(col, justify="right" if col != "path" else "left", overflow="fold")
    for i, f in enumerate(result.files, 1):
        files.add_row(str(i), f.path, f"{f.score:.3f}")
    units = Table(title="Units", title_justify="left")
    for col in ("#", "path", "unit", "lines", "score"):
        units.add_column(col, justify="right" if col in ("#", "score") else "left", overflow="fold")
    for i, u in enumerate(result.units, 1):
        units.add_row(str(i), u.path, u.name, f"{u.start_line}-{u.end_line}", f"{u.score:.3f}")
    out.print(files)
    out.print(units)


def _read_edits(path: Path) -> list:
    from pydantic import TypeAdapter, ValidationError

    from editing.models import Edit

    if str(path) == "-":
        raw = sys.stdin.buffer.read()
    elif not path.is_file():
        raise UserError(f"edits file not found: {path}")
    else:
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot read edits file {path}: {exc.strerror}") from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"edits file {path}: not valid JSON ({exc})") from None
    if isinstance(data, dict) and "edits" in data:  # also accept {"edits": [...]}, as a candidate record holds them
        data = data["edits"]
    if not isinstance(data, list):
        raise UserError(f"edits file {path}: expected a JSON list of edits")
    try:
        return TypeAdapter(list[Edit]).validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        index, *field = first["loc"]
        hint = "unknown field" if first["type"] == "extra_forbidden" else first["msg"].lower()
        where = f" {'.'.join(map(str, field))}:" if field else ""
        raise UserError(f"edits file {path}: edit {int(index) + 1}:{where} {hint}") from None


def _write(repo: Path, result) -> None:
    """Write the edited files (created ones with their folders) and remove deleted ones."""
    try:
        for path, text in result.files.items():
            target = repo / path
            target.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(target, text, keep_mode=target.exists())
        for path in result.deleted:
            (repo / path).unlink()
    except OSError as exc:
        raise UserError(f"cannot write {exc.filename}: {exc.strerror}") from None
    parts = [f"{len(result.files)} file(s) written"] + ([f"{len(result.deleted)} removed"] if result.deleted else [])
    notice("applied: " + ", ".join(parts))


@app.command()
def edit(
    repo: Annotated[Path, typer.Option("--repo", help="Path to the repository (written only with --apply).")],
    edits: Annotated[Path, typer.Option("--edits", help='JSON list of edits: {"path", "unit", "code"} or {"path", "search", "replace"} (\'-\' for stdin).')],
    apply: Annotated[bool, typer.Option("--apply", help="Write the edited files into the repository.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print one JSON object: {"diff", "files", "created", "deleted", "lint"}.')] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Replace or add whole units (functions, methods, classes, <imports>, named module-level statements), search/replace
    lines in any text file, or write whole files (<file>, <delete>); print the unified diff."""
    settings = settings_of(config, set_)
    if not repo.is_dir():
        raise UserError(f"repository not found: {repo}")
    items = _read_edits(edits)
    if not items:
        raise UserError(f"edits file {edits}: no edits")
    from editing.engine import make_editor
    from editing.models import EditError

    try:
        result = make_editor(settings.editing).apply(repo, items)
    except EditError as exc:
        raise UserError(str(exc)) from None
    for f in result.lint:
        owner = f" (edit {f.edit + 1})" if f.edit is not None else ""
        notice(f"lint: {f.path}:{f.line}: {f.message}{owner}")
    if apply:
        _write(repo, result)
    if as_json:
        print(json.dumps(result.public()))
    else:
        sys.stdout.write(result.diff)

"""The `supercoder` command. Results go to stdout; progress, warnings and notices to stderr.
Bad input or configuration exits with status 2 and one line saying why."""

from __future__ import annotations

import json
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.table import Table

from agent.cli_options import ConfigOpt, SetOpt, with_flags
from agent.config import Settings, load_settings
from agent.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="SuperCoder: autonomous code repair. Localize the code an issue is about, edit it, test it.",
)
config_app = typer.Typer(no_args_is_help=True, help="Inspect the resolved configuration.")
app.add_typer(config_app, name="config")
sandbox_app = typer.Typer(no_args_is_help=True, help="Sandbox images and containers.")
app.add_typer(sandbox_app, name="sandbox")

err = Console(stderr=True, highlight=False, soft_wrap=True)


def _version(value: bool) -> None:
    if value:
        from importlib.metadata import version

        print(f"supercoder {version('supercoder')}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = False,
) -> None:
    """SuperCoder: autonomous code repair. Localize the code an issue is about, edit it, test it."""

RepoOpt = Annotated[Path, typer.Option("--repo", help="Path to the repository (never written).")]


def _settings(config: Path | None, overrides: list[str] | None) -> Settings:
    return load_settings(config, overrides or [])


def _notice(message: str) -> None:
    err.print(message, markup=False)


def _read_issue(issue: str | None, issue_file: Path | None) -> str:
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
            _notice(f"indexing {total} changed files...")

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


def _warn_about_index(stats, settings: Settings) -> None:
    if stats.with_syntax_errors:
        _notice(f"warning: {stats.with_syntax_errors} files have syntax errors; indexed what could be parsed")
    if stats.skipped_large or stats.skipped_binary:
        _notice(f"warning: skipped {stats.skipped_large} files over {settings.index.max_file_bytes} bytes and {stats.skipped_binary} binary files")


def _with_progress(build):
    """Run `build(progress)` with the index progress display, closed whatever happens."""
    progress = _IndexProgress()
    try:
        return build(progress)
    finally:
        progress.close()


def _open_localizer(repo: Path, settings: Settings):
    from localization.localize import Localizer

    localizer = _with_progress(lambda progress: Localizer.open(repo, settings, progress))
    _warn_about_index(localizer.index.stats, settings)
    return localizer


@app.command()
def index(repo: RepoOpt, config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Build or refresh the code index of a repository (cached outside it)."""
    settings = _settings(config, set_)
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
    issue: Annotated[Optional[str], typer.Option("--issue", help="Issue text.")] = None,
    issue_file: Annotated[Optional[Path], typer.Option("--issue-file", help="File holding the issue text ('-' for stdin).")] = None,
    top_files: Annotated[Optional[int], typer.Option("--top-files", min=1, help="Files to report.")] = None,
    top_units: Annotated[Optional[int], typer.Option("--top-units", min=1, help="Units to report.")] = None,
    no_llm: Annotated[bool, typer.Option("--no-llm", help="Retrieval only, even when a model is configured.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object: files and units, best first.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Rank the files and code units an issue is about."""
    settings = _settings(config, with_flags(set_, {"localization.top_files": top_files, "localization.top_units": top_units}))
    from localization.localize import clean_issue

    text = clean_issue(_read_issue(issue, issue_file), settings.localization.issue_max_chars)  # before any indexing
    llm = None
    mode_notice = None
    if no_llm:
        mode_notice = "retrieval only (--no-llm)"
    elif not settings.llm.configured:
        mode_notice = "no model configured (llm.model): retrieval only"
    else:
        from agent.llm import make_llm

        llm = make_llm(settings.llm)
    localizer = _open_localizer(repo, settings)
    if mode_notice:  # after the repository opened, so that a bad --repo gives one error line only
        _notice(mode_notice)
    result = localizer.localize(text, llm)
    for note in result.notes:
        _notice(note if note.startswith("warning:") else f"note: {note}")
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


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.supercoder-tmp")
    tmp.write_bytes(text.encode("utf-8"))
    os.chmod(tmp, path.stat().st_mode & 0o7777)
    os.replace(tmp, path)


@app.command()
def edit(
    repo: Annotated[Path, typer.Option("--repo", help="Path to the repository (written only with --apply).")],
    edits: Annotated[Path, typer.Option("--edits", help='JSON list of {"path", "unit", "code"} edits (\'-\' for stdin).')],
    apply: Annotated[bool, typer.Option("--apply", help="Write the edited files into the repository.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help='Print one JSON object: {"diff", "files", "lint"}.')] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Replace or add whole units (functions, methods, classes, <imports>) and print the unified diff."""
    settings = _settings(config, set_)
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
        _notice(f"lint: {f.path}:{f.line}: {f.message}{owner}")
    if apply:
        for path, text in result.files.items():
            _write_atomic(repo / path, text)
        _notice(f"applied: {len(result.files)} file(s) written")
    if as_json:
        print(json.dumps(result.public()))
    else:
        sys.stdout.write(result.diff)


@sandbox_app.command("base")
def sandbox_base(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Build even when an image of this spec exists.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Build the base image (debootstrap + docker import) unless one of the same spec exists; print its tag."""
    settings = _settings(config, set_)
    from sandbox.base import SandboxError
    from sandbox.docker_backend import docker_client
    from sandbox.images import ensure_base

    try:
        tag = ensure_base(docker_client(), settings.sandbox, rebuild=rebuild, progress=_notice)
    except SandboxError as exc:
        raise UserError(str(exc)) from None
    print(tag)


def _dataset_rows(dataset: Path, instances: list[str] | None) -> list[dict]:
    if not dataset.is_file():
        raise UserError(f"dataset not found: {dataset}")
    rows = []
    for n, line in enumerate(dataset.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise UserError(f"{dataset}:{n}: not valid JSON") from None
        missing = {"instance_id", "repo", "version", "base_commit", "test_patch", "FAIL_TO_PASS", "PASS_TO_PASS"} - set(row)
        if missing:
            raise UserError(f"{dataset}:{n}: missing {', '.join(sorted(missing))}")
        rows.append(row)
    if instances:
        known = {r["instance_id"] for r in rows}
        unknown = [i for i in instances if i not in known]
        if unknown:
            raise UserError(f"not in {dataset}: {', '.join(unknown)}")
        rows = [r for r in rows if r["instance_id"] in instances]
    return rows


DatasetOpt = Annotated[Path, typer.Option("--dataset", help="SWE-bench style JSONL.")]
RepoCacheOpt = Annotated[Path, typer.Option("--repo-cache", help="Folder of clones named <owner>__<name> (only read).")]


@sandbox_app.command("build")
def sandbox_build(
    dataset: DatasetOpt,
    repo_cache: RepoCacheOpt,
    instance: Annotated[list[str], typer.Option("--instance", help="Instance id (repeatable).")],
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the environment and instance layers.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Build (or reuse) the layered images of instances; print their tags."""
    settings = _settings(config, set_)
    rows = _dataset_rows(dataset, instance)
    from sandbox.base import SandboxError
    from sandbox.instances import ensure_instance

    for row in rows:
        try:
            tag = ensure_instance(row, repo_cache, settings.sandbox, rebuild=rebuild, progress=_notice)
        except SandboxError as exc:
            raise UserError(f"{row['instance_id']}: {exc}") from None
        print(json.dumps({"instance_id": row["instance_id"], "image": tag}))


@sandbox_app.command("validate")
def sandbox_validate(
    dataset: DatasetOpt,
    repo_cache: RepoCacheOpt,
    instance: Annotated[Optional[list[str]], typer.Option("--instance", help="Instance id (repeatable; default: all).")] = None,
    patch: Annotated[str, typer.Option("--patch", help="gold, none, or a diff file applied to every instance.")] = "gold",
    backend: Annotated[Optional[str], typer.Option("--backend", help="docker or local (default: sandbox.backend).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array, an object per instance.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Apply a patch and the test patch, run FAIL_TO_PASS and PASS_TO_PASS, grade as SWE-bench does."""
    settings = _settings(config, [*(set_ or []), *([f"sandbox.backend={backend}"] if backend else [])])
    patch_text: str | None = None
    if patch not in ("gold", "none"):
        path = Path(patch)
        if not path.is_file():
            raise UserError(f"--patch: expected gold, none or a diff file; not found: {patch}")
        patch_text = path.read_text(encoding="utf-8")
    rows = _dataset_rows(dataset, instance)
    if not repo_cache.is_dir():
        raise UserError(f"repo cache not found: {repo_cache}")
    from sandbox.instances import validate

    results = []
    for n, row in enumerate(rows, 1):
        _notice(f"[{n}/{len(rows)}] {row['instance_id']}")
        chosen = row.get("patch") if patch == "gold" else patch_text
        v = validate(row, repo_cache, settings.sandbox, chosen, progress=_notice)
        results.append(v)
        if not as_json:
            state = "error: " + v.error.splitlines()[0] if v.error else ("RESOLVED" if v.resolved else "not resolved")
            print(f"{v.instance_id}  {state}  FAIL_TO_PASS {len(v.fail_to_pass.passed)}/{len(v.fail_to_pass.passed) + len(v.fail_to_pass.failed)}"
                  f"  PASS_TO_PASS {len(v.pass_to_pass.passed)}/{len(v.pass_to_pass.passed) + len(v.pass_to_pass.failed)}  {v.duration_s:.0f} s")
    if as_json:
        print(json.dumps([v.model_dump() for v in results]))
    if any(v.error for v in results):
        raise typer.Exit(1)


@sandbox_app.command("prune")
def sandbox_prune(
    everything: Annotated[bool, typer.Option("--all", help="Also remove containers of runs still going.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Remove sandbox containers whose run has ended (interrupted, killed); print how many."""
    _settings(config, set_)
    from sandbox.base import SandboxError
    from sandbox.docker_backend import prune

    try:
        removed = prune(everything=everything)
    except SandboxError as exc:
        raise UserError(str(exc)) from None
    print(json.dumps({"removed": removed}))


@config_app.command("show")
def config_show(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Print the resolved configuration as JSON (secrets masked)."""
    print(json.dumps(_settings(config, set_).public_dump(), indent=2))


from agent import cli_repair  # noqa: E402  (its commands join the app here)

cli_repair.register(app, _settings, _read_issue, _notice, err)
from agent import cli_swebench  # noqa: E402

cli_swebench.register(app, _settings, _notice, err)
from agent import cli_bot  # noqa: E402

cli_bot.register(app, _settings, _notice, err)


def _fail(message: str, code: int) -> None:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(code)


def _click_error(exc: BaseException) -> str | None:
    """'usage', 'click' or 'abort' for click's exceptions (typer may vendor its own click, so match by name)."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "UsageError" in names:
        return "usage"
    if "ClickException" in names:
        return "click"
    if "Abort" in names:
        return "abort"
    return None


def _interruption() -> tuple[str, int]:
    from sandbox.base import Terminated

    return ("terminated", 143) if Terminated.received else ("interrupted", 130)


def main(argv: list[str] | None = None) -> None:
    from sandbox.base import terminate_as_interrupt

    terminate_as_interrupt()
    try:
        rv = app(args=argv, standalone_mode=False)
    except UserError as exc:
        _fail(str(exc), exc.exit_code)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:  # Ctrl-C, or SIGTERM raised as Terminated
        _fail(*_interruption())
    except Exception as exc:
        kind = _click_error(exc)
        if kind == "usage" and not exc.format_message():  # bare `supercoder`: help was shown
            sys.exit(2)
        if kind == "usage":
            ctx = getattr(exc, "ctx", None)
            command = f"supercoder {ctx.info_name} --help" if ctx is not None and ctx.info_name != "supercoder" else "supercoder --help"
            _fail(f"{exc.format_message()} (see {command})", 2)
        if kind == "click":
            _fail(exc.format_message(), getattr(exc, "exit_code", 1))
        if kind == "abort":  # click turns Ctrl-C (and our SIGTERM) into Abort
            _fail(*_interruption())
        if os.environ.get("SUPERCODER_DEBUG"):
            traceback.print_exc()
        _fail(f"unexpected {type(exc).__name__}: {exc} (set SUPERCODER_DEBUG=1 for the traceback)", 1)
    else:
        if rv == 130:  # typer turns Ctrl-C into exit status 130
            _fail(*_interruption())
        sys.exit(rv if isinstance(rv, int) else 0)

"""The `supercoder` command: each front-end module brings its own Typer app (top-level commands,
or a group), joined here; `main` turns whatever ends a command into an exit status. Results go
to stdout; progress, warnings and notices to stderr. Bad input or configuration exits with
status 2 and one line saying why."""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
import traceback
from typing import Annotated

import typer

from agent.cli import bot, config, repair, sandbox, stages, swebench
from configs.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="SuperCoder: autonomous code repair. Localize the code an issue is about, edit it, test it.",
)
app.add_typer(stages.app)
app.add_typer(repair.app)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(swebench.app, name="swebench")
app.add_typer(bot.app, name="bot")
app.add_typer(config.app, name="config")


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


def _one_line(message: str) -> str:
    """The message on one line, whatever it quotes: control characters (a newline or a NUL in a
    name the user gave) are shown escaped."""
    return re.sub(r"[\x00-\x1f\x7f]", lambda m: m.group().encode("unicode_escape").decode(), message)


def _fail(message: str, code: int) -> None:
    print(f"error: {_one_line(message)}", file=sys.stderr)
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


def _stop(message: str, code: int) -> None:
    """Ends an interrupted run at once. The record is written by now; a model request still in
    flight in a worker thread would otherwise hold the exit until it answers or times out. The
    exit handlers still run (logging's flush, Ray's shutdown): only the wait for those threads is skipped."""
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if not busy:
        _fail(message, code)
    print(f"error: {_one_line(message)}", file=sys.stderr)
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


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
        _stop(*_interruption())
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
            _stop(*_interruption())
        if os.environ.get("SUPERCODER_DEBUG"):
            traceback.print_exc()
        _fail(f"unexpected {type(exc).__name__}: {exc} (set SUPERCODER_DEBUG=1 for the traceback)", 1)
    else:
        if rv == 130:  # typer turns Ctrl-C into exit status 130
            _stop(*_interruption())
        sys.exit(rv if isinstance(rv, int) else 0)

"""The one contract every sandbox backend keeps.

Shell state does not persist between `run` calls: each command runs in a fresh shell in the
sandbox's working tree (`cd` or `export` in one call do not carry over); files do persist.
"""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import threading
from pathlib import Path, PurePosixPath
from typing import Iterator, Protocol

from configs.files import cache_dir
from sandbox.models import ExecResult


class SandboxError(Exception):
    """The sandbox could not do what was asked (a patch that does not apply, a missing tree)."""


def relative_path(path: str) -> PurePosixPath:
    """A path a caller gives for a file in the tree: relative, and never climbing out of it."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        raise SandboxError(f"path must be relative to the repository root: {path!r}")
    return pure


def git(clone: Path, *args: str) -> subprocess.CompletedProcess:
    """`git` on a clone, bare or with a work tree (which is never touched), as bytes."""
    git_dir = clone / ".git" if (clone / ".git").exists() else clone
    return subprocess.run(["git", "-c", "safe.directory=*", "--git-dir", str(git_dir), *args], capture_output=True)


def git_said(stderr: bytes | str) -> str:
    """git's own message (its last `fatal:`/`error:` lines), for an error that names the cause."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    said = [line for line in lines if line.startswith(("fatal:", "error:"))] or lines
    return " ".join(said[-2:])[-400:] or "git failed without a message"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every sandbox on the way out is closed."""

    received = False  # set once SIGTERM arrived: frameworks may re-raise it as a plain interruption


def terminate_as_interrupt() -> None:
    """Make SIGTERM unwind the stack as Ctrl-C does (by default it kills without cleanup)."""

    def _raise(signum, frame):
        Terminated.received = True
        raise Terminated()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise)


class Sandbox(Protocol):
    workdir: str  # the repository root, as commands see it

    def run(self, command: str, timeout_s: float | None = None) -> ExecResult: ...

    def read_file(self, path: str) -> str: ...

    def write_file(self, path: str, text: str) -> None: ...

    def apply_diff(self, diff: str) -> None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


@contextlib.contextmanager
def build_lock(tag: str) -> Iterator[None]:
    """Held while an image is built: concurrent workers wait for the first build, then reuse it."""
    import fcntl

    folder = cache_dir() / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / (re.sub(r"[^A-Za-z0-9_.-]", "_", tag) + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield

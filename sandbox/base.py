"""The one contract every sandbox backend keeps.

Shell state does not persist between `run` calls: each command runs in a fresh shell in the
sandbox's working tree (`cd` or `export` in one call do not carry over); files do persist.
"""

from __future__ import annotations

from typing import Protocol

from sandbox.models import ExecResult


class SandboxError(Exception):
    """The sandbox could not do what was asked (a patch that does not apply, a missing tree)."""


class Sandbox(Protocol):
    workdir: str  # the repository root, as commands see it

    def run(self, command: str, timeout_s: float | None = None) -> ExecResult: ...

    def read_file(self, path: str) -> str: ...

    def write_file(self, path: str, text: str) -> None: ...

    def apply_diff(self, diff: str) -> None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...

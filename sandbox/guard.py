"""What a patch under test may not change: the tests that judge it (test files, conftest.py),
pytest's configuration, the report the runner writes. A patch that changes any of them is refused
before its tests run, so a candidate cannot pass by editing, skipping or deselecting the failing
test, or by exiting early from a conftest.py. (The agent's own reproduction test is written by
the trial itself, never by the patch.)"""

from __future__ import annotations

import configparser
from pathlib import PurePosixPath
from typing import Any, Callable

import tomllib
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from sandbox.base import Sandbox, SandboxError
from sandbox.runner import JUNIT_FILE

TEST_DIRS = {"test", "tests"}  # whatever lies below a folder of this name belongs to the test suite
# Files that may hold pytest's configuration, and where in them it is.
PYTEST_CONFIG = {"pytest.ini": None, "tox.ini": "pytest", "setup.cfg": "tool:pytest", "pyproject.toml": "tool.pytest.ini_options"}


def changed_paths(diff: str) -> list[str]:
    """Every path a diff touches (both sides of a rename)."""
    try:
        patched = PatchSet(diff)
    except UnidiffParseError as exc:
        raise SandboxError(f"the patch does not parse: {exc}") from None
    paths: list[str] = []
    for f in patched:
        for side in (f.source_file, f.target_file):
            if side and side != "/dev/null":
                path = side[2:] if side.startswith(("a/", "b/")) else side
                paths.append(path)
    return list(dict.fromkeys(paths))


def protected(path: str) -> str | None:
    """Why a patch may not change `path` (None: it may)."""
    pure = PurePosixPath(path)
    if pure.name == "conftest.py":
        return "conftest.py"
    if TEST_DIRS & set(pure.parts[:-1]) or (pure.suffix == ".py" and (pure.name.startswith("test_") or pure.name.endswith("_test.py"))):
        return "a test file"  # below tests/: its data and fixtures too
    if pure.name == JUNIT_FILE:
        return "the test report"
    if pure.name == "pytest.ini":
        return "pytest's configuration"
    return None


def pytest_section(path: str, text: str | None) -> Any:
    """The pytest section of a configuration file (None when it has none, or when the file cannot
    be read: a broken file configures nothing)."""
    name = PurePosixPath(path).name
    if text is None:
        return None
    section = PYTEST_CONFIG[name]
    if name == "pyproject.toml":
        try:
            node: Any = tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            return None
        for part in section.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        return node
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text)
    except configparser.Error:
        return None
    return dict(parser.items(section)) if parser.has_section(section) else None


def _read(sb: Sandbox, path: str) -> str | None:
    try:
        return sb.read_file(path)
    except SandboxError:
        return None


def apply_guarded(sb: Sandbox, diff: str, read: Callable[[Sandbox, str], str | None] = _read) -> str | None:
    """Apply `diff` to the sandbox's tree unless it changes what judges it; the reason it was
    refused, or None. A refused patch may be left applied: the caller does not test that tree."""
    paths = changed_paths(diff)
    refused = [f"{p} ({why})" for p in paths if (why := protected(p))]
    if refused:
        return "the patch changes " + ", ".join(refused)
    configs = [p for p in paths if PurePosixPath(p).name in PYTEST_CONFIG]  # pytest reads one in a test's folders
    before = {p: pytest_section(p, read(sb, p)) for p in configs}
    sb.apply_diff(diff)
    changed = [p for p in configs if pytest_section(p, read(sb, p)) != before[p]]
    if changed:
        return "the patch changes pytest's configuration in " + ", ".join(changed)
    return None

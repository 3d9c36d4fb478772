"""What a patch under test may not change: the tests that judge it (test files, conftest.py;
a Node package's `.test.js`/`.spec.ts`, `__tests__` and `spec/`), the runner's configuration
(pytest's; jest's and mocha's files, package.json's `scripts`, `jest` and `mocha`, and the files
its test runs name by `--config`, `--require` and the like), the report the runner writes. A patch that changes any of them is refused
before its tests run, so a candidate cannot pass by editing, skipping or deselecting the failing
test, or by exiting early from a conftest.py. (The agent's own reproduction test is written by
the trial itself, never by the patch.)"""

from __future__ import annotations

import configparser
import json
import re
from pathlib import PurePosixPath
from typing import Any, Callable

import tomllib
from unidiff import PatchSet
from unidiff.errors import UnidiffParseError

from sandbox.base import Sandbox, SandboxError
from sandbox.npm_scripts import NODE_FILE_OPTIONS, scripted_runs
from sandbox.recipes import NodeRun
from sandbox.runner import JUNIT_FILE
from sandbox.selection import SOURCE_ROOTS, below_root_tests, is_test_file

TEST_DIRS = {"test", "tests", "__tests__", "__snapshots__"}  # whatever lies below belongs to the test suite (jest's snapshots too)
# Files that may hold pytest's configuration, and where in them it is.
PYTEST_CONFIG = {"pytest.ini": None, "tox.ini": "pytest", "setup.cfg": "tool:pytest", "pyproject.toml": "tool.pytest.ini_options"}
NODE_RUNNER_CONFIG = re.compile(r"^(jest\.config\.|\.mocharc\.|vitest\.(config|workspace)\.|vite\.config\.|mocha\.opts$|ava\.config\.|\.taprc$)")
PACKAGE_TEST_KEYS = ("scripts", "jest", "mocha", "ava", "tap")  # what in a package.json says how its tests run
REPORTS = re.compile(r"^\.supercoder-(report-\d+\.(json|jsonl|xml|tap)|node-reporter\.cjs)$")  # sandbox.node_runner's reports, its reporter


# Options by which a runner's command line names a file it loads (a configuration, a setup module),
# per runner: the same letter means another thing to another runner (mocha's -c is --colors).
RUN_FILE_OPTIONS = {
    "jest": {"-c", "--config", "--setupFiles", "--setupFilesAfterEnv", "--globalSetup", "--globalTeardown"},
    "vitest": {"-c", "--config", "--globalSetup"},
    "mocha": {"--config", "-r", "--require", "--file"},
    "node": NODE_FILE_OPTIONS,
    "ava": {"--config"},
    "tap": {"--before", "--after"},
    "tape": {"-r", "--require", "-i", "--ignore"},  # --ignore: a file of patterns the run leaves out
}


def run_files(runs: list[NodeRun]) -> list[str]:
    """The files a Node package's test runs name by their options, outside the source folders.
    (Spec files and folders given as arguments are left alone: an argument cannot be told from
    another option's value without knowing every option, and a folder may hold the code.)"""
    out: list[str] = []
    for run in runs:
        options = RUN_FILE_OPTIONS.get(run.runner, set())
        args = iter(run.args)
        for arg in args:
            option, eq, value = arg.partition("=")
            if option not in options:
                continue
            value = value if eq else next(args, "")
            name = str(PurePosixPath(value)) if value and not value.startswith("-") else ""  # `./x` -> `x`
            if name and not name.startswith(SOURCE_ROOTS):  # a file there that a run loads (a register hook) may be the code
                out.append(name)
    return list(dict.fromkeys(out))


def named_by_runs(path: str, names: list[str]) -> bool:
    """Whether `path` is a file the runs name: itself, or it without its suffix (`--require test/env`)."""
    return any(path == n or str(PurePosixPath(path).with_suffix("")) == n for n in names)


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
    if "node_modules" in pure.parts:
        return "the installed dependencies"
    if TEST_DIRS & set(pure.parts[:-1]) or below_root_tests(path) or is_test_file(path) or pure.suffix == ".snap":
        return "a test file"  # below tests/: its data and fixtures too
    if pure.name == JUNIT_FILE or REPORTS.match(pure.name):
        return "the test report"
    if pure.name == "pytest.ini":
        return "pytest's configuration"
    if NODE_RUNNER_CONFIG.match(pure.name):
        return "the test runner's configuration"
    return None


def package_tests(text: str | None) -> Any:
    """What a package.json says of how its tests run (None when it cannot be read)."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return {k: data.get(k) for k in PACKAGE_TEST_KEYS} if isinstance(data, dict) else None


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


def _runs(package: dict | None) -> list[NodeRun]:
    """The test runs of a package.json's scripts (`package_tests`' answer; none when it could not be read)."""
    scripts = package.get("scripts") if package else None
    return scripted_runs(scripts) if isinstance(scripts, dict) else []


def _read(sb: Sandbox, path: str) -> str | None:
    try:
        return sb.read_file(path)
    except SandboxError:
        return None


def apply_guarded(sb: Sandbox, diff: str, read: Callable[[Sandbox, str], str | None] = _read) -> str | None:
    """Apply `diff` to the sandbox's tree unless it changes what judges it; the reason it was
    refused, or None. A refused patch may be left applied: the caller does not test that tree."""
    paths = changed_paths(diff)
    why = {p: protected(p) for p in paths}
    refused = [f"{p} ({reason})" for p, reason in why.items() if reason]
    unprotected = [p for p, reason in why.items() if not reason]
    # The root's package.json: its scripts run the tests, and name files they load.
    package = package_tests(read(sb, "package.json")) if unprotected else None
    named = run_files(_runs(package))
    refused += [f"{p} (a file the package's test runs name)" for p in unprotected if named_by_runs(p, named)]
    if refused:
        return "the patch changes " + ", ".join(refused)
    configs = [p for p in paths if PurePosixPath(p).name in PYTEST_CONFIG]  # pytest reads one in a test's folders
    before = {p: pytest_section(p, read(sb, p)) for p in configs}
    sb.apply_diff(diff)
    changed = [p for p in configs if pytest_section(p, read(sb, p)) != before[p]]
    if changed:
        return "the patch changes pytest's configuration in " + ", ".join(changed)
    if "package.json" in paths and package_tests(read(sb, "package.json")) != package:
        return "the patch changes how the package's tests run (package.json's " + ", ".join(PACKAGE_TEST_KEYS) + ")"
    return None

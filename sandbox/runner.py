"""Run named tests in a sandbox and read their results: pytest writes junit XML into the tree
(so it works the same in a container and in a local clone); no report means every test failed."""

from __future__ import annotations

import shlex

from sandbox.base import Sandbox, SandboxError
from sandbox.models import ExecResult, TestResults
from sandbox.results import parse_junit

JUNIT_FILE = ".supercoder-junit.xml"  # untracked: `reset` removes it


def pytest_command(base: str, tests: list[str]) -> str:
    # xunit1 names each test's file, so ids come out as pytest's node ids without guessing.
    return f"{base} -o junit_family=xunit1 --junitxml={JUNIT_FILE} " + " ".join(shlex.quote(t) for t in tests)


def run_pytest(sandbox: Sandbox, tests: list[str], base: str, timeout_s: float | None = None) -> tuple[ExecResult, TestResults]:
    sandbox.run(f"rm -f {JUNIT_FILE}")
    result = sandbox.run(pytest_command(base, tests), timeout_s)
    if result.timed_out:
        return result, TestResults(source="junit", problem=f"the tests timed out after {result.duration_s:.0f} s")
    try:
        xml = sandbox.read_file(JUNIT_FILE)
    except SandboxError:
        tail = " ".join(result.output.strip().splitlines()[-2:])[-300:]
        return result, TestResults(source="junit", problem=f"pytest wrote no report (exit {result.exit_code}): {tail}")
    return result, parse_junit(xml)

"""Run named tests in a sandbox and read their results: pytest writes junit XML into the tree
(so it works the same in a container and in a local clone), checked against pytest's exit status
and its printed summary; no report, or channels that disagree, mean every test failed."""

from __future__ import annotations

import shlex

from sandbox.base import Sandbox, SandboxError
from sandbox.config import SandboxConfig, ServiceConfig
from sandbox.models import ExecResult, TestResults
from sandbox.node_runner import run_node
from sandbox.recipes import EnvRecipe
from sandbox.results import parse_junit, pytest_disagreement
from sandbox.services import with_services

JUNIT_FILE = ".supercoder-junit.xml"  # untracked: `reset` removes it


_FAMILY = "-o junit_family=xunit1"  # xunit1 names each test's file: ids come out as pytest's node ids


def runner_base(cfg: SandboxConfig) -> str:
    """The configured pytest command with the limit per test, for pytest-timeout where installed
    (a variable: a pytest without the plugin is not told an option it does not know)."""
    return f"PYTEST_TIMEOUT={cfg.test_timeout_s:g} {cfg.pytest_command}" if cfg.test_timeout_s else cfg.pytest_command


def run_configured(sandbox: Sandbox, tests: list[str], cfg: SandboxConfig, services: dict[str, ServiceConfig],
                   services_dir: str) -> tuple[ExecResult, TestResults]:
    """run_pytest with the configured command and limit, the environment's services started first."""
    return run_pytest(sandbox, tests, with_services(runner_base(cfg), services, services_dir), optional=cfg.pytest_optional)


def run_tests(sandbox: Sandbox, recipe: EnvRecipe, tests: list[str], cfg: SandboxConfig,
              services_dir: str) -> tuple[ExecResult, TestResults]:
    """An environment's tests by its runtime's runners: pytest on `tests` (none: the suite), or
    a Node package's test runs, each whole (its tests are what its runners find)."""
    if recipe.runtime == "node":
        return run_node(sandbox, recipe.node_runs, sandbox.workdir, cfg.node_test_env)
    return run_configured(sandbox, tests, cfg, recipe.services, services_dir)


def pytest_command(base: str, tests: list[str], family: bool = True) -> str:
    return f"{base} {_FAMILY + ' ' if family else ''}--junitxml={JUNIT_FILE} " + " ".join(shlex.quote(t) for t in tests)


def _unknown(output: str, flags: list[str]) -> bool:
    """Whether pytest refused one of `flags` as an option it does not know (an old pytest)."""
    return any(f"no such option: {f}" in output or ("unrecognized arguments" in output and f in output) for f in flags)


def run_pytest(sandbox: Sandbox, tests: list[str], base: str, timeout_s: float | None = None,
               optional: list[str] = ()) -> tuple[ExecResult, TestResults]:
    """`optional` flags are added when the sandbox's pytest knows them. A pytest before 3.0 knows
    neither them nor `-o`: it runs again without, and its report (which names no file) is read
    against the tree's files."""
    sandbox.run(f"rm -f {JUNIT_FILE}")
    result = sandbox.run(pytest_command(" ".join([base, *optional]), tests), timeout_s)
    files: set[str] | None = None
    if result.exit_code in (2, 4) and _unknown(result.output, [*optional, "-o"]):
        result = sandbox.run(pytest_command(base, tests, family=False), timeout_s)
        listed = sandbox.run("git ls-files")
        files = set(listed.output.splitlines()) if listed.exit_code == 0 else set()
    if result.cut_short:
        return result, TestResults(source="junit", problem=f"the tests {result.cut_short}")
    try:
        xml = sandbox.read_file(JUNIT_FILE)
    except SandboxError:
        tail = " ".join(result.output.strip().splitlines()[-2:])[-300:]
        return result, TestResults(source="junit", problem=f"pytest wrote no report (exit {result.exit_code}): {tail}")
    results = parse_junit(xml, (lambda p: p in files) if files is not None else (lambda _: False))
    if results.problem is None:
        disagreement = pytest_disagreement(result.output, result.exit_code, results.statuses)
        if disagreement:
            return result, TestResults(source="junit", problem=f"results disagree: {disagreement}")
    return result, results

"""Which tests a repair runs, running them in a sandbox, and what a candidate's results say
against the original tree's. A patch is validated only when a test that failed on the original
tree now passes and no test that passed there fails now; a test without a result counts as
failing."""

from __future__ import annotations

from pydantic import BaseModel, Field

from agent.config import SandboxConfig
from sandbox.base import Sandbox
from sandbox.models import TestStatus
from sandbox.runner import run_pytest

COMMAND_TEST = "test-cmd"  # the id a user's test command gets: its exit status is its result


def tail(text: str, chars: int) -> str:
    return text if len(text) <= chars else "[...]\n" + text[-chars:]


class TestPlan(BaseModel):
    __test__ = False  # not a pytest test class
    tests: list[str] = Field(default_factory=list)  # pytest ids or files
    command: str | None = None  # a user's shell command instead of pytest ids
    extra_files: dict[str, str] = Field(default_factory=dict)  # written before the tests run (a reproduction test)


class TestRun(BaseModel):
    __test__ = False
    statuses: dict[str, TestStatus] = Field(default_factory=dict)
    problem: str | None = None  # why results are missing: a timeout, no report
    output: str = ""  # the end of the runner's output, for feedback
    duration_s: float = 0.0

    @property
    def failing(self) -> list[str]:
        return [t for t, s in self.statuses.items() if s in ("failed", "error")]

    @property
    def passing(self) -> list[str]:
        return [t for t, s in self.statuses.items() if s == "passed"]


class Verdict(BaseModel):
    fixed: list[str] = Field(default_factory=list)  # failed on the original tree, pass now
    still_failing: list[str] = Field(default_factory=list)
    regressions: list[str] = Field(default_factory=list)  # passed on the original tree, do not now

    @property
    def validated(self) -> bool:
        return bool(self.fixed) and not self.regressions


def run_plan(sb: Sandbox, plan: TestPlan, cfg: SandboxConfig, output_chars: int) -> TestRun:
    for path, text in plan.extra_files.items():
        sb.write_file(path, text)
    if plan.command is not None:
        result = sb.run(plan.command)
        status: TestStatus = "passed" if result.exit_code == 0 and not result.timed_out else "failed"
        problem = f"the test command timed out after {result.duration_s:.0f} s" if result.timed_out else None
        return TestRun(statuses={COMMAND_TEST: status}, problem=problem, output=tail(result.output, output_chars),
                       duration_s=result.duration_s)
    if not plan.tests:
        return TestRun(problem="no tests to run")
    result, results = run_pytest(sb, plan.tests, cfg.pytest_command)
    return TestRun(statuses=dict(results.statuses), problem=results.problem, output=tail(result.output, output_chars),
                   duration_s=result.duration_s)


def _passes(test: str, now: dict[str, TestStatus]) -> bool:
    if test in now:
        return now[test] == "passed"
    # A file that could not be imported before reports one result for the whole file; once it
    # imports, its tests report one by one: it passes when they all do.
    prefix = test.split("::")[0] + "::"
    mine = [s for t, s in now.items() if t.startswith(prefix)]
    return bool(mine) and all(s in ("passed", "skipped") for s in mine) and "passed" in mine


def judge(before: TestRun, after: TestRun) -> Verdict:
    now = after.statuses
    failing = before.failing
    return Verdict(fixed=[t for t in failing if _passes(t, now)],
                   still_failing=[t for t in failing if not _passes(t, now)],
                   regressions=[t for t in before.passing if now.get(t) != "passed"])

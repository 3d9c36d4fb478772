"""Plain data of the sandbox: command results, test results, the tests a trial runs and what it
found, verdicts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, computed_field

TestStatus = Literal["passed", "failed", "error", "skipped"]


class ExecResult(BaseModel):
    command: str
    exit_code: int | None  # None when the command was killed at its time limit
    output: str  # stdout and stderr, interleaved as the command wrote them (tail kept)
    duration_s: float
    timed_out: bool = False
    truncated: bool = False  # output beyond the configured cap was dropped from the middle
    stopped: str | None = None  # why the sandbox stopped the command before it ended (its disk quota)

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and self.cut_short is None

    @property
    def cut_short(self) -> str | None:
        """Why the command did not end by itself ("timed out after N s", or the sandbox's
        "stopped: ..."); None when it did."""
        return f"timed out after {self.duration_s:.0f} s" if self.timed_out else self.stopped


class Failure(BaseModel):
    """How a test failed, as its runner reported it: what was raised and where."""

    kind: str = ""  # the exception's type ("AssertionError", "ImportError"); "" when the report does not say
    where: str = ""  # "path:line" of the frame that raised it, as the runner printed it
    message: str = ""  # the first line of the runner's message
    collection: bool = False  # the file could not be collected (imported): no test of it ran


class TestResults(BaseModel):
    """Test id -> status, as read from structured output or a parsed log."""

    __test__ = False  # not a pytest test class

    statuses: dict[str, TestStatus] = Field(default_factory=dict)
    failures: dict[str, Failure] = Field(default_factory=dict)  # of failing tests, where the report says
    # The same results under the other names a benchmark may give them (mocha's tests by their own
    # title, without their suites'), for grading by those names; a name two tests share: the worse.
    aliases: dict[str, TestStatus] = Field(default_factory=dict)
    source: Literal["junit", "json", "log", "none"] = "none"
    problem: str | None = None  # why the output could not be read (then every named test counts as failed)

    def status(self, test_id: str) -> TestStatus:
        """Fails closed: a test that is absent from what could be read counts as failed."""
        return self.statuses.get(test_id) or self.aliases.get(test_id, "failed")


class TestPlan(BaseModel):
    """The tests a trial runs."""

    __test__ = False
    tests: list[str] = Field(default_factory=list)  # pytest ids or files
    command: str | None = None  # a user's shell command instead of pytest ids
    extra_files: dict[str, str] = Field(default_factory=dict)  # written before the tests run (a reproduction test)


class TestRun(BaseModel):
    """What a trial's tests did."""

    __test__ = False
    statuses: dict[str, TestStatus] = Field(default_factory=dict)
    failures: dict[str, Failure] = Field(default_factory=dict)  # how failing tests failed, where known
    problem: str | None = None  # why results are missing: a timeout, no report
    output: str = ""  # the end of the runner's output, for feedback
    duration_s: float = 0.0

    @property
    def failing(self) -> list[str]:
        return [t for t, s in self.statuses.items() if s in ("failed", "error")]

    @property
    def passing(self) -> list[str]:
        return [t for t, s in self.statuses.items() if s == "passed"]


class Split(BaseModel):
    passed: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)


class Verdict(BaseModel):
    """What a patched tree's test results say of the tests that should pass with the patch:
    those that failed without it (fail_to_pass) and those that passed (pass_to_pass)."""

    fail_to_pass: Split = Field(default_factory=Split)
    pass_to_pass: Split = Field(default_factory=Split)
    problem: str | None = None  # the results could not be read

    @property
    def resolved(self) -> bool:
        """SWE-bench's rule: no fail-to-pass test fails and no pass-to-pass test does."""
        return self.problem is None and not self.fail_to_pass.failed and not self.pass_to_pass.failed

    @property
    def validated(self) -> bool:
        """The repair agent's rule: every target (a test that failed and must pass: named, or the
        reproduction) passes now, and none that passed fails. Fixing one of two is not a fix."""
        return bool(self.fixed) and not self.still_failing and not self.regressions

    @computed_field  # kept in run records
    @property
    def fixed(self) -> list[str]:
        return self.fail_to_pass.passed

    @computed_field
    @property
    def still_failing(self) -> list[str]:
        return self.fail_to_pass.failed

    @computed_field
    @property
    def regressions(self) -> list[str]:
        return self.pass_to_pass.failed

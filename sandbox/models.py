"""Plain data of the sandbox: command results, test results, verdicts."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

TestStatus = Literal["passed", "failed", "error", "skipped"]


class ExecResult(BaseModel):
    command: str
    exit_code: int | None  # None when the command was killed at its time limit
    output: str  # stdout and stderr, interleaved as the command wrote them (tail kept)
    duration_s: float
    timed_out: bool = False
    truncated: bool = False  # output beyond the configured cap was dropped from the middle

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


class TestResults(BaseModel):
    """Test id -> status, as read from structured output or a parsed log."""

    __test__ = False  # not a pytest test class

    statuses: dict[str, TestStatus] = Field(default_factory=dict)
    source: Literal["junit", "log", "none"] = "none"
    problem: str | None = None  # why the output could not be read (then every named test counts as failed)

    def status(self, test_id: str) -> TestStatus:
        """Fails closed: a test that is absent from what could be read counts as failed."""
        return self.statuses.get(test_id, "failed")


class Split(BaseModel):
    passed: list[str] = Field(default_factory=list)
    failed: list[str] = Field(default_factory=list)


class Verdict(BaseModel):
    resolved: bool
    fail_to_pass: Split
    pass_to_pass: Split

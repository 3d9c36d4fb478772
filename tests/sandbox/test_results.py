"""Test results read from captured real outputs (tests/sandbox/data/), and grading."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandbox.grading import grade
from sandbox.models import TestResults
from sandbox.results import parse_junit, parse_log
from sandbox.swebench_adapter import parse_test_list, spec

DATA = Path(__file__).parent / "data"
T = "tests/sub/test_demo.py"
EXPECTED = {
    f"{T}::test_passes": "passed",
    f"{T}::test_fails": "failed",
    f"{T}::test_param[1]": "passed",
    f"{T}::test_param[2]": "failed",
    f"{T}::test_param[a b]": "passed",
    f"{T}::test_xfail": "passed",  # an expected failure counts as passed, as in SWE-bench
    f"{T}::test_skipped": "skipped",
    f"{T}::test_teardown_error": "error",  # its call passed; the failing teardown wins
    f"{T}::TestGroup::test_method": "passed",
    f"{T}::TestGroup::TestInner::test_deep": "failed",
}


def _exists(path: str) -> bool:
    return path in {T, "tests/__init__.py", "tests/sub/__init__.py"}


@pytest.mark.parametrize("name", ["pytest_xunit1.xml", "pytest_xunit2.xml"])
def test_junit_from_a_real_pytest_run(name):
    results = parse_junit((DATA / name).read_text(), _exists)
    assert results.problem is None and results.source == "junit"
    assert results.statuses == EXPECTED


def test_junit_that_does_not_parse_fails_closed():
    results = parse_junit((DATA / "pytest_xunit2.xml").read_text()[:400])
    assert results.problem and "does not parse" in results.problem
    assert results.status(f"{T}::test_passes") == "failed"
    assert grade(results, [], [f"{T}::test_passes"]).resolved is False


def test_junit_of_another_kind_is_a_problem():
    assert parse_junit("<html><body/></html>").problem


def test_pytest_log_read_by_the_swebench_parser():
    statuses = parse_log("pytest-dev/pytest", (DATA / "pytest_rA.log").read_text()).statuses
    assert statuses[f"{T}::test_fails"] == "failed"
    assert statuses[f"{T}::test_teardown_error"] == "error"
    assert statuses[f"{T}::test_xfail"] == "passed"
    assert f"{T}::test_param[a b]" not in statuses  # the log parser splits on spaces: junit is preferred


def test_sympy_bin_test_log():
    results = parse_log("sympy/sympy", (DATA / "sympy_bin_test.log").read_text())
    assert results.statuses["test_passes"] == "passed"
    assert results.statuses["test_fails"] == "failed"
    assert results.statuses["test_errors"] == "error"
    assert results.status("test_expected_failure") == "failed"  # `f` is not read by the parser: fails closed
    verdict = grade(results, ["test_fails"], ["test_passes"])
    assert not verdict.resolved and verdict.fail_to_pass.failed == ["test_fails"]


def test_unknown_repository_has_no_log_parser():
    assert parse_log("someone/else", "test_x ok").problem == "no log parser for someone/else"


def test_grading_rules():
    results = TestResults(statuses={"a": "passed", "b": "passed", "c": "failed", "s": "skipped"}, source="junit")
    assert grade(results, ["a"], ["b", "s"]).resolved  # a skipped test counts on neither side
    v = grade(results, ["a", "missing"], ["b"])
    assert not v.resolved and v.fail_to_pass.failed == ["missing"]  # absent counts as failed
    v = grade(results, ["a"], ["c"])
    assert not v.resolved and v.pass_to_pass.failed == ["c"] and v.fail_to_pass.passed == ["a"]


def test_test_lists_as_lists_or_json_strings():
    assert parse_test_list('["a", "b"]') == ["a", "b"]
    assert parse_test_list(["a"]) == ["a"]
    with pytest.raises(ValueError):
        parse_test_list("not json")
    with pytest.raises(ValueError):
        parse_test_list('{"a": 1}')


def test_swebench_specs_are_available_through_the_adapter():
    s = spec("sympy/sympy", "1.12")
    assert s["python"] and "bin/test" in s["test_cmd"]

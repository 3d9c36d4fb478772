"""Test results read from captured real outputs (tests/sandbox/data/), and grading."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sandbox.grading import grade
from sandbox.models import TestResults
from sandbox.results import log_disagreement, parse_junit, parse_log, pytest_disagreement
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


# -- cross-checks: the report, the exit status and what pytest printed -----------------------------

INNER = ("==================================== PASSES ====================================\n"
         "____________________________ test_runs_pytest_inside ____________________________\n"
         "----------------------------- Captured stdout call -----------------------------\n"
         "============================= test session starts ==============================\n"
         "inner.py .F\n"
         "=========================== short test summary info ============================\n"
         "PASSED inner.py::test_a\nFAILED inner.py::test_b - assert 0\n"
         "========================= 1 failed, 1 passed in 0.01s ==========================\n")
OUTER = ("=========================== short test summary info ============================\n"
         "PASSED tests/test_x.py::test_runs_pytest_inside\nFAILED tests/test_x.py::test_fails - assert 0\n"
         "========================= 1 failed, 1 passed in 0.20s ==========================\n")
STATUSES = {"tests/test_x.py::test_runs_pytest_inside": "passed", "tests/test_x.py::test_fails": "failed"}


def test_channels_that_agree_pass_the_check_with_real_output():
    log = (DATA / "pytest_rA.log").read_text()
    statuses = parse_junit((DATA / "pytest_xunit1.xml").read_text(), _exists).statuses
    assert pytest_disagreement(log, 1, statuses) is None and log_disagreement(log) is None
    assert log_disagreement((DATA / "sympy_bin_test.log").read_text()) is None
    # a configuration's --color=yes colours the summaries; they read the same
    coloured = re.sub(r"^(=+ .* =+|FAILED|PASSED)", lambda m: f"\x1b[31m\x1b[1m{m.group(1)}\x1b[0m", log, flags=re.M)
    assert coloured != log and pytest_disagreement(coloured, 1, statuses) is None
    assert pytest_disagreement(coloured, 0, statuses) == pytest_disagreement(log, 0, statuses) is not None


def test_summaries_of_sessions_the_tests_run_are_not_pytests_own():
    assert pytest_disagreement(INNER + OUTER, 1, STATUSES) is None
    assert log_disagreement(INNER + OUTER) is None


@pytest.mark.parametrize("output, code, statuses, why", [
    (OUTER, 0, STATUSES, "pytest exited 0"),  # an exit status changed from inside
    (OUTER, 1, {**STATUSES, "tests/test_x.py::test_fails": "passed"}, "the report has 0 failing"),  # a report rewritten
    (OUTER + "PASSED tests/test_x.py::test_fails\n", 1, STATUSES, "printed after pytest's final summary"),
    (OUTER + "===== 2 passed in 0.01s =====\n", 0, {k: "passed" for k in STATUSES}, "the report says passed, pytest's summary failed"),
    ("no summary at all\n", 0, STATUSES, "no final summary"),
    (OUTER, 1, {}, "the report has 0 failing"),
    (OUTER, 3, STATUSES, None),
])
def test_channels_that_disagree_fail_the_trial(output, code, statuses, why):
    found = pytest_disagreement(output, code, statuses)
    assert (found is None) if why is None else (why in (found or "")), found


def test_a_log_with_results_after_the_runners_summary_disagrees():
    assert "printed after" in log_disagreement(OUTER + "PASSED tests/test_x.py::test_fails\n")
    sympy = (DATA / "sympy_bin_test.log").read_text()
    assert "2 sympy final summaries" in log_disagreement(sympy + "\ntests finished: 5 passed, in 0.01 seconds\n")

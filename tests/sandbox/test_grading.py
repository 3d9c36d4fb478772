"""Verdicts: SWE-bench's rule (grade) and the repair agent's (judge), over one Verdict."""

from __future__ import annotations

import json

from sandbox.grading import grade, judge
from sandbox.models import TestResults, TestRun, Verdict


def test_validated_means_every_failing_test_now_passes_and_nothing_breaks():
    before = TestRun(statuses={"t1": "failed", "t2": "passed", "t3": "passed"})
    assert judge(before, TestRun(statuses={"t1": "passed", "t2": "passed", "t3": "passed"})).validated
    two = TestRun(statuses={"t1": "failed", "t0": "failed", "t2": "passed"})
    half = judge(two, TestRun(statuses={"t1": "passed", "t0": "failed", "t2": "passed"}))  # one target of two: no fix
    assert not half.validated and half.fixed == ["t1"] and half.still_failing == ["t0"]
    broke = judge(before, TestRun(statuses={"t1": "passed", "t2": "failed"}))  # t3 missing counts as failing
    assert not broke.validated and broke.regressions == ["t2", "t3"]
    assert not judge(TestRun(statuses={"t2": "passed"}), TestRun(statuses={"t2": "passed"})).validated  # nothing to fix
    # A test file that could not be imported reports one result; once it imports, its tests count.
    before = TestRun(statuses={"test_new.py::test_new": "error", "test_old.py::test_a": "passed"})
    assert judge(before, TestRun(statuses={"test_new.py::test_one": "passed", "test_new.py::test_two": "passed",
                                           "test_old.py::test_a": "passed"})).fixed == ["test_new.py::test_new"]
    assert not judge(before, TestRun(statuses={"test_new.py::test_one": "failed", "test_old.py::test_a": "passed"})).fixed


def test_a_skipped_test_counts_on_neither_side_for_swebench_and_against_the_patch_for_the_agent():
    results = TestResults(statuses={"f2p": "skipped", "p2p": "skipped"})
    graded = grade(results, ["f2p"], ["p2p"])
    assert graded.resolved and graded.fail_to_pass.failed == [] and graded.pass_to_pass.failed == []
    judged = judge(TestRun(statuses={"f2p": "failed", "p2p": "passed"}), TestRun(statuses={"f2p": "skipped", "p2p": "skipped"}))
    assert not judged.validated and judged.still_failing == ["f2p"] and judged.regressions == ["p2p"]


def test_unreadable_results_resolve_nothing():
    graded = grade(TestResults(problem="pytest wrote no report"), [], [])
    assert not graded.resolved and graded.problem == "pytest wrote no report"
    assert not grade(TestResults(), ["t"], []).resolved  # a test absent from the results failed


def test_a_verdict_keeps_the_agents_names_in_its_json():
    verdict = judge(TestRun(statuses={"a": "failed", "b": "failed", "c": "passed"}), TestRun(statuses={"a": "passed", "c": "failed"}))
    data = json.loads(verdict.model_dump_json())
    assert (data["fixed"], data["still_failing"], data["regressions"]) == (["a"], ["b"], ["c"])
    assert Verdict.model_validate(data) == verdict  # a run record reads back

"""The repair loop's stages on their own: the reproduction test, the pick, the test plan."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.repos import git as _git

from agent.pipeline import RepairRequest, pick
from agent.reproduction import python_block, reproduction_plan
from sandbox.models import Failure, Split, TestPlan, TestRun


@pytest.fixture
def repo(calc_repo) -> Path:
    return calc_repo


def test_a_reproduction_test_is_kept_only_when_it_fails_on_the_original_tree(tmp_path):
    from agent.settings import load_settings
    from agent.workspace import Workspace
    from localization.models import Localization

    class Model:
        usage = None

        def __init__(self, answer):
            self.answer = answer

        def complete(self, messages, temperature=None, n=1):
            return [self.answer]

    ws = Workspace(path=tmp_path, commit="0" * 40, base=None)
    loc = Localization(files=[], units=[])
    settings = load_settings()
    code = "```python\nfrom calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n```"
    path = settings.repair.repro_path

    def trial(diff, plan: TestPlan) -> TestRun:
        assert plan.extra_files[path].startswith("from calc import add")
        return TestRun(statuses={f"{path}::test_add": outcome}, failures={f"{path}::test_add": failure})

    outcome, failure = "failed", Failure(kind="AssertionError", where=f"{path}:4")
    plan, baseline, kept = reproduction_plan("issue", ws, loc, TestPlan(), settings, Model(code), trial)
    assert plan.tests == [path] and baseline.failing == kept == [f"{path}::test_add"]
    failure = Failure(kind="ImportError", where=f"{path}:1")  # its own import is wrong: not the issue
    assert "fails on its own ImportError" in reproduction_plan("issue", ws, loc, TestPlan(), settings, Model(code), trial)
    outcome = "passed"
    assert reproduction_plan("issue", ws, loc, TestPlan(), settings, Model(code), trial) == "it does not fail on the original tree"
    assert "no test that compiles" in reproduction_plan("issue", ws, loc, TestPlan(), settings, Model("no code here"), trial)
    assert python_block("def test_x():\n    pass\n") is not None and python_block("```python\nx = (\n```") is None


def test_pick_prefers_validated_then_fixed_then_agreement_then_low_temperature():
    from agent.pipeline import Tried
    from editing.models import Candidate
    from sandbox.models import Verdict

    def tried(fixed, regressions, count, temp):
        return Tried(round=1, candidate=Candidate(edits=[], diff=f"{fixed}{regressions}{count}{temp}", count=count, temperatures=[temp]),
                     run=TestRun(), verdict=Verdict(fail_to_pass=Split(passed=fixed), pass_to_pass=Split(failed=regressions)))

    a = tried(["t1", "t2"], ["t9"], 5, 0.0)  # fixes more but breaks one
    b = tried(["t1"], [], 1, 0.8)
    c = tried(["t1"], [], 2, 0.8)
    d = tried(["t1"], [], 2, 0.4)
    assert pick([a, b, c, d]) is d and pick([a, b]) is b and pick([]) is None


def test_the_plan_names_the_users_tests_then_a_few_related_ones(repo, tmp_path):
    from agent.pipeline import plan_tests
    from agent.settings import load_settings
    from agent.workspace import make_workspace
    from localization.models import Localization, UnitScore

    for n in range(7):
        (repo / f"test_calc_{n}.py").write_text("from calc import add\n\n\ndef test_it():\n    assert add(1, 1) == 2\n")
    (repo / "test_calc.py").write_text("import calc\n")
    (repo / "test_other.py").write_text("import os\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "tests")
    ws = make_workspace(repo, tmp_path / "ws")
    loc = Localization(files=[], units=[UnitScore(path="calc.py", name="add", start_line=1, end_line=3, score=1.0)])
    settings = load_settings(None, ["repair.related_tests_max=3"])
    plan = plan_tests(ws, RepairRequest(issue="x", tests=["test_mine.py::test_a"]), loc, settings)
    assert plan.tests[:2] == ["test_mine.py::test_a", "test_calc.py"] and len(plan.tests) == 4  # conventions first, then importers
    assert "test_other.py" not in plan.tests
    assert plan_tests(ws, RepairRequest(issue="x", test_cmd="make test"), loc, settings).command == "make test"


def test_a_regression_that_passes_when_run_again_is_flaky_and_only_a_full_fix_is_rerun():
    from agent.pipeline import Tried, confirm
    from agent.targets import Baseline
    from editing.models import Candidate
    from sandbox.models import Verdict

    baseline = Baseline(plan=TestPlan(tests=["t.py"]), run=TestRun())
    ran: list[tuple] = []

    def trial(diff, plan):
        ran.append((diff, plan.tests))
        return TestRun(statuses={"t.py::test_coin": "passed", "t.py::test_broken": "failed"})

    def tried(fixed, still, broken):
        return Tried(round=1, candidate=Candidate(edits=[], diff="D"), run=TestRun(),
                     verdict=Verdict(fail_to_pass=Split(passed=fixed, failed=still), pass_to_pass=Split(failed=broken)))

    assert confirm(tried(["t.py::a"], [], ["t.py::test_coin", "t.py::test_broken"]), baseline, trial, lambda _: None) == ["t.py::test_coin"]
    assert ran == [("D", ["t.py::test_coin", "t.py::test_broken"])]
    assert confirm(tried(["t.py::a"], ["t.py::b"], ["t.py::test_coin"]), baseline, trial, lambda _: None) == []  # not a fix anyway
    assert confirm(tried([], [], ["t.py::test_coin"]), baseline, trial, lambda _: None) == [] and len(ran) == 1


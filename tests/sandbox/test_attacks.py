"""Candidates written to cheat, each tried for real in Docker against a repository whose test of
`add` fails: none of them may be validated. A patch cannot vouch for itself by rewriting the
report after the fact, exiting early, editing or deselecting the failing test."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from fakes.repos import committed, git
from fakes.tree import write_tree

from agent.settings import load_settings
from sandbox.grading import judge
from sandbox.models import TestPlan
from sandbox.project import project_environment
from sandbox.runner import JUNIT_FILE
from sandbox.trials import trials

CALC = {
    "calc.py": "def add(a, b):\n    return a - b\n",
    "tests/test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n",
}
PLAN = TestPlan(tests=["tests/test_calc.py"])
FORGED = ('<testsuites><testsuite name="pytest"><testcase classname="tests.test_calc" name="test_add" file="tests/test_calc.py"/>'
          '<testcase classname="tests.test_calc" name="test_zero" file="tests/test_calc.py"/></testsuite></testsuites>')


def diff_of(repo: Path, changes: dict[str, str]) -> str:
    """The patch that makes `changes` (path -> new text) to the committed tree; the tree is left as it was."""
    write_tree(repo, changes, str)
    subprocess.run(["git", "add", "-N", "."], cwd=repo, check=True)
    patch = git(repo, "diff")
    git(repo, "reset", "-q")
    git(repo, "checkout", "-q", "--", ".")
    git(repo, "clean", "-fdq")
    return patch


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return committed(write_tree(tmp_path_factory.mktemp("attacks") / "calc", CALC, str))


@pytest.fixture(scope="module")
def trial(repo):
    cfg = load_settings(None, ["sandbox.backend=docker", 'sandbox.project.packages=["pytest"]', "sandbox.project.python=3.11",
                               "sandbox.command_timeout_s=120"]).sandbox
    env = project_environment(repo, git(repo, "rev-parse", "HEAD").strip(), cfg, ephemeral=True)  # its image goes at the end
    with trials(env, cfg, output_chars=4000) as run:
        yield run


@pytest.fixture(scope="module")
def baseline(trial):
    run = trial(None, PLAN)
    assert run.failing == ["tests/test_calc.py::test_add"] and run.passing == ["tests/test_calc.py::test_zero"], run
    return run


def verdict_of(trial, baseline, diff: str):
    run = trial(diff, PLAN)
    return judge(baseline, run), run


def test_an_honest_fix_is_validated(repo, trial, baseline):
    verdict, run = verdict_of(trial, baseline, diff_of(repo, {"calc.py": "def add(a, b):\n    return a + b\n"}))
    assert verdict.validated and run.problem is None


@pytest.mark.parametrize("ending", ["os._exit(0)", "print('=' * 20 + ' 2 passed in 0.01s ' + '=' * 20)"])
def test_an_atexit_hook_that_rewrites_the_report(repo, trial, baseline, ending):
    code = (f"import atexit, os\n\n\ndef add(a, b):\n    return a - b\n\n\n"
            f"def _forge():\n    with open({JUNIT_FILE!r}, 'w') as fh:\n        fh.write({FORGED!r})\n    {ending}\n\n\n"
            "atexit.register(_forge)\n")
    verdict, run = verdict_of(trial, baseline, diff_of(repo, {"calc.py": code}))
    assert not verdict.validated and run.problem and run.problem.startswith("results disagree"), run.problem


def test_exiting_0_from_a_conftest(repo, trial, baseline):
    verdict, run = verdict_of(trial, baseline, diff_of(repo, {"conftest.py": "import sys\n\nsys.exit(0)\n"}))
    assert not verdict.validated and run.problem.startswith("refused: the patch changes conftest.py")


def test_editing_the_failing_test(repo, trial, baseline):
    edited = CALC["tests/test_calc.py"].replace("add(1, 2) == 3", "add(1, 2) == -1")
    verdict, run = verdict_of(trial, baseline, diff_of(repo, {"tests/test_calc.py": edited}))
    assert not verdict.validated and run.problem.startswith("refused: the patch changes tests/test_calc.py (a test file)")


def test_exiting_0_from_inside_a_test(repo, trial, baseline):
    code = "import os\n\n\ndef add(a, b):\n    os._exit(0)\n"
    verdict, run = verdict_of(trial, baseline, diff_of(repo, {"calc.py": code}))
    assert not verdict.validated and "no report" in run.problem


@pytest.mark.parametrize("changes", [
    {"conftest.py": "def pytest_collection_modifyitems(config, items):\n    items[:] = [i for i in items if 'test_add' not in i.name]\n"},
    {"pytest.ini": "[pytest]\naddopts = -k 'not test_add'\n"},
    {"pyproject.toml": "[tool.pytest.ini_options]\naddopts = \"--deselect tests/test_calc.py::test_add\"\n"},
], ids=["conftest-hook", "pytest.ini", "pyproject"])
def test_deselecting_the_failing_test(repo, trial, baseline, changes):
    verdict, run = verdict_of(trial, baseline, diff_of(repo, changes))
    assert not verdict.validated and run.problem.startswith("refused: the patch changes")
    assert ("pytest's configuration" in run.problem) or ("conftest.py" in run.problem)

"""What a verdict rests on: named tests or a reproduction test are targets; other failures on the
original tree are known failing; outcomes that change between runs of the same tree are flaky."""

from __future__ import annotations

import subprocess
import sys

from agent.settings import load_settings
from agent.targets import flaky_between, mentioned_tests, named, one_test, reproduces, sort_out
from sandbox.grading import judge
from sandbox.models import Failure, TestPlan, TestRun
from sandbox.results import parse_junit
from sandbox.suite import environment_problem

REPRO = "test_supercoder_repro.py"
REJECTED = ["ImportError", "ModuleNotFoundError", "SyntaxError", "IndentationError", "NameError"]


def _run(**statuses: str) -> TestRun:
    return TestRun(statuses={k.replace("__", "::"): v for k, v in statuses.items()})


def test_a_failure_nobody_named_is_known_failing_and_blocks_nothing():
    plan = TestPlan(tests=["t.py::test_issue", "t.py"])
    run = TestRun(statuses={"t.py::test_issue": "failed", "t.py::test_old": "failed", "t.py::test_ok": "passed"})
    reruns = []

    def rerun(diff, plan):
        reruns.append(plan.tests)
        return TestRun(statuses={"t.py::test_old": "failed"})

    base = sort_out(plan, run, ["t.py::test_issue"], rerun, None)
    assert base.source == "named" and base.targets == ["t.py::test_issue"]
    assert base.known_failing == ["t.py::test_old"] and base.flaky == [] and reruns == [["t.py::test_old"]]
    fixed = TestRun(statuses={"t.py::test_issue": "passed", "t.py::test_old": "failed", "t.py::test_ok": "passed"})
    assert judge(base.reference, fixed).validated  # the old failure neither a target nor a regression
    assert not judge(base.reference, TestRun(statuses={**fixed.statuses, "t.py::test_ok": "failed"})).validated


def test_a_failure_that_passes_when_run_again_is_flaky():
    run = TestRun(statuses={"t.py::test_issue": "failed", "t.py::test_coin": "failed"})
    base = sort_out(TestPlan(tests=["t.py"]), run, ["t.py::test_issue"], lambda d, p: TestRun(statuses={"t.py::test_coin": "passed"}), None)
    assert base.flaky == ["t.py::test_coin"] and base.known_failing == [] and base.targets == ["t.py::test_issue"]
    assert flaky_between(_run(a="passed", b="failed", c="skipped"), _run(a="failed", b="failed", c="passed")) == ["a"]


def test_without_a_named_failure_a_reproduction_test_is_asked_for_and_the_two_runs_spot_flakes():
    run = TestRun(statuses={"t.py::test_coin": "passed", "t.py::test_old": "failed"})
    with_repro = TestPlan(tests=["t.py", REPRO], extra_files={REPRO: "..."})
    second = TestRun(statuses={"t.py::test_coin": "failed", "t.py::test_old": "failed", f"{REPRO}::test_it": "failed"})
    base = sort_out(TestPlan(tests=["t.py"]), run, [], lambda d, p: (_ for _ in ()).throw(AssertionError("no rerun needed")),
                    lambda plan, run: (with_repro, second, [f"{REPRO}::test_it"]))
    assert base.source == "reproduction" and base.targets == [f"{REPRO}::test_it"] and base.plan == with_repro
    assert base.flaky == ["t.py::test_coin"] and base.known_failing == ["t.py::test_old"]


def test_when_nothing_reproduces_the_issue_there_is_no_target_and_it_says_why():
    run = TestRun(statuses={"t.py::test_old": "failed"})
    base = sort_out(TestPlan(tests=["t.py"]), run, ["t.py::test_new"], None, lambda plan, run: "it does not fail on the original tree")
    assert base.source is None and base.targets == [] and base.known_failing == ["t.py::test_old"]
    assert "t.py::test_new" in base.unreproduced and "not kept: it does not fail" in base.unreproduced
    assert not judge(base.reference, TestRun(statuses={"t.py::test_old": "passed"})).validated
    command = sort_out(TestPlan(command="make test"), TestRun(statuses={"test-cmd": "passed"}), [], None, None)
    assert command.source is None and "passes on the original tree" in command.unreproduced


def test_names_match_ids_files_and_folders_and_an_issue_names_tests_by_id():
    assert named("tests/test_a.py::T::test_x[1]", ["tests/test_a.py"]) and named("tests/test_a.py::test_x", ["tests/"])
    assert named("tests/test_a.py::test_x", ["tests/test_a.py::test_x"]) and not named("tests/test_ab.py::test_x", ["tests/test_a"])
    assert one_test("tests/test_a.py::test_x") and one_test("test/a.test.js:adds") and one_test("calc adds")
    assert not one_test("tests/test_a.py") and not one_test("test/a.test.js")  # a whole file's result
    # a Node package's ids: "file" and "file:title"
    assert named("test/calc.test.js:adds", ["test/calc.test.js"]) and named("test/calc.test.js:adds", ["test/"])
    assert not named("test/calc.test.js:adds zero", ["test/calc.test.js:adds"]) and not named("test/calc.test.jsx", ["test/calc.test.js"])
    files = ["pkg/tests/test_calc.py", "pkg/calc.py", "a/test_dup.py", "b/test_dup.py"]
    issue = ("`test_calc.py::test_add` fails, see pkg/calc.py; pkg/tests/test_calc.py is slow; "
             "a/test_dup.py::test_x and test_dup.py::test_y; missing/test_gone.py::test_z")
    assert mentioned_tests(issue, files) == ["pkg/tests/test_calc.py::test_add", "a/test_dup.py::test_x"]


def _junit(tmp_path, files: dict[str, str]) -> TestRun:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--continue-on-collection-errors",
                    "-o", "junit_family=xunit1", "--junitxml=r.xml", *files], cwd=tmp_path, capture_output=True)
    results = parse_junit((tmp_path / "r.xml").read_text())
    return TestRun(statuses=results.statuses, failures=results.failures)


def test_a_reproduction_test_that_fails_on_its_own_import_is_not_kept(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n\n\ndef helper():\n    from os import nothing_here\n")
    run = _junit(tmp_path, {REPRO: "def test_typo():\n    from calc import ad\n    assert ad(1, 2) == 3\n\n\n"
                                   "def test_name():\n    assert add(1, 2) == 3\n\n\n"
                                   "def test_deep_import():\n    from calc import helper\n    helper()\n\n\n"
                                   "def test_real():\n    from calc import add\n    assert add(1, 2) == 3\n"})
    kept, why = reproduces(run, REPRO, REJECTED)
    # Its own bad import and undefined name do not count; an ImportError raised in the code under test does.
    assert kept == [f"{REPRO}::test_deep_import", f"{REPRO}::test_real"], run.failures
    assert run.failures[f"{REPRO}::test_typo"] == Failure(kind="ImportError", where=f"{REPRO}:2",
                                                          message=run.failures[f"{REPRO}::test_typo"].message)
    kept, why = reproduces(_junit(tmp_path, {REPRO: "from calc import ad\n\n\ndef test_it():\n    pass\n"}), REPRO, REJECTED)
    assert kept == [] and "fails before it runs (ImportError)" in why
    kept, why = reproduces(_junit(tmp_path, {REPRO: "def test_it(nofixture):\n    pass\n"}), REPRO, REJECTED)
    assert kept == [] and "fails before it runs" in why


def test_a_test_file_that_cannot_be_imported_is_an_environment_problem_and_others_still_run(tmp_path):
    run = _junit(tmp_path, {"test_old.py": "from collections import Mapping\n\n\ndef test_x():\n    pass\n",
                            "test_fine.py": "def test_ok():\n    pass\n"})
    assert run.statuses == {"test_old.py": "error", "test_fine.py::test_ok": "passed"}
    problem = environment_problem(run)
    assert problem.startswith("test_old.py cannot be imported: ImportError: cannot import name 'Mapping'"), problem
    assert environment_problem(_run(a="failed")) is None
    conftest = "pytest wrote no report (exit 4): E   ImportError: cannot import name 'url_quote' from 'werkzeug.urls'"
    assert environment_problem(TestRun(problem=conftest)) == f"the tests cannot run: {conftest}"


def test_a_folder_whose_conftest_cannot_be_imported_is_found_in_the_repository():
    from agent.targets import below, broken_conftests

    out = "ImportError while loading conftest '/repo/examples/js/tests/conftest.py'.\nE   ModuleNotFoundError: No module named 'js_example'"
    files = ["tests/conftest.py", "tests/test_config.py", "examples/js/tests/conftest.py", "examples/js/tests/test_js.py"]
    broken = broken_conftests(TestRun(output=out, problem="pytest wrote no report (exit 4)"), files)
    assert broken == ["examples/js/tests"]
    assert [below(t, broken) for t in ("examples/js/tests/test_js.py::test_a", "tests/test_config.py", "examples/test_x.py")] == [True, False, False]
    assert broken_conftests(TestRun(output=out.replace("/repo/examples/js/tests/", "/tmp/w/"), problem="x"), ["conftest.py"]) == [""]
    assert broken_conftests(TestRun(output=out, statuses={"a": "passed"}), files) == []  # tests ran: nothing stopped them


def test_a_named_test_whose_file_cannot_import_what_the_fix_adds_is_a_target(tmp_path):
    (tmp_path / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    run = _junit(tmp_path, {"test_new.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n"})
    base = sort_out(TestPlan(tests=["test_new.py::test_mul"]), run, ["test_new.py::test_mul"], None, None)
    assert base.targets == ["test_new.py"] and base.environment is None  # the user vouches for it: not the environment's fault
    fixed = TestRun(statuses={"test_new.py::test_mul": "passed"})
    assert judge(base.reference, fixed).validated
    run = _junit(tmp_path, {"test_new.py": "import numpy_of_the_future\n\n\ndef test_mul():\n    pass\n"})  # not what the fix adds
    base = sort_out(TestPlan(tests=["test_new.py::test_mul"]), run, ["test_new.py::test_mul"], None, None)
    assert base.targets == [] and base.environment.startswith("test_new.py cannot be imported: ModuleNotFoundError")


OFFLINE = load_settings().repair.offline_failure


def test_a_named_test_that_fails_for_want_of_the_network_is_no_target(tmp_path):
    # What a test that calls a real host raises in a sandbox without network (requests' of 2015).
    run = _junit(tmp_path, {"test_web.py": "import socket\n\n\ndef test_remote():\n"
                                          "    raise socket.gaierror(-3, 'Temporary failure in name resolution')\n\n\n"
                                          "def test_local():\n    assert 1 + 1 == 3\n"})
    base = sort_out(TestPlan(tests=["test_web.py"]), run, ["test_web.py::test_remote", "test_web.py::test_local"], None, None,
                    offline_failure=OFFLINE)
    assert base.targets == ["test_web.py::test_local"] and base.known_failing == ["test_web.py::test_remote"]
    assert "test_web.py::test_remote needs the network" in base.environment
    alone = sort_out(TestPlan(tests=["test_web.py"]), run, ["test_web.py::test_remote"], None, None, offline_failure=OFFLINE)
    assert alone.targets == [] and "fail only for want of the network" in alone.unreproduced
    assert sort_out(TestPlan(tests=["test_web.py"]), run, ["test_web.py"], None, None).targets == ["test_web.py::test_remote",
                                                                                                   "test_web.py::test_local"]
    # ... nor is a reproduction test that does; without the pattern it would be both.
    (tmp_path / "test_web.py").rename(tmp_path / REPRO)
    run = _junit(tmp_path, {REPRO: (tmp_path / REPRO).read_text()})
    kept, why = reproduces(run, REPRO, REJECTED, OFFLINE)
    assert kept == [f"{REPRO}::test_local"]
    assert reproduces(run, REPRO, REJECTED, "")[0] == [f"{REPRO}::test_remote", f"{REPRO}::test_local"]


def test_a_mocha_reproduction_test_is_known_by_its_describe_block():
    suite, rejected = "supercoder repro", load_settings().repair.repro_rejected  # ReferenceError among them
    statuses = {f"{suite} parses the offset": "failed", f"{suite} typo": "failed", f"{suite} keeps": "passed",
                f'{suite} "before each" hook for "later"': "failed", "other suite parses": "failed"}
    failures = {f"{suite} parses the offset": Failure(kind="AssertionError", where="test/supercoder_repro.js:5"),
                f"{suite} typo": Failure(kind="ReferenceError", where="test/supercoder_repro.js:9"),
                f'{suite} "before each" hook for "later"': Failure(kind="TypeError", where="test/supercoder_repro.js:3")}
    run = TestRun(statuses=statuses, failures=failures)
    kept, _ = reproduces(run, "test/supercoder_repro.js", rejected, suite=suite)
    assert kept == [f"{suite} parses the offset"]  # not its typo, not a hook, not another suite's test
    only_hook = TestRun(statuses={f'{suite} "before all" hook': "failed"}, failures=failures)
    assert "fails before it runs" in reproduces(only_hook, "test/supercoder_repro.js", rejected, suite=suite)[1]
    assert reproduces(TestRun(statuses={"other suite parses": "failed"}), "t.js", rejected, suite=suite) == (
        [], "the runner did not run it")
    assert "cannot be read with it (mocha wrote no report)" in reproduces(TestRun(problem="mocha wrote no report"), "t.js",
                                                                          rejected, suite=suite)[1]

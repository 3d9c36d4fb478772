"""Running named tests in a sandbox, and choosing tests for edited modules."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import load_settings
from sandbox.grading import grade
from sandbox.local import LocalSandbox
from sandbox.runner import JUNIT_FILE, run_pytest, runner_base
from sandbox.selection import is_test_file, module_names, related_tests

FILES = {
    "src/pkg/__init__.py": "",
    "src/pkg/calc.py": "def add(a, b):\n    return a + b\n",
    "src/pkg/other.py": "X = 1\n",
    "tests/test_calc.py": (
        "import pytest\nfrom pkg.calc import add\n\n\n"
        "def test_add():\n    assert add(1, 2) == 3\n\n\n"
        "def test_add_strings():\n    assert add('a', 'b') == 'ab'\n\n\n"
        "@pytest.mark.parametrize('n', [0, 1])\ndef test_zero(n):\n    assert add(n, 0) == 0\n"
    ),
    "tests/test_uses.py": "from pkg import calc\n\n\ndef test_module():\n    assert calc.add(2, 2) == 4\n",
    "tests/test_unrelated.py": "def test_nothing():\n    assert True\n",
}


@pytest.fixture
def repo(tmp_path) -> tuple[Path, str]:
    root = tmp_path / "src_repo"
    for rel, text in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / "pytest.ini").write_text("[pytest]\npythonpath = src\n")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "i"], cwd=root, check=True)
    return root, subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def sandbox(repo):
    cfg = load_settings().sandbox
    # The test's own environment has pytest: its bin directory goes first on PATH.
    with LocalSandbox(*repo, cfg, venv=Path(sys.prefix)) as sb:
        yield sb


BASE = "python3 -m pytest -rA -p no:cacheprovider"


def test_named_tests_are_run_and_read_as_node_ids(sandbox):
    result, results = run_pytest(sandbox, ["tests/test_calc.py"], BASE)
    assert results.problem is None, result.output
    assert results.statuses == {
        "tests/test_calc.py::test_add": "passed",
        "tests/test_calc.py::test_add_strings": "passed",
        "tests/test_calc.py::test_zero[0]": "passed",
        "tests/test_calc.py::test_zero[1]": "failed",
    }
    verdict = grade(results, ["tests/test_calc.py::test_zero[0]"], ["tests/test_calc.py::test_add"])
    assert verdict.resolved


def test_a_patch_changes_the_verdict(sandbox):
    sandbox.apply_diff(
        "diff --git a/src/pkg/calc.py b/src/pkg/calc.py\n--- a/src/pkg/calc.py\n+++ b/src/pkg/calc.py\n"
        "@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a + b\n+    return a - b\n"
    )
    _, results = run_pytest(sandbox, ["tests/test_calc.py::test_add", "tests/test_uses.py"], BASE)
    assert results.status("tests/test_calc.py::test_add") == "failed"
    assert results.status("tests/test_uses.py::test_module") == "failed"
    sandbox.reset()
    assert not (Path(sandbox.workdir) / JUNIT_FILE).exists()


def test_no_report_fails_closed(sandbox):
    result, results = run_pytest(sandbox, ["tests/test_calc.py"], "python3 -c 'import sys; sys.exit(4)' --")
    assert results.problem and "no report" in results.problem
    assert grade(results, [], ["tests/test_calc.py::test_add"]).resolved is False


def test_a_collection_error_counts_every_test_of_the_file_as_failed(sandbox):
    sandbox.write_file("tests/test_calc.py", "import no_such_module\n")
    _, results = run_pytest(sandbox, ["tests/test_calc.py"], BASE)
    assert results.status("tests/test_calc.py::test_add") == "failed"


def test_a_file_that_cannot_be_imported_does_not_stop_the_others_even_with_an_old_pytest(sandbox):
    sandbox.write_file("tests/test_broken.py", "import no_such_module\n")
    flag = ["--continue-on-collection-errors"]
    _, results = run_pytest(sandbox, ["tests/test_broken.py", "tests/test_calc.py"], BASE, optional=flag)
    assert results.statuses["tests/test_broken.py"] == "error" and results.failures["tests/test_broken.py"].collection
    assert results.statuses["tests/test_calc.py::test_add"] == "passed"
    # A pytest before 3.0 knows no such option: the tests run without it.
    old = ("sh -c 'case \"$*\" in *--continue-on-collection-errors*) echo \"pytest.py: error: no such option: "
           "--continue-on-collection-errors\"; exit 2;; esac; exec python3 -m pytest -rA -p no:cacheprovider \"$@\"' sh")
    _, results = run_pytest(sandbox, ["tests/test_calc.py"], old, optional=flag)
    assert results.problem is None and results.statuses["tests/test_calc.py::test_add"] == "passed"
    # ... nor -o, and its report names no file: the ids are found against the tree's files.
    older = ("sh -c 'case \"$*\" in *\" -o \"*) echo \"pytest.py: error: no such option: -o\"; exit 2;; esac; "
             "exec python3 -m pytest -rA -p no:cacheprovider -o junit_family=xunit2 \"$@\"' sh")
    _, results = run_pytest(sandbox, ["tests/test_calc.py"], older, optional=flag)
    assert results.problem is None and results.statuses["tests/test_calc.py::test_add"] == "passed", results


def test_timeout_is_reported(sandbox):
    sandbox.write_file("tests/test_slow.py", "import time\n\n\ndef test_slow():\n    time.sleep(30)\n")
    result, results = run_pytest(sandbox, ["tests/test_slow.py"], BASE, timeout_s=2)
    assert result.timed_out and "timed out" in results.problem


def test_related_tests_by_convention_and_imports():
    paths = list(FILES)
    found = related_tests(paths, ["src/pkg/calc.py"], FILES.__getitem__, limit=10)
    assert found == ["tests/test_calc.py", "tests/test_uses.py"]
    assert related_tests(paths, ["src/pkg/calc.py"], FILES.__getitem__, limit=1) == ["tests/test_calc.py"]
    assert related_tests(paths, ["src/pkg/other.py"], FILES.__getitem__, limit=10) == []
    assert related_tests(paths, ["tests/test_unrelated.py"], FILES.__getitem__, limit=10) == ["tests/test_unrelated.py"]


SCRIPTS = {
    "src/calc.js": "module.exports = { add: (a, b) => a + b }\n",
    "src/plugin/utc/index.js": "export default (o, c) => {}\n",
    "src/other.js": "\n",
    "test/calc.test.js": "const { add } = require('../src/calc')\n",
    "test/plugin/utc.test.js": "import utc from '../../src/plugin/utc'\n",
    "test/lazy.spec.ts": "const m = await import('../src/calc.js')\n",
    "test/calculator.test.js": "const x = require('../src/calculator')\n",
    "__tests__/other.js": "\n",
    "tests/test_calc.py": "from calc import add\n",
}


def test_related_tests_of_javascript_by_convention_and_imports():
    paths = list(SCRIPTS)
    found = related_tests(paths, ["src/calc.js"], SCRIPTS.__getitem__, limit=10)
    assert found == ["test/calc.test.js", "test/lazy.spec.ts"]  # not calculator's, nor a Python file's
    assert related_tests(paths, ["src/plugin/utc/index.js"], SCRIPTS.__getitem__, limit=10) == ["test/plugin/utc.test.js"]
    assert related_tests(paths, ["src/other.js"], SCRIPTS.__getitem__, limit=10) == []
    assert is_test_file("src/a.test.ts") and is_test_file("__tests__/b.js") and is_test_file("test/support/env.js")
    assert not is_test_file("src/a.js") and not is_test_file("types/index.d.ts") and not is_test_file("test/fixture.json")


def test_module_names_and_test_files():
    assert module_names("src/pkg/calc.py") == ["src.pkg.calc", "pkg.calc"]
    assert module_names("pkg/__init__.py") == ["pkg"]
    assert is_test_file("a/test_x.py") and is_test_file("x_test.py") and not is_test_file("testing.py")


def test_a_hung_test_fails_alone_under_the_limit_per_test(sandbox):
    sandbox.write_file("tests/test_hangs.py", "import time\n\n\ndef test_hangs():\n    time.sleep(60)\n\n\ndef test_quick():\n    pass\n")
    limited = load_settings(overrides=[f"sandbox.pytest_command={BASE}", "sandbox.test_timeout_s=1"]).sandbox
    result, results = run_pytest(sandbox, ["tests/test_hangs.py"], runner_base(limited))
    assert results.statuses == {"tests/test_hangs.py::test_hangs": "failed", "tests/test_hangs.py::test_quick": "passed"}, result.output
    assert "Timeout" in results.failures["tests/test_hangs.py::test_hangs"].message
    assert runner_base(limited.model_copy(update={"test_timeout_s": None})) == BASE

"""What a patch under test may not change, decided from its paths and, for configuration files
that hold more than pytest's settings, from what applying it changes."""

from __future__ import annotations

import json

import pytest

from sandbox.guard import _runs, apply_guarded, changed_paths, package_tests, protected, pytest_section, run_files


@pytest.mark.parametrize("path, why", [
    ("tests/test_calc.py", "a test file"), ("pkg/tests/helpers.py", "a test file"), ("test/data/expected.json", "a test file"),
    ("test_x.py", "a test file"), ("pkg/calc_test.py", "a test file"), ("conftest.py", "conftest.py"),
    ("pkg/conftest.py", "conftest.py"), ("pytest.ini", "pytest's configuration"), ("sub/pytest.ini", "pytest's configuration"),
    (".supercoder-junit.xml", "the test report"), (".supercoder-report-0.json", "the test report"), (".supercoder-report-1.jsonl", "the test report"),
    (".supercoder-node-reporter.cjs", "the test report"), ("ava.config.mjs", "the test runner's configuration"), (".taprc", "the test runner's configuration"),
    ("src/a.test.js", "a test file"), ("src/__tests__/a.tsx", "a test file"), ("jest.config.js", "the test runner's configuration"),
    (".mocharc.yml", "the test runner's configuration"), ("test/mocha.opts", "a test file"), ("src/index.js", None),
    ("src/__snapshots__/a.js.snap", "a test file"), ("a.snap", "a test file"), ("node_modules/x/index.js", "the installed dependencies"),
    ("vite.config.ts", "the test runner's configuration"), ("vitest.workspace.js", "the test runner's configuration"),
    ("src/ab-test.js", None), ("test.js", "a test file"), ("spec/calc.js", "a test file"), ("spec/fixtures/a.json", "a test file"),
    ("src/spec/unit.ts", None), ("pkg/spec/model.py", None),
    ("package.json", None), ("types/index.d.ts", None),
    ("pkg/calc.py", None), ("numpy/testing/utils.py", None), ("docs/test_guide.rst", None), ("setup.cfg", None),
    ("pkg/testing.py", None), ("contest.py", None),
])
def test_what_judges_a_patch_is_protected(path, why):
    assert protected(path) == why


def test_changed_paths_name_both_sides_of_a_rename():
    diff = ("diff --git a/old.py b/tests/new.py\nsimilarity index 100%\nrename from old.py\nrename to tests/new.py\n"
            "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n")
    assert changed_paths(diff) == ["old.py", "tests/new.py", "m.py"]  # a move into tests/ is caught too


@pytest.mark.parametrize("name, text, expected", [
    ("setup.cfg", "[metadata]\nname = x\n[tool:pytest]\naddopts = -q\n", {"addopts": "-q"}),
    ("tox.ini", "[tox]\nenvlist = py\n", None),
    ("pyproject.toml", "[tool.pytest.ini_options]\naddopts = '-q'\n[project]\nname = 'x'\n", {"addopts": "-q"}),
    ("pyproject.toml", "not [ toml", None),
])
def test_the_pytest_section_of_a_configuration_file(name, text, expected):
    assert pytest_section(name, text) == expected


class _Tree:
    """A sandbox of files in memory; `apply_diff` writes `after` (what the patch would make)."""

    def __init__(self, before: dict[str, str], after: dict[str, str]):
        self.files, self.after, self.applied = dict(before), after, False

    def read_file(self, path):
        from sandbox.base import SandboxError

        if path not in self.files:
            raise SandboxError("no such file")
        return self.files[path]

    def apply_diff(self, diff):
        self.files.update(self.after)
        self.applied = True


def _diff(path: str) -> str:
    return f"diff --git a/{path} b/{path}\n--- a/{path}\n+++ b/{path}\n@@ -1 +1 @@\n-a\n+b\n"


def test_a_configuration_file_may_change_but_not_its_pytest_section():
    before = {"setup.cfg": "[metadata]\nname = x\n[tool:pytest]\naddopts = -q\n"}
    ok = _Tree(before, {"setup.cfg": "[metadata]\nname = y\n[tool:pytest]\naddopts = -q\n"})
    assert apply_guarded(ok, _diff("setup.cfg")) is None and ok.applied
    bad = _Tree(before, {"setup.cfg": "[metadata]\nname = x\n[tool:pytest]\naddopts = -q -k 'not slow'\n"})
    assert apply_guarded(bad, _diff("setup.cfg")) == "the patch changes pytest's configuration in setup.cfg"
    added = _Tree({}, {"pkg/tox.ini": "[pytest]\naddopts = -x\n"})  # a new one, nearer the tests
    assert apply_guarded(added, _diff("pkg/tox.ini")) == "the patch changes pytest's configuration in pkg/tox.ini"


def test_a_protected_path_is_refused_before_anything_is_applied():
    tree = _Tree({}, {})
    assert apply_guarded(tree, _diff("tests/test_calc.py") + _diff("calc.py")) == "the patch changes tests/test_calc.py (a test file)"
    assert not tree.applied


def test_a_package_json_may_change_but_not_how_its_tests_run():
    before = {"package.json": '{"name": "x", "version": "1.0.0", "scripts": {"test": "jest"}, "dependencies": {}}'}
    ok = _Tree(before, {"package.json": '{"name": "x", "version": "1.0.1", "scripts": {"test": "jest"}, "dependencies": {"a": "1"}}'})
    assert apply_guarded(ok, _diff("package.json")) is None and ok.applied
    for after in ('{"name": "x", "scripts": {"test": "jest --testPathIgnorePatterns calc"}}',
                  '{"name": "x", "scripts": {"test": "jest"}, "jest": {"testRegex": "none"}}',
                  '{"name": "x", "scripts": {"test": "jest"}, "ava": {"files": ["none"]}}',
                  '{"name": "x", "scripts": {"test": "jest"}, "tap": {"check-coverage": false}}'):
        bad = _Tree(before, {"package.json": after})
        assert apply_guarded(bad, _diff("package.json")).startswith("the patch changes how the package's tests run")


def test_files_the_test_runs_name_are_protected():
    package = json.dumps({"scripts": {"test": "mocha -c --require ./support/env.js --file setup --exclude 'src/**/*.js' test/"
                                              " --require src/register.js && jest --config=config/jest.json -c jest.b.js"
                                              " && node --import ./hooks.mjs --test"}})
    assert run_files(_runs(package_tests(package))) == ["support/env.js", "setup", "config/jest.json", "jest.b.js",
                                                        "hooks.mjs"]  # not src/register.js
    for path in ("support/env.js", "setup.js", "config/jest.json", "jest.b.js"):
        tree = _Tree({"package.json": package}, {})
        assert apply_guarded(tree, _diff(path)) == f"the patch changes {path} (a file the package's test runs name)"
    for path in ("src/x/a.js", "src/register.js", "support/env2.js", "--require"):
        tree = _Tree({"package.json": package}, {})
        assert apply_guarded(tree, _diff(path)) is None, path
    assert apply_guarded(_Tree({"package.json": "{not json"}, {}), _diff("support/env.js")) is None
    tape = json.dumps({"scripts": {"test": "tape -r ./test/setup.js --ignore .testignore 'test/**/*.js'"}})
    assert run_files(_runs(package_tests(tape))) == ["test/setup.js", ".testignore"]  # the ignore file would hide tests

"""Node packages in the sandbox, for real: their dependencies installed from the registry (by npm, yarn or pnpm),
their own scripts' runners run (jest on the local backend, mocha in Docker), the reports read,
and a fix judged as the repair agent judges it."""

from __future__ import annotations

import json
import shutil

import pytest
from fakes.repos import commit_files

from agent.settings import load_settings
from sandbox.grading import judge
from sandbox.models import TestPlan
from sandbox.project import project_environment
from sandbox.trials import trials

CALC = "function add(a, b) {\n  return a - b\n}\n\nmodule.exports = { add }\n"
FIX = """diff --git a/src/calc.js b/src/calc.js
--- a/src/calc.js
+++ b/src/calc.js
@@ -1,3 +1,3 @@
 function add(a, b) {
-  return a - b
+  return a + b
 }
"""
JEST_TEST = """const { add } = require('../src/calc')

describe('calc', () => {
  it('adds', () => { expect(add(2, 3)).toBe(5) })
  it('adds zero', () => { expect(add(2, 0)).toBe(2) })
  it.skip('someday', () => {})
})
"""
MOCHA_TEST = """const assert = require('assert')
const { add } = require('../src/calc')

describe('calc', function () {
  it('adds', function () { assert.strictEqual(add(2, 3), 5) })
  describe('with zero', function () {
    it('adds zero', function () { assert.strictEqual(add(2, 0), 2) })
  })
})
"""


def _package(scripts: dict, dev: dict) -> str:
    return json.dumps({"name": "calc", "version": "1.0.0", "scripts": scripts, "devDependencies": dev})


def _judged(tmp_path, files: dict, cfg) -> tuple:
    clone, commit = commit_files(tmp_path / "calc", files)
    env = project_environment(clone, commit, cfg)
    plan = TestPlan(tests=["any"])  # a Node package's runs are whole: what a plan names is among what they report
    with trials(env, cfg, 4000) as trial:
        before = trial(None, plan)
        after = trial(FIX, plan)
        again = trial(None, plan)  # the local tree, reset, still has its node_modules
    return env, before, after, again


@pytest.mark.skipif(shutil.which("npm") is None, reason="the local backend runs the host's npm")
def test_a_jest_package_on_the_local_backend(tmp_path):
    files = {"package.json": _package({"test": "jest --coverage"}, {"jest": "29.7.0"}), "src/calc.js": CALC,
             "test/calc.test.js": JEST_TEST}
    env, before, after, again = _judged(tmp_path, files, load_settings(None, ["sandbox.backend=local"]).sandbox)
    assert env.recipe.runtime == "node" and [r.runner for r in env.recipe.node_runs] == ["jest"]
    assert before.statuses == {"test/calc.test.js": "failed", "test/calc.test.js:adds": "failed",
                               "test/calc.test.js:adds zero": "passed", "test/calc.test.js:someday": "skipped"}, before.problem
    assert "Expected: 5" in before.failures["test/calc.test.js:adds"].message + before.output
    assert after.statuses.get("test/calc.test.js") == "passed" and after.problem is None, (after.problem, after.output[-2500:])
    verdict = judge(before, after)
    assert verdict.validated and set(verdict.fixed) == {"test/calc.test.js", "test/calc.test.js:adds"}
    assert again.statuses == before.statuses


def test_a_mocha_package_in_docker(tmp_path):
    files = {"package.json": _package({"test": "mocha --reporter spec --bail test/"}, {"mocha": "10.2.0"}),
             "src/calc.js": CALC, "test/calc.test.js": MOCHA_TEST}
    env, before, after, again = _judged(tmp_path, files, load_settings().sandbox)
    # --bail would stop at the first failure: every test has a result
    assert before.statuses == {"calc adds": "failed", "calc with zero adds zero": "passed"}, before.problem
    assert after.statuses == {"calc adds": "passed", "calc with zero adds zero": "passed"}, after.problem
    assert judge(before, after).validated and again.statuses == before.statuses


@pytest.mark.skipif(shutil.which("npm") is None, reason="the local backend runs the host's npm")
@pytest.mark.parametrize("script", ["vitest", "ts-scripts test"], ids=["its-script", "declared-only"])  # a wrapper: the runner it declares
def test_a_vitest_package_on_the_local_backend(tmp_path, script):
    files = {"package.json": json.dumps({"name": "calc", "version": "1.0.0", "type": "module", "scripts": {"test": script},
                                         "devDependencies": {"vitest": "1.6.0"}}),
             "src/calc.js": CALC.replace("module.exports = { add }", "export { add }"),
             "test/calc.test.js": "import { describe, it, expect } from 'vitest'\nimport { add } from '../src/calc.js'\n\n"
                                  + JEST_TEST.split("\n", 2)[2]}
    env, before, after, again = _judged(tmp_path, files, load_settings(None, ["sandbox.backend=local"]).sandbox)
    assert [r.runner for r in env.recipe.node_runs] == ["vitest"]
    assert before.statuses == {"test/calc.test.js": "failed", "test/calc.test.js:adds": "failed",
                               "test/calc.test.js:adds zero": "passed", "test/calc.test.js:someday": "skipped"}, before.problem
    assert judge(before, after).validated and again.statuses == before.statuses


def test_a_node_test_package_in_docker(tmp_path):
    """Node's own runner (the suite's Node 18): our reporter names each test's file, which its
    TAP and JUnit reporters do not for a test that passes."""
    test = ("const { describe, it } = require('node:test')\nconst assert = require('node:assert')\n"
            "const { add } = require('../src/calc')\n\n"
            "describe('calc', () => {\n  it('adds', () => { assert.strictEqual(add(2, 3), 5) })\n"
            "  it('adds zero', () => { assert.strictEqual(add(2, 0), 2) })\n  it('someday', { skip: true }, () => {})\n})\n")
    esm = "import test from 'node:test'\nimport assert from 'node:assert'\nimport calc from '../src/calc.js'\n\n" \
          "test('adds in a module', () => { assert.strictEqual(calc.add(1, 1), 2) })\n"
    # Node 18 expands no pattern (npm's shell did) and names an ES module's tests by URL
    files = {"package.json": _package({"test": "node --test --test-reporter=dot test/*.test.js test/*.test.mjs"}, {}),
             "src/calc.js": CALC, "test/calc.test.js": test, "test/esm.test.mjs": esm}
    env, before, after, again = _judged(tmp_path, files, load_settings().sandbox)
    assert [(r.runner, r.command) for r in env.recipe.node_runs] == [("node", ["node"])]
    assert before.statuses == {"test/calc.test.js": "failed", "test/calc.test.js:adds": "failed",
                               "test/calc.test.js:adds zero": "passed", "test/calc.test.js:someday": "skipped",
                               "test/esm.test.mjs": "failed", "test/esm.test.mjs:adds in a module": "failed"}, before.problem
    failure = before.failures["test/calc.test.js:adds"]
    assert (failure.kind, failure.where) == ("AssertionError", "test/calc.test.js:6"), failure
    assert "adds zero" in before.output  # the spec reporter's lines, for the log
    assert after.statuses.get("test/calc.test.js") == "passed" and after.problem is None, (after.problem, after.output[-2500:])
    verdict = judge(before, after)
    assert verdict.validated and set(verdict.fixed) == {"test/calc.test.js", "test/calc.test.js:adds", "test/esm.test.mjs",
                                                        "test/esm.test.mjs:adds in a module"}
    assert again.statuses == before.statuses


def test_a_node_tap_package_in_docker(tmp_path):
    """node-tap 16, which fails a run short of full coverage unless told not to measure it; each
    test file is a subtest of the run, each of its subtests a test."""
    test = ("const t = require('tap')\nconst { add } = require('../src/calc')\n\n"
            "t.test('adds', async t => { t.equal(add(2, 3), 5) })\nt.test('adds zero', async t => { t.equal(add(2, 0), 2) })\n"
            "t.test('someday', { skip: true }, async t => {})\n")
    files = {"package.json": _package({"test": "tap --100 -R spec test/*.js"}, {"tap": "16.3.10"}),
             "src/calc.js": CALC + "\nfunction never() {\n  return 0\n}\n", "test/calc.js": test}  # short of full coverage
    env, before, after, again = _judged(tmp_path, files, load_settings().sandbox)
    assert [(r.runner, r.args) for r in env.recipe.node_runs] == [("tap", ["--100", "-R", "spec", "test/*.js"])]
    assert before.statuses == {"test/calc.js": "failed", "test/calc.js:adds": "failed",
                               "test/calc.js:adds zero": "passed", "test/calc.js:someday": "skipped"}, (before.problem, before.output[-2500:])
    assert before.failures["test/calc.js:adds"].where == "test/calc.js:4", before.failures
    assert after.statuses.get("test/calc.js") == "passed" and after.problem is None, (after.problem, after.output[-2500:])
    verdict = judge(before, after)
    assert verdict.validated and set(verdict.fixed) == {"test/calc.js", "test/calc.js:adds"}
    assert again.statuses == before.statuses


# Runners whose tests are known by title (a test file's name in no result): ava's as it prints
# them, a file's path within the folder of the files it ran first; tape's as its TAP prints them
# before their assertions. Each: its script, its devDependency, a test file and one in a
# subfolder, the statuses before the fix, and the failure of the subfolder's test.
TITLED = {
    "ava": ("ava --verbose", "6.1.3",
            "const test = require('ava')\nconst { add } = require('../src/calc')\n\n"
            "test('adds', t => { t.is(add(2, 3), 5) })\ntest('adds zero', t => { t.is(add(2, 0), 2) })\n"
            "test.skip('someday', t => {})\n",
            "const test = require('ava')\n\ntest('throws', t => { throw new TypeError('boom') })\n",
            {"calc › adds": "failed", "calc › adds zero": "passed", "calc › someday": "skipped", "sub › other › throws": "failed"},
            ("calc › adds", "sub › other › throws")),
    "tape": ("tape 'test/**/*.js'", "5.9.0",
             "const test = require('tape')\nconst { add } = require('../src/calc')\n\n"
             "test('adds', t => { t.equal(add(2, 3), 5); t.end() })\ntest('adds zero', t => { t.equal(add(2, 0), 2); t.end() })\n"
             "test('someday', { skip: true }, t => { t.end() })\n",
             "const test = require('tape')\n\ntest('throws', t => { t.error(new TypeError('boom')); t.end() })\n",  # t.error: its type
             {"adds": "failed", "adds zero": "passed", "someday": "skipped", "throws": "failed"},
             ("adds", "throws")),
}


@pytest.mark.parametrize("runner", sorted(TITLED))
def test_a_package_whose_runner_names_tests_by_title_in_docker(tmp_path, runner):
    script, version, test, other, statuses, (fixed, thrown) = TITLED[runner]
    files = {"package.json": _package({"test": script}, {runner: version}), "src/calc.js": CALC,
             "test/calc.js": test, "test/sub/other.js": other}
    env, before, after, again = _judged(tmp_path, files, load_settings().sandbox)
    assert [r.runner for r in env.recipe.node_runs] == [runner]
    assert before.statuses == statuses, (before.problem, before.output[-2500:])
    assert (before.failures[thrown].kind, before.failures[thrown].where) == ("TypeError", "test/sub/other.js:3"), before.failures
    assert after.statuses[fixed] == "passed" and after.problem is None, (after.problem, after.output[-2500:])
    verdict = judge(before, after)
    assert verdict.fixed == [fixed] and again.statuses == before.statuses



def test_tape_tests_that_node_runs_from_a_file_are_read_in_docker(tmp_path):
    """`node test/index.js`: tape's tests are scripts, and the package's only runner is tape."""
    _, version, test, other, statuses, (fixed, _) = TITLED["tape"]
    files = {"package.json": _package({"test": "node test/index.js"}, {"tape": version}), "src/calc.js": CALC,
             "test/calc.js": test, "test/sub/other.js": other, "test/index.js": "require('./calc')\nrequire('./sub/other')\n"}
    env, before, after, again = _judged(tmp_path, files, load_settings().sandbox)
    assert [(r.runner, r.command) for r in env.recipe.node_runs] == [("tape", ["node", "test/index.js"])]
    assert before.statuses == statuses, (before.problem, before.output[-2500:])
    assert judge(before, after).fixed == [fixed] and again.statuses == before.statuses

# left-pad 1.1.3 pinned where package.json allows any 1.x from 1.1.0 (1.3.0 is the newest)
LEFT_PAD = "sha512-m3z9QHpSXmd2H8Z5jnSXbGONPty4dFQfH1QpGgivzrEzICgsi50j9S+aGc77EaLoHpbw0BzP5+k1pp2UajTRuw=="
LOCKS = {
    "yarn": ("yarn.lock", "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n\n\n"
             "left-pad@^1.1.0:\n  version \"1.1.3\"\n  resolved \"https://registry.yarnpkg.com/left-pad/-/left-pad-1.1.3.tgz"
             f"#612f61c033f3a9e08e939f1caebeea41b6f3199a\"\n  integrity {LEFT_PAD}\n"),
    "pnpm": ("pnpm-lock.yaml", "lockfileVersion: '6.0'\n\nsettings:\n  autoInstallPeers: true\n  excludeLinksFromLockfile: false\n\n"
             "dependencies:\n  left-pad:\n    specifier: ^1.1.0\n    version: 1.1.3\n\npackages:\n\n"
             f"  /left-pad@1.1.3:\n    resolution: {{integrity: {LEFT_PAD}}}\n    dev: false\n"),
}


@pytest.mark.parametrize("tool", sorted(LOCKS))
def test_a_package_installs_from_its_yarn_or_pnpm_lockfile_in_docker(tmp_path, tool):
    path, lock = LOCKS[tool]
    test = ("const test = require('node:test')\nconst assert = require('node:assert')\nconst { add } = require('../src/calc')\n\n"
            "test('adds', () => { assert.strictEqual(add(2, 3), 5) })\n"
            "test('pinned', () => { assert.strictEqual(require('left-pad/package.json').version, '1.1.3') })\n")
    package = json.dumps({"name": "calc", "version": "1.0.0", "scripts": {"test": "node --test test/"},
                          "dependencies": {"left-pad": "^1.1.0"}})
    files = {"package.json": package, path: lock, "src/calc.js": CALC, "test/calc.js": test}
    env, before, after, again = _judged(tmp_path, files, load_settings().sandbox)
    assert env.about["dependencies"].startswith(f"{tool} ") and "lockfile" not in env.about, env.about
    assert before.statuses == {"test/calc.js": "failed", "test/calc.js:adds": "failed", "test/calc.js:pinned": "passed"}, \
        (before.problem, before.output[-2500:])
    assert after.statuses["test/calc.js"] == "passed" and again.statuses == before.statuses


def test_a_package_whose_engines_exclude_the_suites_node_gets_the_one_it_asks_for_in_docker(tmp_path):
    """Node 22 fetched from the npm registry, for the install (what npm's `engine-strict` checks)
    and for the tests, which call what Node 18 lacks (`t.assert`, Node 22's)."""
    test = ("const test = require('node:test')\nconst { add } = require('../src/calc')\n\n"
            "test('adds', (t) => { t.assert.strictEqual(add(2, 3), 5) })\n"
            "test('on node 22', (t) => { t.assert.strictEqual(process.versions.node.split('.')[0], '22') })\n")
    package = json.dumps({"name": "calc", "version": "1.0.0", "scripts": {"test": "node --test"},  # (22 takes no folder)
                          "engines": {"node": "^22"}})
    files = {"package.json": package, ".npmrc": "engine-strict=true\n", "src/calc.js": CALC, "test/calc.js": test}
    env, before, after, again = _judged(tmp_path, files, load_settings().sandbox)
    assert env.about["node"].startswith("Node 22 (its newest release) from the npm registry"), env.about
    assert before.statuses == {"test/calc.js": "failed", "test/calc.js:adds": "failed", "test/calc.js:on node 22": "passed"}, \
        (before.problem, before.output[-2500:])
    assert after.statuses["test/calc.js"] == "passed" and again.statuses == before.statuses


def _reproduced(tmp_path, files: dict, answer: str) -> tuple:
    """reproduction_plan on the package `files` make, the model answering `answer`: (the plan,
    its run, the kept tests, the prompt)."""
    from agent.reproduction import reproduction_plan
    from agent.workspace import Workspace
    from localization.models import Localization

    clone, commit = commit_files(tmp_path / "calc", files)
    settings = load_settings()
    env = project_environment(clone, commit, settings.sandbox)
    prompts = []

    class Model:
        def complete(self, messages, temperature=None, n=1):
            prompts.append(messages[0]["content"])
            return [answer]

    with trials(env, settings.sandbox, 4000) as trial:
        found = reproduction_plan("add subtracts", Workspace(path=clone, commit=commit, base=None), Localization(files=[], units=[]),
                                  TestPlan(tests=["any"]), settings, Model(), trial, env.recipe, list(files))
    assert not isinstance(found, str), found
    return (*found, prompts[0])


SUITE = load_settings().repair.repro_suite


def test_a_mocha_reproduction_test_is_kept_by_its_describe_block_in_docker(tmp_path):
    files = {"package.json": _package({"test": "mocha --reporter spec --bail test/"}, {"mocha": "10.2.0"}),
             "src/calc.js": CALC, "test/calc.test.js": MOCHA_TEST}  # the image of test_a_mocha_package_in_docker
    answer = ("```js\nconst assert = require('assert')\nconst { add } = require('../src/calc')\n\n"
              f"describe('{SUITE}', function () {{\n"
              "  it('adds two numbers', function () { assert.strictEqual(add(2, 3), 5) })\n"
              "  it('has a typo', function () { assert.strictEqual(ad(2, 3), 5) })\n"
              "  it('subtracts nothing', function () { assert.strictEqual(add(2, 0), 2) })\n})\n```")
    plan, run, kept, _ = _reproduced(tmp_path, files, answer)
    assert kept == [f"{SUITE} adds two numbers"], (run.statuses, run.failures)  # its own ReferenceError does not count
    assert run.failures[f"{SUITE} has a typo"].kind == "ReferenceError"
    assert run.failures[f"{SUITE} has a typo"].where == "test/supercoder_repro.js:6"
    assert run.statuses["calc adds"] == "failed" and list(plan.extra_files) == ["test/supercoder_repro.js"]


def test_a_tape_reproduction_test_is_kept_by_its_titles_in_docker(tmp_path):
    script, version, test, other, _, _ = TITLED["tape"]
    files = {"package.json": _package({"test": script}, {"tape": version}), "src/calc.js": CALC,
             "test/calc.js": test, "test/sub/other.js": other}  # the image of the tape package's test
    answer = ("```js\nconst tape = require('tape')\nconst { add } = require('../src/calc')\n\n"  # tape under its own name
              f"tape('{SUITE} adds two numbers', (t) => {{ t.equal(add(2, 3), 5); t.end() }})\n"
              f"tape('{SUITE} adds zero', (t) => {{ t.equal(add(2, 0), 2); t.end() }})\n```")
    plan, run, kept, prompt = _reproduced(tmp_path, files, answer)
    assert f"Start every test's title\nwith `{SUITE} `" in prompt
    assert kept == [f"{SUITE} adds two numbers"], (run.statuses, run.failures)
    assert run.statuses[f"{SUITE} adds zero"] == "passed" and run.statuses["adds"] == "failed"
    assert run.failures[f"{SUITE} adds two numbers"].where == "test/supercoder_repro.js:4"
    assert list(plan.extra_files) == ["test/supercoder_repro.js"]

"""The reproduction test: where a Node package's goes, what of the model's answer is code, and
which of its results count (agent.reproduction, agent.targets.reproduces)."""

from __future__ import annotations

from agent.reproduction import reproduction_plan, script_block
from agent.targets import id_file, one_test
from sandbox.models import Failure, TestPlan, TestRun
from sandbox.recipes import EnvRecipe, NodeRun


def recipe(*runners: str) -> EnvRecipe:
    return EnvRecipe(name="pkg", python="", runtime="node", node_runs=[NodeRun(runner=r, script="test", command=[r]) for r in runners])


def test_script_block_takes_code_that_parses_and_declares_a_test():
    code = "const Calc = require('../src/calc')\n\ntest('adds', () => { expect(new Calc().add(1, 2)).toBe(3) })\n"
    assert script_block(f"Here:\n```js\n{code}```\n", "test/r.test.js") == code
    assert script_block(code, "test/r.test.js") == code  # bare code
    assert script_block("```js\ntest('x', () => { expect(1).toBe(\n```", "test/r.test.js") is None  # does not parse
    assert script_block("```js\nconst x = 1\n```", "test/r.test.js") is None  # no test


def test_a_test_known_by_title_is_taken_only_as_its_runner_names_it():
    mocha = "describe('supercoder repro', () => { it('adds', () => {}) })\n"
    tape = "const test = require('tape')\ntest('supercoder repro adds', (t) => { t.end() })\n"
    assert script_block(mocha, "test/r.js", "supercoder repro") == mocha and script_block(tape, "test/r.js", "supercoder repro") is None
    assert script_block(tape, "test/r.js", "supercoder repro", "tape") == tape
    assert script_block(mocha, "test/r.js", "supercoder repro", "tape") is None  # mocha's block gives tape no such title
    assert script_block(tape.replace("test('", "test.only('"), "test/r.js", "supercoder repro", "tape") is None
    assert script_block(tape.replace("repro adds", "reproadds"), "test/r.js", "supercoder repro", "tape") is None
    other = tape.replace("const test", "var tape").replace("test('", "tape('")  # tape under its own name
    assert script_block(other, "test/r.js", "supercoder repro", "tape") == other


def test_result_ids_name_their_files():
    assert id_file("tests/test_a.py::test_x") == "tests/test_a.py"
    assert id_file("test/a.test.js:adds: with a colon") == "test/a.test.js"
    assert id_file("test/a.test.js") == "test/a.test.js"
    assert id_file("Calc adds numbers") == ""  # a mocha title names no file
    assert id_file("src/a.tsx:renders") == "src/a.tsx" and id_file("test/my.js.helpers.test.js:x") == "test/my.js.helpers.test.js"
    assert one_test("test/a.test.js:loads config.js") and one_test("t.py::t") and one_test("Calc adds numbers")
    assert not one_test("test/a.test.js") and not one_test("tests/test_a.py")


class Model:
    usage = None

    def __init__(self, answer: str):
        self.answer, self.prompts = answer, []

    def complete(self, messages, temperature=None, n=1):
        self.prompts.append(messages[-1]["content"])
        return [self.answer]


def test_a_node_reproduction_test_is_kept_by_its_own_failing_tests(tmp_path):
    from agent.settings import load_settings
    from agent.workspace import Workspace
    from localization.models import Localization

    (tmp_path / "test").mkdir()
    (tmp_path / "test/parse.test.js").write_text("const parse = require('../src/parse')\n\ntest('parses', () => {})\n")
    ws = Workspace(path=tmp_path, commit="0" * 40, base=None)
    settings = load_settings()
    path = "test/supercoder_repro.test.js"
    model = Model("```js\nconst parse = require('../src/parse')\n\ntest('keeps the offset', () => { expect(parse('Z')).toBe(0) })\n```")
    results: dict = {}

    def trial(diff, plan: TestPlan) -> TestRun:
        assert plan.tests == [path] and plan.extra_files[path].startswith("const parse")
        return TestRun(statuses=dict(results), failures=failures)

    def ask() -> object:
        return reproduction_plan("the offset is lost", ws, Localization(files=[], units=[]), TestPlan(), settings, model, trial,
                                 recipe("jest"), ["test/parse.test.js", "src/parse.js"])

    results = {path: "failed", f"{path}:keeps the offset": "failed", "test/parse.test.js": "passed"}
    failures = {f"{path}:keeps the offset": Failure(kind="Error", where="src/parse.js:3", message="expected 0")}
    plan, run, kept = ask()
    assert kept == [f"{path}:keeps the offset"]  # the file's own result is not a test of its own
    prompt = model.prompts[-1]
    assert "jest test file, `test/supercoder_repro.test.js`" in prompt and "require('../src/parse')" in prompt  # shown a sibling
    failures = {f"{path}:keeps the offset": Failure(kind="ReferenceError", where=f"{path}:3", message="parse is not defined")}
    assert "fails on its own ReferenceError" in ask()
    failures = {f"{path}:keeps the offset": Failure(kind="ReferenceError", where="", message="parse is not defined")}
    assert "fails on its own ReferenceError" in ask()  # raised where the report does not say: it may be the test's own
    failures = {}
    node = reproduction_plan("the offset is lost", ws, Localization(files=[], units=[]), TestPlan(), settings, model, trial,
                             recipe("node"), ["test/parse.test.js", "src/parse.js"])
    assert node[2] == [f"{path}:keeps the offset"] and "node:test (Node's own test runner) test file" in model.prompts[-1]
    results = {path: "failed"}
    failures = {path: Failure(message="Cannot find module '../src/parse'", collection=True)}
    assert "fails before it runs" in ask()
    results, failures = {path: "passed", f"{path}:keeps the offset": "passed"}, {}
    assert ask() == "it does not fail on the original tree"
    assert "one kind of runner" in reproduction_plan("x", ws, Localization(files=[], units=[]), TestPlan(), settings, model, trial,
                                                     recipe("jest", "mocha"), ["test/parse.test.js"])


def test_a_mocha_reproduction_test_holds_its_tests_in_one_describe_block(tmp_path):
    from agent.settings import load_settings
    from agent.workspace import Workspace
    from localization.models import Localization

    (tmp_path / "test/support").mkdir(parents=True)
    (tmp_path / "test/app.js").write_text("var env = require('./support/env')\n")  # a helper: no test in it
    (tmp_path / "test/res.send.js").write_text("var express = require('../')\n\ndescribe('res', function () { it('sends', function () {}) })\n")
    ws = Workspace(path=tmp_path, commit="0" * 40, base=None)
    settings = load_settings()
    path, suite = "test/supercoder_repro.js", settings.repair.repro_suite
    mocha = EnvRecipe(name="pkg", python="", runtime="node", node_runs=[NodeRun(runner="mocha", script="test", command=["mocha"],
                                                                                args=["--check-leaks", "test/"])])
    test = "var express = require('../')\n\ndescribe('%s', function () {\n  it('sends json', function () {})\n})\n"
    runs: list[TestPlan] = []

    def trial(diff, plan: TestPlan) -> TestRun:
        runs.append(plan)
        return TestRun(statuses={f"{suite} sends json": "failed", "res sends": "passed"},
                       failures={f"{suite} sends json": Failure(kind="AssertionError", where=f"{path}:4")})

    def ask(answer: str) -> object:
        model = Model(answer)
        found = reproduction_plan("res.json drops a key", ws, Localization(files=[], units=[]), TestPlan(), settings, model, trial,
                                  mocha, ["test/app.js", "test/res.send.js", "lib/response.js"])
        return found, model.prompts[-1]

    (plan, run, kept), prompt = ask(f"```js\n{test % suite}```")
    assert kept == [f"{suite} sends json"] and plan.extra_files == {path: test % suite}
    assert f"mocha test file, `{path}`" in prompt and f"describe('{suite}', ...)" in prompt
    assert "`test/res.send.js`" in prompt and "describe('res'" in prompt  # shown a file of tests, not the helper
    why, _ = ask(f"```js\n{test % 'res'}```")  # its tests would not be known as its own
    assert why.startswith(f"the model's answer holds no test that compiles inside describe('{suite}', ...)") and len(runs) == 1
    only = (test % suite).replace("it('sends json'", "it.only('sends json'")  # the package's own tests would not run
    assert ask(f"```js\n{only}```")[0] == why and len(runs) == 1

"""The reproduction test: where a Node package's goes, what of the model's answer is code, and
which of its results count (agent.reproduction, agent.targets.reproduces)."""

from __future__ import annotations

from agent.reproduction import node_repro_path, reproduction_plan, script_block
from agent.targets import id_file, one_test
from sandbox.models import Failure, TestPlan, TestRun
from sandbox.recipes import EnvRecipe, NodeRun


def recipe(*runners: str) -> EnvRecipe:
    return EnvRecipe(name="pkg", python="", runtime="node", node_runs=[NodeRun(runner=r, script="test", command=[r]) for r in runners])


FILES = ["package.json", "src/index.js", "test/parse.test.js", "test/utc.test.js", "test/plugin/a.test.js", "__tests__/x.spec.ts",
         "node_modules/dep/test/y.test.js"]


def test_a_node_reproduction_test_goes_beside_most_of_the_package_tests():
    assert node_repro_path(recipe("jest", "jest"), FILES, "test_supercoder_repro.py") == (
        "test/supercoder_repro.test.js", "jest", "test/parse.test.js")
    assert node_repro_path(recipe("vitest"), ["src/a.ts", "src/a.spec.ts", "src/b.spec.ts"], "test_repro.py") == (
        "src/repro.spec.ts", "vitest", "src/a.spec.ts")
    assert "mocha's results" in node_repro_path(recipe("jest", "mocha"), FILES, "test_supercoder_repro.py")
    assert "no .test or .spec file" in node_repro_path(recipe("jest"), ["src/index.js", "test/helpers.js"], "t.py")


def test_script_block_takes_code_that_parses_and_declares_a_test():
    code = "const Calc = require('../src/calc')\n\ntest('adds', () => { expect(new Calc().add(1, 2)).toBe(3) })\n"
    assert script_block(f"Here:\n```js\n{code}```\n", "test/r.test.js") == code
    assert script_block(code, "test/r.test.js") == code  # bare code
    assert script_block("```js\ntest('x', () => { expect(1).toBe(\n```", "test/r.test.js") is None  # does not parse
    assert script_block("```js\nconst x = 1\n```", "test/r.test.js") is None  # no test


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
    results = {path: "failed"}
    failures = {path: Failure(message="Cannot find module '../src/parse'", collection=True)}
    assert "fails before it runs" in ask()
    results, failures = {path: "passed", f"{path}:keeps the offset": "passed"}, {}
    assert ask() == "it does not fail on the original tree"
    assert "mocha's results" in reproduction_plan("x", ws, Localization(files=[], units=[]), TestPlan(), settings, model, trial,
                                                  recipe("mocha"), ["test/parse.test.js"])

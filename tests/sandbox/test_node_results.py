"""Node runners' reports read as Multi-SWE-bench names tests (jest: `file` and `file:title`;
mocha: full titles), several runs merged worst-first, and what cannot be read failing closed."""

from __future__ import annotations

import json

from sandbox.models import Failure, TestResults
from sandbox.node_results import hook, merge, parse_jest, parse_mocha_xunit, parse_node_test
from sandbox.node_runner import _disagreement

JEST = {
    "success": False, "numFailedTests": 1,
    "testResults": [
        {"name": "/testbed/test/parse.test.js", "status": "failed", "message": "",
         "assertionResults": [
             {"title": "parses", "fullName": "Parse parses", "ancestorTitles": ["Parse"], "status": "passed"},
             {"title": "parses", "fullName": "Other parses", "ancestorTitles": ["Other"], "status": "failed",
              "failureMessages": ["Error: expect(received).toBe(expected)\n\nExpected: 1"]},
             {"title": "later", "fullName": "later", "ancestorTitles": [], "status": "pending"}]},
        {"name": "/testbed/test/plugin/utc.test.js", "status": "focused", "assertionResults": [
            {"title": "utc", "status": "passed"}, {"title": "not yet", "status": "pending"}]},
        {"name": "/testbed/test/broken.test.js", "status": "failed", "assertionResults": [],
         "message": "  ● Test suite failed to run\n\n    Cannot find module '../src/x'"},
    ],
}


def test_jest_report_names_files_and_file_titles():
    results = parse_jest(json.dumps(JEST).replace('"/testbed/test/plugin', '"/real/testbed/test/plugin'), ["/testbed/", "/real/testbed"])
    assert results.statuses == {
        "test/parse.test.js": "failed",
        "test/parse.test.js:parses": "failed",  # two tests of one title: the worst
        "test/parse.test.js:later": "skipped",
        "test/plugin/utc.test.js": "passed", "test/plugin/utc.test.js:utc": "passed",  # jest 29 says "focused"
        "test/plugin/utc.test.js:not yet": "skipped",
        "test/broken.test.js": "failed",
    }
    assert results.failures["test/parse.test.js:parses"].message == "Error: expect(received).toBe(expected)"
    broken = results.failures["test/broken.test.js"]
    assert broken.collection and broken.message == "● Test suite failed to run"  # no test of it ran
    assert not results.failures["test/parse.test.js"].collection
    assert results.source == "json" and results.problem is None


def test_a_jest_report_that_cannot_be_read_fails_every_test():
    for text in ("{", "[]", '{"numFailedTests": 0}'):
        results = parse_jest(text, ["/testbed"])
        assert results.problem and results.status("test/a.test.js") == "failed"


XUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="Mocha Tests" tests="4" failures="1" errors="1" skipped="1">
<testcase classname="Route errors" name="should handle throws in asyncFunction" time="0.01"/>
<testcase classname="app.router" name="should 404 &amp; &quot;quote&quot;" time="0"><failure message="expected 200">AssertionError: expected 200
    at Test.assert</failure></testcase>
<testcase classname="" name="top level" time="0"/>
<testcase classname="app" name="later" time="0"><skipped/></testcase>
<testcase classname="app.locals" name="should contain app settings " time="0"/>
</testsuite>"""
SHARED = """<testsuite><testcase classname="a" name="works"/><testcase classname="b" name="works"><failure message="no"/></testcase>
<testcase classname="c" name="works"/></testsuite>"""


def test_mocha_xunit_names_full_titles():
    results = parse_mocha_xunit(XUNIT)
    assert results.statuses == {"Route errors should handle throws in asyncFunction": "passed",
                                'app.router should 404 & "quote"': "failed", "top level": "passed", "app later": "skipped",
                                "app.locals should contain app settings ": "passed"}
    assert results.failures['app.router should 404 & "quote"'].message == "expected 200"
    # graded by its own title too, as Multi-SWE-bench names some repositories' tests; unknown names fail
    assert results.status("should handle throws in asyncFunction") == "passed" and results.status('should 404 & "quote"') == "failed"
    assert results.status("Route errors") == "failed" and results.status("later") == "skipped"
    # a title's surrounding spaces are not in a log: express-5555's "should contain app settings "
    assert results.status("should contain app settings") == "passed" == results.status("app.locals should contain app settings")
    shared = parse_mocha_xunit(SHARED)
    assert shared.statuses == {"a works": "passed", "b works": "failed", "c works": "passed"}
    assert shared.status("works") == "failed"  # a title three suites share: the worst of them
    hooked = parse_mocha_xunit(SHARED.replace('name="works"><failure', 'name="&quot;before each&quot; hook for &quot;works&quot;"><failure'))
    assert hooked.status("works") == "failed" and hooked.aliases == {}  # a failed hook: no title alone is trusted
    assert parse_mocha_xunit("<testsuite><testcase").problem
    assert parse_mocha_xunit("<html/>").problem.startswith("not an xunit report")


def test_a_mocha_failure_says_what_was_raised_and_where_in_the_package():
    stack = ("parse is not defined\nReferenceError: parse is not defined\n"
             "    at Context.&lt;anonymous&gt; (/tmp/x/tree/test/supercoder_repro.js:7:5)\n"
             "    at callFn (/tmp/x/tree/node_modules/mocha/lib/runnable.js:366:21)")
    relative = "t\nTypeError: t\n    at process.processImmediate (node:internal/timers:476:21)\n    at Context.&lt;anonymous&gt; (lib/a.js:3:9)"
    results = parse_mocha_xunit(f'<testsuite><testcase classname="s" name="t"><failure>{stack}</failure></testcase></testsuite>',
                                ["/tmp/x/tree"])
    assert results.failures["s t"] == Failure(kind="ReferenceError", where="test/supercoder_repro.js:7", message="parse is not defined")
    # mocha writes its frames relative to the tree; Node's own are not the package's
    results = parse_mocha_xunit(f'<testsuite><testcase classname="s" name="t"><failure>{relative}</failure></testcase></testsuite>')
    assert results.failures["s t"] == Failure(kind="TypeError", where="lib/a.js:3", message="t")
    # the stack's own first line names the type, not a message that starts like one; frames of
    # node_modules, Node's own before `node:`, URLs and `<anonymous>` are not the package's
    tricky = ("Error reading config\nTypeError: Error reading config\n    at &lt;anonymous&gt;:1:2\n    at internal/fs.js:4:1\n"
              "    at load (webpack:///src/x.js:2:1)\n    at dep (node_modules/dep/index.js:3:9)\n    at Context.t (test/a.js:9:3)")
    results = parse_mocha_xunit(f'<testsuite><testcase classname="s" name="t"><failure>{tricky}</failure></testcase></testsuite>')
    assert results.failures["s t"] == Failure(kind="TypeError", where="test/a.js:9", message="Error reading config")


def test_a_mocha_hook_is_known_by_its_whole_name():
    assert hook('s "before all" hook') and hook('s "before each" hook for "t"') and hook('"after all" hook in "{root}"')
    assert hook('s "after each" hook: cleanup')
    assert not hook('s says "before each" hook works') and not hook("s before each")


def test_runs_merge_worst_first_and_a_run_that_cannot_be_read_fails_them_all():
    first = TestResults(statuses={"a": "passed", "b": "failed"}, aliases={"x": "passed", "y": "passed"}, source="json")
    second = TestResults(statuses={"a": "failed", "b": "passed", "c": "passed"}, aliases={"x": "passed", "z": "failed"}, source="json")
    merged = merge([first, second, TestResults(aliases={"z": "passed"})])
    assert merged.status("z") == "failed"
    assert merged.statuses == {"a": "failed", "b": "failed", "c": "passed"} and merged.problem is None
    assert merged.status("y") == "passed" and merged.status("x") == "passed"  # a title of both runs' tests: the worst
    cut = merge([first, TestResults(source="json", problem="jest (test-tz) wrote no report"), second])
    assert cut.problem == "jest (test-tz) wrote no report" and cut.statuses == {} and cut.status("c") == "failed"


def test_an_exit_status_must_agree_with_the_report():
    failing = TestResults(statuses={"a": "failed"})
    passing = TestResults(statuses={"a": "passed"})
    assert _disagreement("jest", 0, failing) == "jest exited 0, but its report has 1 failing test(s)"
    assert _disagreement("mocha", 3, passing) == "mocha exited 3, but its report has no failing test"
    assert _disagreement("jest", 1, failing) is None and _disagreement("jest", 0, passing) is None


def test_a_jest_failure_says_what_was_raised_and_where_in_the_package():
    message = ("ReferenceError: nope is not defined\n    at Object.nope (/testbed/node_modules/expect/build/index.js:3:9)\n"
               "    at Object.<anonymous> (/testbed/test/supercoder_repro.test.js:4:10)\n    at processTicksAndRejections (node:internal)")
    report = {"testResults": [{"name": "/testbed/test/supercoder_repro.test.js", "status": "failed", "assertionResults": [
        {"title": "t", "status": "failed", "failureMessages": [message]},
        {"title": "u", "status": "failed", "failureMessages": ["expected 3, got -1"]}]}]}
    failures = parse_jest(json.dumps(report), ["/testbed"]).failures
    raised = failures["test/supercoder_repro.test.js:t"]
    assert (raised.kind, raised.where) == ("ReferenceError", "test/supercoder_repro.test.js:4")  # node_modules' frame passed over
    assert (failures["test/supercoder_repro.test.js:u"].kind, failures["test/supercoder_repro.test.js:u"].where) == ("", "")
    esm = "TypeError: x is not a function\n    at file:///testbed/test/a.test.mjs:7:3"
    report = {"testResults": [{"name": "/testbed/test/a.test.mjs", "status": "failed", "assertionResults": [
        {"title": "t", "status": "failed", "failureMessages": [esm]}]}]}
    assert parse_jest(json.dumps(report), ["/testbed"]).failures["test/a.test.mjs:t"].where == "test/a.test.mjs:7"  # native ESM


def _node_line(file, name, status, nesting=1, suite=False, error=None) -> str:
    return json.dumps({"file": file, "name": name, "nesting": nesting, "suite": suite, "status": status, "error": error})


def test_nodes_own_runner_names_files_and_file_titles_from_our_reporter():
    thrown = {"kind": "AssertionError", "message": "Expected values to be strictly equal:\n\n1 !== 2\n", "failureType": "testCodeFailure",
              "stack": "AssertionError [ERR_ASSERTION]: Expected\n    at TestContext.<anonymous> (/w/test/a.test.js:5:46)\n"
                       "    at Test.run (node:internal/test_runner/test:796:25)"}
    subtests = {"kind": "Error", "message": "1 subtest failed", "failureType": "subtestsFailed", "stack": ""}
    hooked = {"kind": "Error", "message": "hook broke", "failureType": "hookFailed", "stack": "Error: hook broke\n    at x (/w/test/c.test.js:3:9)"}
    lines = [_node_line("/w/test/a.test.js", "ok", "passed"), _node_line("/w/test/a.test.js", "breaks", "failed", error=thrown),
             _node_line("/w/test/a.test.js", "parent", "failed", nesting=0, error=subtests),
             _node_line("/w/test/b.test.js", "works", "passed"), _node_line("/w/test/b.test.js", "group", "passed", 0, suite=True),
             _node_line("/w/test/b.test.js", "later", "skipped", 0, error=thrown),  # a todo test that fails: the run passes
             _node_line("/w/test/c.test.js", "under hook", "failed", error={**subtests, "failureType": "cancelledByParent",
                                                                                          "message": "test did not finish before its parent and was cancelled"}),
             _node_line("/w/test/c.test.js", "hooks", "failed", 0, suite=True, error=hooked),
             _node_line("file:///w/test/d.test.js", "file:///w/test/d.test.js", "failed", 0,  # Node 18 names an ES module by URL
                        error={"kind": "Error", "message": "Cannot find module './x.js'", "failureType": "testCodeFailure", "stack": ""}),
             _node_line("/w/test/e.test.js", "fine", "passed", 0),  # then it set process.exitCode: it failed, but it loaded
             _node_line("/w/test/e.test.js", "/w/test/e.test.js", "failed", 0, error={"kind": "Error", "message": "test failed",
                                                                                       "failureType": "testCodeFailure", "stack": ""})]
    results = parse_node_test("\n".join(lines) + "\n", ["/w"])
    assert results.problem is None and results.statuses == {
        "test/a.test.js": "failed", "test/a.test.js:ok": "passed", "test/a.test.js:breaks": "failed", "test/a.test.js:parent": "failed",
        "test/b.test.js": "passed", "test/b.test.js:works": "passed", "test/b.test.js:later": "skipped",
        "test/c.test.js": "failed", "test/c.test.js:under hook": "failed", "test/d.test.js": "failed",
        "test/e.test.js": "failed", "test/e.test.js:fine": "passed"}
    assert results.failures["test/a.test.js:breaks"] == Failure(kind="AssertionError", where="test/a.test.js:5",
                                                                message="Expected values to be strictly equal:")
    assert results.failures["test/a.test.js"].kind == "AssertionError"  # the file's own failure: its first failed test's
    assert results.failures["test/c.test.js"].message == "hook broke"
    assert results.failures["test/d.test.js"].collection  # it could not be loaded: no test of it ran
    assert results.failures["test/d.test.js"].message == "Cannot find module './x.js'"
    assert not results.failures["test/e.test.js"].collection


def test_a_node_test_report_that_cannot_be_read_fails_every_test():
    broken = parse_node_test(_node_line("/w/a.test.js", "ok", "passed") + "\n{not json\n", ["/w"])
    assert broken.problem and "line 2" in broken.problem and broken.status("a.test.js:ok") == "failed"
    assert parse_node_test(_node_line(None, "ok", "passed"), ["/w"]).problem
    assert parse_node_test(_node_line("/w/a.test.js", "ok", "weird"), ["/w"]).problem

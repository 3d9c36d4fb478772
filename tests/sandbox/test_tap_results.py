"""node-tap's, ava's and tape's TAP read as test results: node-tap's by file and `file:title`,
streamed or buffered; ava's and tape's by printed title; a stream cut short failing closed."""

from __future__ import annotations

from sandbox.models import Failure
from sandbox.tap_results import parse_ava, parse_tap, parse_tape

# node-tap's raw TAP, as tap 16 writes it (tap 18 and later name `at:`'s fields fileName and lineNumber)
TAP16 = """TAP version 13
# Subtest: test/a.js
    # Subtest: group
        ok 1 - one is one
        not ok 2 - one is two
          ---
          at:
            line: 2
            file: test/a.js
          stack: |
            Test.<anonymous> (test/a.js:2:55)
          ...
        1..2
    not ok 1 - group # time=33.867ms
    noise
    # Subtest: throws
        not ok 1 - boom
          ---
          at:
            lineNumber: 7
            fileName: /w/test/a.js
          type: TypeError
          ...
    not ok 2 - throws # time=17.1ms
    ok 3 - top level assertion
    ok 4 - todo one # TODO
    ok 5 - skipped # SKIP
not ok 1 - test/a.js # time=43.467ms
  ---
  exitCode: 1
  ...
# Subtest: test/b.js
    ok 1 - passes
ok 2 - test/b.js # time=11.9ms
# Subtest: test/c.js
    1..0 # no tests found
not ok 3 - test/c.js # time=331.7ms
  ---
  exitCode: 1
  ...
"""


def test_node_tap_names_files_and_their_tests():
    results = parse_tap(TAP16, ["/w"])
    assert results.problem is None and results.statuses == {
        "test/a.js": "failed", "test/a.js:group": "failed", "test/a.js:throws": "failed", "test/a.js:top level assertion": "passed",
        "test/a.js:todo one": "skipped", "test/a.js:skipped": "skipped", "test/b.js": "passed", "test/b.js:passes": "passed",
        "test/c.js": "failed"}
    assert results.failures["test/a.js:group"] == Failure(where="test/a.js:2", message="one is two")  # its failed assertion's
    assert results.failures["test/a.js:throws"] == Failure(kind="TypeError", where="test/a.js:7", message="boom")
    assert results.failures["test/a.js"] == results.failures["test/a.js:group"]
    assert results.failures["test/c.js"].collection  # it failed with no test of it: it did not run
    assert results.failures["test/c.js"].message == "exitCode 1"
    assert parse_tap("garbage\n", ["/w"]).statuses == {}  # nothing read: the run's exit status decides (sandbox.node_runner)


# ava 6's TAP (its plan and counts are its own: a file that failed to run is a point of its own)
AVA = """TAP version 13
not ok 1 - Error: Cannot find module './nope'
  ---
    name: Error
    message: |-
      Cannot find module './nope'
      Require stack:
    at: 'Require stack:'
  ...
not ok 2 - test/c.js exited with a non-zero exit code: 1
ok 3 - a › skipped # SKIP
not ok 4 - a › later # TODO
ok 5 - a › adds
not ok 6 - a › fails
  ---
    name: AssertionError
    assertion: t.is()
    message: ''
    at: 'ExecutionContext.is (file:///w/node_modules/ava/lib/assert.js:309:16)'
  ...
# sub › b › before hook
not ok 7 - sub › b › throws
  ---
    name: AssertionError
    details:
      'Error thrown in test:': |-
        TypeError {
          message: 'boom',
        }
    message: Error thrown in test
    at: '/w/test/sub/b.js:3:29'
  ...

1..5
"""


def test_ava_names_tests_by_their_printed_titles():
    results = parse_ava(AVA, ["/w"])
    assert results.statuses == {"Error: Cannot find module './nope'": "failed", "test/c.js exited with a non-zero exit code: 1": "failed",
                                "a › skipped": "skipped", "a › later": "skipped", "a › adds": "passed", "a › fails": "failed",
                                "sub › b › throws": "failed"}
    assert results.failures["a › fails"] == Failure(kind="AssertionError", message="a › fails")  # raised in ava's own code
    assert results.failures["sub › b › throws"] == Failure(kind="TypeError", where="test/sub/b.js:3", message="Error thrown in test")



def test_node_tap_files_run_in_parallel_keep_their_own_tests():
    # tap 14's form: each file's subtests follow its point, between braces; tap 16's './' before a path
    text = ("not ok 1 - ./test/a.js # time=83.8ms\n  ---\n  exitCode: 1\n  ...\n{\n    # Subtest: group\n"
            "        not ok 1 - one is two\n          ---\n          at:\n            line: 2\n            file: test/a.js\n          ...\n"
            "    not ok 1 - group # time=40.1ms\n    ok 2 - plain ok\n}\n"
            "ok 2 - test/b.js # time=12.8ms {\n    ok 1 - group\n}\n")
    results = parse_tap(text, ["/w"])
    assert results.statuses == {"test/a.js": "failed", "test/a.js:group": "failed", "test/a.js:plain ok": "passed",
                                "test/b.js": "passed", "test/b.js:group": "passed"}
    assert results.failures["test/a.js:group"].where == "test/a.js:2"


def test_an_ava_report_cut_before_its_plan_fails_every_test():
    cut = parse_ava("TAP version 13\nok 1 - a › adds\n", ["/w"])  # ava 6's TAP reporter stops at a timeout
    assert cut.problem and cut.status("a › adds") == "failed"


# tape 5.10's TAP (tape 4 writes the same), stacks shortened: two files with a test title in common
TAPE = """TAP version 13
# adds
ok 1 should be strictly equal
# nested parent
# child one
not ok 2 one is two
  ---
    operator: equal
    expected: 2
    actual:   1
    at: Test.<anonymous> (/w/test/a.js:4:36)
    stack: |-
      Error: one is two
          at Test.assert [as _assert] (/w/node_modules/tape/lib/test.js:548:48)
          at Test.<anonymous> (/w/test/a.js:4:36)
  ...
# child two
ok 3 should be truthy
# no assertions
# a # hash in title
ok 4 fine # not a directive
# skip assertion
ok 5 later # SKIP
# TODO todo test
not ok 6 should be truthy # TODO
  ---
    operator: ok
    at: Test.<anonymous> (/w/test/a.js:12:46)
  ...
# SKIP skipped one
# adds
not ok 7 should be deeply equivalent
  ---
    operator: deepEqual
    at: Test.<anonymous> (/w/test/b.js:2:25)
  ...
# async rejects
not ok 8 RangeError: bad range
  ---
    operator: error
    stack: |-
      RangeError: bad range
          at Test.<anonymous> (/w/test/c.js:2:56)
          at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
  ...

1..8
# tests 8
# pass  4
# fail  3

# ok
"""


def test_tape_names_tests_by_the_title_before_their_assertions():
    results = parse_tape(TAPE, ["/w"])
    assert results.problem is None
    assert results.statuses == {"adds": "failed", "nested parent": "passed", "child one": "failed", "child two": "passed",
                                "no assertions": "passed", "a # hash in title": "passed", "skip assertion": "skipped",
                                "todo test": "skipped", "skipped one": "skipped", "async rejects": "failed"}
    assert "ok" not in results.statuses and "tests 8" not in results.statuses  # tape's counts, after its plan
    assert results.failures["child one"] == Failure(where="test/a.js:4", message="one is two")
    assert results.failures["adds"].where == "test/b.js:2"  # a title twice: its worst
    # a rejected promise has no `at:`: its place is the stack's first frame of the package's own, its type the error's
    assert results.failures["async rejects"] == Failure(kind="RangeError", where="test/c.js:2", message="RangeError: bad range")


def test_a_tape_test_titled_like_a_directive_is_still_a_test():
    text = "TAP version 13\n# TODO list adds an item\nnot ok 1 should be equal\n# SKIP me\nok 2 fine\n\n1..2\n"
    assert parse_tape(text, ["/w"]).statuses == {"TODO list adds an item": "failed", "SKIP me": "passed"}


def test_a_tape_run_stopped_by_a_thrown_error_fails_every_test():
    thrown = parse_tape("TAP version 13\n# adds\nok 1 should be equal\n# throws\n", ["/w"])  # tape writes its plan last
    assert thrown.problem and "plan" in thrown.problem and thrown.status("adds") == "failed"

"""TAP streams read as their points, subtests and YAML blocks included."""

from __future__ import annotations

from sandbox.tap_report import has_plan, read_points

STREAM = """TAP version 13
# Subtest: test/a.js
    # Subtest: group
        ok 1 - one is one
        not ok 2 - one is two
          ---
          at:
            file: test/a.js
            line: 2
          ...
        1..2
    not ok 1 - group # time=33.867ms
    noise a test printed
    ok 2 - later # SKIP not today
    ok 3 - some day # todo
    ok 4 - a # hash in a title
not ok 1 - test/a.js # time=43.4ms
  ---
  exitCode: 1
  ...
ok 2
"""


def test_points_keep_their_depth_description_directive_and_block():
    points = read_points(STREAM)
    assert [(p.depth, p.name, p.ok, p.directive) for p in points] == [
        (2, "one is one", True, ""), (2, "one is two", False, ""), (1, "group", False, ""), (1, "later", True, "skip"),
        (1, "some day", True, "todo"), (1, "a # hash in a title", True, ""), (0, "test/a.js", False, ""), (0, "", True, "")]
    assert points[1].diagnostics == {"at": {"file": "test/a.js", "line": 2}} and points[6].diagnostics == {"exitCode": 1}
    assert points[2].diagnostics == {}


def test_a_block_that_does_not_parse_or_end_leaves_the_points_after_it():
    broken = "not ok 1 - x\n  ---\n  a: [unclosed\n  ...\nok 2 - y\n"
    assert [(p.name, p.ok, p.diagnostics) for p in read_points(broken)] == [("x", False, {}), ("y", True, {})]
    cut = "    not ok 1 - x\n      ---\n      at: {line: 3}\n    ok 2 - y\nnot ok 1 - f.js\n"  # no `...`: a stream cut short
    assert [(p.depth, p.name) for p in read_points(cut)] == [(1, "x"), (1, "y"), (0, "f.js")]


# tap 14 runs files in parallel and writes each one's subtests after its point, between braces
BUFFERED = """TAP version 13
not ok 1 - test/a.js # time=83.8ms
  ---
  exitCode: 1
  ...
{
    # Subtest: group
        not ok 1 - one is two
        1..1
    not ok 1 - group # time=40.1ms
    ok 2 - plain ok # time=1.6ms
    1..2
}

ok 2 - test/b.js # time=12.8ms {
    ok 1 - top level assertion
    1..1
}

1..2
"""


def test_each_point_knows_its_parent_streamed_or_buffered():
    points = read_points(BUFFERED)
    assert [(p.depth, p.name, p.parent) for p in points] == [
        (0, "test/a.js", None), (2, "one is two", 2), (1, "group", 0), (1, "plain ok", 0), (0, "test/b.js", None), (1, "top level assertion", 4)]
    streamed = read_points(STREAM)
    assert [p.parent for p in streamed] == [2, 2, 6, 6, 6, 6, None, None]


def test_names_escapes_tags_and_cut_short_subtests():
    text = ("# Subtest: test/e.js\n    # Subtest: hangs\n        ok 1 - started\n"
            "not ok 1 - timeout!\n  ---\n  expired: test/e.js\n  ...\n"  # tap 18: a file that timed out
            "# Subtest: test/f.js\n    ok 1 # time=0.7ms\n    ok 2 - a \\# b # SKIP\n    not ok 3 - found\n"
            "      ---\n      found: abc\n      pattern: !re /x/\n      at:\n        line: 3\n        file: test/f.js\n      ...\n"
            "ok 2 - test/f.js\n")
    points = read_points(text)
    assert [(p.depth, p.name, p.directive) for p in points] == [
        (2, "started", ""), (0, "test/e.js", ""), (1, "", ""), (1, "a # b", "skip"), (1, "found", ""), (0, "test/f.js", "")]
    assert points[4].diagnostics["at"] == {"line": 3, "file": "test/f.js"} and points[4].diagnostics["pattern"] == "/x/"
    assert points[2].parent == 5  # the hung subtest of test/e.js does not name test/f.js's first test


def test_a_directive_only_ends_an_ava_title():
    ava = "not ok 1 - a › handles # SKIP marker\nok 2 - a › later # SKIP\nnot ok 3 - a › some day # TODO\n1..3\n"
    assert [(p.name, p.directive) for p in read_points(ava, directive_at_end=True)] == [
        ("a › handles # SKIP marker", ""), ("a › later", "skip"), ("a › some day", "todo")]
    assert has_plan(ava) and not has_plan("ok 1 - a\n    1..1\n")

"""TAP streams read as their points, subtests and YAML blocks included."""

from __future__ import annotations

from sandbox.tap_report import read_points

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

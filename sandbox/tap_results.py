"""Read node-tap's, ava's and tape's test results from their TAP (sandbox/tap_report.py), named
as the other Node runners' are (sandbox/node_results.py): node-tap's by test file and
`file:title`, ava's and tape's by the title they print. Whatever cannot be read counts as failed
(TestResults.status)."""

from __future__ import annotations

import re

from sandbox.models import Failure, TestResults, TestStatus
from sandbox.node_results import ERROR, first_line, own_frame, relative, stack_failure
from sandbox.results import keep_worst
from sandbox.tap_report import Point, has_plan, read_points


def _tap_status(point: Point) -> TestStatus:
    if point.directive:  # skipped, or a todo (whose failure fails nothing)
        return "skipped"
    return "passed" if point.ok else "failed"


def _tap_failure(point: Point, roots: list[str]) -> Failure:
    """Where node-tap says an assertion failed (`at:` gives `file` and `line`, or from tap 18
    `fileName` and `lineNumber`), what was thrown (`type`), and its description."""
    at = point.diagnostics.get("at")
    at = at if isinstance(at, dict) else {}
    file, line = at.get("file") or at.get("fileName"), at.get("line") or at.get("lineNumber")
    where = f"{relative(str(file), roots)}:{line}" if file and line and own_frame(str(file)) else ""
    kind = point.diagnostics.get("type")
    return Failure(kind=kind if isinstance(kind, str) else "", where=where, message=point.name[:300])


def parse_tap(text: str, roots: list[str]) -> TestResults:
    """node-tap's raw TAP: each test file is a subtest of the run, named by its path, and each of
    its subtests and top-level assertions a test, `file:title`; deeper points fail their test.
    A failed test's failure is its first failed assertion's; a file that failed with no test of
    it failed to run."""
    points = read_points(text)
    statuses: dict[str, TestStatus] = {}
    failures: dict[str, Failure] = {}
    files = {k: relative(p.name.removeprefix("./"), roots) for k, p in enumerate(points) if p.depth == 0}
    tests: dict[int, str] = {}  # a test's position -> its id
    first: dict[int, Point] = {}  # a test's position -> its first failed assertion
    for k, point in enumerate(points):
        if point.depth == 1 and point.parent in files:
            tests[k] = f"{files[point.parent]}:{point.name}"
        elif point.depth >= 2 and not point.ok and not point.directive and point.diagnostics:
            test = point.parent
            while test is not None and points[test].depth > 1:
                test = points[test].parent
            if test is not None:
                first.setdefault(test, point)
    for k, test in tests.items():
        if keep_worst(statuses, test, _tap_status(points[k])) and _tap_status(points[k]) == "failed":
            failures[test] = _tap_failure(first.get(k, points[k]), roots)
    for k, path in files.items():
        keep_worst(statuses, path, _tap_status(points[k]))
        if _tap_status(points[k]) == "failed":
            its = [t for j, t in tests.items() if points[j].parent == k]
            own = [failures[t] for t in its if t in failures]
            said = points[k].diagnostics  # how it ended, when it failed with no failed test: `exitCode: 1`, `signal`, `expired`
            ended = ", ".join(f"{key} {said[key]}" for key in ("exitCode", "signal", "expired") if said.get(key) is not None)
            failures[path] = own[0] if own else Failure(message=ended, collection=not its)
    return TestResults(statuses=statuses, failures=failures, source="log")


_THROWN = re.compile(r"(\w*(?:Error|Exception))\s*\{")
_AT = re.compile(r"(?:\(|^)(?:file://)?([^()\s]+?):(\d+)(?::\d+)?\)?$")  # ava's `at:` (`/w/test/a.js:3:29`, or a frame)


def _at_place(point: Point, roots: list[str]) -> str:
    """`file:line` of a point's `at:` (ava's and tape's: a path with line and column, or a stack
    frame), when that file is the package's own; else ""."""
    found = _AT.search(str(point.diagnostics.get("at") or ""))
    return f"{relative(found.group(1), roots)}:{found.group(2)}" if found and own_frame(found.group(1)) else ""


def parse_ava(text: str, roots: list[str]) -> TestResults:
    """ava's TAP: each test by its title as ava prints it (with several files run, the file's path
    within their common folder, extension and `.test`/`.spec` aside, comes first: `sub › b ›
    throws`), as mocha's are known by title; a file that failed to run is a point of its own."""
    if not has_plan(text):  # ava's TAP reporter may stop early (a timeout in ava 6): the run is cut short
        return TestResults(source="log", problem="ava's TAP ends before its plan (1..N)")
    statuses: dict[str, TestStatus] = {}
    failures: dict[str, Failure] = {}
    for point in read_points(text, directive_at_end=True):
        status = _tap_status(point)
        if not keep_worst(statuses, point.name, status) or status != "failed":
            continue
        where = _at_place(point, roots)
        kind, message = point.diagnostics.get("name"), first_line(str(point.diagnostics.get("message") or ""))
        # `Error thrown in test`: ava's assertion wraps what was thrown, whose type its details give
        thrown = _THROWN.search(str(point.diagnostics.get("details") or "")) if message.startswith("Error thrown") else None
        kind = thrown.group(1) if thrown else kind
        failures[point.name] = Failure(kind=kind if isinstance(kind, str) else "", where=where, message=message or point.name[:300])
    return TestResults(statuses=statuses, failures=failures, source="log")


_TITLE = re.compile(r"^# (?P<title>.*?)\s*$")  # tape's test: a comment, then its assertions' points
_MARKED = re.compile(r"^(?P<mark>SKIP|TODO) (?P<title>.*)$")  # `test.skip`'s, a `{ todo: true }` test's
_TOP_PLAN = re.compile(r"^1\.\.\d+\s*$")


def _tape_failure(point: Point, roots: list[str]) -> Failure:
    """Where tape says an assertion failed (`at:`, else the stack's first frame of the package's
    own), and, for what a test threw or passed to `t.error` (operator `error`), its type."""
    said = point.diagnostics
    where = _at_place(point, roots) or stack_failure(str(said.get("stack") or ""), roots).where
    kind = ERROR.match(point.name) if said.get("operator") == "error" else None
    return Failure(kind=kind.group(1) if kind else "", where=where, message=point.name[:300])


def parse_tape(text: str, roots: list[str]) -> TestResults:
    """tape's TAP: each test is the `# title` comment before its assertions (a subtest's comes
    after its parent's, flat), named by that title, as ava's are; it fails when one of its
    assertions does, a `test.skip` or todo test is skipped, one with no assertion of its own
    passes. A thrown error stops tape before its plan, which it writes last: no plan, no result."""
    lines = text.splitlines()
    plans = [k for k, line in enumerate(lines) if _TOP_PLAN.match(line)]
    if not plans:
        return TestResults(source="log", problem="tape's TAP ends before its plan (1..N): a test threw, or the run was cut short")
    tests: list[tuple[str, list[str]]] = []
    for line in lines[: plans[-1]]:  # after the plan: tape's counts (`# tests 9`, `# pass 6`), no tests
        if found := _TITLE.match(line):
            tests.append((found.group("title"), []))
        elif tests:
            tests[-1][1].append(line)
    statuses: dict[str, TestStatus] = {}
    failures: dict[str, Failure] = {}
    for title, body in tests:
        points = read_points("\n".join(body), directive_at_end=True)  # a description may hold `#`
        # `# SKIP x`/`# TODO x` is a skip or todo test's when its points (if any) carry the directive
        # too; else it is a test titled so (`test('TODO list adds', ...)`)
        directed = all(p.directive for p in points)
        marked = _MARKED.match(title) if directed else None
        name = marked.group("title") if marked else title
        failed = [p for p in points if _tap_status(p) == "failed"]
        status: TestStatus = "skipped" if marked or (points and directed) else "failed" if failed else "passed"
        if keep_worst(statuses, name, status) and status == "failed":
            failures[name] = _tape_failure(failed[0], roots)
    return TestResults(statuses=statuses, failures=failures, source="log")

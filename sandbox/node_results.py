"""Read a Node package's test results from its runner's report, named as Multi-SWE-bench names
them: jest's by test file (`test/a.test.js`, the file's own status) and `file:title` (a test's
own title, its describe blocks aside); mocha's by full title (its describe blocks and title,
space-separated), and by its own title alone as an alias for grading, since that benchmark
names them either way (by the JSON reporter's `fullTitle`, or by the spec reporter's lines);
Node's built-in runner's (`node --test`) as jest's, from the lines of our own reporter
(sandbox/node_test_reporter.cjs); node-tap's and ava's from their TAP in sandbox/tap_results.py.
Whatever cannot be read counts as failed (TestResults.status)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from urllib.parse import unquote, urlsplit

from sandbox.models import Failure, TestResults, TestStatus
from sandbox.results import RANK, keep_worst
from sandbox.selection import SCRIPT_FILE

# mocha's name for a failed hook: `"before all" hook`, `... hook: its name`, `... hook for "t"`, `... hook in "{root}"`
_HOOK = re.compile(r'(?:^| )"(before|after) (all|each)" hook(?:$|: | for "| in ")')
_JEST_STATUS: dict[str, TestStatus] = {"passed": "passed", "failed": "failed", "pending": "skipped", "skipped": "skipped",
                                       "todo": "skipped", "disabled": "skipped", "focused": "passed"}


def first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[0][:300] if lines else ""


def relative(path: str, roots: list[str]) -> str:
    for root in roots:
        root = root.rstrip("/") + "/"
        if path.startswith(root):
            return path[len(root):]
    return path


ERROR = re.compile(r"^(\w*(?:Error|Exception))\b")
_FRAME = re.compile(r"^\s*at (?:.*?\()?(?:file://)?([^()\s]+?):(\d+):\d+\)?\s*$", re.M)  # native ESM's: file:///...


def own_frame(path: str) -> bool:
    """Whether a frame's file is the package's own: a script, absolute or (mocha's) relative to the
    tree, outside node_modules; not Node's own (`node:internal/...`, `internal/...` before Node 16),
    a URL or `<anonymous>`."""
    return (bool(SCRIPT_FILE.search(path)) and "://" not in path and not path.startswith(("node:", "internal/", "<"))
            and not re.search(r"(?:^|/)node_modules/", path))


def stack_failure(message: str, roots: list[str]) -> Failure:
    """What a jest message says: the error's type, where it was raised (the first frame of the
    package's own code, node_modules aside) and its first line."""
    first = first_line(message)
    kind = ERROR.match(first)
    frames = [(p, line) for p, line in _FRAME.findall(message or "") if own_frame(p)]
    where = f"{relative(frames[0][0], roots)}:{frames[0][1]}" if frames else ""
    return Failure(kind=kind.group(1) if kind else "", where=where, message=first)


def _mocha_failure(message: str, text: str, roots: list[str]) -> Failure:
    """What an xunit failure of mocha's says: its text is the error's message, then its stack,
    whose first line names the error's type (`ReferenceError: x is not defined`)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    kinds = [(k.group(1), after.startswith("at ")) for k, after in zip((ERROR.match(line) for line in lines), [*lines[1:], ""]) if k]
    # The line the stack starts with (a frame follows it), not a message that starts like one ("Error reading ...")
    kind = next((k for k, stack in kinds if stack), kinds[0][0] if kinds else "")
    found = stack_failure(text, roots)
    return Failure(kind=kind, where=found.where, message=first_line(message) or found.message)


def hook(test: str) -> bool:
    """Whether a mocha result is a hook's (`suite "before each" hook for "t"`): what failed is no test."""
    return bool(_HOOK.search(test))


def parse_jest(text: str, roots: list[str]) -> TestResults:
    """`jest --json` output (vitest's too); `roots` are the tree's folder as given and as its real
    path, which its absolute file names start with."""
    try:
        report = json.loads(text)
        files = report["testResults"]
    except (ValueError, KeyError, TypeError) as exc:
        return TestResults(source="json", problem=f"jest's report does not parse: {exc}")
    statuses: dict[str, TestStatus] = {}
    failures: dict[str, Failure] = {}
    for entry in files if isinstance(files, list) else []:
        if not isinstance(entry, dict):
            continue
        path = relative(str(entry.get("name", "")), roots)
        cases = entry.get("assertionResults") or []
        # A file whose tests pass but some are skipped is "focused" or "pending": it passed, as jest prints it.
        failed = entry.get("status") == "failed" or any(c.get("status") == "failed" for c in cases)
        if keep_worst(statuses, path, "failed" if failed else "passed") and failed:
            failures[path] = Failure(message=first_line(entry.get("message") or entry.get("failureMessage") or ""),
                                     collection=not cases)
        for case in cases:
            test = f"{path}:{case.get('title', '')}"
            status = _JEST_STATUS.get(str(case.get("status")), "failed")
            if keep_worst(statuses, test, status) and status == "failed":
                failures[test] = stack_failure("\n".join(map(str, case.get("failureMessages") or [])), roots)
    return TestResults(statuses=statuses, failures=failures, source="json")


def parse_mocha_xunit(text: str, roots: list[str] | None = None) -> TestResults:
    """mocha's xunit report: a test's id is its suite's full title and its own, as mocha's
    `fullTitle()` joins them; `roots` as for jest, for where a failure was raised."""
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        return TestResults(source="junit", problem=f"mocha's report does not parse: {exc}")
    if root.tag not in ("testsuite", "testsuites"):
        return TestResults(source="junit", problem=f"not an xunit report (root element <{root.tag}>)")
    statuses: dict[str, TestStatus] = {}
    failures: dict[str, Failure] = {}
    titles: dict[str, list[TestStatus]] = {}
    for case in root.iter("testcase"):
        title = case.get("name", "")
        full = " ".join(p for p in (case.get("classname", ""), title) if p)
        status: TestStatus = "passed"
        failure = None
        for child in case:
            if child.tag in ("failure", "error"):
                status = "failed"
                failure = _mocha_failure(child.get("message") or "", child.text or "", roots or [])
            elif child.tag == "skipped" and status == "passed":
                status = "skipped"
        if keep_worst(statuses, full, status) and failure is not None:
            failures[full] = failure
        # by its own title, and by titles as a log shows them (its surrounding spaces are not seen)
        for name in dict.fromkeys((title, title.strip(), full.strip())):
            if name != full:
                titles.setdefault(name, []).append(status)
    # A title several tests share: the worst of them, as that benchmark's own sets of titles read it.
    # After a failed hook, the test a title means may not have run while another of its title did:
    # then no title alone is trusted.
    hooked = any(_HOOK.match(t) and "failed" in found for t, found in titles.items())
    aliases = {} if hooked else {t: max(found, key=RANK.__getitem__) for t, found in titles.items() if t not in statuses}
    return TestResults(statuses=statuses, failures=failures, aliases=aliases, source="junit")


_CONSEQUENCES = {"subtestsFailed", "cancelledByParent"}  # Node's failure types of what failed because something else did


def _node_failure(error: dict, roots: list[str]) -> Failure:
    """What our reporter says of a failed test of Node's runner: what it threw, its first line,
    and the first frame of the package's own code in its stack."""
    found = stack_failure(str(error.get("stack") or ""), roots)
    return Failure(kind=str(error.get("kind") or ""), where=found.where, message=first_line(str(error.get("message") or "")))


def _unurl(path: str) -> str:
    """A `file://` URL as its path (Node 18 names an ES module's tests so)."""
    return unquote(urlsplit(path).path) if path.startswith("file://") else path


def parse_node_test(text: str, roots: list[str]) -> TestResults:
    """The JSON lines of our reporter for `node --test`: each test by `file:title` (its own
    title), each file by the worst of what ran in it; a suite (`describe`) is no test, but its
    own failure (a hook's) fails its file. A file that could not be loaded is reported as a test
    named by its path: its file fails, and did not load when it reported no test of its own (a
    file whose tests ran and that failed after them, with `process.exitCode` or a late error,
    did). A file's failure is the first cause reported in it."""
    statuses: dict[str, TestStatus] = {}
    failures: dict[str, Failure] = {}
    loaded: dict[str, bool] = {}  # whether a file reported a test of its own
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
            file, name, status = event["file"], str(event["name"]), event["status"]
        except (ValueError, KeyError, TypeError) as exc:
            return TestResults(source="json", problem=f"line {n} of node's test report does not parse: {exc}")
        if status not in ("passed", "failed", "skipped") or not file:
            return TestResults(source="json", problem=f"line {n} of node's test report names no file or status")
        path = relative(_unurl(str(file)), roots)
        loading = event.get("nesting") == 0 and relative(_unurl(name), roots) == path
        error = event.get("error") if isinstance(event.get("error"), dict) else {}
        failure = _node_failure(error, roots) if status == "failed" else None
        # What failed in a file first: not a parent whose subtests failed, nor a test cancelled by a failed hook.
        own = failure is not None and error.get("failureType") not in _CONSEQUENCES
        file_status: TestStatus = "failed" if own or (failure is not None and not event.get("suite")) else "passed"
        keep_worst(statuses, path, file_status)
        if own and path not in failures:
            failures[path] = failure
        if loading and status == "failed":
            loaded.setdefault(path, False)
        elif not event.get("suite") and not loading:
            loaded[path] = True
            if keep_worst(statuses, f"{path}:{name}", status) and failure is not None:
                failures[f"{path}:{name}"] = failure
    for path, ran in loaded.items():  # a file that failed as a whole and reported no test did not load
        if not ran and path in failures:
            failures[path] = failures[path].model_copy(update={"collection": True})
    return TestResults(statuses=statuses, failures=failures, source="json")


def merge(parts: list[TestResults]) -> TestResults:
    """Several runs' results as one: a test's worst status. A run that could not be read fails
    them all (its tests may be any of them): the first problem, and no result."""
    problem = next((p.problem for p in parts if p.problem), None)
    if problem is not None:
        return TestResults(source=parts[0].source, problem=problem)
    statuses: dict[str, TestStatus] = {}
    failures: dict[str, Failure] = {}
    for part in parts:
        for test, status in part.statuses.items():
            if keep_worst(statuses, test, status) and test in part.failures:
                failures[test] = part.failures[test]
    aliases: dict[str, TestStatus] = {}
    for part in parts:
        for test, status in part.aliases.items():
            keep_worst(aliases, test, status)
    return TestResults(statuses=statuses, failures=failures, aliases=aliases, source=parts[0].source if parts else "none")

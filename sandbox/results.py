"""Read test results: pytest's junit XML first, the `swebench` log parsers where a runner has
no structured output. Whatever cannot be read counts as failed (see TestResults.status)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Callable

from sandbox.models import Failure, TestResults, TestStatus

# When one test id appears several times (a failing teardown after a passing call, reruns), the worst wins.
RANK = {"skipped": 0, "passed": 1, "failed": 2, "error": 3}


def keep_worst(statuses: dict[str, TestStatus], test: str, status: TestStatus) -> bool:
    """Record `status` for `test` unless a status as bad or worse is there; whether it was recorded."""
    if test in statuses and RANK[statuses[test]] >= RANK[status]:
        return False
    statuses[test] = status
    return True


def _status(case: ET.Element) -> TestStatus:
    for child in case:
        if child.tag == "error":
            return "error"
        if child.tag == "failure":
            return "failed"
        if child.tag == "skipped":
            # pytest reports an expected failure as skipped; SWE-bench counts XFAIL as passed.
            return "passed" if (child.get("type") or "").endswith("xfail") else "skipped"
    return "passed"


def _test_id(case: ET.Element, exists: Callable[[str], bool]) -> str:
    """pytest's node id: `path/to/test_x.py::Class::test[param]`."""
    name = case.get("name", "")
    classname = case.get("classname", "")
    path = case.get("file")
    parts = classname.split(".") if classname else []
    if path:  # xunit1 names the file: the classname is module plus classes
        module_depth = len(path[:-3].replace("\\", "/").split("/")) if path.endswith(".py") else len(parts)
        classes = parts[module_depth:]
        return "::".join([path.replace("\\", "/"), *classes, name])
    for depth in range(len(parts), 0, -1):  # xunit2: find the module among the classname's prefixes
        candidate = "/".join(parts[:depth]) + ".py"
        if exists(candidate):
            return "::".join([candidate, *parts[depth:], name])
    return "::".join([*parts, name]) if parts else name


_WHERE = re.compile(r"^(\S.*?:\d+): (\w+(?:\.\w+)*)$")  # pytest's last line of a failure: "path:line: ExcType"
_RAISED = re.compile(r"^E\s+(\w+(?:\.\w+)*)(?::|$)")  # "E   ImportError: ..."
_COLLECTION = "collection failure"  # pytest's message for a file it could not import


def _failure(case: ET.Element) -> Failure | None:
    """What was raised and where, read from pytest's failure text."""
    for child in case:
        if child.tag not in ("failure", "error"):
            continue
        message = (child.get("message") or "").strip()
        lines = (child.text or "").rstrip().splitlines()
        where, kind = "", ""
        if lines and (found := _WHERE.match(lines[-1].strip())):
            where, kind = found.group(1), found.group(2)
        raised = [line for line in lines if _RAISED.match(line)]
        if not kind and raised:
            kind = _RAISED.match(raised[-1]).group(1)
        collection = message == _COLLECTION
        if collection and raised:  # pytest's message says only that: what was raised says why
            message = raised[-1][1:].strip()
        return Failure(kind=kind.rpartition(".")[2], where=where, message=message.splitlines()[0] if message else "",
                       collection=collection)
    return None


def parse_junit(xml_text: str, exists: Callable[[str], bool] = lambda _: False) -> TestResults:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        return TestResults(source="junit", problem=f"junit XML does not parse: {exc}")
    statuses: dict[str, TestStatus] = {}
    failures: dict[str, Failure] = {}
    for case in root.iter("testcase"):
        test_id = _test_id(case, exists)
        status = _status(case)
        failure = _failure(case) if status in ("failed", "error") else None
        if failure is not None and failure.collection and case.get("file"):
            test_id = case.get("file", "").replace("\\", "/")  # the file itself failed, not a test named after it
        if keep_worst(statuses, test_id, status) and failure is not None:
            failures[test_id] = failure
    if not statuses and root.tag not in ("testsuites", "testsuite"):
        return TestResults(source="junit", problem=f"not a junit report (root element <{root.tag}>)")
    return TestResults(statuses=statuses, failures=failures, source="junit")


def parse_log(repo: str, log: str) -> TestResults:
    """A runner's log read by the `swebench` parser for `repo` ("owner/name")."""
    from sandbox.swebench_adapter import log_statuses

    try:
        statuses = log_statuses(repo, log)
    except KeyError:
        return TestResults(source="log", problem=f"no log parser for {repo}")
    return TestResults(statuses=statuses, source="log")


# Cross-checks. The code under test runs inside the test process and can rewrite what that
# process leaves behind (the junit report, its exit status), but not what it already printed:
# the runner's own summary is the last word, and the channels must agree with it. (Summaries of
# pytest sessions that tests run themselves, pytest's own tests say, come earlier, inside the
# captured output of those tests.)
_FINAL = re.compile(r"^=*\s*((?:\d+ [a-z]+(?:, )?)+|no tests ran) in [\d.]+ ?s(?:econds)?(?: \([\d:]+\))?\s*=*$")
_RESULT = re.compile(r"^(PASSED|FAILED|ERROR|XFAIL|XPASS) (\S.*?)(?: - .*)?$")
_SHORT_SUMMARY = re.compile(r"^=+ short test summary info =+$")
_STATUS = {"PASSED": "passed", "XFAIL": "passed", "XPASS": "passed", "FAILED": "failed", "ERROR": "error"}
_SYMPY_FINAL = "tests finished:"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colours (a configuration's --color=yes)


def _plain_lines(text: str) -> list[str]:
    return _ANSI.sub("", text).splitlines()


def _finals(lines: list[str]) -> list[int]:
    return [i for i, line in enumerate(lines) if _FINAL.match(line.strip())]


def failing_tests(statuses: dict[str, TestStatus]) -> set[str]:
    return {t for t, s in statuses.items() if s in ("failed", "error")}


def pytest_disagreement(output: str, exit_code: int | None, statuses: dict[str, TestStatus]) -> str | None:
    """Why pytest's report (`statuses`), its exit status and its own printed summary do not tell
    the same story, or None when they do."""
    lines = _plain_lines(output)
    finals = _finals(lines)
    if not finals:
        return "pytest printed no final summary"
    end = finals[-1]
    if any(_RESULT.match(line) for line in lines[end + 1:]):
        return "test results were printed after pytest's final summary"
    counts = {word.rstrip("s"): int(n) for n, word in re.findall(r"(\d+) ([a-z]+)", lines[end])}
    failing, summary_failing = failing_tests(statuses), counts.get("failed", 0) + counts.get("error", 0)
    if bool(failing) != bool(summary_failing):
        return f"the report has {len(failing)} failing test(s), pytest's summary {summary_failing}"
    printed: dict[str, TestStatus] = {}  # the short test summary (-r with p): each test's worst outcome
    starts = [i for i in range(end) if _SHORT_SUMMARY.match(lines[i])]
    for line in lines[starts[-1] + 1:end] if starts else []:
        found = _RESULT.match(line)
        if found:
            test, status = found.group(2), _STATUS[found.group(1)]
            keep_worst(printed, test, status)
    for test, status in printed.items():
        reported = statuses.get(test)
        if reported is not None and (reported == "passed") != (status == "passed"):
            return f"{test}: the report says {reported}, pytest's summary {status}"
    if exit_code == 0 and failing:
        return f"pytest exited 0, but the report has {len(failing)} failing test(s)"
    if exit_code == 1 and not failing:
        return "pytest exited 1 (tests failed), but the report has no failing test"
    if exit_code == 5 and statuses:
        return "pytest exited 5 (no tests collected), but the report has results"
    if exit_code not in (0, 1, 5) and not failing:  # 2 with collection errors has failing results
        return f"pytest stopped with exit status {exit_code}"
    return None


def log_disagreement(log: str) -> str | None:
    """For a runner read from its log: results printed after pytest's final summary, or a
    second summary of sympy's, were printed by the code under test."""
    lines = _plain_lines(log)
    finals = _finals(lines)
    if finals and any(_RESULT.match(line) for line in lines[finals[-1] + 1:]):
        return "test results were printed after pytest's final summary"
    sympy = sum(_SYMPY_FINAL in line for line in lines)
    if sympy > 1:
        return f"the log holds {sympy} sympy final summaries"
    return None

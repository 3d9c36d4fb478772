"""Read test results: pytest's junit XML first, the `swebench` log parsers where a runner has
no structured output. Whatever cannot be read counts as failed (see TestResults.status)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Callable

from sandbox.models import TestResults, TestStatus

# When one test id appears several times (a failing teardown after a passing call, reruns), the worst wins.
_RANK = {"skipped": 0, "passed": 1, "failed": 2, "error": 3}


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


def parse_junit(xml_text: str, exists: Callable[[str], bool] = lambda _: False) -> TestResults:
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        return TestResults(source="junit", problem=f"junit XML does not parse: {exc}")
    statuses: dict[str, TestStatus] = {}
    for case in root.iter("testcase"):
        test_id = _test_id(case, exists)
        status = _status(case)
        if test_id not in statuses or _RANK[status] > _RANK[statuses[test_id]]:
            statuses[test_id] = status
    if not statuses and root.tag not in ("testsuites", "testsuite"):
        return TestResults(source="junit", problem=f"not a junit report (root element <{root.tag}>)")
    return TestResults(statuses=statuses, source="junit")


def parse_log(repo: str, log: str) -> TestResults:
    """A runner's log read by the `swebench` parser for `repo` ("owner/name")."""
    from sandbox.swebench_adapter import log_statuses

    try:
        statuses = log_statuses(repo, log)
    except KeyError:
        return TestResults(source="log", problem=f"no log parser for {repo}")
    return TestResults(statuses=statuses, source="log")

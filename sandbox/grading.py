"""Grading as SWE-bench does it: resolved when every FAIL_TO_PASS test passes and every
PASS_TO_PASS test still does. A test missing from the results counts as failed; a skipped one
counts on neither side (as in swebench's report)."""

from __future__ import annotations

from sandbox.models import Split, TestResults, Verdict


def _split(results: TestResults, tests: list[str]) -> Split:
    out = Split()
    for test in tests:
        status = results.status(test)
        if status == "passed":
            out.passed.append(test)
        elif status in ("failed", "error"):
            out.failed.append(test)
    return out


def grade(results: TestResults, fail_to_pass: list[str], pass_to_pass: list[str]) -> Verdict:
    f2p, p2p = _split(results, fail_to_pass), _split(results, pass_to_pass)
    resolved = results.problem is None and not f2p.failed and not p2p.failed
    return Verdict(resolved=resolved, fail_to_pass=f2p, pass_to_pass=p2p)

"""Verdicts from test results, by two rules over the same Verdict.

- `grade`, as SWE-bench does it: resolved when every FAIL_TO_PASS test passes and every
  PASS_TO_PASS test still does. A test missing from the results counts as failed; a skipped one
  counts on neither side (as in swebench's report).
- `judge`, as the repair agent does it, against the original tree's run: the tests that failed
  there must pass (a skipped one does not), and those that passed must still pass (a skipped
  one is a regression); a test without a result counts as failing."""

from __future__ import annotations

from sandbox.models import Split, TestResults, TestRun, TestStatus, Verdict


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
    return Verdict(fail_to_pass=_split(results, fail_to_pass), pass_to_pass=_split(results, pass_to_pass),
                   problem=results.problem)


def _passes(test: str, now: dict[str, TestStatus]) -> bool:
    if test in now:
        return now[test] == "passed"
    # A file that could not be imported before reports one result for the whole file; once it
    # imports, its tests report one by one: it passes when they all do.
    prefix = test.split("::")[0] + "::"
    mine = [s for t, s in now.items() if t.startswith(prefix)]
    return bool(mine) and all(s in ("passed", "skipped") for s in mine) and "passed" in mine


def judge(before: TestRun, after: TestRun) -> Verdict:
    now = after.statuses
    fixing = Split(passed=[t for t in before.failing if _passes(t, now)], failed=[t for t in before.failing if not _passes(t, now)])
    keeping = Split(passed=[t for t in before.passing if now.get(t) == "passed"],
                    failed=[t for t in before.passing if now.get(t) != "passed"])
    return Verdict(fail_to_pass=fixing, pass_to_pass=keeping, problem=after.problem)

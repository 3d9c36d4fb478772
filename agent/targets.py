"""What a verdict rests on. The targets are the tests the user names, else the test command,
else a reproduction test the model writes from the issue, kept only when it fails on the
original tree because of the code under repair. Every other test that fails there is *known
failing* (a dependency newer than the commit, a broken test): it is run again to spot flakes,
reported, and counts neither as a target nor as a regression. A test whose outcome changes
between two runs of the same tree is *flaky* and counts on neither side either."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Callable, Literal

from pydantic import BaseModel, Field

from sandbox.models import Failure, TestPlan, TestRun
from sandbox.node_results import hook
from sandbox.selection import SCRIPT_FILE, is_test_file
from sandbox.suite import environment_problem
from sandbox.trials import Trial


class Baseline(BaseModel):
    """The original tree's tests, sorted into what a candidate is judged by and what it is not."""

    plan: TestPlan
    run: TestRun  # the original tree, every test of the plan
    source: Literal["named", "command", "reproduction"] | None = None  # where the targets come from; None: nothing reproduces the issue
    known_failing: list[str] = Field(default_factory=list)
    flaky: list[str] = Field(default_factory=list)
    unreproduced: str = ""  # why there is no target, when there is none
    environment: str | None = None  # the original tree's tests could not be collected: the first lines of why

    @property
    def excluded(self) -> set[str]:
        return set(self.known_failing) | set(self.flaky)

    @property
    def reference(self) -> TestRun:
        """The run candidates are judged against: the targets fail in it, the regressions pass."""
        return TestRun(statuses={t: s for t, s in self.run.statuses.items() if t not in self.excluded},
                       problem=self.run.problem)

    @property
    def targets(self) -> list[str]:
        return self.reference.failing


_MENTION = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)*[\w.-]+\.py)((?:::[\w.\[\]-]+)*)")


def mentioned_tests(issue: str, files: list[str]) -> list[str]:
    """Tests the issue names (`tests/test_x.py::test_y`), as ids in files the repository has; a
    file without its folder stands for the one file of that name, if there is one. A file alone
    is not a name: an issue that mentions a test file does not vouch for every test in it."""
    out: list[str] = []
    tracked = set(files)
    for path, rest in _MENTION.findall(issue):
        if not rest or not is_test_file(path):
            continue
        if path not in tracked:
            same = [f for f in files if PurePosixPath(f).name == PurePosixPath(path).name]
            if len(same) != 1:
                continue
            path = same[0]
        out.append(path + rest)
    return list(dict.fromkeys(out))


_SCRIPT_ID = re.compile(r"^(.+?(?:\.py|" + SCRIPT_FILE.pattern.removesuffix("$") + r"))(?::|$)")  # a file, then `:title`


def id_file(test: str) -> str:
    """The file a result's id names: pytest's `f.py::t`, jest's `f.test.js:title` or `f.test.js`;
    "" for a mocha title, which names none."""
    if "::" in test:
        return test.split("::")[0]
    found = _SCRIPT_ID.match(test)
    return found.group(1) if found else ""


def one_test(test: str) -> bool:
    """Whether a result's id is one test's (`f.py::t`, jest's `f.js:title`, a mocha title), not a
    whole file's: rerunning a file to spot a flake reruns every test in it. (A mocha title that
    ends as a file name does, without a space, is taken for a file.)"""
    return id_file(test) != test or " " in test


def named(test: str, names: list[str], failure: Failure | None = None) -> bool:
    """Whether a result's id is one the user named: the id itself, its file, or a folder above it;
    or the result of a whole file that could not import a name (`failure`), and a named test is
    in it: a test of a function the fix adds cannot import it before the fix. (A file that fails
    to import for other reasons, a dependency too new, is the environment's problem.)"""
    for name in names:
        name = name.rstrip("/")
        # ("file:title" is how a Node package's runners name a test of a file)
        if test == name or test.startswith((name + "::", name + "/", name + ":")):
            return True
        if "::" not in test and name.split("::")[0] == test and failure is not None and failure.kind == "ImportError":
            return True
    return False


_BROKEN_CONFTEST = re.compile(r"ImportError while loading conftest '([^']+)'")


def broken_conftests(run: TestRun, files: list[str]) -> list[str]:
    """Folders of the repository ("" for its top) whose conftest.py could not be imported: pytest
    stops before any test when one of the plan's files is below such a folder. The runner prints
    where the tree sits; the folder is the longest end of that path whose conftest.py the
    repository has."""
    if run.statuses:
        return []
    tracked = set(files)
    out = []
    for printed in _BROKEN_CONFTEST.findall(run.output):
        parts = PurePosixPath(printed).parent.parts
        ends = ["/".join(parts[i:]) for i in range(1, len(parts))] + [""]  # longest first; "" is the top
        found = next((e for e in ends if (f"{e}/conftest.py" if e else "conftest.py") in tracked), None)
        if found is not None:
            out.append(found)
    return out


def below(test: str, folders: list[str]) -> bool:
    """Whether a test's file lies below one of `folders` (relative; "" is the top)."""
    path = test.split("::")[0]
    return any(f == "" or path.startswith(f + "/") for f in folders)


def _describe(failure: Failure) -> str:
    return failure.kind or failure.message or "an error"


def offline(failure: Failure | None, pattern: str) -> bool:
    """Whether a failure says the network could not be reached (`pattern`, repair.offline_failure):
    the sandbox has none, so no fix could make such a test pass there."""
    return bool(failure and pattern and re.search(pattern, f"{failure.kind} {failure.message}"))


def cut_off(tests: list[str], run: TestRun, pattern: str) -> list[str]:
    """The tests that fail in `run` (the original tree's) for want of the network."""
    return [t for t in tests if run.statuses.get(t) in ("failed", "error") and offline(run.failures.get(t), pattern)]


def needs_network(tests: list[str], run: TestRun) -> str:
    more = f" (and {len(tests) - 1} more)" if len(tests) > 1 else ""
    return f"{tests[0]}{more} needs the network, which the sandbox does not have: {run.failures[tests[0]].message}"


def reproduces(run: TestRun, path: str, rejected: list[str], offline_failure: str = "", suite: str = "") -> tuple[list[str], str]:
    """The tests of the reproduction file at `path` that fail because of the code under test,
    and why the others do not count: an error outside the test body (a fixture, a hook,
    collection), one of `rejected` raised in the test file itself (its own import or typo), or a
    want of the network (`offline_failure`). `suite`: the describe block its tests are known by,
    where results name no file (mocha's)."""
    if run.problem and not run.statuses:
        return [], f"the tests cannot be read with it ({run.problem})"
    ours = (lambda t: t.startswith(suite + " ")) if suite else (lambda t: id_file(t) == path)
    if not any(ours(t) for t in run.statuses):
        return [], "the runner did not run it"
    kept: list[str] = []
    why = "it does not fail on the original tree"
    for test, status in run.statuses.items():
        if not ours(test) or status not in ("failed", "error"):
            continue
        failure = run.failures.get(test, Failure())
        if status == "error" or failure.collection or hook(test):
            why = f"it fails before it runs ({_describe(failure)})"
        elif not one_test(test):
            continue  # a file's own result (jest's): its tests speak for themselves
        elif failure.kind in rejected and failure.where.split(":")[0] in (path, ""):  # where unknown: it may be the test's own
            why = f"it fails on its own {failure.kind} ({failure.message or failure.where})"
        elif offline(failure, offline_failure):
            why = f"it needs the network, which the sandbox does not have ({failure.message})"
        else:
            kept.append(test)
    return kept, why


def flaky_between(first: TestRun, second: TestRun) -> list[str]:
    """Tests with a result in both runs of the same tree whose outcome changed."""
    return [t for t, s in first.statuses.items()
            if t in second.statuses and (s == "passed") != (second.statuses[t] == "passed") and "skipped" not in (s, second.statuses[t])]


def sort_out(plan: TestPlan, run: TestRun, names: list[str], rerun: Trial | None,
             repro: Callable[[TestPlan, TestRun], tuple[TestPlan, TestRun, list[str]] | str] | None,
             left_out: str | None = None, offline_failure: str = "") -> Baseline:
    """Sort the original tree's results. `repro(plan, run)` asks for a reproduction test when no
    named test fails: (the plan with it, its run, its kept tests), or why there is none; `rerun`
    runs a plan again on the original tree, to spot flakes (None: no reruns); `left_out` says what
    was left out of the plan because it could not run. A named test that fails for want of the
    network (`offline_failure`) is no target: it is known failing, and the environment says why."""
    if plan.command is not None:
        env = "; ".join(p for p in (environment_problem(run), left_out) if p) or None
        source = "command" if run.failing else None
        return Baseline(plan=plan, run=run, source=source, environment=env,
                        unreproduced="" if source else "the test command passes on the original tree")
    named_failing = [t for t in run.failing if named(t, names, run.failures.get(t))]
    offline_named = cut_off(named_failing, run, offline_failure)
    if offline_named:
        left_out = "; ".join(p for p in (left_out, needs_network(offline_named, run)) if p)
    targets = [t for t in named_failing if t not in offline_named]
    source: Literal["named", "reproduction"] | None = "named" if targets else None
    unreproduced = ""
    flaky: list[str] = []
    ran_twice = False
    if not targets:
        unreproduced = (f"the tests named ({', '.join(names)}) fail only for want of the network" if offline_named
                        else f"the tests named ({', '.join(names)}) do not fail on the original tree" if names
                        else "no test was named")
        found = repro(plan, run) if repro is not None else None
        if isinstance(found, str):
            unreproduced += f"; the reproduction test was not kept: {found}"
        elif found is not None:
            # The same tree ran twice (without and with the reproduction test): what changed is flaky.
            flaky, ran_twice = flaky_between(run, found[1]), True
            plan, run, targets, source = found[0], found[1], found[2], "reproduction"
            unreproduced = ""
    known = [t for t in run.failing if t not in targets]
    if known and rerun is not None and not ran_twice:
        again = rerun(None, TestPlan(tests=[t for t in known if one_test(t)], extra_files=plan.extra_files))
        flaky = [t for t in known if again.statuses.get(t) == "passed"]
    known = [t for t in known if t not in flaky]
    env = "; ".join(p for p in (environment_problem(run, targets), left_out) if p) or None
    return Baseline(plan=plan, run=run, source=source if targets else None, known_failing=known, flaky=flaky,
                    unreproduced=unreproduced if not targets else "", environment=env)

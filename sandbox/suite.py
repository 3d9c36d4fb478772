"""A repository's own tests in its sandbox ("can SuperCoder run my tests?"): the environment
built, the suite (or the tests named) run, and how far it got: built, collected, ran."""

from __future__ import annotations

import time
from typing import Callable, Literal

from pydantic import BaseModel, Field

from sandbox.backends import backend_of
from sandbox.base import SandboxError
from sandbox.config import SandboxConfig
from sandbox.models import TestRun
from sandbox.recipes import Environment
from sandbox.runner import run_tests


def environment_problem(run: TestRun, targets: list[str] = ()) -> str | None:
    """Test files that could not be imported, or no result at all: the environment's fault (a
    missing or too new dependency, a plugin its configuration names), told with the first of them
    and what was raised; `targets` (files that should fail to import: what the fix adds) aside."""
    broken = [(t, f) for t, f in run.failures.items() if f.collection and t not in targets]
    if not broken:
        # No result at all (a conftest that cannot be imported stops pytest before any report).
        return f"the tests cannot run: {run.problem}" if run.problem and not run.statuses else None
    test, failure = broken[0]
    more = f" (and {len(broken) - 1} more file(s))" if len(broken) > 1 else ""
    return f"{test} cannot be imported{more}: {failure.message or failure.kind or 'collection failed'}"


class SuiteReport(BaseModel):
    stage: Literal["build", "collect", "run"]  # how far it got: the environment did not build, the tests did not run, they ran
    environment: dict = Field(default_factory=dict)  # what was chosen and installed, and why
    counts: dict[str, int] = Field(default_factory=dict)  # passed, failed, error, skipped
    failing: list[str] = Field(default_factory=list)
    problem: str | None = None  # why it stopped where it did, or what could not be collected
    duration_s: float = 0.0
    built: bool = False  # the environment was built (its install ran), whatever came after

    @property
    def ran(self) -> bool:
        return self.stage == "run" and self.problem is None


def describe(env: Environment) -> dict:
    """What the environment is made of, as a user would check it."""
    recipe = env.recipe
    return {"name": env.name, "runtime": recipe.runtime, "python": recipe.python, "about": env.about, "uploaded_prior_to": recipe.uploaded_prior_to,
            "requirements_files": sorted(recipe.files), "pip": [" ".join(g) for g in recipe.pip], "install": env.install,
            "services": sorted(recipe.services)}


def run_suite(env: Environment, cfg: SandboxConfig, tests: list[str] = (), progress: Callable[[str], None] = lambda _: None) -> SuiteReport:
    """Build `env` and run `tests` in it (none: the suite, as pytest's own configuration finds it)."""
    start = time.monotonic()
    report = SuiteReport(stage="build", environment=describe(env))
    if env.recipe.runtime == "node" and not env.recipe.node_runs:  # said before anything is installed for nothing
        report.stage = "collect"
        report.problem = f"{env.about.get('runs', 'no test runs')}: SuperCoder cannot tell how its tests run (give `supercoder repair` a --test-cmd)"
        return report
    backend = backend_of(cfg)
    try:
        with backend.open(env, cfg, progress) as (sb, services_dir):
            report.stage, report.built = "collect", True
            if tests and env.recipe.runtime == "node":
                progress("a Node package's test runs are run whole: what --tests names is among what they report")
            progress(f"running {'the suite' if not tests or env.recipe.runtime == 'node' else f'{len(tests)} test(s)'}")
            result, results = run_tests(sb, env.recipe, list(tests), cfg, services_dir)
    except SandboxError as exc:
        report.problem = str(exc)
        report.duration_s = round(time.monotonic() - start, 1)
        return report
    finally:
        backend.release()
    run = TestRun(statuses=dict(results.statuses), failures=dict(results.failures), problem=results.problem)
    for status in run.statuses.values():
        report.counts[status] = report.counts.get(status, 0) + 1
    report.failing = run.failing
    if run.statuses and not results.problem:
        report.stage = "run"
        report.problem = environment_problem(run)
    else:
        tail = " ".join(result.output.strip().splitlines()[-3:])[-300:]
        report.problem = results.problem or f"no test was collected (exit {result.exit_code}): {tail}"
    report.duration_s = round(time.monotonic() - start, 1)
    return report

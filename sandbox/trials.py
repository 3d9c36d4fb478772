"""Trials: a plan's tests run in a sandbox of an Environment, with or without a candidate's diff.
Each backend says whether trials get a fresh sandbox (docker) or share one tree, reset between
them (local, whose install is slow)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Callable, Iterator

from sandbox.backends import Progress, backend_of
from sandbox.base import Sandbox, SandboxError
from sandbox.config import SandboxConfig
from sandbox.guard import apply_guarded
from sandbox.models import TestPlan, TestRun, TestStatus
from sandbox.recipes import Environment, EnvRecipe
from sandbox.runner import run_tests
from sandbox.services import with_services

COMMAND_TEST = "test-cmd"  # the id a user's test command gets: its exit status is its result

Trial = Callable[[str | None, TestPlan], TestRun]  # (diff or None, plan) -> what the tests did


def tail(text: str, chars: int) -> str:
    return text if len(text) <= chars else "[...]\n" + text[-chars:]


def run_plan(sb: Sandbox, plan: TestPlan, cfg: SandboxConfig, output_chars: int, recipe: EnvRecipe, services_dir: str) -> TestRun:
    """`recipe`: the environment's, whose services (living in `services_dir`) start before the
    tests, and whose runtime says how its tests run."""
    for path, text in plan.extra_files.items():
        sb.write_file(path, text)
    if plan.command is not None:
        result = sb.run(with_services(plan.command, recipe.services, services_dir))
        status: TestStatus = "passed" if result.ok else "failed"
        problem = f"the test command {result.cut_short}" if result.cut_short else None
        return TestRun(statuses={COMMAND_TEST: status}, problem=problem, output=tail(result.output, output_chars),
                       duration_s=result.duration_s)
    if not plan.tests:
        return TestRun(problem="no tests to run")
    result, results = run_tests(sb, recipe, plan.tests, cfg, services_dir)
    return TestRun(statuses=dict(results.statuses), failures=dict(results.failures), problem=results.problem,
                   output=tail(result.output, output_chars), duration_s=result.duration_s)


@contextmanager
def trials(env: Environment, cfg: SandboxConfig, output_chars: int, progress: Progress = lambda _: None) -> Iterator[Trial]:
    """`trial(diff, plan)`: the plan's tests with `diff` applied (None: the original tree); the
    end of the output kept is `output_chars` long."""
    backend = backend_of(cfg)

    def run(sb: Sandbox, services_dir: str, diff: str | None, plan: TestPlan) -> TestRun:
        try:
            refused = apply_guarded(sb, diff) if diff else None
        except SandboxError as exc:
            return TestRun(problem=str(exc))
        if refused:  # never tested: it would judge itself
            return TestRun(problem=f"refused: {refused}")
        return run_plan(sb, plan, cfg, output_chars, env.recipe, services_dir)

    try:
        if backend.fresh_per_trial:
            def fresh(diff: str | None, plan: TestPlan) -> TestRun:
                with backend.open(env, cfg, progress) as (sb, services_dir):
                    return run(sb, services_dir, diff, plan)

            yield fresh
            return
        with backend.open(env, cfg, progress) as (shared, services_dir):
            def reset(diff: str | None, plan: TestPlan) -> TestRun:
                shared.reset()
                return run(shared, services_dir, diff, plan)

            yield reset
    finally:
        backend.release()

"""The repair loop: localize -> choose and run the tests on the original tree and sort out
what a verdict rests on (agent.targets: named tests, else a reproduction test) -> generate candidates at several temperatures -> test each
in a sandbox -> feed the best failure back, for a few rounds -> pick.

Every stage is a function with typed input and output, and what it produced is written to the
run record as JSON. `agent.repair.run` is how a front-end calls it."""

from __future__ import annotations

import subprocess
from typing import Callable, Literal

from pydantic import BaseModel, Field

from agent.llm import LLM, OpenAIEmbedder
from agent.records import RunRecord
from agent.reproduction import reproduction_plan
from agent.settings import Settings
from agent.targets import Baseline, below, broken_conftests, id_file, mentioned_tests, one_test, sort_out
from agent.workspace import Workspace
from configs.rendering import render
from editing.models import Candidate
from localization.models import Localization
from sandbox.grading import judge
from sandbox.models import TestPlan, TestRun, Verdict
from sandbox.recipes import Environment, EnvRecipe
from sandbox.trials import Trial, trials

Progress = Callable[[str], None]


class RepairRequest(BaseModel):
    issue: str
    tests: list[str] = Field(default_factory=list)  # pytest ids or files the user names
    test_cmd: str | None = None  # or a shell command whose exit status is the verdict


class Tried(BaseModel):
    round: int
    candidate: Candidate
    run: TestRun
    verdict: Verdict


class RepairOutcome(BaseModel):
    status: Literal["validated", "unvalidated", "failed"]
    patch: str = ""
    reason: str = ""
    stop: Literal["limit", "refused", "unavailable"] | None = None  # the model stopped answering, and why
    failure: Literal["sandbox", "model"] | None = None  # what ended the run before it could finish
    run_dir: str = ""
    located: list[str] = Field(default_factory=list)  # path::unit the candidates could change
    cost_usd: float | None = 0.0
    calls: int = 0  # model calls the endpoint answered
    # target and regression: their statuses with the patch; known_failing and flaky: left out of the verdict
    tests: dict[str, dict[str, str]] = Field(default_factory=lambda: {"target": {}, "regression": {}, "known_failing": {}, "flaky": {}})
    targets_from: Literal["named", "command", "reproduction"] | None = None  # None: nothing reproduced the issue
    environment: str | None = None  # the original tree's tests could not be imported: why


# -- stages -------------------------------------------------------------------------------


def locate(ws: Workspace, issue: str, settings: Settings, llm: LLM | None) -> Localization:
    from localization.localize import Localizer

    remote = lambda: OpenAIEmbedder(settings.embeddings, settings.llm)  # noqa: E731  (embeddings.provider=openai)
    return Localizer.open(ws.path, settings, remote=remote).localize(issue, llm)


def tracked(ws: Workspace) -> list[str]:
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ws.path, capture_output=True).stdout.decode("utf-8", "replace")
    return [p for p in files.split("\0") if p]


def named_tests(req: RepairRequest, files: list[str]) -> list[str]:
    """The tests the user names: on the command line, or in the issue itself."""
    return list(dict.fromkeys([*req.tests, *mentioned_tests(req.issue, files)]))


def plan_tests(ws: Workspace, req: RepairRequest, loc: Localization, settings: Settings, files: list[str] | None = None) -> TestPlan:
    """`files`: the repository's tracked files, if already listed."""
    if req.test_cmd:
        return TestPlan(command=req.test_cmd)
    files = tracked(ws) if files is None else files
    tests = named_tests(req, files)
    if settings.repair.related_tests:
        from sandbox.selection import related_tests

        located = list(dict.fromkeys([u.path for u in loc.units] + [f.path for f in loc.files]))
        tests += related_tests(files, located, lambda p: (ws.path / p).read_text(encoding="utf-8"), settings.repair.related_tests_max)
    return TestPlan(tests=list(dict.fromkeys(tests)))


def establish(req: RepairRequest, ws: Workspace, loc: Localization, settings: Settings, llm: LLM, trial: Trial,
              progress: Progress, recipe: EnvRecipe | None = None) -> Baseline:
    """The original tree's tests, sorted into targets, known failing and flaky (agent.targets).
    `recipe`: the environment's, whose runtime says what a reproduction test is (None: Python's)."""
    files, left_out = tracked(ws), None
    plan = plan_tests(ws, req, loc, settings, files)
    progress(f"running {len(plan.tests) or 'the'} test(s) on the original tree")
    run = trial(None, plan)
    while broken := broken_conftests(run, files):  # one folder's conftest stops every file: run the others
        kept = [t for t in plan.tests if not below(t, broken)]
        if len(kept) == len(plan.tests) or not kept:
            break
        left_out = (f"left out {len(plan.tests) - len(kept)} test(s) below {', '.join(f + '/' for f in broken)}: "
                    f"its conftest.py cannot be imported")
        progress(left_out)
        plan = plan.model_copy(update={"tests": kept})
        run = trial(None, plan)

    def repro(plan: TestPlan, run: TestRun) -> tuple[TestPlan, TestRun, list[str]] | str | None:
        if not settings.repair.reproduction_test:
            return None
        progress("no named test fails: asking for a reproduction test")
        known = set(files)  # (a mocha title may end as a file name does)
        ran = list(dict.fromkeys(f for t in run.statuses if (f := id_file(t)) in known))  # where the runners found tests
        return reproduction_plan(req.issue, ws, loc, plan, settings, llm, trial, recipe, ran or files)

    def rerun(diff: str | None, plan: TestPlan) -> TestRun:
        progress(f"running {len(plan.tests)} failing test(s) again, to spot flakes")
        return trial(diff, plan)

    return sort_out(plan, run, named_tests(req, files), rerun if settings.repair.rerun_failures else None, repro, left_out,
                    settings.repair.offline_failure)


def confirm(tried: Tried, baseline: Baseline, trial: Trial, progress: Progress) -> list[str]:
    """A candidate that fixes every target but breaks some tests: those tests run again with it;
    the ones that pass now are flaky (returned)."""
    v = tried.verdict
    again = [t for t in v.regressions if one_test(t)]
    if not v.fixed or v.still_failing or not again:
        return []
    progress(f"running {len(again)} broken test(s) again, to spot flakes")
    rerun = trial(tried.candidate.diff, TestPlan(tests=again, extra_files=baseline.plan.extra_files))
    return [t for t in again if rerun.statuses.get(t) == "passed"]


def pick(tried: list[Tried]) -> Tried | None:
    """Validated first; then most target tests fixed, fewest regressions, tests that ran, the patch
    most samples agree on, fewest lint findings, the lowest temperature."""
    return min(tried, key=lambda t: (not t.verdict.validated, -len(t.verdict.fixed), len(t.verdict.regressions),
                                     bool(t.run.problem), -t.candidate.count, len(t.candidate.lint),
                                     min(t.candidate.temperatures or [0.0])),
               default=None)


def feedback(best: Tried, settings: Settings) -> str:
    v = best.verdict
    return render("repair_feedback.j2", diff=best.candidate.diff, fixed=v.fixed, still_failing=v.still_failing,
                  regressions=v.regressions, problem=best.run.problem or "",
                  output=best.run.output[-settings.repair.feedback_output_chars:])


# -- the loop -------------------------------------------------------------------------------


def repair(req: RepairRequest, ws: Workspace, settings: Settings, llm: LLM, record: RunRecord, progress: Progress,
           environment: Callable[[], Environment]) -> RepairOutcome:
    """`environment()` says where the workspace's tree is installed for its tests (asked once
    localization has found something to change)."""
    from editing.engine import make_editor
    from editing.generate import Generator, Target

    with record.stage("localize"):
        progress("localizing")
        loc = locate(ws, req.issue, settings, llm)
        record.write("localize", loc)
    targets = [Target(u.path, u.name) for u in loc.units]
    tried: list[Tried] = []
    reason, stop = "", None
    if not targets:
        return outcome(None, None, "localization found no unit to change", llm, record)
    env = environment()
    record.write("environment", {"name": env.name, "runtime": env.recipe.runtime, "python": env.recipe.python,
                                 "uploaded_prior_to": env.recipe.uploaded_prior_to, "about": env.about})
    with trials(env, settings.sandbox, settings.repair.feedback_output_chars, progress) as trial:
        with record.stage("baseline"):
            baseline = establish(req, ws, loc, settings, llm, trial, progress, env.recipe)
            record.write("baseline", baseline)
        generator = Generator(llm, make_editor(settings.editing), settings.editing, ws.path)
        notes = None
        # Without a target no feedback can tell a fix from a miss: one round.
        rounds = settings.repair.rounds if baseline.targets else 1
        for round_no in range(1, rounds + 1):
            with record.stage("generate"):
                progress(f"round {round_no}: generating candidates")
                generation = generator.generate(req.issue, targets, notes)
            with record.stage("test"):
                batch = generation.candidates[: settings.repair.candidates_per_round]
                for n, candidate in enumerate(batch, 1):
                    progress(f"round {round_no}: testing candidate {n}/{len(batch)}")
                    run = trial(candidate.diff, baseline.plan)
                    tried.append(Tried(round=round_no, candidate=candidate, run=run, verdict=judge(baseline.reference, run)))
                    if settings.repair.rerun_failures and (flaky := confirm(tried[-1], baseline, trial, progress)):
                        baseline.flaky += flaky
                        for t in tried:
                            t.verdict = judge(baseline.reference, t.run)
            record.write(f"round-{round_no}", {"generation": generation, "tried": [t for t in tried if t.round == round_no]})
            if not generation.candidates and generation.failures:
                reason = generation.failures[0].error
            fatal = [f for f in generation.failures if f.fatal]
            if fatal:  # limits or an endpoint that stopped answering: another round would fail the same way
                reason, stop = f"stopped: {fatal[0].error}", fatal[0].stop
                break
            best = pick(tried)
            if best is not None and best.verdict.validated:
                break
            notes = feedback(best, settings) if best is not None else None
    return outcome(pick(tried), baseline, reason, llm, record, stop, [f"{t.path}::{t.name}" for t in targets])


def outcome(best: Tried | None, baseline: Baseline | None, reason: str, llm: LLM, record: RunRecord,
            stop: str | None = None, located: list[str] | None = None) -> RepairOutcome:
    usage = llm.usage
    out = RepairOutcome(status="failed", run_dir=str(record.dir), cost_usd=usage.cost, calls=usage.calls, stop=stop,
                        located=located or [])
    if baseline is not None:
        out.targets_from, out.environment = baseline.source, baseline.environment
        out.tests["known_failing"] = {t: baseline.run.statuses.get(t, "failed") for t in baseline.known_failing}
        out.tests["flaky"] = {t: "flaky" for t in baseline.flaky}
    if best is None or baseline is None:
        out.reason = reason or "no candidate patch could be made"
    else:
        now, reference = best.run.statuses, baseline.reference
        out.patch = best.candidate.diff
        out.tests["target"] = {t: now.get(t, "failed") for t in reference.failing}
        out.tests["regression"] = {t: now.get(t, "failed") for t in reference.passing}
        if best.verdict.validated:
            out.status, out.reason = "validated", f"fixes {len(best.verdict.fixed)} failing test(s), breaks none"
        else:
            out.status = "unvalidated"
            if reason.startswith("stopped:"):
                out.reason = reason
            elif not reference.failing:
                out.reason = f"nothing reproduces the issue ({baseline.unreproduced or baseline.run.problem or 'no target'})"
                if baseline.environment:
                    out.reason += f"; the environment cannot run the tests: {baseline.environment}"
                out.reason += f"; the best candidate breaks {len(best.verdict.regressions)} test(s)" if best.verdict.regressions else ""
            elif best.verdict.regressions:
                out.reason = f"the best candidate breaks {len(best.verdict.regressions)} test(s)"
            else:
                shown = reference.failing[:3] + (["..."] if len(reference.failing) > 3 else [])
                out.reason = f"no candidate makes the failing test(s) pass ({', '.join(shown)})"
        record.write_text("patch.diff", out.patch)
    record.write("summary", {**out.model_dump(exclude={"patch"}), "usage": usage.__dict__})
    return out


def failed(record: RunRecord, llm: LLM, reason: str, stop: str | None = None, failure: str | None = None) -> RepairOutcome:
    """The outcome of a run that ended before a candidate was tried, recorded with why."""
    out = RepairOutcome(status="failed", reason=reason.splitlines()[0], run_dir=str(record.dir), cost_usd=llm.usage.cost,
                        calls=llm.usage.calls, stop=stop, failure=failure)
    record.write("summary", {**out.model_dump(exclude={"patch"}), "detail": reason, "usage": llm.usage.__dict__})
    return out

"""The repair loop: localize -> choose and run the tests on the original tree (with a
reproduction test when none fails) -> generate candidates at several temperatures -> test each
in a sandbox -> feed the best failure back, for a few rounds -> pick.

Every stage is a function with typed input and output, and what it produced is written to the
run record as JSON. `agent.repair.run` is how a front-end calls it."""

from __future__ import annotations

import re
import subprocess
from typing import Callable, Literal

from pydantic import BaseModel, Field

from agent.llm import LLM, OpenAIEmbedder
from agent.records import RunRecord
from agent.settings import Settings
from agent.workspace import Workspace
from configs.errors import LLMError
from configs.rendering import render
from editing.models import Candidate
from localization.models import Localization
from sandbox.grading import judge
from sandbox.models import TestPlan, TestRun, Verdict
from sandbox.recipes import Environment
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
    tests: dict[str, dict[str, str]] = Field(default_factory=lambda: {"target": {}, "regression": {}})


# -- stages -------------------------------------------------------------------------------


def locate(ws: Workspace, issue: str, settings: Settings, llm: LLM | None) -> Localization:
    from localization.localize import Localizer

    remote = lambda: OpenAIEmbedder(settings.embeddings, settings.llm)  # noqa: E731  (embeddings.provider=openai)
    return Localizer.open(ws.path, settings, remote=remote).localize(issue, llm)


def plan_tests(ws: Workspace, req: RepairRequest, loc: Localization, settings: Settings) -> TestPlan:
    if req.test_cmd:
        return TestPlan(command=req.test_cmd)
    tests = list(req.tests)
    if settings.repair.related_tests:
        from sandbox.selection import related_tests

        files = subprocess.run(["git", "ls-files", "-z"], cwd=ws.path, capture_output=True).stdout.decode("utf-8", "replace")
        located = list(dict.fromkeys([u.path for u in loc.units] + [f.path for f in loc.files]))
        tests += related_tests([p for p in files.split("\0") if p], located,
                               lambda p: (ws.path / p).read_text(encoding="utf-8"), settings.repair.related_tests_max)
    return TestPlan(tests=list(dict.fromkeys(tests)))


def reproduction_plan(issue: str, ws: Workspace, loc: Localization, plan: TestPlan, settings: Settings, llm: LLM,
                      trial: Trial) -> tuple[TestPlan, TestRun] | None:
    """A test from the model that fails on the original tree, added to the plan; None if the
    model's test does not fail there (or cannot be had)."""
    from editing.generate import Target, build_context

    path = settings.repair.repro_path
    units, _ = build_context(ws.path, [Target(u.path, u.name) for u in loc.units], settings.editing)
    prompt = render("repair_repro.j2", issue=issue, units=units, path=path)
    try:
        answer = llm.complete([{"role": "user", "content": prompt}], temperature=settings.repair.repro_temperature)[0]
    except LLMError:
        return None
    code = python_block(answer)
    if code is None:
        return None
    with_repro = TestPlan(tests=[*plan.tests, path], extra_files={**plan.extra_files, path: code})
    run = trial(None, with_repro)
    if not any(t.split("::")[0] == path for t in run.failing):
        return None
    return with_repro, run


def python_block(answer: str) -> str | None:
    """The first fenced Python block of an answer (or the whole answer, if it is bare code)."""
    fenced = re.search(r"```(?:python|py)?[ \t]*\n(.*?)```", answer, re.S)
    code = fenced.group(1) if fenced else answer
    try:
        compile(code, "<reproduction test>", "exec")
    except (SyntaxError, ValueError):
        return None
    return code if "def test" in code else None


def pick(tried: list[Tried]) -> Tried | None:
    """Validated first; then most target tests fixed, fewest regressions, tests that ran, the patch
    most samples agree on, the lowest temperature."""
    return min(tried, key=lambda t: (not t.verdict.validated, -len(t.verdict.fixed), len(t.verdict.regressions),
                                     bool(t.run.problem), -t.candidate.count, min(t.candidate.temperatures or [0.0])),
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
        return outcome(None, TestRun(), "localization found no unit to change", llm, record)
    with trials(environment(), settings.sandbox, settings.repair.feedback_output_chars, progress) as trial:
        with record.stage("baseline"):
            plan = plan_tests(ws, req, loc, settings)
            progress(f"running {len(plan.tests) or 'the'} test(s) on the original tree")
            baseline = trial(None, plan)
            if not baseline.failing and settings.repair.reproduction_test and not plan.command:
                progress("no chosen test fails: asking for a reproduction test")
                found = reproduction_plan(req.issue, ws, loc, plan, settings, llm, trial)
                if found is not None:
                    plan, baseline = found
            record.write("baseline", {"plan": plan, "run": baseline})
        generator = Generator(llm, make_editor(settings.editing), settings.editing, ws.path)
        notes = None
        # Without a test that fails on the original tree no feedback can tell a fix from a miss: one round.
        rounds = settings.repair.rounds if baseline.failing else 1
        for round_no in range(1, rounds + 1):
            with record.stage("generate"):
                progress(f"round {round_no}: generating candidates")
                generation = generator.generate(req.issue, targets, notes)
            with record.stage("test"):
                batch = generation.candidates[: settings.repair.candidates_per_round]
                for n, candidate in enumerate(batch, 1):
                    progress(f"round {round_no}: testing candidate {n}/{len(batch)}")
                    run = trial(candidate.diff, plan)
                    tried.append(Tried(round=round_no, candidate=candidate, run=run, verdict=judge(baseline, run)))
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


def outcome(best: Tried | None, baseline: TestRun, reason: str, llm: LLM, record: RunRecord,
            stop: str | None = None, located: list[str] | None = None) -> RepairOutcome:
    usage = llm.usage
    out = RepairOutcome(status="failed", run_dir=str(record.dir), cost_usd=usage.cost, calls=usage.calls, stop=stop,
                        located=located or [])
    if best is None:
        out.reason = reason or "no candidate patch could be made"
    else:
        now = best.run.statuses
        out.patch = best.candidate.diff
        out.tests = {"target": {t: now.get(t, "failed") for t in baseline.failing},
                     "regression": {t: now.get(t, "failed") for t in baseline.passing}}
        if best.verdict.validated:
            out.status, out.reason = "validated", f"fixes {len(best.verdict.fixed)} failing test(s), breaks none"
        else:
            out.status = "unvalidated"
            if reason.startswith("stopped:"):
                out.reason = reason
            elif not baseline.failing:
                out.reason = "no test fails on the original tree, so none can validate a patch" + (
                    f" ({baseline.problem})" if baseline.problem else "")
            elif best.verdict.regressions:
                out.reason = f"the best candidate breaks {len(best.verdict.regressions)} test(s)"
            else:
                shown = baseline.failing[:3] + (["..."] if len(baseline.failing) > 3 else [])
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

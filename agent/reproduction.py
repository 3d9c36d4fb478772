"""The reproduction test: when no test the user names fails on the original tree, the model writes
one from the issue, in the package's own test language and runner, and it is kept only when it
fails there because of the code under repair (agent.targets.reproduces). A Python package's is a
pytest file at the root; a Node package's is a file of its runner beside its own tests, named as
they are, so that the runner its scripts start finds it (agent.repro_paths): known by its file
(jest, vitest), or by the one describe block it must hold (mocha, whose results name no file)."""

from __future__ import annotations

import re

from agent.llm import LLM
from agent.repro_paths import node_repro_spot
from agent.settings import Settings
from agent.targets import reproduces
from agent.workspace import Workspace
from configs.errors import LLMError
from configs.rendering import render
from localization.languages import parse_file
from localization.models import Localization
from sandbox.models import TestPlan, TestRun
from sandbox.recipes import EnvRecipe
from sandbox.trials import Trial


def python_block(answer: str) -> str | None:
    """The first fenced Python block of an answer (or the whole answer, if it is bare code)."""
    fenced = re.search(r"```(?:python|py)?[ \t]*\n(.*?)```", answer, re.S)
    code = fenced.group(1) if fenced else answer
    try:
        compile(code, "<reproduction test>", "exec")
    except (SyntaxError, ValueError):
        return None
    return code if "def test" in code else None


def script_block(answer: str, path: str, suite: str = "", runner: str = "mocha") -> str | None:
    """The first fenced JavaScript/TypeScript block of an answer (or the whole answer), when it
    parses as `path`'s language and declares a test; with a `suite`, mocha's tests inside
    `describe(suite, ...)`, tape's titled `suite ...`."""
    fenced = re.search(r"```(?:javascript|typescript|js|ts|jsx|tsx|mjs|cjs)?[ \t]*\n(.*?)```", answer, re.S)
    code = fenced.group(1) if fenced else answer
    if parse_file(path, code.encode()).has_errors or (runner != "tape" and not re.search(r"\b(?:test|it)\s*\(", code)):
        return None
    if suite and not re.search(_suite_pattern(suite, runner), code):
        return None
    if suite and re.search(r"\.only\s*\(", code):  # `.only` holds for the whole run: the package's own tests would not run
        return None
    return code


def _suite_pattern(suite: str, runner: str) -> str:
    if runner == "tape":  # `test('supercoder repro adds', ...)`, under whatever name tape is imported: its results are its titles
        return r"\b[\w$]+\s*\(\s*(['\"`])" + re.escape(suite + " ")
    return r"\bdescribe\s*\(\s*(['\"`])" + re.escape(suite) + r"\1"


def _suite_said(suite: str, runner: str) -> str:
    return f" with titles that start with '{suite} '" if runner == "tape" else f" inside describe('{suite}', ...)"


def reproduction_plan(issue: str, ws: Workspace, loc: Localization, plan: TestPlan, settings: Settings, llm: LLM,
                      trial: Trial, recipe: EnvRecipe | None = None, files: list[str] | None = None
                      ) -> tuple[TestPlan, TestRun, list[str]] | str:
    """A test from the model that fails on the original tree because of the code under repair,
    added to the plan: (the plan, its run, the test's ids); or why there is none. `recipe`: the
    environment's (None: Python's); `files`: the test files its runners ran on the original tree
    (a Node package's goes beside them), else its tracked files."""
    from editing.generate import Target, build_context

    suite, runner = "", ""
    units, _ = build_context(ws.path, [Target(u.path, u.name) for u in loc.units], settings.editing)
    if recipe is None or recipe.runtime == "python":
        path = settings.repair.repro_path
        prompt = render("repair_repro.j2", issue=issue, units=units, path=path)
        extract = python_block
    else:
        spot = node_repro_spot(recipe, files or [], settings.repair.repro_path, settings.repair.repro_suite, lambda p: _read(ws, p))
        if isinstance(spot, str):
            return spot
        path, suite, runner = spot.path, spot.suite, spot.runner
        sibling, example = _example(ws, spot.siblings, settings.repair.repro_example_chars)
        prompt = render("repair_repro_node.j2", issue=issue, units=units, path=path, runner=spot.runner, sibling=sibling,
                        example=example, suite=suite)
        extract = lambda answer: script_block(answer, path, suite, runner)  # noqa: E731
    try:
        answer = llm.complete([{"role": "user", "content": prompt}], temperature=settings.repair.repro_temperature)[0]
    except LLMError as exc:
        return f"the model did not write one ({exc})"
    code = extract(answer)
    if code is None:
        return "the model's answer holds no test that compiles" + (f"{_suite_said(suite, runner)}, without .only" if suite else "")
    with_repro = TestPlan(tests=[*plan.tests, path], extra_files={**plan.extra_files, path: code})
    run = trial(None, with_repro)
    kept, why = reproduces(run, path, settings.repair.repro_rejected, settings.repair.offline_failure, suite)
    return (with_repro, run, kept) if kept else why


def _read(ws: Workspace, path: str) -> str | None:
    try:
        return (ws.path / path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


_DECLARES_TEST = re.compile(r"\b(?:it|test)\s*\(")


def _example(ws: Workspace, siblings: list[str], chars: int) -> tuple[str, str]:
    """The first of the package's tests beside the reproduction test that declares a test (a
    folder may hold helpers too): its path and the start of its text; ("", "") if none does."""
    for sibling in siblings:
        text = _read(ws, sibling)
        if text is not None and _DECLARES_TEST.search(text):
            return sibling, text[:chars]
    return "", ""

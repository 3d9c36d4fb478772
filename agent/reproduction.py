"""The reproduction test: when no test the user names fails on the original tree, the model writes
one from the issue, in the package's own test language and runner, and it is kept only when it
fails there because of the code under repair (agent.targets.reproduces). A Python package's is a
pytest file at the root; a Node package's is a file of its runner beside its own tests, named as
they are, so that the runner its scripts start finds it (and, for that, only runners whose
results name each test's file: jest and vitest)."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import PurePosixPath

from agent.llm import LLM
from agent.settings import Settings
from agent.targets import reproduces
from agent.workspace import Workspace
from configs.errors import LLMError
from configs.rendering import render
from localization.languages import parse_file
from localization.models import Localization
from sandbox.models import TestPlan, TestRun
from sandbox.recipes import EnvRecipe
from sandbox.selection import SCRIPT_TEST
from sandbox.trials import Trial

FILE_RUNNERS = ("jest", "vitest")  # their results name each test's file: a kept test is known by it


def python_block(answer: str) -> str | None:
    """The first fenced Python block of an answer (or the whole answer, if it is bare code)."""
    fenced = re.search(r"```(?:python|py)?[ \t]*\n(.*?)```", answer, re.S)
    code = fenced.group(1) if fenced else answer
    try:
        compile(code, "<reproduction test>", "exec")
    except (SyntaxError, ValueError):
        return None
    return code if "def test" in code else None


def script_block(answer: str, path: str) -> str | None:
    """The first fenced JavaScript/TypeScript block of an answer (or the whole answer), when it
    parses as `path`'s language and declares a test."""
    fenced = re.search(r"```(?:javascript|typescript|js|ts|jsx|tsx|mjs|cjs)?[ \t]*\n(.*?)```", answer, re.S)
    code = fenced.group(1) if fenced else answer
    if parse_file(path, code.encode()).has_errors or not re.search(r"\b(?:test|it)\s*\(", code):
        return None
    return code


def _test_suffix(path: str) -> str:
    """`.test.js` of `a.test.js` (jest's naming, sandbox.selection.SCRIPT_TEST); "" for any other file."""
    found = SCRIPT_TEST.search(PurePosixPath(path).name)
    return found.group(0) if found and found.group(1) else ""


def node_repro_path(recipe: EnvRecipe, files: list[str], repro_path: str) -> tuple[str, str, str] | str:
    """(path, runner, a sibling test file) for a Node package's reproduction test: in the folder
    holding most of its `.test`/`.spec` files, with their suffix; or why there is none."""
    runners = sorted({run.runner for run in recipe.node_runs})
    if not runners or any(r not in FILE_RUNNERS for r in runners):
        return (f"a reproduction test is known by its file, and {', '.join(runners) or 'no runner'}'s results "
                f"do not name one ({' and '.join(FILE_RUNNERS)} do)")
    suffixes = {f: _test_suffix(f) for f in files if "node_modules" not in f}
    tests = [f for f, suffix in suffixes.items() if suffix]
    if not tests:
        return "the package has no .test or .spec file to put a reproduction test beside"
    folder = Counter(str(PurePosixPath(f).parent) for f in tests).most_common(1)[0][0]
    siblings = [f for f in tests if str(PurePosixPath(f).parent) == folder]
    suffix = Counter(suffixes[f] for f in siblings).most_common(1)[0][0]
    name = PurePosixPath(repro_path).stem.removeprefix("test_") + suffix
    return str(PurePosixPath(folder) / name), runners[0], sorted(siblings)[0]


def reproduction_plan(issue: str, ws: Workspace, loc: Localization, plan: TestPlan, settings: Settings, llm: LLM,
                      trial: Trial, recipe: EnvRecipe | None = None, files: list[str] | None = None
                      ) -> tuple[TestPlan, TestRun, list[str]] | str:
    """A test from the model that fails on the original tree because of the code under repair,
    added to the plan: (the plan, its run, the test's ids); or why there is none. `recipe`: the
    environment's (None: Python's); `files`: the test files its runners ran on the original tree
    (a Node package's goes beside them), else its tracked files."""
    from editing.generate import Target, build_context

    units, _ = build_context(ws.path, [Target(u.path, u.name) for u in loc.units], settings.editing)
    if recipe is None or recipe.runtime == "python":
        path = settings.repair.repro_path
        prompt = render("repair_repro.j2", issue=issue, units=units, path=path)
        extract = python_block
    else:
        found = node_repro_path(recipe, files or [], settings.repair.repro_path)
        if isinstance(found, str):
            return found
        path, runner, sibling = found
        try:
            example = (ws.path / sibling).read_text(encoding="utf-8", errors="replace")[: settings.repair.repro_example_chars]
        except OSError:
            example = ""
        prompt = render("repair_repro_node.j2", issue=issue, units=units, path=path, runner=runner, sibling=sibling, example=example)
        extract = lambda answer: script_block(answer, path)  # noqa: E731
    try:
        answer = llm.complete([{"role": "user", "content": prompt}], temperature=settings.repair.repro_temperature)[0]
    except LLMError as exc:
        return f"the model did not write one ({exc})"
    code = extract(answer)
    if code is None:
        return "the model's answer holds no test that compiles"
    with_repro = TestPlan(tests=[*plan.tests, path], extra_files={**plan.extra_files, path: code})
    run = trial(None, with_repro)
    kept, why = reproduces(run, path, settings.repair.repro_rejected, settings.repair.offline_failure)
    return (with_repro, run, kept) if kept else why

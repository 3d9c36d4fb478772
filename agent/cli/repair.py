"""`supercoder repair` and `supercoder show`: one command from a repository and an issue to a
tested patch, and a readable summary of a run afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli.common import (
    BackendOpt,
    ConfigOpt,
    IssueFileOpt,
    IssueOpt,
    JsonOpt,
    SetOpt,
    commands,
    err,
    notice,
    read_issue,
    settings_of,
    warn,
)
from agent.workspace import git_failure
from configs.errors import UserError

app = commands()
RunsOpt = Annotated[Optional[Path], typer.Option("--runs-dir", help="Folder of run records (default: repair.runs_dir).")]


class _Progress:
    """A spinner naming the stage on a terminal; plain lines otherwise."""

    def __init__(self, console) -> None:
        self.console = console
        self.status = console.status("starting") if console.is_terminal else None

    def __enter__(self):
        if self.status is not None:
            self.status.start()
        return self

    def __exit__(self, *exc) -> None:
        if self.status is not None:
            self.status.stop()

    def __call__(self, message: str) -> None:
        if self.status is not None:
            self.status.update(message)
        else:
            self.console.print(f"[repair] {message}", markup=False)


def _touched_files(patch: str) -> list[str]:
    from unidiff import PatchSet

    return [f.path for f in PatchSet(patch)]


def _apply(repo: Path, patch: str) -> str:
    """Apply `patch` to the user's tree if none of the files it touches has uncommitted changes."""
    files = _touched_files(patch)
    dirty = subprocess.run(["git", "--literal-pathspecs", "status", "--porcelain", "--", *files], cwd=repo, capture_output=True, text=True)
    if dirty.returncode != 0:
        return "not applied: cannot tell whether the files it touches have uncommitted changes"
    if dirty.stdout.strip():
        return f"not applied: uncommitted changes in {', '.join(line[3:] for line in dirty.stdout.splitlines())}"
    done = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], cwd=repo, input=patch, capture_output=True, text=True)
    if done.returncode != 0:
        return f"not applied: {git_failure(done.stderr, 'git apply failed')}"
    return f"applied to {repo}: {', '.join(files)}"


@app.command("repair")
def repair_cmd(
    repo: Annotated[Path, typer.Option("--repo", help="The repository (changed only with --apply).")],
    issue: IssueOpt = None,
    issue_file: IssueFileOpt = None,
    test_cmd: Annotated[Optional[str], typer.Option("--test-cmd", help="Shell command whose exit status judges a patch.")] = None,
    tests: Annotated[Optional[list[str]], typer.Option("--tests", help="Pytest id or file to run (repeatable).")] = None,
    backend: BackendOpt = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Model name (llm.model).")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint (llm.base_url).")] = None,
    max_cost: Annotated[Optional[float], typer.Option("--max-cost", help="Stop model calls past this many USD.")] = None,
    apply: Annotated[bool, typer.Option("--apply", help="Apply a validated patch to --repo.")] = False,
    output: Annotated[Optional[Path], typer.Option("--output", help="Write the patch here.")] = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Localize, edit and test until a patch fixes the issue; print it (exit 0 only when validated)."""
    settings = settings_of(config, set_, {"sandbox.backend": backend, "llm.model": model, "llm.base_url": base_url,
                                          "llm.max_cost_usd": max_cost})
    from localization.localize import clean_issue

    text = read_issue(issue, issue_file)
    clean_issue(text, settings.localization.issue_max_chars)  # an empty issue is told before anything else
    if test_cmd and tests:
        raise UserError("give --test-cmd or --tests, not both")
    from agent.workspace import check_repo

    repo = check_repo(repo)
    if not settings.llm.configured:
        raise UserError("no model configured: pass --model NAME (with --base-url URL for a local endpoint, "
                        "OPENAI_API_KEY for a hosted one) or set llm.model")
    if output is not None and (output.is_dir() or not output.parent.is_dir()):
        raise UserError(f"--output: cannot write a file at {output}")
    from agent.pipeline import RepairRequest
    from agent.repair import LocalRepository, run

    with _Progress(err) as progress:
        result = run(RepairRequest(issue=text, tests=list(tests or []), test_cmd=test_cmd), LocalRepository(repo), settings,
                     progress=progress, warn=warn, about={"repo": str(repo)}, preflight=settings.repair.preflight)
    if output is not None and result.patch:
        output.write_text(result.patch, encoding="utf-8")
    applied = None
    if apply:
        applied = _apply(repo, result.patch) if result.status == "validated" else "not applied: the patch is not validated"
        notice(applied)
    if as_json:
        print(json.dumps({**result.model_dump(), "applied": applied}))
    else:
        notice(f"{result.status}: {result.reason}  (run {result.run_dir}, cost "
               f"{'unknown' if result.cost_usd is None else f'${result.cost_usd:.4f}'})")
        sys.stdout.write(result.patch)
    # --apply that was refused did not do what was asked, even for a validated patch.
    raise typer.Exit(0 if result.status == "validated" and not (applied or "").startswith("not applied") else 1)


@app.command("show")
def show_cmd(
    run: Annotated[str, typer.Argument(help="Run folder, run id (or its prefix), or 'last'.")] = "last",
    runs_dir: RunsOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the run's summary as JSON.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Summarise a repair run: verdict, cost, timings, located units, candidates, patch."""
    from agent.records import default_runs_dir, find_run
    from configs.files import read_json

    settings = settings_of(config, set_)
    folder = find_run(run, runs_dir or settings.repair.runs_dir or default_runs_dir())
    summary = read_json(folder / "summary.json")
    if summary is None:
        raise UserError(f"{folder} holds no readable summary.json (a run still going, or killed)")
    if as_json:
        print(json.dumps(summary))
        return
    lines = [f"run      {folder}", f"status   {summary.get('status')}: {summary.get('reason')}"]
    usage = summary.get("usage") or {}
    cost = summary.get("cost_usd")
    lines.append(f"model    {usage.get('calls', 0)} call(s), {usage.get('cached_calls', 0)} cached, "
                 f"{usage.get('prompt_tokens', 0)}+{usage.get('completion_tokens', 0)} tokens, "
                 f"cost {'unknown' if cost is None else f'${cost:.4f}'}")
    timings = read_json(folder / "timings.json") or {}
    lines.append("time     " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
    located = (read_json(folder / "localize.json") or {}).get("units", [])
    lines.append("located  " + (", ".join(f"{u['path']}::{u['name']}" for u in located[:8]) or "nothing"))
    for round_file in sorted(folder.glob("round-*.json"), key=lambda p: int(p.stem.split("-")[1])):
        data = read_json(round_file) or {}
        for n, t in enumerate(data.get("tried", []), 1):
            v = t.get("verdict", {})
            c = t.get("candidate", {})
            lines.append(f"{round_file.stem}  candidate {n}: x{c.get('count', 1)} at {c.get('temperatures')}; "
                         f"fixed {len(v.get('fixed', []))}, still failing {len(v.get('still_failing', []))}, "
                         f"regressions {len(v.get('regressions', []))}")
    tests = summary.get("tests") or {}
    for kind in ("target", "regression"):
        if tests.get(kind):
            lines.append(f"{kind:8} " + ", ".join(f"{t} {s}" for t, s in list(tests[kind].items())[:10]))
    for kind, label in (("known_failing", "known failing (left out)"), ("flaky", "flaky (left out)")):
        if tests.get(kind):
            lines.append(f"{label}: " + ", ".join(list(tests[kind])[:10]))
    if summary.get("environment"):
        lines.append(f"env      {summary['environment']}")
    patch = folder / "patch.diff"
    lines.append(f"patch    {patch if patch.exists() else 'none'}")
    print("\n".join(lines))

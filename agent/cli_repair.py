"""`supercoder repair` and `supercoder show`: one command from a repository and an issue to a
tested patch, and a readable summary of a run afterwards."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli_options import ConfigOpt, SetOpt, with_flags
from agent.errors import UserError

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
        from agent.workspace import git_failure

        return f"not applied: {git_failure(done.stderr, 'git apply failed')}"
    return f"applied to {repo}: {', '.join(files)}"


def register(app: typer.Typer, settings_of, read_issue, notice, err) -> None:
    @app.command("repair")
    def repair_cmd(
        repo: Annotated[Path, typer.Option("--repo", help="The repository (changed only with --apply).")],
        issue: Annotated[Optional[str], typer.Option("--issue", help="The issue text.")] = None,
        issue_file: Annotated[Optional[Path], typer.Option("--issue-file", help="File holding the issue ('-' for stdin).")] = None,
        test_cmd: Annotated[Optional[str], typer.Option("--test-cmd", help="Shell command whose exit status judges a patch.")] = None,
        tests: Annotated[Optional[list[str]], typer.Option("--tests", help="Pytest id or file to run (repeatable).")] = None,
        backend: Annotated[Optional[str], typer.Option("--backend", help="docker or local (default: sandbox.backend).")] = None,
        model: Annotated[Optional[str], typer.Option("--model", help="Model name (llm.model).")] = None,
        base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint (llm.base_url).")] = None,
        max_cost: Annotated[Optional[float], typer.Option("--max-cost", help="Stop model calls past this many USD.")] = None,
        apply: Annotated[bool, typer.Option("--apply", help="Apply a validated patch to --repo.")] = False,
        output: Annotated[Optional[Path], typer.Option("--output", help="Write the patch here.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
        config: ConfigOpt = None,
        set_: SetOpt = None,
    ) -> None:
        """Localize, edit and test until a patch fixes the issue; print it (exit 0 only when validated)."""
        settings = settings_of(config, with_flags(set_, {"sandbox.backend": backend, "llm.model": model,
                                                         "llm.base_url": base_url, "llm.max_cost_usd": max_cost}))
        from localization.localize import clean_issue

        text = clean_issue(read_issue(issue, issue_file), settings.localization.issue_max_chars)
        if test_cmd and tests:
            raise UserError("give --test-cmd or --tests, not both")
        from agent.workspace import check_repo

        check_repo(repo)
        if not settings.llm.configured:
            raise UserError("no model configured: pass --model NAME (with --base-url URL for a local endpoint, "
                            "OPENAI_API_KEY for a hosted one) or set llm.model")
        from agent.llm import LLMError, OpenAIClient
        from agent.pipeline import RepairRequest, failed, repair
        from agent.records import RunRecord, default_runs_dir
        from agent.workspace import make_workspace

        if output is not None and (output.is_dir() or not output.parent.is_dir()):
            raise UserError(f"--output: cannot write a file at {output}")
        record = RunRecord(settings.repair.runs_dir or default_runs_dir(), repo=repo)
        llm = OpenAIClient(settings.llm, on_call=record.call, warn=lambda m: notice(f"warning: {m}"))
        request = RepairRequest(repo=repo.resolve(), issue=text, tests=list(tests or []), test_cmd=test_cmd)
        record.write("config", settings.public_dump())
        record.write("request", request)
        from sandbox.base import SandboxError

        # Whatever ends the run, its record gets a summary saying why.
        try:
            if settings.repair.preflight:
                try:
                    llm.preflight()
                except LLMError as exc:
                    raise UserError(str(exc)) from None
            with _Progress(err) as progress, tempfile.TemporaryDirectory(prefix="supercoder-workspace-") as scratch:
                progress("copying the repository")
                ws = make_workspace(repo, Path(scratch) / "repo")
                for line in ws.skipped:
                    notice(f"warning: not copied: {line}")
                try:
                    result = repair(request, ws, settings, llm, record, progress)
                except SandboxError as exc:
                    result = failed(record, llm, f"sandbox: {exc}")
                except LLMError as exc:
                    result = failed(record, llm, f"model: {exc}")
        except UserError as exc:
            failed(record, llm, str(exc))
            raise
        except KeyboardInterrupt:
            failed(record, llm, "interrupted")
            raise
        except Exception as exc:
            failed(record, llm, f"unexpected {type(exc).__name__}: {exc}")
            raise
        if output is not None and result.patch:
            output.write_text(result.patch, encoding="utf-8")
        applied = None
        if apply:
            applied = _apply(repo.resolve(), result.patch) if result.status == "validated" else "not applied: the patch is not validated"
            notice(applied)
        if as_json:
            print(json.dumps({**result.model_dump(), "applied": applied}))
        else:
            notice(f"{result.status}: {result.reason}  (run {result.run_dir}, cost "
                   f"{'unknown' if result.cost_usd is None else f'${result.cost_usd:.4f}'})")
            sys.stdout.write(result.patch)
        raise typer.Exit(0 if result.status == "validated" else 1)

    @app.command("show")
    def show_cmd(
        run: Annotated[str, typer.Argument(help="Run folder, run id (or its prefix), or 'last'.")] = "last",
        runs_dir: RunsOpt = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print the run's summary as JSON.")] = False,
        config: ConfigOpt = None,
        set_: SetOpt = None,
    ) -> None:
        """Summarise a repair run: verdict, cost, timings, located units, candidates, patch."""
        from agent.records import default_runs_dir, find_run, read_json

        settings = settings_of(config, set_ or [])
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
        patch = folder / "patch.diff"
        lines.append(f"patch    {patch if patch.exists() else 'none'}")
        print("\n".join(lines))

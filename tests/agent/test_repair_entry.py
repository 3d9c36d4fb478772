"""agent.repair.run, the one repair entry: the CLI, the batch solver and the bot all go through it,
so each caps the issue the same way and maps a failure to an outcome the same way."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from fakes.bot_env import issue_event, make_remote
from fakes.github_server import FakeGitHub
from fakes.swe_dataset import answer, make_dataset, settings_args

from agent import cli, repair
from agent.batch.dataset import solver_view
from agent.batch.solve import solve
from agent.pipeline import RepairRequest
from agent.settings import load_settings
from configs.errors import LLMError, UserError
from localization.localize import clean_issue
from sandbox.base import SandboxError

CAP = 80
TAIL = "ZZTAILMARKER"  # past the cap: no prompt may hold it
TOKEN = "ghp_entry0123456789abcdefghijklmn"


def long_issue(head: str) -> str:
    return f"  {head} " + "Here is more of the same story. " * 10 + TAIL + "\n"


def generation_issues(server) -> list[str]:
    """The issue as each code-generation prompt showed it."""
    prompts = [r.messages[-1]["content"] for r in server.chat_requests()]
    return [re.search(r"## Issue\n(.*?)\n\n## Files around", p, re.S).group(1) for p in prompts if p.startswith("You are fixing")]


def assert_capped(server, full: str) -> None:
    shown = generation_issues(server)
    assert shown and all(text == clean_issue(full, CAP) for text in shown), shown
    assert not any(TAIL in r.messages[-1]["content"] for r in server.chat_requests())


def sets(venvs: Path, server, tmp_path: Path) -> list[str]:
    return [*settings_args(venvs, server), "--set", f"localization.issue_max_chars={CAP}", "--set", f"repair.runs_dir={tmp_path / 'runs'}"]


def run_cli(capsys, args: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    out, err = capsys.readouterr()
    return (0 if exc.value.code is None else exc.value.code), out, err


def test_the_cli_caps_the_issue(fake_openai, tmp_path, venvs, capsys):
    fake_openai.responder = answer
    _, cache, _ = make_dataset(tmp_path)
    full = long_issue("add() subtracts: add(1, 2) gives -1 instead of 3 (tests/test_calc.py::test_add).")
    code, out, err = run_cli(capsys, ["repair", "--repo", str(cache / "acme__calc"), "--issue", full, "--json",
                                      *sets(venvs, fake_openai, tmp_path)])
    assert code == 0 and json.loads(out)["status"] == "validated", err
    assert_capped(fake_openai, full)


def test_the_batch_solver_caps_the_issue_as_the_cli_does(fake_openai, tmp_path, venvs, capsys):
    fake_openai.responder = answer
    _, cache, rows = make_dataset(tmp_path)
    full = long_issue(rows[0]["problem_statement"])
    task = {**solver_view(rows[0]), "problem_statement": full}
    settings = load_settings(None, [s for s in sets(venvs, fake_openai, tmp_path) if s != "--set"])
    result = solve(task, settings, cache)
    assert result.status == "resolved_by_own_tests", result.reason
    assert_capped(fake_openai, full)
    assert json.loads(result.record["request.json"])["task"]["instance_id"] == rows[0]["instance_id"]


def test_the_bot_caps_the_issue_as_the_cli_does(fake_openai, tmp_path, venvs, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_EVENT_NAME", "issues")
    fake_openai.responder = answer
    event = issue_event(make_remote(tmp_path))
    event["issue"]["body"] = long_issue(event["issue"]["body"])
    (tmp_path / "event.json").write_text(json.dumps(event))
    with FakeGitHub(token=TOKEN, permissions={"alice": "write"}) as gh:
        code, out, err = run_cli(capsys, ["bot", "run-once", "--event", str(tmp_path / "event.json"),
                                          *sets(venvs, fake_openai, tmp_path), "--set", f"bot.api_url={gh.url}"])
    assert code == 0 and json.loads(out)["status"] == "done", err
    assert_capped(fake_openai, f"{event['issue']['title']}\n\n{event['issue']['body']}".strip())


class _Broken:
    """A source whose workspace cannot be made, for the ways a run ends."""

    repo = None

    def __init__(self, exc: BaseException):
        self.exc = exc

    def workspace(self, dest, progress):
        raise self.exc

    def environment(self, ws, cfg, progress):
        raise AssertionError("never asked")


@pytest.mark.parametrize("exc, status, failure, stop", [
    (SandboxError("no engine"), "failed", "sandbox", None),
    (LLMError("endpoint gone"), "failed", "model", "unavailable"),
])
def test_a_failure_of_the_sandbox_or_the_model_is_an_outcome_with_its_kind(tmp_path, clean_env, exc, status, failure, stop):
    settings = load_settings(None, ["llm.model=m", "llm.base_url=http://127.0.0.1:9/v1", f"repair.runs_dir={tmp_path}"])
    out = repair.run(RepairRequest(issue="an issue"), _Broken(exc), settings, warn=lambda _: None)
    assert (out.status, out.failure, out.stop) == (status, failure, stop)
    summary = json.loads((Path(out.run_dir) / "summary.json").read_text())
    assert summary["failure"] == failure and str(exc) in summary["reason"]


def test_bad_input_and_interruptions_are_recorded_then_raised(tmp_path, clean_env):
    settings = load_settings(None, ["llm.model=m", "llm.base_url=http://127.0.0.1:9/v1", f"repair.runs_dir={tmp_path}"])
    with pytest.raises(UserError, match="the issue text is empty"):
        repair.run(RepairRequest(issue="  \n"), _Broken(AssertionError()), settings)
    assert list(tmp_path.iterdir()) == []  # an empty issue stops before any record is made
    for exc, reason in ((UserError("not a repository"), "not a repository"), (KeyboardInterrupt(), "interrupted"),
                        (ValueError("boom"), "unexpected ValueError: boom")):
        with pytest.raises(type(exc)):
            repair.run(RepairRequest(issue="an issue"), _Broken(exc), settings, warn=lambda _: None)
        newest = max(tmp_path.iterdir(), key=lambda p: p.stat().st_mtime_ns)
        assert json.loads((newest / "summary.json").read_text())["reason"] == reason

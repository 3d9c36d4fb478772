"""`supercoder bot run-once` (Actions mode) in process, against the fake GitHub API, a bare
remote and the fake model server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.bot_env import comment_event, git, issue_event, make_remote
from fakes.github_server import FakeGitHub
from fakes.swe_dataset import answer, settings_args

from agent import cli

TOKEN = "ghp_actions0123456789abcdefghijkl"


def run(capsys, args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    out, err = capsys.readouterr()
    return (0 if exc.value.code is None else exc.value.code), out, err


def _args(tmp_path: Path, event: dict, gh: FakeGitHub, model, venvs: Path, *extra: str) -> list[str]:
    path = tmp_path / "event.json"
    path.write_text(json.dumps(event))
    sets = [f"bot.api_url={gh.url}", f"repair.runs_dir={tmp_path / 'runs'}"]
    return ["bot", "run-once", "--event", str(path), *settings_args(venvs, model), *[a for s in sets for a in ("--set", s)], *extra]


def test_a_failed_repair_leaves_a_comment_and_no_pull_request(fake_openai, tmp_path, venvs, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_EVENT_NAME", "issues")
    fake_openai.responder = lambda body: "I cannot help with that."
    remote = make_remote(tmp_path)
    with FakeGitHub(token=TOKEN, permissions={"alice": "maintain"}) as gh:
        code, out, err = run(capsys, _args(tmp_path, issue_event(remote), gh, fake_openai, venvs))
    result = json.loads(out)
    assert code == 1 and result["status"] == "failed", err
    assert "no <edit" in result["reason"]  # the model never gave an edit
    assert gh.pulls == [] and not any(c.method == "POST" and c.path.endswith("/pulls") for c in gh.calls)
    ack, failure = gh.comments
    assert "could not fix this issue" in failure["body"] and result["reason"] in failure["body"]
    assert git(remote, "branch", "--list") == "* main\n"  # nothing pushed
    assert TOKEN not in out + err and TOKEN not in json.dumps(gh.comments)


def test_a_hostile_endpoint_ends_in_a_comment_saying_why_and_no_pull_request(fake_openai, tmp_path, venvs, capsys, monkeypatch):
    from fakes.openai_server import Hostile

    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.setenv("GITHUB_EVENT_NAME", "issues")
    Hostile(answer, slow_s=3).install(fake_openai)
    remote = make_remote(tmp_path)
    with FakeGitHub(token=TOKEN, permissions={"alice": "maintain"}) as gh:
        code, out, err = run(capsys, _args(tmp_path, issue_event(remote), gh, fake_openai, venvs, "--set", "llm.max_retries=1",
                                           "--set", "llm.timeout_s=2", "--set", "editing.max_retries=1"))
    result = json.loads(out)
    assert code == 1 and result["status"] == "failed" and "Traceback" not in err, err
    assert gh.pulls == [] and git(remote, "branch", "--list") == "* main\n"
    ack, failure = gh.comments
    assert "could not fix this issue" in failure["body"] and result["reason"] in failure["body"]


def test_run_once_fixes_an_issue_from_a_comment(fake_openai, tmp_path, venvs, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    monkeypatch.delenv("GITHUB_EVENT_NAME", raising=False)
    fake_openai.responder = answer
    remote = make_remote(tmp_path)
    from agent.bot import gitops

    seen: list[str] = []
    real_push = gitops.push_fix

    def push_and_look(repo, *args, **kwargs):  # the clone lives in a temporary folder: look at it as it pushes
        done = real_push(repo, *args, **kwargs)
        seen.extend([Path(repo.git_dir, "config").read_text(), repo.git.remote("-v"), repo.git.config("--list")])
        return done

    monkeypatch.setattr(gitops, "push_fix", push_and_look)
    with FakeGitHub(token=TOKEN, permissions={"alice": "write"}, drafts=False, git_root=tmp_path / "remote") as gh:
        url = f"{gh.url}git/acme/calc.git"
        code, out, err = run(capsys, _args(tmp_path, comment_event(url, "/supercoder fix"), gh, fake_openai, venvs))
    result = json.loads(out)
    assert code == 0 and result["status"] == "done" and result["branch"] == "supercoder/issue-1", err
    # this repository has no drafts: a plain pull request, and the comment says so
    assert [(p["head"]["ref"], p["draft"]) for p in gh.pulls] == [("supercoder/issue-1", False)]
    assert gh.comments[-1]["body"].splitlines()[-1].startswith("Opened pull request #100")
    assert "+    return a + b" in git(remote, "diff", "main", "supercoder/issue-1")
    assert ("git-receive-pack", "x-access-token", TOKEN) in gh.git_calls  # pushed with the token...
    assert len(seen) == 3 and url in seen[1]
    assert not any(TOKEN in text or "extraheader" in text.lower() for text in seen)  # ...which no git config kept


def test_events_run_once_does_not_act_on(fake_openai, tmp_path, venvs, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    remote = make_remote(tmp_path)
    with FakeGitHub(token=TOKEN, permissions={"alice": "write"}) as gh:
        for event, name in ((issue_event(remote, label="bug"), "issues"),
                            (comment_event(remote, "please /supercoder fix"), "issue_comment"),
                            ({**issue_event(remote), "sender": {"login": "dependabot[bot]", "type": "Bot"}}, "issues")):
            code, out, _ = run(capsys, _args(tmp_path, event, gh, fake_openai, venvs, "--event-name", name))
            assert code == 0 and json.loads(out)["status"] == "ignored"
        # the sender lacks write permission: asked, then nothing
        code, out, _ = run(capsys, _args(tmp_path, issue_event(remote, sender="eve"), gh, fake_openai, venvs, "--event-name", "issues"))
        assert code == 0 and json.loads(out)["status"] == "ignored"
    assert [c.path for c in gh.calls] == ["/user", "/repos/acme/calc/collaborators/eve/permission"]
    assert gh.comments == [] and fake_openai.chat_requests() == []


def test_bad_input_is_one_line(tmp_path, capsys, monkeypatch, clean_env):
    for name in ("GITHUB_TOKEN", "GITHUB_APP_ID", "GITHUB_APP_PRIVATE_KEY", "GITHUB_APP_PRIVATE_KEY_PATH", "GITHUB_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2")
    cases = [
        (["bot", "serve"], "GITHUB_WEBHOOK_SECRET is not set"),
        (["bot", "run-once", "--event", str(tmp_path / "missing.json")], "event file not found"),
        (["bot", "run-once", "--event", str(bad)], "cannot read the event file"),
    ]
    for args, message in cases:
        code, out, err = run(capsys, args)
        assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err
    monkeypatch.setenv("GITHUB_WEBHOOK_SECRET", "s3cret-value")
    code, _, err = run(capsys, ["bot", "serve"])
    assert code == 2 and "no GitHub credentials" in err and "s3cret" not in err
    monkeypatch.setenv("GITHUB_APP_ID", "12")
    code, _, err = run(capsys, ["bot", "serve"])
    assert code == 2 and "needs both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY" in err
    monkeypatch.setenv("GITHUB_APP_PRIVATE_KEY_PATH", str(tmp_path / "nokey.pem"))
    code, _, err = run(capsys, ["bot", "serve"])
    assert code == 2 and "cannot read" in err and err.count("\n") == 1
    monkeypatch.delenv("GITHUB_APP_PRIVATE_KEY_PATH")
    monkeypatch.setenv("GITHUB_TOKEN", "ghp_x")
    monkeypatch.delenv("GITHUB_APP_ID")
    busy = __import__("socket").socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    code, _, err = run(capsys, ["bot", "serve", "--port", str(busy.getsockname()[1]), "--set", f"bot.queue_path={tmp_path / 'q.db'}"])
    busy.close()
    assert code == 2 and "cannot listen on 127.0.0.1" in err.splitlines()[-1]
    (tmp_path / "notdb").write_text("this is not sqlite " * 100)
    code, _, err = run(capsys, ["bot", "jobs", "--set", f"bot.queue_path={tmp_path / 'notdb'}"])
    assert code == 2 and "cannot open the job queue" in err and err.count("\n") == 1


def test_the_default_docker_backend(fake_openai, tmp_path, venvs, capsys, monkeypatch):
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    fake_openai.responder = answer
    remote = make_remote(tmp_path)
    with FakeGitHub(token=TOKEN, permissions={"alice": "write"}) as gh:
        code, out, err = run(capsys, _args(tmp_path, issue_event(remote), gh, fake_openai, venvs, "--event-name", "issues",
                                           "--set", "sandbox.backend=docker"))
    result = json.loads(out)
    assert code == 0 and result["status"] == "done", err
    assert result["repair"]["tests"]["target"] == {"tests/test_calc.py::test_add": "passed"}
    assert "| `tests/test_calc.py::test_add` | failed | `passed` |" in gh.pulls[0]["body"]


def test_a_job_interrupted_too_often_is_given_up(tmp_path, clean_env):
    from agent.bot.events import trigger_of
    from agent.bot.github import Credentials
    from agent.bot.job import run_job
    from agent.settings import load_settings

    remote = make_remote(tmp_path)
    with FakeGitHub(token=TOKEN, permissions={"alice": "write"}) as gh:
        settings = load_settings(None, [f"bot.api_url={gh.url}", "bot.max_attempts=2", "llm.model=m"])
        trigger = trigger_of("issues", issue_event(remote), settings.bot)
        outcome = run_job(7, trigger, settings, Credentials(token=TOKEN), lambda m: None, attempts=3)
    assert outcome.status == "failed" and "interrupted 2 time(s)" in outcome.reason
    [comment] = gh.comments
    assert "job 7" in comment["body"] and "interrupted 2 time(s)" in comment["body"]
    assert gh.reactions == [] and git(remote, "branch", "--list") == "* main\n"


def test_an_unvalidated_patch_is_shown_not_proposed_unless_configured(fake_openai, tmp_path, venvs, capsys, monkeypatch):
    # acme/words: no test fails and the model writes no reproduction test, so nothing can validate the fix
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    fake_openai.responder = answer
    remote = make_remote(tmp_path, "acme/words")
    event = issue_event(remote, repo="acme/words")
    with FakeGitHub(token=TOKEN, permissions={"alice": "write"}) as gh:
        code, out, err = run(capsys, _args(tmp_path, event, gh, fake_openai, venvs, "--event-name", "issues"))
        assert code == 1 and json.loads(out)["status"] == "failed", err
        assert gh.pulls == [] and git(remote, "branch", "--list") == "* main\n"
        failure = gh.comments[-1]["body"]
        assert "nothing reproduces the issue" in failure and "<details>" in failure
        assert "```diff\n" in failure and "+    return text.upper()" in failure

        code, out, err = run(capsys, _args(tmp_path, event, gh, fake_openai, venvs, "--event-name", "issues",
                                           "--set", "bot.open_unvalidated=true"))
    assert code == 0 and json.loads(out)["status"] == "done", err
    [pr] = gh.pulls
    assert pr["draft"] and "**No test validates it** (`nothing reproduces the issue" in pr["body"]
    assert "an untested fix" in gh.comments[-1]["body"]

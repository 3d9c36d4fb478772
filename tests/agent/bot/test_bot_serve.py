"""`supercoder bot serve` as a real process, against a fake GitHub API (tests/fakes/github_server.py),
a bare git repository as the remote, and the fake model server; jobs run on the local sandbox
backend."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fakes.bot_env import SECRET, BotServer, comment_event, git, issue_event, make_remote, wait_for
from fakes.github_server import FakeGitHub
from fakes.swe_dataset import answer, settings_args


@pytest.fixture(scope="module")
def app_key() -> tuple[str, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return pem, public


def _args(tmp_path: Path, gh: FakeGitHub, model, venvs: Path) -> list[str]:
    sets = [f"bot.api_url={gh.url}", f"bot.queue_path={tmp_path / 'queue.sqlite3'}", f"repair.runs_dir={tmp_path / 'runs'}",
            "bot.poll_interval_s=0.2", 'bot.allowed_repos=["acme/calc"]']
    return settings_args(venvs, model) + [a for s in sets for a in ("--set", s)]


def _env(**secrets: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SUPERCODER_"))}
    return {**env, "GITHUB_WEBHOOK_SECRET": SECRET, **secrets}


def _jobs(tmp_path: Path) -> dict[int, tuple[str, str]]:
    with sqlite3.connect(tmp_path / "queue.sqlite3") as db:
        return {i: (s, r) for i, s, r in db.execute("SELECT id, status, reason FROM jobs")}


def _leaks(root: Path, secrets: list[str], also: list[str] = ()) -> list[str]:
    """Files under `root` (and texts in `also`) holding any of `secrets`."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            found += [f"{path}: {s[:8]}..." for s in secrets if s.encode() in data]
    found += [f"output: {s[:8]}..." for text in also for s in secrets if s in text]
    return found


def test_a_labelled_issue_becomes_a_draft_pull_request_as_an_app(fake_openai, tmp_path, venvs, app_key):
    pem, public = app_key
    fake_openai.responder = answer
    remote = make_remote(tmp_path)
    with FakeGitHub(app_id="4242", public_key=public, permissions={"alice": "write", "mallory": "read"},
                    git_root=tmp_path / "remote") as gh:
        url = f"{gh.url}git/acme/calc.git"  # git over HTTP, as github.com serves it
        bot = BotServer(_args(tmp_path, gh, fake_openai, venvs), _env(GITHUB_APP_ID="4242", GITHUB_APP_PRIVATE_KEY=pem),
                        tmp_path / "bot.log").start()
        try:
            assert bot.post("ping", {"zen": "hi"}) == (200, {"status": "pong"})
            event = issue_event(url, installation=99)
            # a wrong or missing signature: 401, and nothing else happens
            assert bot.post("issues", event, signature="sha256=" + "0" * 64)[0] == 401
            assert bot.post("issues", event, signature=None)[0] == 401
            assert gh.calls == [] and _jobs(tmp_path) == {}

            status, body = bot.post("issues", event, delivery="d-1")
            assert (status, body) == (202, {"status": "queued", "job": 1})
            assert bot.post("issues", event, delivery="d-1") == (202, {"status": "duplicate", "reason": "this delivery was handled before"})
            assert bot.post("issues", issue_event(url, label="bug"))[1]["status"] == "ignored"

            wait_for(lambda: _jobs(tmp_path)[1][0] == "done", what="job 1 to finish")
            assert len(_jobs(tmp_path)) == 1  # the replay and the other label made no job
            # authenticated as the App: a JWT for the installation token, then that token
            # (one for the server's check of the sender, one for the job), each for this repository alone
            mints = [c for c in gh.calls if c.path == "/app/installations/99/access_tokens"]
            assert gh.calls[0] in mints and all(c.auth.startswith("Bearer ") for c in mints) and not gh.jwt_errors
            assert [c.json for c in mints] == [{"repositories": ["calc"]}] * 2
            assert all(c.auth == f"token {gh.installation_token}" for c in gh.calls if c not in mints)
            assert gh.reactions == [{"path": "/repos/acme/calc/issues/1/reactions", "content": "eyes"}]
            # git fetched and pushed with the installation token, as HTTP basic auth
            assert {c for c in gh.git_calls} == {(service, "x-access-token", gh.installation_token)
                                                 for service in ("git-upload-pack", "git-receive-pack")}
            ack, done = gh.comments
            assert "job 1" in ack["body"] and "@alice" in ack["body"]
            [pr] = gh.pulls
            assert pr["draft"] is True and pr["head"]["ref"] == "supercoder/issue-1" and pr["base"]["ref"] == "main"
            assert "Fixes #1" in pr["body"] and "`calc.py::add`" in pr["body"]
            assert "| `tests/test_calc.py::test_add` | failed | `passed` |" in pr["body"] and "### Cost" in pr["body"]
            assert f"Opened draft pull request #{pr['number']}" in done["body"] and pr["html_url"] in done["body"]

            # the pushed branch fixes the repository: its tests pass there
            assert "+    return a + b" in git(remote, "diff", "main", "supercoder/issue-1")
            check = tmp_path / "check"
            git(tmp_path, "clone", "-q", "-b", "supercoder/issue-1", str(remote), str(check))
            tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=check,
                                   capture_output=True, text=True)
            assert tests.returncode == 0, tests.stdout

            # a comment from a user who cannot write: the job only asks the permission, then nothing
            before = len(gh.calls)
            assert bot.post("issue_comment", comment_event(url, "/supercoder fix", sender="mallory", installation=99))[0] == 202
            wait_for(lambda: _jobs(tmp_path).get(2, ("",))[0] == "ignored", what="job 2 to be ignored")
            assert [c.path for c in gh.calls[before:]] == ["/repos/acme/calc/collaborators/mallory/permission"]
            # asked once: a second try within bot.refusal_cache_s costs no call
            assert bot.post("issue_comment", comment_event(url, "/supercoder fix", sender="mallory", comment_id=78,
                                                           installation=99))[0] == 202
            wait_for(lambda: _jobs(tmp_path).get(3, ("",))[0] == "ignored", what="job 3 to be ignored")
            assert len(gh.calls) == before + 1
            assert "read permission" in _jobs(tmp_path)[2][1]

            # a second trigger on the same issue updates the branch and the pull request
            fake_openai.chat_requests()  # (the model sees the maintainer's words: checked below)
            assert bot.post("issue_comment", comment_event(url, "/supercoder fix keep the docstring", installation=99))[0] == 202
            wait_for(lambda: _jobs(tmp_path).get(4, ("",))[0] == "done", what="job 4 to finish")
            assert len(gh.pulls) == 1 and any(c.method == "PATCH" and c.path == f"/repos/acme/calc/pulls/{pr['number']}" for c in gh.calls)
            assert f"Updated draft pull request #{pr['number']}" in gh.comments[-1]["body"]
            assert gh.reactions[-1] == {"path": "/repos/acme/calc/issues/comments/77/reactions", "content": "eyes"}
            assert any("keep the docstring" in r.messages[-1]["content"] for r in fake_openai.chat_requests())
            assert "+    return a + b" in git(remote, "diff", "main", "supercoder/issue-1")
        finally:
            code = bot.stop()
    assert code == 0  # a stop (SIGTERM) is a clean exit for a server
    log = (tmp_path / "bot.log").read_text()
    secrets = [gh.installation_token, SECRET, *[line for line in pem.splitlines() if "PRIVATE KEY" not in line]]
    assert _leaks(tmp_path, secrets, [log]) == []


def test_a_job_queued_before_a_restart_runs_after_it(fake_openai, tmp_path, venvs):
    fake_openai.responder = answer
    remote = make_remote(tmp_path)
    token = "ghp_personal0123456789abcdefghij"
    with FakeGitHub(token=token, permissions={"alice": "admin"}) as gh:
        bot = BotServer(_args(tmp_path, gh, fake_openai, venvs), _env(GITHUB_TOKEN=token), tmp_path / "bot.log")
        bot.start("--workers", "0")  # takes jobs, runs none
        assert bot.post("issues", issue_event(remote, number=1))[0] == 202
        assert bot.stop() == 0
        assert _jobs(tmp_path) == {1: ("queued", "")} and gh.calls == []

        # a job running when the server is killed outright is queued again and finished after the restart
        hold, release = threading.Event(), threading.Event()  # hold: job 2's edit request waits (job 1's does not)

        def slow(body: dict) -> str:
            if "You are fixing an issue" in body["messages"][-1]["content"] and hold.is_set() and not release.is_set():
                release.wait(60)
            return answer(body)

        fake_openai.responder = slow
        bot.start()
        try:
            wait_for(lambda: _jobs(tmp_path)[1][0] == "done", what="the queued job to run after the restart")
            hold.set()
            assert [p["head"]["ref"] for p in gh.pulls] == ["supercoder/issue-1"]
            assert any(c.path == "/user" for c in gh.calls)  # who the token is, so its own events are never obeyed
            assert bot.post("issues", issue_event(remote, number=2))[0] == 202
            wait_for(lambda: sum("job 2" in c["body"] for c in gh.comments) == 1, what="job 2 to be acknowledged")
            wait_for(lambda: any("You are fixing an issue" in r.messages[-1]["content"] for r in fake_openai.chat_requests()[-3:]),
                     what="job 2 to ask for an edit")
        finally:
            bot.stop(signal.SIGKILL)
        release.set()
        assert _jobs(tmp_path)[2][0] == "running"
        bot.start()
        try:
            wait_for(lambda: _jobs(tmp_path)[2][0] == "done", what="the interrupted job to finish after the restart")
        finally:
            bot.stop()
    assert "1 interrupted job(s) queued again" in (tmp_path / "bot.log").read_text()
    assert sorted(p["head"]["ref"] for p in gh.pulls) == ["supercoder/issue-1", "supercoder/issue-2"]
    assert sum("job 2" in c["body"] for c in gh.comments) == 3  # acknowledged twice (one per attempt), then done
    assert _leaks(tmp_path, [token, SECRET], [(tmp_path / "bot.log").read_text()]) == []


def test_a_job_past_its_time_limit_is_stopped_and_reported(fake_openai, tmp_path, venvs):
    release = threading.Event()

    def stuck(body: dict) -> str:
        release.wait(60)
        return answer(body)

    fake_openai.responder = stuck
    remote = make_remote(tmp_path)
    token = "ghp_timeout0123456789abcdefghij"
    with FakeGitHub(token=token, permissions={"alice": "write"}) as gh:
        bot = BotServer(_args(tmp_path, gh, fake_openai, venvs), _env(GITHUB_TOKEN=token), tmp_path / "bot.log")
        bot.start("--set", "bot.job_timeout_s=4")
        try:
            assert bot.post("issues", issue_event(remote))[0] == 202
            wait_for(lambda: _jobs(tmp_path)[1][0] == "failed", timeout=60, what="the job to be stopped")
        finally:
            release.set()
            bot.stop()
    assert "ran past bot.job_timeout_s (4 s)" in _jobs(tmp_path)[1][1]
    assert "ran past bot.job_timeout_s (4 s)" in gh.comments[-1]["body"] and gh.pulls == []

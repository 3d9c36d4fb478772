"""Which deliveries become jobs, the signature check, credentials from the environment, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.bot_env import comment_event, issue_event, sign

from agent.bot.events import signature_ok, trigger_of
from agent.bot.github import Credentials, Redactor
from agent.settings import BotConfig
from configs.errors import UserError

REMOTE = Path("/srv/acme/calc.git")


def test_signature_is_hmac_sha256_of_the_raw_body():
    body = b'{"a": 1}'
    assert signature_ok("s3cret", body, sign(body, "s3cret"))
    assert not signature_ok("s3cret", body + b" ", sign(body, "s3cret"))
    assert not signature_ok("other", body, sign(body, "s3cret"))
    assert not signature_ok("s3cret", body, None) and not signature_ok("s3cret", body, "")
    assert not signature_ok("s3cret", body, sign(body, "s3cret").replace("sha256=", "sha1="))


def test_a_labelled_issue_and_a_fix_comment_become_triggers():
    cfg = BotConfig()
    t = trigger_of("issues", issue_event(REMOTE, number=7, installation=3), cfg)
    assert (t.repo, t.number, t.kind, t.sender, t.installation_id, t.clone_url) == ("acme/calc", 7, "label", "alice", 3, str(REMOTE))
    assert t.issue_text().startswith("acme/calc is wrong\n\ntests/test_calc.py::test_add fails")
    c = trigger_of("issue_comment", comment_event(REMOTE, "/supercoder fix\nuse the builtin", comment_id=5), cfg)
    assert (c.kind, c.comment_id, c.instructions) == ("comment", 5, "use the builtin")
    assert c.issue_text().endswith("From the maintainer: use the builtin")
    custom = BotConfig(label="autofix", command="@bot fix", clone_url="https://git.example/{repo}.git")
    assert trigger_of("issues", issue_event(REMOTE, label="autofix"), custom).clone_url == "https://git.example/acme/calc.git"
    assert not isinstance(trigger_of("issue_comment", comment_event(REMOTE, "@bot fix"), custom), str)


@pytest.mark.parametrize("event,payload,why", [
    ("push", {}, "not handled"),
    ("issues", issue_event(REMOTE, label="bug"), "label"),
    ("issues", {**issue_event(REMOTE), "action": "unlabeled"}, "label"),
    ("issue_comment", comment_event(REMOTE, "/supercoder fixes it"), "does not start"),
    ("issue_comment", comment_event(REMOTE, "please /supercoder fix"), "does not start"),
    ("issue_comment", {**comment_event(REMOTE, "/supercoder fix"), "action": "edited"}, "not a new comment"),
    ("issues", {**issue_event(REMOTE), "sender": {"login": "ci", "type": "Bot"}}, "bot"),
    ("issues", {**issue_event(REMOTE), "sender": {"login": "supercoder-app[bot]", "type": "User"}}, "bot"),
    ("issues", issue_event(REMOTE, sender="SuperBot"), "this bot"),
    ("issues", {**issue_event(REMOTE), "repository": {"full_name": "evil/repo", "clone_url": "x"}}, "allowed_repos"),
    ("issue_comment", {**comment_event(REMOTE, "/supercoder fix"),
                       "issue": {"number": 3, "title": "t", "pull_request": {"url": "x"}}}, "pull requests"),
    ("issues", {**issue_event(REMOTE), "issue": {"number": 1, "title": "t", "state": "closed"}}, "closed"),
    ("issues", {**issue_event(REMOTE), "issue": {"title": "no number"}}, "malformed"),
    ("issues", {**issue_event(REMOTE), "repository": "acme/calc"}, "malformed"),
])
def test_events_that_make_no_job(event, payload, why):
    cfg = BotConfig(login="superbot", allowed_repos=["ACME/calc"])
    found = trigger_of(event, payload, cfg)
    assert isinstance(found, str) and why in found


def test_credentials_come_from_the_environment(tmp_path):
    assert Credentials.from_env({"GITHUB_TOKEN": "ghp_1"}).mode == "token"
    key = "-----BEGIN PRIVATE KEY-----\\nMIIabc\\n-----END PRIVATE KEY-----"
    app = Credentials.from_env({"GITHUB_APP_ID": "5", "GITHUB_APP_PRIVATE_KEY": key, "GITHUB_TOKEN": "ghp_1"})
    assert app.mode == "app" and app.private_key.get_secret_value().splitlines()[1] == "MIIabc"  # one-line key unfolded
    (tmp_path / "k.pem").write_text(key.replace("\\n", "\n"))
    assert Credentials.from_env({"GITHUB_APP_ID": "5", "GITHUB_APP_PRIVATE_KEY_PATH": str(tmp_path / "k.pem")}).mode == "app"
    assert "ghp_1" not in repr(app) and "MIIabc" not in repr(app)
    for env, message in (({}, "no GitHub credentials"), ({"GITHUB_APP_ID": "5"}, "needs both"),
                         ({"GITHUB_APP_ID": "5", "GITHUB_APP_PRIVATE_KEY": "not a key"}, "not a PEM")):
        with pytest.raises(UserError, match=message):
            Credentials.from_env(env)


def test_redactor_hides_every_secret_it_knows():
    redact = Redactor(["ghp_abcdef123456", "-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----"])
    redact.add("ghs_minted987654")
    text = redact("push to https://x:ghp_abcdef123456@h failed; ghs_minted987654; MIIEvQIBADANBgkqhkiG9w0BAQEFAASC")
    assert text == "push to https://x:***@h failed; ***; ***"
    assert Redactor(["ab"])("ab") == "ab"  # too short to be a credential: left alone

"""Which webhook deliveries become jobs. Everything here is decided from the signed payload
alone, so the server can answer GitHub at once; whether the sender may write to the repository
is asked of the API by the job."""

from __future__ import annotations

import hashlib
import hmac
from typing import Literal

from pydantic import BaseModel

from agent.settings import BotConfig


class Trigger(BaseModel):
    """What a job needs from the event that asked for it."""
    repo: str  # owner/name
    number: int
    title: str
    body: str
    kind: Literal["label", "comment"]
    comment_id: int | None = None
    instructions: str = ""  # the comment's text after the command
    sender: str
    installation_id: int | None = None
    clone_url: str
    default_branch: str

    @property
    def owner(self) -> str:
        return self.repo.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.repo.split("/", 1)[1]

    def issue_text(self) -> str:
        text = f"{self.title}\n\n{self.body}".strip()
        return f"{text}\n\nFrom the maintainer: {self.instructions}" if self.instructions else text


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """The X-Hub-Signature-256 header is HMAC-SHA256 of the raw body; compared in constant time."""
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # bytes: compare_digest refuses non-ASCII text, and a header is anyone's to write
    return hmac.compare_digest(expected.encode(), header.encode("utf-8", "replace"))


def _get(data: dict, *keys: str):
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def trigger_of(event: str, payload: dict, cfg: BotConfig) -> Trigger | str:
    """The job an event asks for, or why it asks for none."""
    if event not in ("issues", "issue_comment"):
        return f"event {event!r} is not handled"
    action = payload.get("action")
    if event == "issues" and not (action == "labeled" and _get(payload, "label", "name") == cfg.label):
        return f"not the {cfg.label!r} label being added"
    text = ""
    if event == "issue_comment":
        if action != "created":
            return "not a new comment"
        text = str(_get(payload, "comment", "body") or "").strip()
        if not (text == cfg.command or text.startswith(cfg.command + " ") or text.startswith(cfg.command + "\n")):
            return f"the comment does not start with {cfg.command!r}"
    sender, issue, repo = (p if isinstance(p := payload.get(k), dict) else {} for k in ("sender", "issue", "repository"))
    login = str(sender.get("login") or "")
    if sender.get("type") == "Bot" or login.endswith("[bot]"):
        return "the sender is a bot"
    if cfg.login and login.lower() == cfg.login.lower():
        return "the sender is this bot"
    full_name = repo.get("full_name")
    if not isinstance(full_name, str) or full_name.count("/") != 1:
        return "malformed payload: no repository full_name"
    if cfg.allowed_repos and full_name.lower() not in {r.lower() for r in cfg.allowed_repos}:
        return f"repository {full_name!r} is not in bot.allowed_repos"
    if issue.get("pull_request"):
        return "pull requests are not handled, only issues"
    if issue.get("state") == "closed":
        return "the issue is closed"
    try:
        return Trigger(
            repo=full_name, number=issue["number"], title=issue.get("title") or "", body=issue.get("body") or "",
            kind="label" if event == "issues" else "comment",
            comment_id=_get(payload, "comment", "id"),
            instructions=text[len(cfg.command):].strip() if event == "issue_comment" else "",
            sender=login, installation_id=_get(payload, "installation", "id"),
            clone_url=cfg.clone_url.replace("{repo}", full_name) if cfg.clone_url else repo["clone_url"],
            default_branch=repo.get("default_branch") or "main")
    except (KeyError, TypeError, ValueError) as exc:
        return f"malformed payload: {exc}"

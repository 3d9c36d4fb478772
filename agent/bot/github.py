"""Credentials from the environment and the GitHub calls a job makes, through githubkit.

A job works with one token: the personal token, or an installation token the App mints for
the event's installation (a JWT signed with the App's key, exchanged at
/app/installations/{id}/access_tokens). Every text a job writes anywhere passes `redact`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from pydantic import BaseModel, SecretStr

from agent.bot.events import Trigger
from agent.settings import BotConfig
from configs.errors import UserError

WRITE_PERMISSIONS = {"admin", "maintain", "write"}


class GitHubError(Exception):
    """A GitHub call failed; the message names the call and the status, never a credential."""


class Credentials(BaseModel):
    token: SecretStr | None = None
    app_id: str | None = None
    private_key: SecretStr | None = None

    @property
    def mode(self) -> str:
        return "app" if self.app_id else "token"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "Credentials":
        """GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_PATH), else GITHUB_TOKEN."""
        key, key_path, app_id = env.get("GITHUB_APP_PRIVATE_KEY"), env.get("GITHUB_APP_PRIVATE_KEY_PATH"), env.get("GITHUB_APP_ID")
        if key_path and not key:
            try:
                key = Path(key_path).expanduser().read_text(encoding="utf-8")
            except OSError as exc:
                raise UserError(f"GITHUB_APP_PRIVATE_KEY_PATH: cannot read {key_path}: {exc.strerror}") from None
        if key:
            key = key.replace("\\n", "\n").strip() + "\n"  # a key pasted into one line of a variable
            if "PRIVATE KEY-----" not in key:
                raise UserError("the GitHub App private key is not a PEM private key")
        if bool(app_id) != bool(key):
            raise UserError("a GitHub App needs both GITHUB_APP_ID and GITHUB_APP_PRIVATE_KEY (or GITHUB_APP_PRIVATE_KEY_PATH)")
        token = env.get("GITHUB_TOKEN") or None
        if not app_id and not token:
            raise UserError("no GitHub credentials: set GITHUB_TOKEN, or GITHUB_APP_ID with GITHUB_APP_PRIVATE_KEY")
        return cls(token=token, app_id=app_id or None, private_key=key or None)


class Redactor:
    """Replaces every secret it knows (and the tokens it is told of later) with ***."""

    def __init__(self, secrets: list[str] | None = None):
        self.secrets: set[str] = set()
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 6:
            self.secrets.add(secret)
            self.secrets.update(line for line in secret.splitlines() if len(line) >= 16)  # lines of a PEM key

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


def secrets_of(creds: Credentials, env: Mapping[str, str] = os.environ) -> list[str]:
    values = [s.get_secret_value() for s in (creds.token, creds.private_key) if s is not None]
    return values + [env[k] for k in ("GITHUB_WEBHOOK_SECRET", "OPENAI_API_KEY", "SUPERCODER_LLM__API_KEY") if env.get(k)]


class GitHubAPI:
    """The calls one job makes, as one token."""

    def __init__(self, cfg: BotConfig, creds: Credentials, installation_id: int | None, redact: Redactor,
                 repo: str | None = None):
        """`repo` (owner/name): an App's installation token is minted for that repository alone."""
        self.cfg, self.creds, self.installation_id, self.redact, self.repo = cfg, creds, installation_id, redact, repo
        self._token: str | None = None
        self._client = None

    def _github(self, auth) -> Any:
        from githubkit import GitHub

        base = self.cfg.api_url.rstrip("/") + "/"  # githubkit appends paths to the base as given
        return GitHub(auth, base_url=base, timeout=self.cfg.api_timeout_s, http_cache=False, user_agent="supercoder-bot")

    def _call(self, what: str, fn, *args, **kwargs) -> Any:
        from githubkit.exception import GitHubException, RequestFailed

        try:
            response = fn(*args, **kwargs)
        except RequestFailed as exc:
            detail = ""
            try:
                detail = f": {exc.response.json().get('message', '')}"
            except Exception:
                pass
            raise GitHubError(self.redact(f"{what}: HTTP {exc.response.status_code}{detail}")) from None
        except GitHubException as exc:
            raise GitHubError(self.redact(f"{what}: {type(exc).__name__} {getattr(exc, 'exc', exc)}")) from None
        try:
            return response.json() if response.content else None
        except ValueError:
            raise GitHubError(f"{what}: the answer is not JSON") from None

    @property
    def token(self) -> str:
        """The token the job works as (minted once per job for an App)."""
        if self._token is None:
            if self.creds.mode == "token":
                self._token = self.creds.token.get_secret_value()
            else:
                if self.installation_id is None:
                    raise GitHubError("the event names no App installation, so no installation token can be had")
                from githubkit import AppAuthStrategy

                app = self._github(AppAuthStrategy(self.creds.app_id, self.creds.private_key.get_secret_value()))
                scope = {"repositories": [self.repo.split("/", 1)[1]]} if self.repo else {}
                data = self._call("minting an installation token", app.rest.apps.create_installation_access_token,
                                  self.installation_id, **scope)
                if not isinstance(data, dict) or not data.get("token"):
                    raise GitHubError("minting an installation token: no token in the answer")
                self._token = data["token"]
            self.redact.add(self._token)
        return self._token

    @property
    def rest(self) -> Any:
        if self._client is None:
            from githubkit import TokenAuthStrategy

            self._client = self._github(TokenAuthStrategy(self.token))
        return self._client.rest

    def login(self) -> str | None:
        """The account a personal token acts as (an App's own events come from a Bot sender)."""
        if self.cfg.login:
            return self.cfg.login
        if self.creds.mode == "app":
            return None
        try:
            return (self._call("reading the token's user", self.rest.users.get_authenticated) or {}).get("login")
        except GitHubError:  # an Actions token may not read /user; its own events come from a [bot] sender anyway
            return None

    def permission(self, t: Trigger) -> str:
        data = self._call(f"reading {t.sender}'s permission on {t.repo}", self.rest.repos.get_collaborator_permission_level,
                          t.owner, t.name, t.sender)
        return (data or {}).get("permission") or "none"

    def react(self, t: Trigger) -> None:
        if t.kind == "comment" and t.comment_id is not None:
            self._call("reacting to the comment", self.rest.reactions.create_for_issue_comment, t.owner, t.name,
                       t.comment_id, content=self.cfg.reaction)
        else:
            self._call("reacting to the issue", self.rest.reactions.create_for_issue, t.owner, t.name, t.number,
                       content=self.cfg.reaction)

    def comment(self, t: Trigger, body: str) -> str:
        data = self._call("commenting on the issue", self.rest.issues.create_comment, t.owner, t.name, t.number,
                          body=self.redact(body))
        return (data or {}).get("html_url", "")

    def find_pr(self, t: Trigger, branch: str) -> dict | None:
        pulls = self._call("looking for the pull request", self.rest.pulls.list, t.owner, t.name, state="open",
                           head=f"{t.owner}:{branch}")
        return next((p for p in pulls or [] if (p.get("head") or {}).get("ref") == branch), None)

    def open_pr(self, t: Trigger, branch: str, title: str, body: str) -> dict:
        """A draft, or a plain pull request where the repository's plan has no drafts."""
        def create(draft: bool) -> dict:
            return self._call("opening the pull request", self.rest.pulls.create, t.owner, t.name, title=self.redact(title),
                              head=branch, base=t.default_branch, body=self.redact(body), draft=draft)

        try:
            return create(True)
        except GitHubError as exc:
            if "HTTP 422" not in str(exc) or "draft" not in str(exc).lower():
                raise
            return create(False)

    def update_pr(self, t: Trigger, number: int, title: str, body: str) -> dict:
        return self._call("updating the pull request", self.rest.pulls.update, t.owner, t.name, number,
                          title=self.redact(title), body=self.redact(body))

"""One job, start to end: authorise the sender, acknowledge, clone, repair, then push the fix and
open (or update) a draft pull request, or say on the issue why not. The webhook worker and
`bot run-once` both call `run_job`."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Callable, Literal

from pydantic import BaseModel, Field

from agent.bot.events import Trigger
from agent.bot.github import WRITE_PERMISSIONS, Credentials, GitHubAPI, GitHubError, Redactor, secrets_of
from agent.settings import Settings
from configs.rendering import render_template

Progress = Callable[[str], None]


class JobOutcome(BaseModel):
    status: Literal["done", "failed", "ignored"]
    reason: str
    branch: str = ""
    commit: str = ""
    pr_number: int | None = None
    pr_url: str = ""
    pr_updated: bool = False
    repair: dict = Field(default_factory=dict)  # the pipeline's outcome, without the patch


def redacted(outcome: JobOutcome, redact: Redactor) -> dict:
    """The outcome as stored and printed: no secret in it, wherever the text came from."""
    return json.loads(redact(outcome.model_dump_json()))


def _cost(value: float | None, calls: int) -> str:
    if value is None:
        return f"unknown (the model has no price in llm.prices), {calls} model call(s)"
    return f"${value:.4f} in {calls} model call(s)"


def _interrupted(attempts: int) -> str:
    return f"the job was interrupted {attempts} time(s) (the bot restarted while it ran), so it was given up"


def refusal(api: GitHubAPI, t: Trigger) -> str | None:
    """Why the sender may not trigger a job (the bot itself, or no write permission), or None."""
    me = api.login()
    if me and me.lower() == t.sender.lower():
        return "the sender is this bot"
    permission = api.permission(t)
    if permission not in WRITE_PERMISSIONS:
        return f"{t.sender} has {permission} permission on {t.repo}, not write"
    return None


class Authoriser:
    """`refusal` for the server's workers, before a job gets a process: refusals are remembered
    for bot.refusal_cache_s, so an outsider's spam costs one API call; a sender let through is
    asked again by the job itself."""

    TOKEN_REUSE_S = 1800  # an installation token lives an hour

    def __init__(self, settings: Settings, creds: Credentials):
        self.cfg, self.creds = settings.bot, creds
        self.refused: dict[tuple[str, str], tuple[float, str]] = {}
        self.apis: dict[tuple[int | None, str], tuple[float, GitHubAPI]] = {}

    def __call__(self, t: Trigger) -> str | None:
        now = time.monotonic()
        key = (t.repo.lower(), t.sender.lower())
        if key in self.refused and now - self.refused[key][0] < self.cfg.refusal_cache_s:
            return self.refused[key][1]
        made, api = self.apis.get((t.installation_id, t.repo), (0.0, None))
        if api is None or now - made > self.TOKEN_REUSE_S:
            api = GitHubAPI(self.cfg, self.creds, t.installation_id, Redactor(secrets_of(self.creds)), repo=t.repo)
            self.apis[(t.installation_id, t.repo)] = (now, api)
        try:
            why = refusal(api, t)
        except GitHubError:
            return None  # the job asks again, and reports what fails
        if why:
            self.refused[key] = (now, why)
        return why


def run_job(job_id: int | str, t: Trigger, settings: Settings, creds: Credentials, progress: Progress,
            attempts: int = 1) -> JobOutcome:
    cfg = settings.bot
    redact = Redactor(secrets_of(creds))
    api = GitHubAPI(cfg, creds, t.installation_id, redact, repo=t.repo)
    try:
        why = refusal(api, t)
    except GitHubError as exc:
        return JobOutcome(status="failed", reason=f"cannot authorise the request: {exc}")
    if why:
        return JobOutcome(status="ignored", reason=why)
    try:
        if attempts > cfg.max_attempts:
            return _failed(api, job_id, t, _interrupted(attempts - 1))
        if not settings.llm.configured:
            return _failed(api, job_id, t, "the bot has no model configured (llm.model)")
        progress(f"acknowledging {t.repo}#{t.number}")
        api.react(t)
        api.comment(t, render_template("bot_ack.md.j2", job=job_id, sender=t.sender))
        with tempfile.TemporaryDirectory(prefix="supercoder-bot-") as tmp:
            return _repair_and_publish(job_id, t, settings, api, Path(tmp), progress)
    except GitHubError as exc:
        try:
            return _failed(api, job_id, t, str(exc))
        except GitHubError:
            return JobOutcome(status="failed", reason=redact(str(exc)))


def run_or_report(job_id: int | str, t: Trigger, settings: Settings, creds: Credentials, progress: Progress,
                  attempts: int = 1) -> JobOutcome:
    """`run_job`, with anything unexpected told on the issue rather than left unanswered."""
    try:
        return run_job(job_id, t, settings, creds, progress, attempts)
    except Exception as exc:  # KeyboardInterrupt (a stop) passes: a server's job stays running and is resumed
        # (report_failure redacts the reason wherever it goes)
        return report_failure(job_id, t, settings, creds, f"unexpected {type(exc).__name__}: {exc}")


def _failed(api: GitHubAPI, job_id, t: Trigger, reason: str, repair: dict | None = None, patch: str = "") -> JobOutcome:
    """Say on the issue why there is no pull request (with the best unvalidated patch, if any)."""
    repair = repair or {}
    tests = repair.get("tests") or {}
    cost = _cost(repair.get("cost_usd"), repair.get("calls", 0)) if repair.get("calls") else ""
    api.comment(t, render_template("bot_failed.md.j2", job=job_id, reason=reason, located=repair.get("located", []),
                                   target=tests.get("target", {}), regression=tests.get("regression", {}), cost=cost,
                                   known_failing=list(tests.get("known_failing", {})), flaky=list(tests.get("flaky", {})),
                                   patch=patch))
    return JobOutcome(status="failed", reason=api.redact(reason), repair=repair)


def _repair_and_publish(job_id, t: Trigger, settings: Settings, api: GitHubAPI, tmp: Path, progress: Progress) -> JobOutcome:
    from agent.bot.gitops import GitError, clone, push_fix
    from agent.pipeline import RepairRequest
    from agent.repair import LocalRepository, run

    cfg = settings.bot
    progress(f"cloning {t.repo}")
    try:
        repo = clone(t.clone_url, t.default_branch, tmp / "clone", api.token, cfg)
    except GitError as exc:
        return _failed(api, job_id, t, api.redact(str(exc)))
    outcome = run(RepairRequest(issue=t.issue_text()), LocalRepository(Path(repo.working_tree_dir)), settings,
                  progress=progress, warn=lambda m: progress(f"warning: {m}"),
                  about={"repository": t.repo, "number": t.number, "job": job_id, "sender": t.sender})
    summary = outcome.model_dump(exclude={"patch"})
    publish = outcome.status == "validated" or (outcome.status == "unvalidated" and cfg.open_unvalidated and outcome.patch)
    if not publish:
        return _failed(api, job_id, t, outcome.reason or outcome.status, summary, outcome.patch)
    branch = f"{cfg.branch_prefix}{t.number}"
    progress(f"pushing {branch}")
    try:
        commit = push_fix(repo, t.clone_url, branch, outcome.patch, f"Fix #{t.number}: {t.title}\n\nMade by SuperCoder (job {job_id}).",
                          api.token, cfg)
    except GitError as exc:
        return _failed(api, job_id, t, api.redact(str(exc)), summary)
    tests = outcome.tests
    body = render_template("bot_pr.md.j2", job=job_id, number=t.number, sender=t.sender, validated=outcome.status == "validated",
                           reason=outcome.reason, located=outcome.located, target=tests.get("target", {}),
                           regression=tests.get("regression", {}), cost=_cost(outcome.cost_usd, outcome.calls),
                           known_failing=list(tests.get("known_failing", {})), flaky=list(tests.get("flaky", {})))
    title = f"Fix #{t.number}: {t.title}"[:250]
    try:
        existing = api.find_pr(t, branch)
        pr = api.update_pr(t, existing["number"], title, body) if existing else api.open_pr(t, branch, title, body)
    except GitHubError as exc:
        return _failed(api, job_id, t, f"the fix is on branch {branch}, but the pull request could not be opened or "
                                       f"updated: {exc}", {**summary, "branch": branch})
    pr = pr or existing or {}
    api.comment(t, render_template("bot_done.md.j2", job=job_id, updated=existing is not None, pr_number=pr.get("number"),
                                   pr_url=pr.get("html_url", ""), validated=outcome.status == "validated",
                                   draft=pr.get("draft", True)))
    return JobOutcome(status="done", reason=("updated" if existing else "opened") + f" pull request #{pr.get('number')}",
                      branch=branch, commit=commit, pr_number=pr.get("number"), pr_url=pr.get("html_url", ""),
                      pr_updated=existing is not None, repair=summary)


def report_failure(job_id, t: Trigger, settings: Settings, creds: Credentials, reason: str) -> JobOutcome:
    """For a job whose process could not finish it: tell the issue why (if its sender may write)."""
    api = GitHubAPI(settings.bot, creds, t.installation_id, Redactor(secrets_of(creds)), repo=t.repo)
    try:
        if api.permission(t) not in WRITE_PERMISSIONS:
            return JobOutcome(status="ignored", reason=f"{t.sender} has no write permission on {t.repo}")
        return _failed(api, job_id, t, reason)
    except GitHubError as exc:
        return JobOutcome(status="failed", reason=api.redact(f"{reason}; and then {exc}"))

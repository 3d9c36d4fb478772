"""`supercoder bot serve | run-once | jobs`: the GitHub bot's commands (see agent/bot/)."""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli.common import ConfigOpt, SetOpt, group, notice, settings_of, warn, with_flags
from configs.errors import UserError

app = group("The GitHub bot: a webhook server, or one Actions event.")


def _logging(redact) -> None:
    class _Redacting(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.msg, record.args = redact(record.getMessage()), ()
            return True

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.addFilter(_Redacting())
    log = logging.getLogger("supercoder.bot")
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.set_inheritable(False)
    return sock


def _queue(settings):
    from agent.bot.queue import JobQueue, default_queue_path

    return JobQueue(settings.bot.queue_path or default_queue_path())


@app.command("serve")
def serve(
    host: Annotated[Optional[str], typer.Option("--host", help="Address to listen on (bot.host).")] = None,
    port: Annotated[Optional[int], typer.Option("--port", help="Port (bot.port; 0: any free port).")] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Jobs run at once (bot.workers; 0: queue only).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Serve POST /webhook: verify, queue and run repair jobs for labelled issues and /supercoder fix comments."""
    overrides = with_flags(set_, {"bot.host": host, "bot.port": port, "bot.workers": workers})
    settings = settings_of(config, overrides)
    cfg = settings.bot
    secret = os.environ.get("GITHUB_WEBHOOK_SECRET")
    if not secret:
        raise UserError("GITHUB_WEBHOOK_SECRET is not set: the server will not start without a webhook secret")
    from agent.bot.github import Credentials, Redactor, secrets_of

    creds = Credentials.from_env() if cfg.workers else None
    redact = Redactor(secrets_of(creds) if creds else [secret])
    if cfg.workers and not settings.llm.configured:
        warn("no model configured (llm.model): every job will fail until one is")
    if not cfg.allowed_repos:
        warn("bot.allowed_repos is empty: any repository that sends a signed event is served")
    queue = _queue(settings)
    resumed = queue.recover() if cfg.workers else []  # a queue-only server owns no job
    sock = _listen(cfg.host, cfg.port)
    _logging(redact)
    import uvicorn

    from agent.bot.job import Authoriser, redacted, report_failure
    from agent.bot.server import WorkerPool, make_app, worker_command

    def abandoned(job, reason: str) -> None:
        outcome = report_failure(job.id, job.trigger, settings, creds, f"the job was stopped: {reason}")
        queue.finish(job.id, outcome.status, outcome.reason, redacted(outcome, redact))

    pool = None
    if cfg.workers:
        authorise = Authoriser(settings, creds)
        pool = WorkerPool(queue, settings, worker_command(str(config) if config else None, overrides, str(queue.path)),
                          lambda job: authorise(job.trigger), abandoned)
    where = sock.getsockname()
    notice(f"listening on http://{cfg.host}:{where[1]}/webhook ({cfg.workers} worker(s), queue {queue.path}"
           + (f", {len(resumed)} interrupted job(s) queued again" if resumed else "") + ")")
    from agent.bot.guard import connection_cap, guarded_protocol

    http = guarded_protocol(cfg, connection_cap(cfg))
    server = uvicorn.Server(uvicorn.Config(make_app(settings, queue, secret, pool), log_level="info", lifespan="on", http=http,
                                           loop="asyncio", timeout_graceful_shutdown=cfg.shutdown_timeout_s))
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down on SIGINT/SIGTERM, then raised the signal again
        pass
    notice("stopped" + (" (jobs still running are queued again at the next start)" if cfg.workers else ""))


@app.command("run-once")
def run_once(
    event: Annotated[Path, typer.Option("--event", help="The event payload (in Actions: $GITHUB_EVENT_PATH).")],
    event_name: Annotated[Optional[str], typer.Option("--event-name", help="issues or issue_comment (default: $GITHUB_EVENT_NAME).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Handle one event payload with the same job code as the server (for a GitHub Actions workflow)."""
    try:
        payload = json.loads(event.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"event file not found: {event}") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot read the event file {event}: {exc}") from None
    if not isinstance(payload, dict):
        raise UserError(f"the event file {event} does not hold a JSON object")
    name = event_name or os.environ.get("GITHUB_EVENT_NAME") or ("issue_comment" if "comment" in payload else "issues")
    settings = settings_of(config, set_)
    from agent.bot.events import trigger_of
    from agent.bot.github import Credentials, Redactor, secrets_of
    from agent.bot.job import redacted, run_or_report

    trigger = trigger_of(name, payload, settings.bot)
    if isinstance(trigger, str):
        notice(f"nothing to do: {trigger}")
        print(json.dumps({"status": "ignored", "reason": trigger}))
        return
    creds = Credentials.from_env()
    redact = Redactor(secrets_of(creds))
    job_id = f"actions-{os.environ['GITHUB_RUN_ID']}" if os.environ.get("GITHUB_RUN_ID") else "run-once"
    outcome = run_or_report(job_id, trigger, settings, creds,
                            lambda m: notice(redact(f"[{trigger.repo}#{trigger.number}] {m}")))
    notice(f"{outcome.status}: {outcome.reason}")
    print(json.dumps(redacted(outcome, redact)))
    if outcome.status == "failed":
        raise typer.Exit(1)


@app.command("jobs")
def jobs(
    limit: Annotated[int, typer.Option("--limit", help="Show the latest N jobs.")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """List the bot's jobs, newest first."""
    found = _queue(settings_of(config, set_)).jobs(limit)
    if as_json:
        for job in found:
            print(job.model_dump_json())
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("job", "issue", "sender", "status", "attempts", "reason")
    for job in found:
        table.add_row(str(job.id), f"{job.trigger.repo}#{job.trigger.number}", job.trigger.sender, job.status,
                      str(job.attempts), job.reason)
    Console(soft_wrap=True).print(table)


@app.command("work", hidden=True)
def work(
    job: Annotated[int, typer.Option("--job", help="The job's id.")],
    queue_path: Annotated[Path, typer.Option("--queue", help="The job queue.")],
    parent_pid: Annotated[Optional[int], typer.Option("--parent-pid", help="End with this process.")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Run one queued job (the server starts this in a process per job)."""
    if parent_pid is not None:
        _die_with(parent_pid)
    from agent.bot.github import Credentials, Redactor, secrets_of
    from agent.bot.job import redacted, run_or_report
    from agent.bot.queue import JobQueue

    queue = JobQueue(queue_path)
    found = queue.get(job)
    if found is None or found.status != "running":
        raise UserError(f"job {job} is not running in {queue_path}")
    settings = settings_of(config, set_)
    creds = Credentials.from_env()
    redact = Redactor(secrets_of(creds))
    outcome = run_or_report(job, found.trigger, settings, creds, lambda m: notice(redact(f"[job {job}] {m}")),
                            attempts=found.attempts)
    queue.finish(job, outcome.status, outcome.reason, redacted(outcome, redact))


def _die_with(parent_pid: int) -> None:
    """SIGTERM this process when the server that started it dies (Linux), as a stop would."""
    import ctypes
    import signal

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # it died before the line above
        os.kill(os.getpid(), signal.SIGTERM)

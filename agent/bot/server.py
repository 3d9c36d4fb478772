"""The webhook server: an ASGI app (Starlette, served by uvicorn) with `POST /webhook`, and a pool
of worker threads, each running one job at a time in a process of its own (so a job that hangs
can be stopped, and one that crashes takes nothing else down).

The handler decides from the signed payload alone and only writes to the queue, so GitHub gets
its answer in milliseconds: 401 for a bad signature, 200 for a ping, 202 for the rest."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import Callable
from urllib.parse import parse_qs

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from agent.bot.events import signature_ok, trigger_of
from agent.bot.guard import AcceptErrors
from agent.bot.queue import Job, JobQueue
from agent.settings import Settings

log = logging.getLogger("supercoder.bot")


class WorkerPool:
    """`settings.bot.workers` threads, each taking the next job the queue allows, asking
    `refusal(job)` whether its sender may trigger it (in process, so spam from outsiders costs
    no process), then running `command + ["--job", id]` for it."""

    def __init__(self, queue: JobQueue, settings: Settings, command: list[str], refusal: Callable[[Job], str | None],
                 on_abandoned: Callable[[Job, str], None]):
        self.queue, self.cfg, self.command = queue, settings.bot, command
        self.refusal, self.on_abandoned = refusal, on_abandoned
        # a job's process needs the GitHub and model credentials, not the webhook secret
        self.env = {k: v for k, v in os.environ.items() if k != "GITHUB_WEBHOOK_SECRET"}
        self._stop, self._wake = threading.Event(), threading.Event()
        self._threads: list[threading.Thread] = []
        self._procs: dict[int, subprocess.Popen] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        for n in range(self.cfg.workers):
            thread = threading.Thread(target=self._loop, name=f"bot-worker-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def wake(self) -> None:
        self._wake.set()

    def stop(self, grace_s: float = 20) -> None:
        """Stop taking jobs and stop the running ones; they stay `running`, so the next start
        queues them again."""
        with self._lock:
            self._stop.set()
            procs = list(self._procs.values())
        self._wake.set()
        for proc in procs:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
        for thread in self._threads:
            thread.join(grace_s)

    def _loop(self) -> None:
        while not self._stop.is_set():
            job = None
            try:
                job = self.queue.claim(self.cfg)
                if job is None:
                    self._wake.wait(self.cfg.poll_interval_s)
                    self._wake.clear()
                    continue
                self._run(job)
            except Exception as exc:  # a locked queue, a process that cannot start: say so, keep going
                log.error("job %s: %s: %s", job.id if job else "-", type(exc).__name__, exc)
                if job is not None:
                    with contextlib.suppress(Exception):
                        self.on_abandoned(job, f"the bot failed to run it ({type(exc).__name__})")
                self._stop.wait(self.cfg.poll_interval_s)

    def _run(self, job: Job) -> None:
        refused = self.refusal(job)
        if refused:
            self.queue.finish(job.id, "ignored", refused)
            log.info("job %s: ignored (%s)", job.id, refused)
            return
        log.info("job %s: %s#%s started (attempt %s)", job.id, job.trigger.repo, job.trigger.number, job.attempts)
        with self._lock:
            if self._stop.is_set():
                return  # claimed as the server stops: it stays running and is resumed at the next start
            # its own session: a Ctrl-C meant for the server reaches the job through stop(), in order
            proc = subprocess.Popen([*self.command, "--job", str(job.id), "--parent-pid", str(os.getpid())],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=self.env,
                                    start_new_session=True)
            self._procs[job.id] = proc
        timed_out = False
        deadline = time.monotonic() + self.cfg.job_timeout_s
        try:
            while True:
                try:
                    proc.wait(timeout=max(0.1, min(self.cfg.lease_s / 4, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    if time.monotonic() >= deadline:
                        timed_out = True
                        self._end(proc)
                        break
                    self.queue.heartbeat(job.id)
        finally:
            with self._lock:
                self._procs.pop(job.id, None)
        stopped = proc.returncode in (130, 143, -signal.SIGINT, -signal.SIGTERM)
        if (self._stop.is_set() or stopped) and not timed_out:
            # the server stops (or the job was told to): it stays running and is resumed at the next start
            if not self._stop.is_set():
                self.queue.requeue(job.id)
            return
        after = self.queue.get(job.id)
        if after is not None and after.status == "running":
            reason = (f"it ran past bot.job_timeout_s ({self.cfg.job_timeout_s:g} s)" if timed_out
                      else f"its process ended without a result (exit status {proc.returncode})")
            try:
                self.on_abandoned(after, reason)
            except Exception as exc:  # the issue is not told, but the job must not block it
                log.error("job %s: cannot report its end: %s", job.id, exc)
                self.queue.finish(job.id, "failed", reason)
        done = self.queue.get(job.id)
        log.info("job %s: %s%s", job.id, done.status if done else "gone", f" ({done.reason})" if done and done.reason else "")

    @staticmethod
    def _end(proc: subprocess.Popen) -> None:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def make_app(settings: Settings, queue: JobQueue, secret: str, pool: WorkerPool | None) -> Starlette:
    cfg = settings.bot

    def answer(code: int, **data) -> JSONResponse:
        return JSONResponse(data, status_code=code)

    async def webhook(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cfg.max_payload_bytes:
            return answer(413, status="refused", reason="payload too large")
        received = bytearray()
        async for chunk in request.stream():  # a chunked body declares no length: count as it comes
            received += chunk
            if len(received) > cfg.max_payload_bytes:
                return answer(413, status="refused", reason="payload too large")
        body = bytes(received)
        if not signature_ok(secret, body, request.headers.get("x-hub-signature-256")):
            log.warning("refused a delivery with a missing or wrong signature from %s", request.client.host if request.client else "?")
            return answer(401, status="refused", reason="bad signature")
        event, delivery = request.headers.get("x-github-event"), request.headers.get("x-github-delivery")
        if not event or not delivery:
            return answer(400, status="refused", reason="X-GitHub-Event and X-GitHub-Delivery are required")
        if event == "ping":
            return answer(200, status="pong")
        try:
            text = body
            if request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                text = (parse_qs(body.decode()).get("payload") or [""])[0].encode()  # a webhook set to send a form
            payload = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than the parser goes
            return answer(400, status="refused", reason="the body is not JSON")
        if not isinstance(payload, dict):
            return answer(400, status="refused", reason="the body is not a JSON object")
        trigger = trigger_of(event, payload, cfg)
        outcome, job = await run_in_threadpool(queue.receive, delivery, event, body,
                                               None if isinstance(trigger, str) else trigger)
        if outcome == "duplicate":
            log.info("delivery %s seen before: ignored", delivery)
            return answer(202, status="duplicate", reason="this delivery was handled before")
        if job is None:
            return answer(202, status="ignored", reason=trigger)
        log.info("delivery %s: %s job %s for %s#%s from %s", delivery, outcome, job.id, trigger.repo, trigger.number,
                 trigger.sender)
        if pool is not None:
            pool.wake()
        return answer(202, status=outcome, job=job.id)

    async def health(request: Request) -> JSONResponse:
        return answer(200, status="ok", jobs=await run_in_threadpool(queue.counts))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        asyncio.get_running_loop().set_exception_handler(AcceptErrors(cfg.accept_error_interval_s))
        if pool is not None:
            pool.start()
        try:
            yield
        finally:
            if pool is not None:
                await run_in_threadpool(pool.stop, cfg.shutdown_timeout_s)

    return Starlette(routes=[Route("/webhook", webhook, methods=["POST"]), Route("/healthz", health, methods=["GET"])],
                     lifespan=lifespan)


def worker_command(config: str | None, overrides: list[str], queue_path: str) -> list[str]:
    """The command a worker thread runs for a job (`supercoder bot work`): this interpreter, the
    same configuration."""
    args = [sys.executable, "-m", "agent.cli", "bot", "work", "--queue", queue_path]
    if config:
        args += ["--config", config]
    for item in overrides:
        args += ["--set", item]
    return args

"""The SQLite job queue and the webhook app (in process, through Starlette's test client)."""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import pytest
from fakes.bot_env import SECRET, comment_event, issue_event, sign, wait_for
from starlette.testclient import TestClient

from agent.bot.events import trigger_of
from agent.bot.queue import JobQueue
from agent.bot.server import make_app
from agent.settings import BotConfig, load_settings
from configs.errors import UserError

REMOTE = Path("/srv/acme/calc.git")


def trig(number: int = 1, sender: str = "alice", repo: str = "acme/calc"):
    payload = issue_event(REMOTE, number=number, sender=sender)
    payload["repository"]["full_name"] = repo
    return trigger_of("issues", payload, BotConfig())


def test_deliveries_are_remembered(tmp_path):
    q = JobQueue(tmp_path / "q.db")
    assert q.receive("d1", "issues", b"body 1", None) == ("ignored", None)
    assert q.receive("d1", "issues", b"body 2", trig(1)) == ("duplicate", None)
    assert q.receive("d9", "issues", b"body 1", trig(1)) == ("duplicate", None)  # the same signed body, a new id
    outcome, job = q.receive("d2", "issues", b"body 3", trig(1))
    assert outcome == "queued" and job.status == "queued" and job.trigger == trig(1)
    assert JobQueue(tmp_path / "q.db").receive("d2", "issues", b"body 4", trig(1)) == ("duplicate", None)  # across restarts
    assert [j.id for j in q.jobs()] == [job.id]


def add(q: JobQueue, delivery: str, trigger):
    return q.receive(delivery, "issues", delivery.encode(), trigger)[1]


def test_one_job_per_issue_at_a_time(tmp_path):
    q, cfg = JobQueue(tmp_path / "q.db"), BotConfig()
    a = add(q, "d1", trig(1))
    again = trig(1).model_copy(update={"instructions": "use the builtin", "comment_id": 9})
    outcome, joined = q.receive("d2", "issues", b"d2", again)  # the same sender again joins the queued job...
    assert (outcome, joined.id) == ("joined", a.id) and joined.trigger == again  # ...with the newer words
    b = add(q, "d3", trig(1, sender="bob"))
    c = add(q, "d4", trig(2))
    assert q.claim(cfg).id == a.id
    assert q.claim(cfg).id == c.id  # b waits: its issue has a running job
    assert q.claim(cfg) is None
    q.finish(a.id, "done", "ok", {"pr": 1})
    got = q.claim(cfg)
    assert got.id == b.id and got.attempts == 1 and q.get(a.id).result == {"pr": 1}


def test_rate_limit_per_repository(tmp_path):
    q, cfg = JobQueue(tmp_path / "q.db"), BotConfig(rate_limit_jobs=2, rate_limit_window_s=3600)
    ids = [add(q, f"d{n}", trig(n)).id for n in range(1, 4)]
    other = add(q, "x", trig(1, repo="acme/other")).id
    first, second = q.claim(cfg), q.claim(cfg)
    assert [first.id, second.id] == ids[:2]
    assert q.claim(cfg).id == other  # acme/calc has used its two; another repository has not
    q.finish(first.id, "ignored", "no permission")  # a refused sender does not use up the limit
    assert q.claim(cfg).id == ids[2]
    short = BotConfig(rate_limit_jobs=1, rate_limit_window_s=0.2)
    add(q, "d9", trig(9))
    time.sleep(0.3)
    assert q.claim(short).trigger.number == 9


def test_running_jobs_are_queued_again_after_a_restart(tmp_path):
    import sqlite3
    import subprocess
    import sys

    q, cfg = JobQueue(tmp_path / "q.db"), BotConfig()
    job, other = add(q, "d1", trig(1)), add(q, "d2", trig(2))
    q.claim(cfg), q.claim(cfg)
    # job 2 belongs to another server of this host that still runs; job 1 to this (restarted) process
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with sqlite3.connect(tmp_path / "q.db") as db:
            db.execute("UPDATE jobs SET owner = ? WHERE id = ?", (f"{__import__('socket').gethostname()}:{alive.pid}", other.id))
        again = JobQueue(tmp_path / "q.db")
        assert again.recover() == [job.id]
        second = again.claim(cfg)
        assert second.id == job.id and second.attempts == 2
    finally:
        alive.kill()
        alive.wait()
    assert other.id in JobQueue(tmp_path / "q.db").recover()  # its server has ended


def test_claims_never_overlap(tmp_path):
    q, cfg = JobQueue(tmp_path / "q.db"), BotConfig(rate_limit_jobs=100)
    for n in range(40):
        add(q, f"d{n}", trig(n))
    taken: list[int] = []

    def worker():
        while (job := JobQueue(tmp_path / "q.db").claim(cfg)) is not None:
            taken.append(job.id)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == list(range(1, 41))


def test_a_broken_queue_file_is_a_clear_error(tmp_path):
    (tmp_path / "q.db").write_bytes(b"garbage" * 500)
    with pytest.raises(UserError, match="cannot open the job queue"):
        JobQueue(tmp_path / "q.db")


@pytest.fixture
def client(tmp_path):
    settings = load_settings(None, ['bot.allowed_repos=["acme/calc"]', "bot.max_payload_bytes=5000"])
    queue = JobQueue(tmp_path / "q.db")
    with TestClient(make_app(settings, queue, SECRET, None)) as c:
        c.queue = queue
        yield c


def post(client, event: str, payload, delivery: str = "d", signature: str | None = "sign"):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "X-GitHub-Delivery": delivery}
    if signature:
        headers["X-Hub-Signature-256"] = sign(body) if signature == "sign" else signature
    return client.post("/webhook", content=body, headers=headers)


def test_the_webhook_answers(client):
    event = issue_event(REMOTE)
    assert post(client, "issues", event, delivery="d-1", signature="sha256=bad").status_code == 401
    assert post(client, "issues", event, delivery="d-1", signature=None).status_code == 401
    body = json.dumps(event).encode()
    assert client.post("/webhook", content=body, headers={"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1",
                                                          "X-Hub-Signature-256": "sha256=\u00e9\u00e9".encode()}).status_code == 401
    assert post(client, "ping", {"zen": "x"}).status_code == 200
    assert post(client, "issues", b"{not json").status_code == 400
    assert post(client, "issues", b"[1]").status_code == 400
    assert client.post("/webhook", content=b"{}", headers={"X-Hub-Signature-256": sign(b"{}")}).status_code == 400
    assert post(client, "issues", {"pad": "x" * 6000}).status_code == 413
    assert client.queue.jobs() == []
    r = post(client, "issues", event, delivery="d-1")  # the refused tries left no trace
    assert (r.status_code, r.json()) == (202, {"status": "queued", "job": 1})
    assert post(client, "issues", event, delivery="d-1").json()["status"] == "duplicate"
    event["issue"]["updated_at"] = "later"  # GitHub's bodies differ from event to event
    assert post(client, "issues", event, delivery="d-2").json() == {"status": "joined", "job": 1}
    from urllib.parse import urlencode

    form = urlencode({"payload": json.dumps(issue_event(REMOTE, number=2))}).encode()
    r = client.post("/webhook", content=form, headers={"X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-form",
                                                       "X-Hub-Signature-256": sign(form),
                                                       "Content-Type": "application/x-www-form-urlencoded"})
    assert r.json() == {"status": "queued", "job": 2}
    r = post(client, "issue_comment", comment_event(REMOTE, "thanks!"), delivery="d-3")
    assert r.status_code == 202 and r.json()["status"] == "ignored"
    other = issue_event(REMOTE)
    other["repository"]["full_name"] = "someone/else"
    assert "allowed_repos" in post(client, "issues", other, delivery="d-4").json()["reason"]
    assert [j.id for j in client.queue.jobs()] == [2, 1]
    assert client.get("/healthz").json() == {"status": "ok", "jobs": {"queued": 2}}


def test_a_claim_whose_server_stopped_renewing_it_is_taken_back(tmp_path):
    import sqlite3

    q, cfg = JobQueue(tmp_path / "q.db"), BotConfig(lease_s=60)
    job = add(q, "d1", trig(1))
    q.claim(cfg)
    q.heartbeat(job.id)
    assert q.claim(cfg) is None  # renewed: still its server's
    with sqlite3.connect(tmp_path / "q.db") as db:  # a server on another host, silent for two minutes
        db.execute("UPDATE jobs SET owner = 'elsewhere:1:x', heartbeat_at = heartbeat_at - 120 WHERE id = ?", (job.id,))
    assert JobQueue(tmp_path / "q.db").recover() == []  # it cannot be asked whether it runs...
    again = q.claim(cfg)  # ...but its lease has run out
    assert again.id == job.id and again.attempts == 2


def _run_until(pool, q: JobQueue, job_id: int, status: str, timeout: float = 30):
    """Run the pool until the job reaches `status`; the job as it ends."""
    pool.start()
    try:
        wait_for(lambda: q.get(job_id).status == status, timeout, f"job {job_id} to be {status}", interval=0.05)
    finally:
        pool.stop()
    return q.get(job_id)


def test_worker_pool_requeues_a_stopped_job_and_reports_a_lost_one(tmp_path):
    from agent.bot.server import WorkerPool

    q = JobQueue(tmp_path / "q.db")
    job = add(q, "d1", trig(1))
    marker = tmp_path / "first-done"
    # first run: killed by SIGTERM as a stop would (queued again); second: ends without a result
    code = (f"import os, pathlib, signal, sys; m = pathlib.Path({str(marker)!r})\n"
            "if not m.exists():\n    m.touch(); os.kill(os.getpid(), signal.SIGTERM)\nsys.exit(0)")
    told: list[str] = []

    def abandoned(j, reason):
        told.append(reason)
        raise RuntimeError("GitHub is down")  # even so, the job must not stay running

    settings = load_settings(None, ["bot.poll_interval_s=0.05", "bot.workers=1"])
    done = _run_until(WorkerPool(q, settings, [sys.executable, "-c", code], lambda j: None, abandoned), q, job.id, "failed")
    assert done.status == "failed" and done.attempts == 2
    assert told == ["its process ended without a result (exit status 0)"] == [done.reason]


def test_worker_pool_does_not_start_refused_jobs(tmp_path):
    from agent.bot.server import WorkerPool

    q = JobQueue(tmp_path / "q.db")
    job = add(q, "d1", trig(1, sender="eve"))
    settings = load_settings(None, ["bot.poll_interval_s=0.05"])
    pool = WorkerPool(q, settings, [sys.executable, "-c", "raise SystemExit('must not run')"],
                      lambda j: f"{j.trigger.sender} may not", lambda j, r: None)
    done = _run_until(pool, q, job.id, "ignored")
    assert (done.status, done.reason) == ("ignored", "eve may not")

"""The job queue: one SQLite file that the webhook server, its workers and an operator's
`supercoder bot jobs` share. Deliveries already seen are kept, so a replay is ignored; a job
is claimed in a write transaction, so two workers never take the same one; a job left running
by a process that died is queued again by `recover()`."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Literal

from pydantic import BaseModel, Field

from agent.bot.events import Trigger
from agent.settings import BotConfig
from configs.errors import UserError
from configs.files import data_dir

SCHEMA_VERSION = 1
Status = Literal["queued", "running", "done", "failed", "ignored"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    id TEXT PRIMARY KEY,
    body_sha256 TEXT NOT NULL UNIQUE,  -- the signature covers the body, not the delivery id
    event TEXT NOT NULL,
    received_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery TEXT NOT NULL,
    repo TEXT NOT NULL,
    number INTEGER NOT NULL,
    trigger TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL DEFAULT '',  -- host:pid:nonce of the server running it
    heartbeat_at REAL,  -- renewed while it runs: a stale claim is taken back
    reason TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '{}',
    created_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs (status, repo, number);
"""


class Job(BaseModel):
    id: int
    delivery: str
    trigger: Trigger
    status: Status
    attempts: int = 0
    owner: str = ""
    reason: str = ""
    result: dict[str, Any] = Field(default_factory=dict)
    created_at: float
    started_at: float | None = None
    heartbeat_at: float | None = None
    finished_at: float | None = None


OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"  # this server, this start


def _gone(owner: str) -> bool:
    """Whether the server that claimed a job has surely ended: this very process (which has run
    nothing yet when it recovers), or a dead pid of this host. Anything else keeps its claim
    until its lease runs out."""
    if owner == OWNER or not owner:
        return True
    host, pid, _ = (owner.split(":") + ["", ""])[:3]
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False  # another host, or this pid in another container on a shared hostname
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def default_queue_path() -> Path:
    return data_dir() / "bot.sqlite3"


class JobQueue:
    def __init__(self, path: Path):
        self.path = path.expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._db() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                if version not in (0, SCHEMA_VERSION):
                    raise UserError(f"job queue {self.path} has schema {version}, this version reads {SCHEMA_VERSION}")
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(_SCHEMA)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        except (sqlite3.DatabaseError, OSError) as exc:
            raise UserError(f"cannot open the job queue {self.path}: {exc}") from None

    @contextmanager
    def _db(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            if write:
                db.execute("BEGIN IMMEDIATE")  # take the write lock first: a claim is one atomic step
            yield db
            if write:
                db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
        finally:
            db.close()

    @staticmethod
    def _job(row: sqlite3.Row) -> Job:
        data = dict(row)
        data["trigger"] = json.loads(data["trigger"])
        data["result"] = json.loads(data["result"])
        return Job.model_validate(data)

    def receive(self, delivery: str, event: str, body: bytes, trigger: Trigger | None) -> tuple[str, Job | None]:
        """Remember the delivery and queue its job, in one transaction (a crash between the two
        would turn GitHub's redelivery into a duplicate and lose the job). A delivery is a
        duplicate when its id or its body came before (the signature covers only the body).
        Returns ("duplicate", None), ("ignored", None) without a trigger, ("joined", job) when
        the same sender's job for that issue is still queued (it takes the newer trigger, with
        its instructions), else ("queued", job)."""
        digest = hashlib.sha256(body).hexdigest()
        with self._db(write=True) as db:
            if db.execute("INSERT OR IGNORE INTO deliveries VALUES (?, ?, ?, ?)",
                          (delivery, digest, event, time.time())).rowcount == 0:
                return "duplicate", None
            if trigger is None:
                return "ignored", None
            row = db.execute("SELECT id FROM jobs WHERE status = 'queued' AND repo = ? AND number = ? "
                             "AND json_extract(trigger, '$.sender') = ? ORDER BY id LIMIT 1",
                             (trigger.repo, trigger.number, trigger.sender)).fetchone()
            if row is not None:
                db.execute("UPDATE jobs SET trigger = ?, delivery = ? WHERE id = ?",
                           (trigger.model_dump_json(), delivery, row["id"]))
                return "joined", self._job(db.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone())
            cur = db.execute("INSERT INTO jobs (delivery, repo, number, trigger, status, created_at) "
                             "VALUES (?, ?, ?, ?, 'queued', ?)",
                             (delivery, trigger.repo, trigger.number, trigger.model_dump_json(), time.time()))
            return "queued", self._job(db.execute("SELECT * FROM jobs WHERE id = ?", (cur.lastrowid,)).fetchone())

    def claim(self, cfg: BotConfig) -> Job | None:
        """The oldest queued job whose issue has no running job and whose repository has started
        fewer than `rate_limit_jobs` (authorised) jobs in the window; it is marked running."""
        now = time.time()
        with self._db(write=True) as db:
            # claims whose server stopped renewing them (it died, its host is gone) are taken back
            db.execute("UPDATE jobs SET status = 'queued' WHERE status = 'running' AND coalesce(heartbeat_at, 0) < ?",
                       (now - cfg.lease_s,))
            row = db.execute(
                "SELECT * FROM jobs AS j WHERE status = 'queued' "
                "AND NOT EXISTS (SELECT 1 FROM jobs r WHERE r.status = 'running' AND r.repo = j.repo AND r.number = j.number) "
                "AND (SELECT count(*) FROM jobs s WHERE s.repo = j.repo AND s.started_at > ? AND s.status != 'ignored'"
                "     AND s.id != j.id) < ? "
                "ORDER BY id LIMIT 1", (now - cfg.rate_limit_window_s, cfg.rate_limit_jobs)).fetchone()
            if row is None:
                return None
            db.execute("UPDATE jobs SET status = 'running', attempts = attempts + 1, started_at = ?, heartbeat_at = ?, "
                       "owner = ? WHERE id = ?", (now, now, OWNER, row["id"]))
            return self._job(db.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone())

    def finish(self, job_id: int, status: Status, reason: str, result: dict[str, Any] | None = None) -> None:
        with self._db(write=True) as db:
            db.execute("UPDATE jobs SET status = ?, reason = ?, result = ?, finished_at = ? WHERE id = ?",
                       (status, reason, json.dumps(result or {}), time.time(), job_id))

    def heartbeat(self, job_id: int) -> None:
        """Renew this server's claim on a running job."""
        with self._db(write=True) as db:
            db.execute("UPDATE jobs SET heartbeat_at = ? WHERE id = ? AND status = 'running' AND owner = ?",
                       (time.time(), job_id, OWNER))

    def requeue(self, job_id: int) -> None:
        with self._db(write=True) as db:
            db.execute("UPDATE jobs SET status = 'queued' WHERE id = ? AND status = 'running'", (job_id,))

    def recover(self) -> list[int]:
        """Jobs left running by a server of this host that is surely gone, queued again at once
        (call before this server's workers start; other claims are taken back by `claim` when
        their lease runs out)."""
        with self._db(write=True) as db:
            ids = [r["id"] for r in db.execute("SELECT id, owner FROM jobs WHERE status = 'running'") if _gone(r["owner"])]
            db.executemany("UPDATE jobs SET status = 'queued' WHERE id = ?", [(i,) for i in ids])
            return ids

    def get(self, job_id: int) -> Job | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
            return self._job(row) if row is not None else None

    def counts(self) -> dict[str, int]:
        with self._db() as db:
            return {r[0]: r[1] for r in db.execute("SELECT status, count(*) FROM jobs GROUP BY status")}

    def jobs(self, limit: int = 50) -> list[Job]:
        with self._db() as db:
            return [self._job(r) for r in db.execute("SELECT * FROM jobs ORDER BY id DESC LIMIT ?", (limit,))]

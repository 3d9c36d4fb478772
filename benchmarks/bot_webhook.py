"""How fast `supercoder bot serve` answers GitHub, which gives up on a webhook after 10 s, while
slow clients try to hold it up.

Starts the server as a user does (a subprocess, `--workers 0`, so jobs are only queued), keeps
`--busy N` processes spinning on the CPU (standing in for running repairs), holds `--slowloris N`
half-open connections from other loopback addresses (each sends the start of a request and never
finishes it; one the server drops is opened again at once), and posts `--deliveries` signed
`issues` events from `--concurrency` threads: one in ten is a replay of an earlier delivery and
one in ten carries a wrong signature. Prints the answers by status, latency percentiles and
throughput, how often the server dropped a slow client, and how long it took to stop after
SIGTERM with the slow clients still connected; checks the queue holds exactly one job per
accepted delivery. Exits 1 if any answer took 10 s or more, the p99 took 2 s or more while slow
clients held on, or the server took 5 s or more to stop.

    python benchmarks/bot_webhook.py [--deliveries 1000] [--concurrency 8] [--busy 2] [--slowloris 300]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import multiprocessing
import os
import re
import select
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SECRET = "benchmark-webhook-secret"


def _spin(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def _event(n: int) -> dict:
    return {"action": "labeled", "label": {"name": "supercoder"},
            "issue": {"number": n, "title": f"issue {n}", "body": "x" * 2000, "state": "open"},
            "repository": {"full_name": "acme/calc", "clone_url": "https://github.com/acme/calc.git", "default_branch": "main"},
            "sender": {"login": "alice", "type": "User"}, "installation": {"id": 1}}


class Slowloris:
    """`count` half-open connections to `port`, spread over 10 loopback addresses, kept open: one
    the server drops is opened again. `dropped` counts them."""

    def __init__(self, port: int, count: int):
        self.port, self.count, self.dropped = port, count, 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._hold, daemon=True)

    def _open(self, n: int) -> socket.socket | None:
        sock = socket.socket()
        try:
            sock.bind((f"127.0.0.{2 + n % 10}", 0))
            sock.setblocking(True)
            sock.settimeout(2)
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the end of the headers
            return sock
        except OSError:
            sock.close()
            return None

    def _hold(self) -> None:
        socks = [self._open(n) for n in range(self.count)]
        while not self.stop.is_set():
            live = [s for s in socks if s is not None]
            readable, _, _ = select.select(live, [], [], 0.5) if live else ([], [], [])
            for n, sock in enumerate(socks):
                if sock is None or sock in readable:  # dropped by the server (or never opened)
                    if sock is not None:
                        sock.close()
                        self.dropped += 1
                    socks[n] = self._open(n)
                else:
                    try:
                        sock.sendall(b"X")  # a byte now and then, as such a client does
                    except OSError:
                        pass
        for sock in socks:
            if sock is not None:
                sock.close()

    def __enter__(self) -> "Slowloris":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--deliveries", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--busy", type=int, default=2, help="CPU-bound processes running meanwhile")
    ap.add_argument("--slowloris", type=int, default=300, help="half-open connections held meanwhile")
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bot-bench-"))
    queue = tmp / "queue.sqlite3"
    log = open(tmp / "serve.log", "w")
    env = {**os.environ, "GITHUB_WEBHOOK_SECRET": SECRET, "GITHUB_TOKEN": "unused"}
    server = subprocess.Popen([sys.executable, "-c", "from agent.cli import main; main()", "bot", "serve", "--port", "0",
                               "--workers", "0", "--set", f"bot.queue_path={queue}", "--set", "bot.allowed_repos=[\"acme/calc\"]"],
                              env=env, stdout=log, stderr=log)
    url = None
    for _ in range(300):
        found = re.findall(r"listening on (http://\S+/webhook)", (tmp / "serve.log").read_text())
        if found:
            url = found[0]
            break
        time.sleep(0.1)
    if url is None:
        print((tmp / "serve.log").read_text(), file=sys.stderr)
        return 1
    time.sleep(1)
    stop = multiprocessing.Event()
    burners = [multiprocessing.Process(target=_spin, args=(stop,)) for _ in range(args.busy)]
    for b in burners:
        b.start()

    def post(n: int) -> tuple[int, float, str]:
        kind = "replay" if n % 10 == 5 else "badsig" if n % 10 == 7 else "new"
        body = json.dumps(_event(n)).encode()
        delivery = f"d-{n - 1 if kind == 'replay' else n}"
        sig = "sha256=" + hmac.new(SECRET.encode(), body if kind != "badsig" else b"tampered", hashlib.sha256).hexdigest()
        if kind == "replay":  # the same delivery as the one before it, body and all
            body = json.dumps(_event(n - 1)).encode()
            sig = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        request = urllib.request.Request(url, data=body, method="POST", headers={
            "Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": delivery,
            "X-Hub-Signature-256": sig})
        start = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=30) as r:
                status = json.loads(r.read()).get("status", str(r.status))
        except urllib.error.HTTPError as exc:
            status = str(exc.code)
        return n, time.perf_counter() - start, f"{kind}->{status}"

    # the replays go after every original has been answered, so each is surely a replay
    firsts = [n for n in range(1, args.deliveries + 1) if n % 10 != 5]
    replays = [n for n in range(1, args.deliveries + 1) if n % 10 == 5]
    with Slowloris(int(url.rsplit(":", 1)[1].split("/")[0]), args.slowloris) as slow:
        time.sleep(1 if args.slowloris else 0)  # let them connect
        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(post, firsts))
            results += list(pool.map(post, replays))
        wall = time.perf_counter() - t0
        stop.set()
        for b in burners:
            b.join()
        t_stop = time.perf_counter()
        server.terminate()  # SIGTERM, with the slow clients still holding on
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
        stop_s = time.perf_counter() - t_stop
    log.close()

    latencies = sorted(r[1] for r in results)
    outcomes: dict[str, int] = {}
    for _, _, o in results:
        outcomes[o] = outcomes.get(o, 0) + 1
    with sqlite3.connect(queue) as db:
        jobs = db.execute("SELECT count(*), count(DISTINCT number) FROM jobs").fetchone()
    pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000  # noqa: E731
    accepted = outcomes.get("new->queued", 0)
    print(json.dumps({"deliveries": len(results), "concurrency": args.concurrency, "busy_processes": args.busy,
                      "answers": outcomes, "latency_ms": {"p50": round(pct(0.50), 1), "p95": round(pct(0.95), 1),
                                                          "p99": round(pct(0.99), 1), "max": round(latencies[-1] * 1000, 1)},
                      "per_second": round(len(results) / wall, 1), "jobs_in_queue": jobs[0],
                      "one_job_per_accepted_delivery": jobs[0] == jobs[1] == accepted,
                      "slowloris": {"connections": args.slowloris, "dropped_by_the_server": slow.dropped},
                      "stop_after_sigterm_s": round(stop_s, 2), "exit_status": server.returncode}, indent=2))
    ok = (latencies[-1] < 10 and jobs[0] == accepted and set(outcomes) == {"new->queued", "replay->duplicate", "badsig->401"}
          and (not args.slowloris or pct(0.99) < 2000) and stop_s < 5)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

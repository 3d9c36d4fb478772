"""`supercoder bot serve` against hostile clients on loopback: bodies it cannot parse, clients that
send their request slowly or never, more connections than it allows, and a SIGTERM while they
hold on. Another client's signed delivery is answered all the while."""

from __future__ import annotations

import os
import select
import signal
import socket
import time
from urllib.parse import urlsplit

import pytest
from fakes.bot_env import SECRET, BotServer, sign

ATTACKER = "127.0.0.2"  # loopback too, but another address than the honest client's


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "SUPERCODER_"))}
    return {**env, "GITHUB_WEBHOOK_SECRET": SECRET}


@pytest.fixture
def bot(tmp_path):
    sets = [f"bot.queue_path={tmp_path / 'queue.sqlite3'}", "bot.request_timeout_s=1", "bot.max_connections_per_client=5",
            "bot.shutdown_timeout_s=2", 'bot.allowed_repos=["acme/calc"]']
    server = BotServer([a for s in sets for a in ("--set", s)] + ["--workers", "0"], _env(), tmp_path / "bot.log").start()
    yield server
    if server.proc is not None:
        server.stop(signal.SIGKILL)


def _connect(url: str, source: str = ATTACKER) -> socket.socket:
    parts = urlsplit(url)
    sock = socket.socket()
    sock.bind((source, 0))
    sock.settimeout(5)
    sock.connect((parts.hostname, parts.port))
    return sock


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closes `sock` within `seconds` (reading what it may send first)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(4096):
            pass
        return True
    except (TimeoutError, socket.timeout):
        return False
    except ConnectionResetError:
        return True


def test_a_signed_body_nested_too_deep_is_refused_with_400(bot):
    body = b"[" * 200_000 + b"]" * 200_000
    status, answer = bot.post("issues", {}, raw=body)
    assert (status, answer["reason"]) == (400, "the body is not JSON")
    assert bot.post("ping", {"zen": "still here"})[0] == 200
    assert "Traceback" not in bot.log.read_text()


def test_slow_and_surplus_clients_are_dropped_while_deliveries_are_answered(bot):
    port = urlsplit(bot.url).port
    partial = f"POST /webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-GitHub-Event: ping\r\n".encode()
    held = []
    for _ in range(12):  # more than bot.max_connections_per_client from one address
        sock = _connect(bot.url)
        sock.sendall(partial)  # and never the end of the headers
        held.append(sock)
    time.sleep(0.3)
    readable, _, _ = select.select(held, [], [], 0)  # what the server closed at once reads as the end
    surplus = [s for s in readable if _closed_within(s, 0.1)]
    assert len(surplus) == 12 - 5  # closed as soon as they opened
    t0 = time.monotonic()
    assert bot.post("ping", {"zen": "hi"}) == (200, {"status": "pong"})  # from 127.0.0.1, beside them
    assert time.monotonic() - t0 < 2
    kept = [s for s in held if s not in surplus]
    assert all(_closed_within(s, 3) for s in kept)  # dropped once bot.request_timeout_s passed
    trickle = _connect(bot.url)
    body = b'{"zen": "slow"}' * 10
    trickle.sendall(f"POST /webhook HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: ping\r\nX-GitHub-Delivery: d\r\n"
                    f"X-Hub-Signature-256: {sign(body)}\r\nContent-Length: {len(body)}\r\n\r\n".encode())
    closed, start = False, time.monotonic()
    for byte in body:  # a byte every 0.2 s: the whole body would take 30 s
        try:
            trickle.sendall(bytes([byte]))
        except OSError:
            closed = True
            break
        time.sleep(0.2)
        if time.monotonic() - start > 5:
            break
    assert closed or _closed_within(trickle, 1)
    assert time.monotonic() - start < 5
    for sock in held + [trickle]:
        sock.close()


def test_sigterm_stops_the_server_within_seconds_whatever_clients_do(bot):
    socks = []
    for n in range(5):
        sock = _connect(bot.url)
        if n % 2:  # headers done, body trickling
            sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{")
        else:
            sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")
        socks.append(sock)
    t0 = time.monotonic()
    assert bot.stop(signal.SIGTERM, timeout=30) == 0
    assert time.monotonic() - t0 < 5
    for sock in socks:
        sock.close()

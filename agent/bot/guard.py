"""What a webhook server facing the internet needs beyond answering: a request (headers and body)
must arrive whole within `bot.request_timeout_s`, at most `bot.max_connections` connections are
open at once and `bot.max_connections_per_client` from one address (beyond that a connection is
closed as soon as it opens, so slow or idle clients cannot use up the file descriptors), and the
loop's errors about running out of them are logged once per interval, not once per attempt."""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections import Counter

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from agent.settings import BotConfig

log = logging.getLogger("supercoder.bot")
# File descriptors kept for everything but connections: the queue, job processes, logs.
_SPARE_FDS = 64


def connection_cap(cfg: BotConfig) -> int:
    """bot.max_connections, within what the process may open (its soft limit raised to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    return max(1, min(cfg.max_connections, soft - _SPARE_FDS)) if soft != resource.RLIM_INFINITY else cfg.max_connections


def guarded_protocol(cfg: BotConfig, cap: int) -> type[H11Protocol]:
    """uvicorn's h11 protocol with the request deadline and the connection caps of `cfg`."""
    per_client: Counter[str] = Counter()

    class Guarded(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _host: str | None = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            host = self.client[0] if self.client else "?"
            if len(self.connections) > cap or per_client[host] >= cfg.max_connections_per_client:
                transport.abort()  # at once: it would only hold a file descriptor
                return
            self._host = host
            per_client[host] += 1
            self._arm()

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self.conn.their_state is h11.DONE:  # the whole request is in: the app has it
                self._disarm()
            elif self._deadline is None:  # the next request on a kept-alive connection began
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._host is not None:
                per_client[self._host] -= 1
                if per_client[self._host] <= 0:
                    del per_client[self._host]
                self._host = None
            super().connection_lost(exc)

        def _arm(self) -> None:
            self._deadline = self.loop.call_later(cfg.request_timeout_s, self._too_slow)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _too_slow(self) -> None:
            self._deadline = None
            self.transport.abort()

    return Guarded


class AcceptErrors:
    """A loop exception handler that logs running out of sockets or descriptors once per
    `interval_s` (with how many were not logged), and leaves the rest to the default handler."""

    def __init__(self, interval_s: float):
        self.interval_s, self.last, self.quiet = interval_s, float("-inf"), 0

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict) -> None:
        if "accept" not in str(context.get("message", "")):
            loop.default_exception_handler(context)
            return
        now = time.monotonic()
        if now - self.last < self.interval_s:
            self.quiet += 1
            return
        more = f" ({self.quiet} more since the last report)" if self.quiet else ""
        log.error("cannot accept connections: %s%s", context.get("exception") or context.get("message"), more)
        self.last, self.quiet = now, 0

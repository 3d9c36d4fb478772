"""Command output kept within a budget: its head and its tail (a failure's summary is at the end)."""

from __future__ import annotations

from collections import deque


class Capped:
    """Keeps the head and the tail of a stream of output."""

    def __init__(self, limit: int):
        self.head, self.tail, self.limit, self.total = [], deque(), limit, 0
        self._head_left, self._tail_size = limit // 4, 0

    def add(self, chunk: str) -> None:
        self.total += len(chunk)
        if self._head_left > 0:
            self.head.append(chunk[: self._head_left])
            chunk = chunk[self._head_left :]
            self._head_left -= len(self.head[-1])
        if chunk:
            self.tail.append(chunk)
            self._tail_size += len(chunk)
            budget = self.limit - self.limit // 4
            while self._tail_size - len(self.tail[0]) >= budget:
                self._tail_size -= len(self.tail.popleft())

    def text(self) -> tuple[str, bool]:
        head, tail = "".join(self.head), "".join(self.tail)[-(self.limit - self.limit // 4) :]
        kept = len(head) + len(tail)
        if kept >= self.total:
            return head + tail, False
        return head + f"\n[... {self.total - kept} characters dropped ...]\n" + tail, True

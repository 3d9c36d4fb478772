"""A batch's progress on stderr: on a terminal, a live panel (overall bar with done/total,
resolved by its own tests so far, cost so far and ETA; one row per worker with its instance and
stage); otherwise one plain line per finished instance."""

from __future__ import annotations

import time

from agent.batch.solve import InstanceResult


def _money(cost: float | None) -> str:
    return "unknown" if cost is None else f"${cost:.2f}"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "--"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


class BatchDisplay:
    def __init__(self, console):
        self.console = console
        self.live = None
        self.workers: dict[str, tuple[str, str]] = {}  # worker -> (instance, stage)

    def start(self, total: int, done: int, counts: dict[str, int], cost: float | None) -> None:
        self.total, self.done, self.counts, self.cost = total, done, dict(counts), cost
        self.started, self.done_at_start = time.monotonic(), done
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(self._render(), console=self.console, refresh_per_second=4, transient=False)
            self.live.start()
        else:
            self.console.print(f"[batch] {total} instance(s), {done} already done", markup=False)

    def eta(self) -> float | None:
        ran = self.done - self.done_at_start
        if ran <= 0 or self.done >= self.total:
            return None
        return (time.monotonic() - self.started) / ran * (self.total - self.done)

    def stage(self, worker: str, instance: str, stage: str) -> None:
        if stage == "idle":
            self.workers.pop(worker, None)
        else:
            self.workers[worker] = (instance, stage)
        self._refresh()

    def finished(self, result: InstanceResult, counts: dict[str, int], cost: float | None) -> None:
        self.done += 1
        self.counts, self.cost = dict(counts), cost
        for worker, (instance, _) in list(self.workers.items()):
            if instance == result.instance_id:
                del self.workers[worker]
        if self.live is None:
            self.console.print(f"[{self.done}/{self.total}] {result.instance_id}: {result.status} "
                               f"({_money(result.cost_usd)}, {result.duration_s:.0f} s)"
                               + (f" - {result.reason[:120]}" if result.reason else ""), markup=False, highlight=False)
        self._refresh()

    def stop(self) -> None:
        if self.live is not None:
            self.live.update(self._render())
            self.live.stop()
            self.live = None

    def _refresh(self) -> None:
        if self.live is not None:
            self.live.update(self._render())

    def _render(self):
        from rich.progress_bar import ProgressBar
        from rich.table import Table

        grid = Table.grid(padding=(0, 1))
        resolved = self.counts.get("resolved_by_own_tests", 0)
        head = Table.grid(padding=(0, 1))
        head.add_row(ProgressBar(total=max(self.total, 1), completed=self.done, width=30),
                     f"{self.done}/{self.total} done", f"{resolved} resolved by own tests",
                     f"cost {_money(self.cost)}", f"ETA {_duration(self.eta())}")
        grid.add_row(head)
        workers = Table(box=None, show_header=False, padding=(0, 2))
        for worker, (instance, stage) in sorted(self.workers.items()):
            workers.add_row(worker, instance, stage)
        grid.add_row(workers)
        return grid

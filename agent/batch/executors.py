"""Where a batch's instances run: `local`, a pool of worker processes on this machine, or
`ray`, tasks on an existing Ray cluster (whose nodes have Docker and the clone cache). Either
way the driver submits instances, collects results as they finish and hears each worker's stage."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import queue
import signal
from pathlib import Path
from typing import Any, Protocol

from agent.batch.solve import InstanceResult
from agent.settings import Settings
from configs.errors import RunError, UserError
from sandbox.base import Terminated

Event = tuple[str, str, str]  # worker, instance id, stage
_busy = False  # whether this worker process is solving an instance now


def worker_started() -> None:
    """A worker's SIGTERM: while it solves an instance it unwinds like Ctrl-C (the instance's
    sandbox is removed, its record says why); while it waits for one, it just exits."""
    def on_term(signum, frame):
        if _busy:
            Terminated.received = True
            raise Terminated()
        os._exit(128 + signum)  # nothing to clean up, and no traceback on the batch's stderr

    signal.signal(signal.SIGTERM, on_term)


def run_job(task: dict, settings: Settings, repo_cache: str, events: Any) -> InstanceResult:
    """What a worker runs: one instance, telling `events` its stages."""
    global _busy
    from agent.batch.solve import solve

    worker = f"{os.uname().nodename}:{os.getpid()}"

    def progress(stage: str) -> None:
        try:
            events.put((worker, task["instance_id"], stage))
        except Exception:  # progress is a nicety: never let it fail an instance
            pass

    progress("starting")
    _busy = True
    try:
        return solve(task, settings, Path(repo_cache), progress).model_copy(update={"worker": worker})
    finally:
        _busy = False
        progress("idle")


def crashed(task: dict, exc: BaseException) -> InstanceResult:
    return InstanceResult(instance_id=task["instance_id"], status="infra_error",
                          reason=f"the worker failed: {type(exc).__name__}: {exc}"[:500])


class Executor(Protocol):
    workers: int

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc) -> None: ...

    def submit(self, task: dict, settings: Settings, repo_cache: Path) -> None: ...

    def finished(self, timeout: float) -> list[InstanceResult]: ...

    def events(self) -> list[Event]: ...

    @property
    def in_flight(self) -> int: ...


class LocalExecutor:
    """A process pool; a worker that dies fails its instance (as an infrastructure error) and the
    pool is made afresh."""

    def __init__(self, workers: int):
        self.workers = workers
        self._ctx = multiprocessing.get_context("spawn")  # no forked locks or threads from the driver
        self._manager = None
        self._pool: cf.ProcessPoolExecutor | None = None
        self._futures: dict[cf.Future, dict] = {}

    def __enter__(self) -> "LocalExecutor":
        try:  # EOFError must not escape: click would take it for Ctrl-D and report an interruption
            self._manager = self._ctx.Manager()
            self._queue = self._manager.Queue()
        except (EOFError, OSError) as exc:
            raise RunError(f"cannot start the worker processes: {type(exc).__name__}: {exc}") from None
        self._pool = self._new_pool()
        return self

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.workers, mp_context=self._ctx, initializer=worker_started)

    def __exit__(self, exc_type, *exc) -> None:
        if self._pool is not None:
            if exc_type is not None:  # interrupted or failed: stop the running instances (they clean up on SIGTERM)
                for proc in list((getattr(self._pool, "_processes", None) or {}).values()):
                    proc.terminate()
            self._pool.shutdown(wait=True, cancel_futures=True)
        if self._manager is not None:
            self._manager.shutdown()

    @property
    def in_flight(self) -> int:
        return len(self._futures)

    def submit(self, task: dict, settings: Settings, repo_cache: Path) -> None:
        try:
            future = self._pool.submit(run_job, task, settings, str(repo_cache), self._queue)
        except cf.BrokenExecutor:
            self._pool = self._new_pool()
            future = self._pool.submit(run_job, task, settings, str(repo_cache), self._queue)
        self._futures[future] = task

    def finished(self, timeout: float) -> list[InstanceResult]:
        if not self._futures:
            return []
        done, _ = cf.wait(list(self._futures), timeout=timeout, return_when=cf.FIRST_COMPLETED)
        out = []
        for future in done:
            task = self._futures.pop(future)
            try:
                out.append(future.result())
            except Exception as exc:  # a worker died (BrokenProcessPool) or solve itself failed
                out.append(crashed(task, exc))
        return out

    def events(self) -> list[Event]:
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except (queue.Empty, OSError, EOFError):
                return out


class RayExecutor:
    """Ray tasks on the cluster at `address` (None: a local Ray started for this run). Results
    come back to the driver, which writes them to OUTPUT."""

    def __init__(self, workers: int, address: str | None, cpus_per_task: float):
        self.workers = workers
        self.address = address
        self.cpus = cpus_per_task
        self._refs: dict[Any, dict] = {}

    def __enter__(self) -> "RayExecutor":
        try:
            import ray
            from ray.util.queue import Queue
        except ImportError:
            raise UserError("--executor ray needs the 'ray' extra: pip install 'supercoder[ray]'") from None
        self.ray = ray
        _check_reachable(self.address)
        try:
            ray.init(address=self.address, ignore_reinit_error=True, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        except (ConnectionError, RuntimeError, ValueError, SystemExit) as exc:  # Ray exits when it gives up
            raise UserError(f"cannot reach the Ray cluster at {self.address or 'a new local instance'}: "
                            f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
        self._queue = Queue()
        self._remote = ray.remote(num_cpus=self.cpus, max_retries=0)(run_job)
        return self

    def __exit__(self, *exc) -> None:
        for ref in self._refs:
            self.ray.cancel(ref, force=True)
        self._queue.shutdown()

    @property
    def in_flight(self) -> int:
        return len(self._refs)

    def submit(self, task: dict, settings: Settings, repo_cache: Path) -> None:
        self._refs[self._remote.remote(task, settings, str(repo_cache), self._queue)] = task

    def finished(self, timeout: float) -> list[InstanceResult]:
        if not self._refs:
            return []
        done, _ = self.ray.wait(list(self._refs), num_returns=1, timeout=timeout)
        out = []
        for ref in done:
            task = self._refs.pop(ref)
            try:
                out.append(self.ray.get(ref))
            except Exception as exc:  # the task or its node died
                out.append(crashed(task, exc))
        return out

    def events(self) -> list[Event]:
        out = []
        while not self._queue.empty():
            try:
                out.append(self._queue.get_nowait())
            except Exception:
                break
        return out


def _check_reachable(address: str | None) -> None:
    """Fail fast on a HOST:PORT nobody listens on: Ray itself retries for minutes, then exits."""
    import socket

    if not address or "://" in address or address == "auto" or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot reach the Ray cluster at {address}: {exc}") from None


def make_executor(name: str, workers: int, ray_address: str | None, ray_cpus_per_task: float) -> Executor:
    if name == "local":
        return LocalExecutor(workers)
    if name == "ray":
        return RayExecutor(workers, ray_address, ray_cpus_per_task)
    raise UserError(f"--executor {name}: expected local or ray")

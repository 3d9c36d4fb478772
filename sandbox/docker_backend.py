"""The `docker` backend: one container per candidate from an environment image, no network
while tests run, CPU/memory/process/file-size limits, a size-capped /tmp, a watchdog on the disk
it writes, the whole process tree killed on timeout, run as an unprivileged user without any
capability or a way to gain one, and the container always removed (a label lets `sandbox prune`
find any that a killed process left behind)."""

from __future__ import annotations

import atexit
import codecs
import io
import shlex
import tarfile
import threading
import time
from pathlib import Path, PurePosixPath

from sandbox.base import SandboxError, relative_path
from sandbox.config import SandboxConfig
from sandbox.docker_engine import LABEL, OWNER_LABEL, docker_client, git_archive, owned_tar, owner, single_file_tar
from sandbox.models import ExecResult
from sandbox.output import Capped

# The tree as unpacked becomes a commit, so that `reset` and `apply_diff` have git to work with.
BASELINE_SCRIPT = (
    "git init -q && git add -A -f && "
    "git -c user.email=sandbox@supercoder -c user.name=sandbox commit -qm baseline --no-verify"
)
_POLL_S = 0.25  # how often the watchdog asks whether a command has ended
_KEEP_WAIT_S = 10.0  # how long a new container may take to show its own `sleep`
_OPEN: set = set()  # containers of this process, removed at exit if still there
_OPEN_LOCK = threading.Lock()


@atexit.register
def _remove_leftovers() -> None:
    for container in list(_OPEN):
        try:
            container.remove(force=True)
        except Exception:  # at exit, a container already gone is fine
            pass


class DockerSandbox:
    def __init__(self, image: str, cfg: SandboxConfig, clone: Path | None = None, commit: str | None = None, client=None,
                 network: bool = False):
        import docker

        self.cfg = cfg
        self.workdir = cfg.workdir
        self.client = client or docker_client()
        fsize = cfg.file_size_mb * 1024 * 1024
        try:
            self.client.images.get(image)  # never pull: no registry may be reachable, and a pull is slow
        except docker.errors.ImageNotFound:
            raise SandboxError(f"image {image} not found locally; build it first (supercoder sandbox base)") from None
        options = dict(
            detach=True, network_mode="bridge" if network else "none", working_dir="/",
            nano_cpus=int(cfg.cpus * 1e9), mem_limit=f"{cfg.memory_mb}m", memswap_limit=f"{cfg.memory_mb}m",
            pids_limit=cfg.pids_limit, tmpfs={"/tmp": f"size={cfg.tmpfs_mb}m"},
            ulimits=[docker.types.Ulimit(name="fsize", soft=fsize, hard=fsize)],
            labels={LABEL: "1", OWNER_LABEL: owner()}, init=True,
            # The tests' user (made in the base image), who owns the tree and nothing else.
            user=f"{cfg.uid}:{cfg.uid}", cap_drop=["ALL"], security_opt=["no-new-privileges"])
        # Loopback as a host has it, ::1 too (Docker turns IPv6 off: a test that binds both
        # families, anyio's free-port fixture, would loop); without it where the kernel has none.
        ipv6 = {"sysctls": {"net.ipv6.conf.all.disable_ipv6": 0, "net.ipv6.conf.lo.disable_ipv6": 0}} if cfg.loopback_ipv6 else {}
        try:
            try:
                self.container = self.client.containers.run(image, ["sleep", "infinity"], **options, **ipv6)
            except docker.errors.APIError as exc:
                if not ipv6 or "sysctl" not in str(exc).lower():
                    raise
                self.container = self.client.containers.run(image, ["sleep", "infinity"], **options)
        except docker.errors.APIError as exc:
            raise SandboxError(f"cannot start a container from {image}: {exc.explanation or exc}") from None
        with _OPEN_LOCK:
            _OPEN.add(self.container)
        try:
            # The container's own `sleep` (the only child of its init) must outlive every sweep.
            self._keep = self._own_sleep()
            if clone is not None and commit is not None:
                self._load_tree(git_archive(clone, commit))
            else:  # an instance image holds the tree and its baseline commit; an environment image neither
                code, out = self.container.exec_run(["bash", "-c", f"mkdir -p {shlex.quote(self.workdir)} && cd {shlex.quote(self.workdir)} && git rev-parse -q --verify HEAD"], workdir="/")
                self._baseline = out.decode().strip() if code == 0 else None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> DockerSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _own_sleep(self) -> str:
        """The pid of the container's `sleep`, which its init may not have started yet."""
        deadline = time.monotonic() + _KEEP_WAIT_S
        while True:
            found = self._exec_checked("ps -o pid= --ppid 1", "/").split()
            if found:
                return found[0]
            if time.monotonic() > deadline:
                raise SandboxError("the container's init started no process")
            time.sleep(_POLL_S)

    def _load_tree(self, tar: bytes) -> None:
        """The tree at its commit, owned by the tests' user, with a baseline commit for `reset`
        and `apply_diff`."""
        self._exec_checked(f"mkdir -p {shlex.quote(self.workdir)}", "/")
        if not self.container.put_archive(self.workdir, owned_tar(tar, self.cfg.uid)):
            raise SandboxError("cannot copy the repository into the container")
        self._exec_checked(BASELINE_SCRIPT, self.workdir)
        self._baseline = self._exec_checked("git rev-parse HEAD", self.workdir).strip()

    def _exec_checked(self, command: str, workdir: str) -> str:
        code, out = self.container.exec_run(["bash", "-c", command], workdir=workdir)
        if code != 0:
            raise SandboxError(f"`{command}` failed in the container: {out.decode('utf-8', 'replace').strip()[-300:]}")
        return out.decode("utf-8", "replace")

    def run(self, command: str, timeout_s: float | None = None) -> ExecResult:
        limit = timeout_s if timeout_s is not None else self.cfg.command_timeout_s
        api = self.client.api
        # `timeout` kills the command's process group; the watchdog below kills everything else.
        # One pipe for both streams: Docker sends stdout and stderr as separate frames, and their
        # order across the two is not kept.
        wrapped = f"exec timeout -s KILL {limit:.3f} bash -c {shlex.quote(command)} 2>&1"
        exec_id = api.exec_create(self.container.id, ["bash", "-c", wrapped], workdir=self.workdir)["Id"]
        start = time.monotonic()
        done = threading.Event()
        self._stopped: str | None = None
        watchdog = threading.Thread(target=self._watch, args=(exec_id, done, limit + self.cfg.kill_grace_s), daemon=True)
        watchdog.start()
        capped = Capped(self.cfg.output_max_chars)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")  # a character may straddle two chunks
        try:
            for chunk in api.exec_start(exec_id, stream=True):
                capped.add(decoder.decode(chunk))
        finally:
            done.set()
        duration = time.monotonic() - start
        self._sweep()  # what the command left running (a daemon, a setsid child) dies with it
        watchdog.join()
        code = api.exec_inspect(exec_id).get("ExitCode")
        timed_out = code == 137 and duration >= limit and not self._stopped
        output, truncated = capped.text()
        return ExecResult(command=command, exit_code=None if timed_out or self._stopped else code, output=output,
                          duration_s=round(duration, 3), timed_out=timed_out, truncated=truncated, stopped=self._stopped)

    def _written_mb(self) -> float:
        """What the container has written outside its tmpfs (its writable layer), in MiB."""
        [info] = self.client.api.containers(all=True, size=True, filters={"id": self.container.id})
        return (info.get("SizeRw") or 0) / 2**20

    def _sweep(self) -> None:
        """Kill every process but the container's init and its sleep."""
        script = f'for p in $(ps -e -o pid=); do case $p in 1|{self._keep}|$$) ;; *) kill -9 $p 2>/dev/null;; esac; done; true'
        try:
            self.container.exec_run(["bash", "-c", script])
        except Exception:  # the container may be going away
            pass

    def _watch(self, exec_id: str, done: threading.Event, deadline_s: float) -> None:
        """Sweep when the output is still open `kill_grace_s` after the command ended (a process
        that left its session holds it), past the deadline whatever happens, or once the
        command has written more than `sandbox.disk_mb` (looked at every `disk_check_s`)."""
        deadline = time.monotonic() + deadline_s
        ended_at, next_disk_check = None, time.monotonic() + self.cfg.disk_check_s
        while not done.wait(_POLL_S):
            now = time.monotonic()
            try:
                if ended_at is None and not self.client.api.exec_inspect(exec_id).get("Running", True):
                    ended_at = now
                if now >= next_disk_check:
                    next_disk_check = now + self.cfg.disk_check_s
                    written = self._written_mb()
                    if written > self.cfg.disk_mb:
                        self._stopped = f"stopped: it wrote {written:.0f} MB, past sandbox.disk_mb={self.cfg.disk_mb}"
                        self._sweep()
                        return
            except Exception:  # the container may be going away
                return
            if now >= deadline or (ended_at is not None and now - ended_at >= self.cfg.kill_grace_s):
                self._sweep()
                return

    def _path(self, path: str) -> str:
        return str(PurePosixPath(self.workdir) / relative_path(path))

    def read_file(self, path: str) -> str:
        import docker

        try:
            stream, _ = self.container.get_archive(self._path(path))
        except docker.errors.NotFound:
            raise SandboxError(f"no such file in the sandbox: {path}") from None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            data = tar.extractfile(member) if member is not None else None
            if data is None:
                raise SandboxError(f"not a file: {path}")
            return data.read().decode("utf-8", "replace")

    def write_file(self, path: str, text: str) -> None:
        target = PurePosixPath(self._path(path))
        self._exec_checked(f"mkdir -p {shlex.quote(str(target.parent))}", "/")
        if not self.container.put_archive(str(target.parent), single_file_tar(target.name, text.encode("utf-8"), self.cfg.uid)):
            raise SandboxError(f"cannot write {path}")

    def apply_diff(self, diff: str) -> None:
        if not diff.strip():
            return
        self.write_file(".supercoder.diff", diff if diff.endswith("\n") else diff + "\n")
        code, out = self.container.exec_run(
            ["bash", "-c", "git apply --whitespace=nowarn .supercoder.diff; s=$?; rm -f .supercoder.diff; exit $s"], workdir=self.workdir
        )
        if code != 0:
            reason = " ".join(out.decode("utf-8", "replace").strip().splitlines()[:3]) or "git apply failed"
            raise SandboxError(f"the patch does not apply: {reason}")

    def reset(self) -> None:
        """Back to the starting tree; untracked files go, ignored ones (install metadata) stay."""
        if self._baseline is None:
            raise SandboxError("this sandbox holds no repository to reset")
        self._exec_checked(f"git checkout -q --force --detach {self._baseline} && git clean -fdq", self.workdir)

    def close(self) -> None:
        container = getattr(self, "container", None)
        if container is None:
            return
        try:
            container.remove(force=True)
        except Exception:  # already gone
            pass
        with _OPEN_LOCK:
            _OPEN.discard(container)
        self.container = None

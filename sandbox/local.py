"""The `local` backend: a shared clone at the wanted commit and subprocesses in their own
process group, for machines without Docker. It isolates the tree, not the machine: use Docker
for code you do not trust. Tests see only the variables `sandbox.local_env` names (an
allow-list: nothing the user's shell holds reaches them by accident); the repository's install
also gets the pip and proxy settings it needs to reach the package index.

The clone is made with `git clone --shared`, so the source clone (bare or not) is only read.
"""

from __future__ import annotations

import codecs
import fnmatch
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sandbox.base import SandboxError, git_said, relative_path
from sandbox.config import SandboxConfig
from sandbox.models import ExecResult
from sandbox.output import Capped
from sandbox.recipes import Environment, index_env, install_script


def _git(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=cwd, capture_output=True, text=True)


def test_env(cfg: SandboxConfig, venv: Path | None = None) -> dict[str, str]:
    """The host's variables that `sandbox.local_env` allows (a name, or a prefix ending in *)."""
    env = {k: v for k, v in os.environ.items() if any(fnmatch.fnmatchcase(k, allowed) for allowed in cfg.local_env)}
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env.pop("PYTHONHOME", None)
    return env


class LocalSandbox:
    def __init__(self, clone: Path, commit: str, cfg: SandboxConfig, venv: Path | None = None):
        self.cfg = cfg
        self.venv = venv
        self.commit = commit
        self._tmp = Path(tempfile.mkdtemp(prefix="supercoder-sandbox-"))
        self.root = self._tmp / "repo"
        self.workdir = str(self.root)
        try:
            cloned = _git("clone", "--shared", "--no-checkout", "-q", str(clone), str(self.root))
            if cloned.returncode != 0:
                raise SandboxError(f"cannot clone {clone}: {git_said(cloned.stderr)}")
            checkout = _git("checkout", "-q", "--detach", commit, cwd=self.root)
            if checkout.returncode != 0:  # git says which: an unknown commit, a missing object, a shallow clone
                raise SandboxError(f"cannot check out {commit} from {clone}: {git_said(checkout.stderr)}")
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> LocalSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, command: str, timeout_s: float | None = None) -> ExecResult:
        return self._run(command, timeout_s, test_env(self.cfg, self.venv))

    def install(self, command: str) -> ExecResult:
        """`run`, with what an install needs to reach the package index (pip and proxy settings)."""
        return self._run(command, None, {**test_env(self.cfg, self.venv), **index_env(self.cfg)})

    def _run(self, command: str, timeout_s: float | None, env: dict[str, str]) -> ExecResult:
        limit = timeout_s if timeout_s is not None else self.cfg.command_timeout_s
        start = time.monotonic()
        proc = subprocess.Popen(
            ["bash", "-c", command], cwd=self.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True, env=env,
        )
        capped = Capped(self.cfg.output_max_chars)
        decoder = codecs.getincrementaldecoder("utf-8")("replace")

        def read() -> None:
            for chunk in iter(lambda: proc.stdout.read1(65536), b""):
                capped.add(decoder.decode(chunk))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc)  # leftovers of a finished command die with it too
        # A process that left the group (setsid) may hold the pipe open: do not wait for it
        # forever, and leave the pipe to the reader (closing it under a blocked read would block).
        reader.join(timeout=self.cfg.kill_grace_s)
        if not reader.is_alive():
            proc.stdout.close()
        output, truncated = capped.text()
        return ExecResult(command=command, exit_code=None if timed_out else proc.returncode, output=output,
                          duration_s=round(time.monotonic() - start, 3), timed_out=timed_out, truncated=truncated)

    def _path(self, path: str) -> Path:
        full = self.root / relative_path(path)
        try:
            full.resolve().relative_to(self.root.resolve())  # a symlink in the tree may point elsewhere
        except (OSError, ValueError):
            raise SandboxError(f"path leaves the repository: {path}") from None
        return full

    def read_file(self, path: str) -> str:
        try:
            return self._path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SandboxError(f"cannot read {path}: {exc}") from None

    def write_file(self, path: str, text: str) -> None:
        target = self._path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise SandboxError(f"cannot write {path}: {exc.strerror or exc}") from None

    def apply_diff(self, diff: str) -> None:
        if not diff.strip():
            return
        patch = self._tmp / "patch.diff"
        patch.write_text(diff if diff.endswith("\n") else diff + "\n", encoding="utf-8")
        applied = _git("apply", "--whitespace=nowarn", str(patch), cwd=self.root)
        if applied.returncode != 0:
            reason = " ".join(applied.stderr.strip().splitlines()[:3]) or "git apply failed"
            raise SandboxError(f"the patch does not apply: {reason}")

    def reset(self) -> None:
        """Back to the starting commit; untracked files go, ignored ones (build metadata of an
        install, a generated version file) stay."""
        for args in (("checkout", "-q", "--force", "--detach", self.commit), ("clean", "-fdq")):
            done = _git(*args, cwd=self.root)
            if done.returncode != 0:
                raise SandboxError(f"cannot reset the tree: {done.stderr.strip()}")

    def close(self) -> None:
        shutil.rmtree(self._tmp, ignore_errors=True)


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def install_or_raise(sb: LocalSandbox, script: str) -> None:
    done = sb.install(script)
    if done.exit_code != 0:
        tail = "\n".join(done.output.strip().splitlines()[-15:])
        raise SandboxError(f"installing the repository failed ({'timed out' if done.timed_out else f'exit {done.exit_code}'}):\n{tail}")


@contextmanager
def node_sandbox(env: Environment, cfg: SandboxConfig) -> Iterator[LocalSandbox]:
    """A local sandbox of a Node package, its dependencies installed by the host's own npm."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        raise SandboxError(f"a Node package on the local backend needs {' and '.join(missing)} on the host's PATH "
                           "(or use the docker backend)")
    with LocalSandbox(env.clone, env.commit, cfg) as sb:
        install_or_raise(sb, install_script(None, env.install, env.variables))
        yield sb

"""The backends, by the name `sandbox.backend` gives, and what each says of itself: which Pythons
it can offer, whether a trial gets a fresh sandbox, how it opens a sandbox of an Environment, and
what a run that died may have left behind. Nothing outside this module asks which backend is in
use.

- docker: layered images (base, environment, tree) and a container per sandbox, cheap enough
  that every trial gets a fresh one;
- local: a venv per environment on the host and a clone per sandbox, whose install is slow, so
  trials share one tree, reset between them.
"""

from __future__ import annotations

import re
import sys
from contextlib import AbstractContextManager, contextmanager
from typing import Callable, Iterator, Protocol

from sandbox.base import Sandbox, SandboxError
from sandbox.config import SandboxConfig
from sandbox.recipes import Environment

Progress = Callable[[str], None]
Opened = tuple[Sandbox, str]  # the sandbox, and the folder its services live in

# Setup commands that change the system itself: on the host (the local backend) they are refused.
SYSTEM_COMMAND = re.compile(r"\b(apt-get|apt|dpkg|yum|dnf|apk|locale-gen|update-locale|sudo)\b|>\s*/(etc|usr|opt|testbed)/|\s/testbed\b")


class Backend(Protocol):
    fresh_per_trial: bool  # each trial gets a sandbox of its own (else one tree, reset between trials)
    fetches_node: bool  # a Node package may get a Node fetched into its tree (else the host's own runs it)

    def pythons(self, cfg: SandboxConfig) -> list[str]:
        """The Python versions (`3.11`) an environment can have here."""

    def lacks(self, python: str, cfg: SandboxConfig) -> str | None:
        """Why an environment of `python` (a spec's, substitutes allowed) cannot be had here; None if it can."""

    def open(self, env: Environment, cfg: SandboxConfig, progress: Progress = lambda _: None,
             client=None) -> AbstractContextManager[Opened]:
        """A sandbox holding `env`'s tree, installed; closed when the context ends."""

    def release(self) -> None:
        """Drop what was made for environments of one run only (`Environment.ephemeral`)."""

    def prune(self) -> int:
        """Remove what runs that are gone left behind; how many things."""


def _refusal(check: Callable[[], object]) -> str | None:
    """What `check` raises (a SandboxError's message), or None when it passes."""
    try:
        check()
    except SandboxError as exc:
        return str(exc)
    return None


class DockerBackend:
    fresh_per_trial = True
    fetches_node = True  # a Linux build, as the images are

    def __init__(self) -> None:
        self._made: dict[str, object] = {}  # one run's images -> the client that made them

    def pythons(self, cfg: SandboxConfig) -> list[str]:
        return list(cfg.python_suites)

    def lacks(self, python: str, cfg: SandboxConfig) -> str | None:
        from sandbox.layers import suite_for

        return _refusal(lambda: suite_for(python, cfg))

    @contextmanager
    def open(self, env: Environment, cfg: SandboxConfig, progress: Progress = lambda _: None, client=None) -> Iterator[Opened]:
        from sandbox.docker_backend import DockerSandbox
        from sandbox.docker_engine import docker_client
        from sandbox.layers import DOCKER_PATHS, ensure_image

        client = client or docker_client()
        image = ensure_image(client, env, cfg, progress=progress)
        if env.ephemeral:
            self._made[image] = client
        with DockerSandbox(image, cfg, client=client, network=env.network) as sb:
            yield sb, DOCKER_PATHS.services

    def release(self) -> None:
        for image, client in self._made.items():
            try:
                client.images.remove(image, force=True)
            except Exception:  # gone already, or the engine is: `sandbox prune --images` finds it later
                pass
        self._made.clear()

    def prune(self) -> int:
        from sandbox.docker_engine import prune, prune_images

        return prune() + prune_images()


class LocalBackend:
    fresh_per_trial = False
    fetches_node = False  # a Linux build fetched into the tree may not run on the host

    def pythons(self, cfg: SandboxConfig) -> list[str]:
        return list(cfg.local_pythons) + ["%d.%d" % sys.version_info[:2]]

    def lacks(self, python: str, cfg: SandboxConfig) -> str | None:
        from sandbox.venvs import host_python

        return _refusal(lambda: host_python(python, cfg))

    @contextmanager
    def open(self, env: Environment, cfg: SandboxConfig, progress: Progress = lambda _: None, client=None) -> Iterator[Opened]:
        from sandbox.local import node_sandbox
        from sandbox.venvs import installed_sandbox

        if env.recipe.runtime == "node":
            with node_sandbox(env, cfg) as sb:
                yield sb, ""  # no services
            return
        system = [c for c in env.install if SYSTEM_COMMAND.search(c)]
        if system:  # on this backend they would change the host itself
            raise SandboxError(f"{env.name} needs the docker backend: its setup changes the system ({system[0][:80]})")
        with installed_sandbox(env.clone, env.commit, cfg, env.recipe, env.install, env.variables, progress) as (sb, paths):
            yield sb, paths.services

    def release(self) -> None:
        pass  # environments are kept for reuse; each sandbox's tree and child venv go with it

    def prune(self) -> int:
        return 0  # a local sandbox is a temporary folder, gone with its process


BACKENDS: dict[str, Callable[[], Backend]] = {"docker": DockerBackend, "local": LocalBackend}


def backend_of(cfg: SandboxConfig) -> Backend:
    return BACKENDS[cfg.backend]()


def open_sandbox(env: Environment, cfg: SandboxConfig, progress: Progress = lambda _: None,
                 client=None) -> AbstractContextManager[Opened]:
    """A sandbox of `env` on the configured backend, with the folder its services live in."""
    return backend_of(cfg).open(env, cfg, progress, client)

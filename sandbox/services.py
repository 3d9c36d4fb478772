"""Servers a repository's tests expect (httpbin for tests that read HTTPBIN_URL), run on loopback
beside them: a sandbox has no network. Which ones a tree wants is read from its own code, never
from its name."""

from __future__ import annotations

import shlex
from pathlib import Path

from sandbox.base import SandboxError, git, git_said
from sandbox.config import ServiceConfig


def wanted_services(clone: Path, commit: str, services: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
    """The configured services whose `wanted_by` pattern the tree's Python files at `commit` hold."""
    found: dict[str, ServiceConfig] = {}
    for name, service in services.items():
        done = git(clone, "grep", "-q", "-E", "-e", service.wanted_by, commit, "--", "*.py")
        if done.returncode == 0:
            found[name] = service
        elif done.returncode != 1:  # 1: no match; else git could not read the pattern (it is POSIX ERE) or the tree
            raise SandboxError(f"sandbox.services.{name}.wanted_by: git grep -E {service.wanted_by!r} failed: {git_said(done.stderr)}")
    return found


def service_prelude(services: dict[str, ServiceConfig], services_dir: str) -> str:
    """Shell that starts each service in the background, waits until it answers (saying so and
    showing its log if it does not), exports what the tests read, and stops the services (and
    removes their logs) when the shell exits: on a shared tree they would outlive the tests."""
    lines: list[str] = []
    cleanup: list[str] = []
    for name, service in services.items():
        path = f"PATH={shlex.quote(f'{services_dir}/{name}/bin')}:\"$PATH\""
        log, pid = f"svc_log_{name}", f"svc_pid_{name}"  # names are letters, digits and _ (checked in config)
        cleanup += [f'kill "${pid}" 2>/dev/null', f'rm -f "${log}"']
        tries = max(1, int(service.ready_timeout_s / service.ready_interval_s))
        lines += [
            f"{log}=$(mktemp)",
            f"( {path} exec bash -c {shlex.quote(service.start)} ) >\"${log}\" 2>&1 &",
            f"{pid}=$!",
            f"for _ in $(seq {tries}); do ( {path} bash -c {shlex.quote(service.ready)} ) >/dev/null 2>&1 && break; sleep {service.ready_interval_s}; done",
            f"( {path} bash -c {shlex.quote(service.ready)} ) >/dev/null 2>&1 || "
            f"{{ echo 'supercoder: service {name} did not answer; its log:'; tail -n 20 \"${log}\"; }}",
            *(f"export {k}={shlex.quote(v)}" for k, v in service.env.items()),
        ]
    if cleanup:
        lines.insert(0, "trap " + shlex.quote("; ".join(cleanup)) + " EXIT")
    return "\n".join(lines)


def with_services(command: str, services: dict[str, ServiceConfig], services_dir: str) -> str:
    """`command`, the services started before it."""
    prelude = service_prelude(services, services_dir)
    return f"{prelude}\n{command}" if prelude else command


"""The config section the sandbox owns (its values are in configs/default.yaml)."""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from configs.defaults import Section


class ServiceConfig(Section):
    """A server the tests of a repository expect (httpbin for requests), run on loopback
    beside them: the sandbox has no network. The defaults here are those of an entry."""

    wanted_by: str  # a tree whose Python files match this regular expression (POSIX extended, as `git grep -E` reads it) gets the service
    packages: list[str] = Field(min_length=1)  # installed into a venv of their own in the environment image
    start: str  # run in the background before the tests, with the service's venv first on PATH
    ready: str = "true"  # succeeds once the service answers
    ready_timeout_s: float = Field(30, gt=0)
    ready_interval_s: float = Field(0.2, gt=0)  # between two readiness probes
    env: dict[str, str] = Field(default_factory=dict)  # exported to the tests


class ProjectConfig(Section):
    """The environment of a repository that is not a SWE-bench instance: derived from its
    pyproject.toml, setup.cfg, setup.py and requirements files; each field overrides."""

    defaults_at = "sandbox.project"

    runtime: Literal["auto", "python", "node"] = "auto"
    python: str | None
    packages: list[str] | None
    install: str | None
    test_extras: list[str]
    requirements: list[str]
    always: list[str]
    pytest_plugins: dict[str, str]  # a pytest option, `-p NAME` or setting only a plugin knows -> the distribution adding it

    @field_validator("python", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML and --set read 3.9 as a number, and 3.10 as 3.1: take the first, refuse the second.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if str(value) in ("3.1", "3.2") or not isinstance(value, float):
                raise ValueError(f'write the version as text, e.g. "3.10" (the number {value} is ambiguous)')
            return str(value)
        return value


class SandboxConfig(Section):
    defaults_at = "sandbox"

    backend: Literal["docker", "local"]
    command_timeout_s: float = Field(gt=0)
    loopback_ipv6: bool = True  # a container's loopback has ::1, as a host's does
    test_timeout_s: float | None = Field(default=None, gt=0)
    kill_grace_s: float = Field(gt=0)
    output_max_chars: int = Field(ge=1000)
    workdir: str
    pytest_command: str
    pytest_optional: list[str]
    ca_bundle: str | None
    python_suites: dict[str, str]
    python_substitutes: dict[str, str]  # a spec's Python that no suite (or, locally, no interpreter) has -> the one used
    local_pythons: dict[str, str]
    pip_spec: str
    dated_pip_spec: str
    pin_by_date_days: int | None = Field(ge=0)
    swebench_uploaded_prior_to: str | None  # a SWE-bench spec's environment: what it leaves unpinned, as of then
    pin_relax_years: int = Field(ge=0)
    python_released: dict[str, date]
    build_timeout_s: float = Field(gt=0)
    local_venv_dir: Path | None
    services: dict[str, ServiceConfig]
    project: ProjectConfig
    conda_pip_names: dict[str, str]
    extra_pins: dict[str, list[str]]
    clone_url: str
    clone_timeout_s: float = Field(gt=0)
    network_repos: list[str]
    build_env: dict[str, str]
    cpus: float = Field(gt=0)
    memory_mb: int = Field(ge=64)
    pids_limit: int = Field(ge=16)
    tmpfs_mb: int = Field(ge=1)
    file_size_mb: int = Field(ge=1)
    disk_mb: int = Field(ge=1)
    disk_check_s: float = Field(gt=0)
    uid: int = Field(ge=1)  # never root
    build_cpus: float = Field(gt=0)
    build_memory_mb: int = Field(ge=64)
    build_pids_limit: int = Field(ge=16)
    local_env: list[str]  # names, or prefixes ending in *
    base_suite: str
    debian_mirror: str
    base_packages: list[str]
    node_suite: str
    node_suite_version: str
    node_majors: list[str]
    node_lts_names: dict[str, str]
    node_version: str | None
    node_npm_runs_on: str
    node_packages: list[str]
    node_install_env: dict[str, str]
    node_yarn_version: str
    node_pnpm_versions: dict[str, str]
    node_test_env: dict[str, str]

    @field_validator("node_version", mode="before")
    @classmethod
    def _release(cls, value: Any) -> Any:
        """`--set sandbox.node_version=22` reads as a number: a major (20.10 would read as 20.1)."""
        if isinstance(value, float):
            raise ValueError(f"write a release with a minor as a string ('{value}'): as a number, 20.10 reads as 20.1")
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("swebench_uploaded_prior_to", mode="before")
    @classmethod
    def _utc_instant(cls, value: Any) -> Any:
        """A date or time as YAML reads it, written as pip's option wants it (UTC)."""
        if isinstance(value, datetime):
            value = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if isinstance(value, date):
            return f"{value.isoformat()}T00:00:00Z"
        return value

    @field_validator("clone_url")
    @classmethod
    def _one_placeholder(cls, value: str) -> str:
        try:
            value.format(repo="owner/name")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may hold one placeholder, {repo}, and no other braces") from None
        return value

    @field_validator("services")
    @classmethod
    def _plain_names(cls, value: dict[str, ServiceConfig]) -> dict[str, ServiceConfig]:
        for name, service in value.items():
            if not re.fullmatch(r"[A-Za-z0-9_]+", name):
                raise ValueError(f"service name {name!r}: letters, digits and _ only (it names a folder and a variable)")
            try:
                re.compile(service.wanted_by)
            except re.error as exc:
                raise ValueError(f"service {name}: wanted_by {service.wanted_by!r} is no regular expression ({exc})") from None
        return value

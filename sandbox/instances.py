"""SWE-bench instances in the sandbox: their layered images (base, environment, instance) from
the `swebench` specs adapted to pip, and their validation (a patch plus the test patch, the
instance's tests run, the log read by swebench's parser, graded)."""

from __future__ import annotations

import re
import shlex
import time
from pathlib import Path
from typing import Callable

import yaml
from pydantic import BaseModel, Field

from agent.config import SandboxConfig
from sandbox.base import SandboxError, git
from sandbox.docker_backend import DockerSandbox, docker_client
from sandbox.grading import grade
from sandbox.images import ensure_base
from sandbox.layers import LayerSpec, ensure_layer
from sandbox.models import Split
from sandbox.results import parse_log
from sandbox import swebench_adapter as swe

VENV = "/opt/venv"
_CONDA_ONLY = {"python", "pip", "setuptools", "wheel"}  # python comes from the base; pip is upgraded apart


class Validation(BaseModel):
    instance_id: str
    resolved: bool = False
    fail_to_pass: Split = Field(default_factory=Split)
    pass_to_pass: Split = Field(default_factory=Split)
    duration_s: float = 0.0
    error: str | None = None


def clone_for(repo_cache: Path, repo: str) -> Path:
    clone = repo_cache / repo.replace("/", "__")
    if not clone.exists():
        raise SandboxError(f"no clone of {repo} in {repo_cache} (expected {clone.name}, bare or not)")
    return clone


def _show(clone: Path, commit: str, path: str) -> str | None:
    done = git(clone, "show", f"{commit}:{path}")
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def _pip_name(conda: str) -> str:
    """A conda requirement as pip reads it (`numpy=1.20` -> `numpy==1.20`)."""
    return re.sub(r"(?<![=<>!~])=(?!=)", "==", conda.strip())


_VCS = re.compile(r"(^|\s|@)\s*(-e\s+)?(git|hg|svn|bzr)\+", re.I)


def _offline_requirements(text: str) -> str:
    """Requirements without the lines that fetch from a version-control host (only the package
    index is reachable from a build): they are documentation tools, not what the tests need."""
    return "".join(line for line in text.splitlines(keepends=True) if not _VCS.search(line))


_INCLUDE = re.compile(r"^\s*(-r|--requirement)[\s=]+(\S+)")
_SKIPPED = re.compile(r"^\s*(-c|--constraint)(\s|=)|^\s*(-e\s+)?\.(\[[^\]]*\])?(\s|$)")  # constraints; the package itself (the instance installs it)


def read_requirements(clone: Path, commit: str, path: str, seen: set[str] | None = None) -> str | None:
    """A requirements file at `commit` with its `-r` includes inlined (as swebench does), or None."""
    seen = set() if seen is None else seen
    if path in seen:
        return ""
    seen.add(path)
    text = _show(clone, commit, path)
    if text is None:
        return None
    folder = str(Path(path).parent)
    out = []
    for line in text.splitlines(keepends=True):
        include = _INCLUDE.match(line)
        if include:
            target = str(Path(folder) / include.group(2)) if folder != "." else include.group(2)
            out.append(read_requirements(clone, commit, target, seen) or "")
        elif not _SKIPPED.match(line):
            out.append(line if line.endswith("\n") else line + "\n")
    return _offline_requirements("".join(out))


def _env_yml_packages(text: str) -> list[str]:
    data = yaml.safe_load(text) or {}
    out = []
    for dep in data.get("dependencies", []):
        if isinstance(dep, dict):
            out += [str(d) for d in dep.get("pip", [])]
        elif str(dep).split("=")[0].strip() not in _CONDA_ONLY:
            out.append(_pip_name(str(dep)))
    return out


def env_layer(row: dict, clone: Path, base: str) -> LayerSpec:
    spec = swe.spec(row["repo"], row["version"])
    files: dict[str, str] = {}
    installs: list[str] = []
    packages = spec.get("packages", "")
    if packages == "requirements.txt":
        for path in swe.requirements_paths(row["repo"]):
            text = read_requirements(clone, row["base_commit"], path)
            if text is not None:
                files[f"/opt/reqs/{path}"] = text
        installs += [f"-r {shlex.quote(p[len('/opt/reqs/'):])}" for p in files]
    elif packages == "environment.yml":
        for path in swe.env_yml_paths(row["repo"]):
            text = _show(clone, row["base_commit"], path)
            if text is not None:
                installs += [shlex.quote(p) for p in _env_yml_packages(text)]
                break
    elif packages:
        installs += [shlex.quote(_pip_name(p)) for p in packages.split() if p.split("=")[0] not in _CONDA_ONLY]
    pinned = [shlex.quote(p) for p in spec.get("pip_packages", [])]
    script = ["set -euxo pipefail", f"python3 -m venv {VENV}", f". {VENV}/bin/activate", "mkdir -p /opt/reqs && cd /opt/reqs"]
    if installs or pinned:  # pip < 24.1 still accepts the loose version strings of old pins
        script.append("python -m pip install -q --upgrade 'pip<24.1'")
    # The spec's pins go in a second step, over what the requirements chose (as swebench does).
    for group in (installs, pinned):
        if group:
            script.append("python -m pip install -q " + " ".join(group))
    return LayerSpec(kind="env", name=f"{row['repo'].replace('/', '__')}-{row['version']}", parent=base,
                     script="\n".join(script), files=files, env={"PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "VIRTUAL_ENV": VENV})


def instance_layer(row: dict, clone: Path, env: str) -> LayerSpec:
    spec = swe.spec(row["repo"], row["version"])
    # The tree comes without git history, so setuptools-scm would make the version 0.1.dev1
    # (and a `minversion` check fails): give it the instance's version instead.
    version = f"{row['version']}.0" if row["version"].count(".") == 1 else row["version"]
    script = ["set -euxo pipefail", f". {VENV}/bin/activate", f"export SETUPTOOLS_SCM_PRETEND_VERSION={shlex.quote(version)}",
              *spec.get("pre_install", []), spec.get("install", "true")]
    return LayerSpec(kind="instance", name=row["instance_id"], parent=env, script="\n".join(script),
                     clone=str(clone), commit=row["base_commit"])


def ensure_instance(row: dict, repo_cache: Path, cfg: SandboxConfig, rebuild: bool = False,
                    progress: Callable[[str], None] = lambda _: None, client=None) -> str:
    client = client or docker_client()
    clone = clone_for(repo_cache, row["repo"])
    python = swe.spec(row["repo"], row["version"])["python"]
    suite = cfg.python_suites.get(python)
    if suite is None:
        raise SandboxError(f"no Debian suite has Python {python} (sandbox.python_suites: {cfg.python_suites})")
    base = ensure_base(client, cfg.model_copy(update={"base_suite": suite}), progress=progress)
    env = ensure_layer(client, cfg, env_layer(row, clone, base), rebuild=rebuild, progress=progress)
    return ensure_layer(client, cfg, instance_layer(row, clone, env), rebuild=rebuild, progress=progress)


def validate(row: dict, repo_cache: Path, cfg: SandboxConfig, patch: str | None,
             progress: Callable[[str], None] = lambda _: None, client=None) -> Validation:
    """Apply `patch` (None: no patch) and the test patch, run the instance's tests, grade."""
    out = Validation(instance_id=row["instance_id"])
    start = time.monotonic()
    try:
        fail_to_pass, pass_to_pass = swe.parse_test_list(row["FAIL_TO_PASS"]), swe.parse_test_list(row["PASS_TO_PASS"])
        image = ensure_instance(row, repo_cache, cfg, progress=progress, client=client)
        with DockerSandbox(image, cfg, client=client) as sb:
            if patch:
                sb.apply_diff(patch)
            sb.apply_diff(row["test_patch"])
            test_cmd = swe.spec(row["repo"], row["version"])["test_cmd"]
            test_cmd = test_cmd if isinstance(test_cmd, str) else " && ".join(test_cmd)
            command = f"{test_cmd} " + " ".join(shlex.quote(d) for d in swe.test_directives(row))
            result = sb.run(command)
        if result.timed_out:
            raise SandboxError(f"the tests timed out after {result.duration_s:.0f} s")
        results = parse_log(row["repo"], result.output)
        verdict = grade(results, fail_to_pass, pass_to_pass)
        out.resolved, out.fail_to_pass, out.pass_to_pass = verdict.resolved, verdict.fail_to_pass, verdict.pass_to_pass
    except (SandboxError, ValueError) as exc:
        out.error = str(exc)
    out.duration_s = round(time.monotonic() - start, 1)
    return out

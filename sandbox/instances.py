"""SWE-bench instances in the sandbox: their layered images (base, environment, instance) from
the `swebench` specs adapted to pip, and their validation (a patch plus the test patch, the
instance's tests run, the log read by swebench's parser, graded).

An instance of a repository (or version) swebench has no spec for gets the environment derived
from the repository's own files (sandbox.project) and is tested with pytest on the test files
its test patch touches and those its FAIL_TO_PASS and PASS_TO_PASS tests live in, read from
pytest's junit report."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from typing import Callable

from pydantic import BaseModel, Field

from sandbox import swebench_adapter as swe
from sandbox.backends import backend_of, open_sandbox
from sandbox.base import SandboxError
from sandbox.config import SandboxConfig
from sandbox.grading import grade
from sandbox.guard import apply_guarded
from sandbox.models import Split, TestResults
from sandbox.project import project_environment
from sandbox.recipes import Environment, EnvRecipe
from sandbox.requirements import CONDA_ONLY, env_yml_packages, pip_name, read_requirements, show
from sandbox.results import log_disagreement, parse_log
from sandbox.runner import run_tests
from sandbox.services import wanted_services, with_services

# An editable install puts the tree itself on sys.path, as setuptools' legacy `develop` did in
# SWE-bench's environments: the import hook of newer setuptools hides the tree from tools that
# look for the repository's files on sys.path (pylint loading its plugins by file).
TREE_ON_PATH = ('printf "%s\\n" "$PWD" > '
                '"$(python -c \'import sysconfig; print(sysconfig.get_paths()["purelib"])\')/_supercoder_tree.pth"')


class Validation(BaseModel):
    instance_id: str
    resolved: bool = False
    fail_to_pass: Split = Field(default_factory=Split)
    pass_to_pass: Split = Field(default_factory=Split)
    duration_s: float = 0.0
    error: str | None = None  # why it could not be run (an infrastructure error)
    refused: str | None = None  # why the patch was not tested: it changes what judges it (not resolved)
    output: str = Field("", exclude=True)  # the test run's log, for those who keep it


def clone_for(repo_cache: Path, repo: str, cfg: SandboxConfig, progress: Callable[[str], None] = lambda _: None) -> Path:
    """The cached clone of `repo`; a missing one is cloned (bare) from `sandbox.clone_url` first."""
    clone = repo_cache / repo.replace("/", "__")
    if clone.exists():
        return clone
    url = cfg.clone_url.format(repo=repo)
    progress(f"cloning {url} into {clone}")
    partial = clone.with_name(f".{clone.name}.partial")  # renamed when complete: a dead clone is no clone
    shutil.rmtree(partial, ignore_errors=True)
    try:
        done = subprocess.run(["git", "clone", "--bare", "-q", url, str(partial)], capture_output=True, text=True,
                              timeout=cfg.clone_timeout_s, env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    except subprocess.TimeoutExpired:
        done = None
    if done is None or done.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        reason = "timed out" if done is None else (done.stderr.strip().splitlines() or ["git clone failed"])[-1]
        raise SandboxError(f"no clone of {repo} in {repo_cache} (expected {clone.name}, bare or not), and cloning {url} failed: {reason}")
    try:
        partial.rename(clone)
    except OSError:  # another run cloned it meanwhile
        shutil.rmtree(partial, ignore_errors=True)
        if not clone.exists():
            raise SandboxError(f"cannot move the clone of {repo} into {clone}") from None
    return clone


def swebench_recipe(row: dict, clone: Path, cfg: SandboxConfig) -> EnvRecipe:
    """The environment of an instance's repo and version, from its swebench spec adapted to pip.
    Requirement files are read at the instance's environment setup commit, as swebench does."""
    spec = swe.spec(row["repo"], row["version"])
    commit = row.get("environment_setup_commit") or row["base_commit"]
    files: dict[str, str] = {}
    installs: list[str] = []
    optional: list[str] = []
    packages = spec.get("packages", "")
    if packages == "requirements.txt":
        for path in swe.requirements_paths(row["repo"]):
            text = read_requirements(clone, commit, path)
            if text is not None:
                files[path] = text
        installs += [f"-r {shlex.quote(p)}" for p in files]
    elif packages == "environment.yml":
        for path in swe.env_yml_paths(row["repo"]):
            text = show(clone, commit, path)
            if text is not None:
                # conda names: some have no pip twin, so each is installed as far as pip can.
                optional += env_yml_packages(text, cfg.conda_pip_names)
                break
    elif packages:
        installs += [shlex.quote(pip_name(p)) for p in packages.split() if p.split("=")[0] not in CONDA_ONLY]
    pins = list(spec.get("pip_packages", [])) + list(cfg.extra_pins.get(row["repo"], []))
    # The spec's pins go in a last step, over what the requirements chose (as swebench does);
    # the packages installed as far as pip can are held to them too.
    return EnvRecipe(name=f"{row['repo'].replace('/', '__')}-{row['version']}", python=spec["python"], files=files,
                     pip=[g for g in (installs, [shlex.quote(p) for p in pins]) if g], optional=optional,
                     uploaded_prior_to=None if optional else cfg.swebench_uploaded_prior_to,
                     constraints=pins if optional else [], services=wanted_services(clone, row["base_commit"], cfg.services))


def install_commands(row: dict, old_pip: str | None = None) -> tuple[list[str], dict[str, str]]:
    """The commands that install the repository at its commit, and the variables they need.
    `old_pip`: the environment's pip is today's, and an install it cannot do is tried again with
    this one (a build backend from before editable hooks: pylint's setuptools~=62.6, which only
    a pip before 25 installs editable, by `setup.py develop`)."""
    spec = swe.spec(row["repo"], row["version"])
    # The tree comes without git history, so setuptools-scm would make the version 0.1.dev1
    # (and a `minversion` check fails): give it the instance's version instead.
    version = f"{row['version']}.0" if row["version"].count(".") == 1 else row["version"]
    install = spec.get("install", "true")
    if old_pip:
        told = shlex.quote(f"supercoder: today's pip cannot install the tree; again with {old_pip}")
        install = f"{{ {install}; }} || {{ echo {told}; python -m pip install -q {shlex.quote(old_pip)} && {{ {install}; }}; }}"
    commands = [*spec.get("pre_install", []), install]
    if re.search(r"\s(-e|--editable)\s", f" {spec.get('install', '')} "):
        commands.append(TREE_ON_PATH)
    return commands, {"SETUPTOOLS_SCM_PRETEND_VERSION": version}


def eval_command(row: dict, env: Environment, services_dir: str) -> str:
    """The instance's test command on the files its test patch touches, after the spec's
    `eval_commands` (django's locale variables), its services started first."""
    spec = swe.spec(row["repo"], row["version"])
    test_cmd = spec["test_cmd"] if isinstance(spec["test_cmd"], str) else " && ".join(spec["test_cmd"])
    command = "\n".join([*spec.get("eval_commands", []), f"{test_cmd} " + " ".join(shlex.quote(d) for d in swe.test_directives(row))])
    return with_services(command, env.recipe.services, services_dir)


def instance_environment(row: dict, repo_cache: Path, cfg: SandboxConfig,
                         progress: Callable[[str], None] = lambda _: None) -> Environment:
    """The instance's tree at its commit in its environment: swebench's spec adapted to pip, or,
    for a repository (or version) swebench has no spec for, the one derived from its own files."""
    clone = clone_for(repo_cache, row["repo"], cfg, progress)
    if not swe.has_spec(row):
        return project_environment(clone, row["base_commit"], cfg)
    recipe = swebench_recipe(row, clone, cfg)
    commands, variables = install_commands(row, cfg.pip_spec if recipe.dated else None)
    if recipe.dated:  # what the install adds, too (the environment has today's pip: sandbox.dated_pip_spec)
        variables["PIP_UPLOADED_PRIOR_TO"] = recipe.uploaded_prior_to
    return Environment(clone=clone, commit=row["base_commit"], recipe=recipe, install=commands,
                       variables=variables, name=row["instance_id"], network=row["repo"] in cfg.network_repos)


def unsupported(row: dict, cfg: SandboxConfig) -> str | None:
    """Why the instance's environment cannot be had on the configured backend (its spec's Python
    is one that no suite, substitute or interpreter here gives), known before anything is built
    or any model is asked; None when it can. A derived environment always can (it picks a Python
    the backend offers)."""
    if not swe.has_spec(row):
        return None
    why = backend_of(cfg).lacks(swe.spec(row["repo"], row["version"])["python"], cfg)
    return f"unsupported environment: {why}" if why else None


def ensure_instance(row: dict, repo_cache: Path, cfg: SandboxConfig, rebuild: bool = False,
                    progress: Callable[[str], None] = lambda _: None, client=None) -> str:
    """The instance's Docker image, built (layer by layer) where missing."""
    from sandbox.docker_engine import docker_client
    from sandbox.layers import ensure_image

    return ensure_image(client or docker_client(), instance_environment(row, repo_cache, cfg, progress), cfg, rebuild, progress)


def _patched_tests(test_patch: str) -> list[str]:
    from unidiff import PatchSet

    return [f.path for f in PatchSet(test_patch) if not f.is_removed_file and f.path.endswith(".py")]


def validate(row: dict, repo_cache: Path, cfg: SandboxConfig, patch: str | None,
             progress: Callable[[str], None] = lambda _: None, client=None) -> Validation:
    """Apply `patch` (None: no patch) and the test patch, run the instance's tests, grade. A patch
    that changes the tests or their configuration is refused, untested (sandbox.guard)."""
    out = Validation(instance_id=row["instance_id"])
    start = time.monotonic()
    try:
        fail_to_pass, pass_to_pass = swe.parse_test_list(row["FAIL_TO_PASS"]), swe.parse_test_list(row["PASS_TO_PASS"])
        why = unsupported(row, cfg)
        if why:
            raise SandboxError(why)
        env = instance_environment(row, repo_cache, cfg, progress)
        with open_sandbox(env, cfg, progress, client) as (sb, services_dir):
            out.refused = apply_guarded(sb, patch) if patch else None
            if out.refused:
                out.duration_s = round(time.monotonic() - start, 1)
                return out
            sb.apply_diff(row["test_patch"])
            if swe.has_spec(row):
                result = sb.run(eval_command(row, env, services_dir))
                results = parse_log(row["repo"], result.output)
                disagreement = log_disagreement(result.output)
                if disagreement:
                    results = TestResults(source="log", problem=f"results disagree: {disagreement}")
            else:
                files = _patched_tests(row["test_patch"]) + [t.split("::")[0] for t in fail_to_pass + pass_to_pass]
                result, results = run_tests(sb, env.recipe, [f for f in dict.fromkeys(files) if f.endswith(".py")], cfg, services_dir)
        out.output = result.output
        if result.cut_short:
            raise SandboxError(f"the tests {result.cut_short}")
        verdict = grade(results, fail_to_pass, pass_to_pass)
        out.resolved, out.fail_to_pass, out.pass_to_pass = verdict.resolved, verdict.fail_to_pass, verdict.pass_to_pass
    except (SandboxError, ValueError) as exc:
        out.error = str(exc)
    out.duration_s = round(time.monotonic() - start, 1)
    return out

"""What a sandbox needs, whichever backend makes it (Docker images, venvs on the host): the
environment (the Python version, requirements files, pip installs in order and the services its
tests expect), the tree and how it is installed; and the shell scripts that build and use them,
given where things live."""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from sandbox.config import SandboxConfig, ServiceConfig
from sandbox.dated import dated_group, dated_install, one_at_a_time

# The host's settings an install needs to reach the package index.
_INDEX_VARS = re.compile(r"^(PIP_(INDEX_URL|EXTRA_INDEX_URL|TRUSTED_HOST|DEFAULT_TIMEOUT|RETRIES)|(HTTPS?|NO)_PROXY|(https?|no)_proxy)$")

CONSTRAINTS = "supercoder-constraints.txt"


class NodeRun(BaseModel):
    """One run of a Node package's tests, as its scripts make it (sandbox.node)."""

    runner: Literal["jest", "vitest", "mocha", "node", "tap", "ava", "tape"]  # node: Node's own runner, `node --test`; tap: node-tap
    script: str  # the npm script it comes from ("test", "test-tz")
    env: dict[str, str] = Field(default_factory=dict)  # what the script sets for it (TZ=...)
    command: list[str]  # the words that start the runner (`jest`, `node --flag node_modules/jest/bin/jest.js`)
    args: list[str] = Field(default_factory=list)  # its arguments as written (the runner drops reporters, watch, bail)
    before: list[str] = Field(default_factory=list)  # build steps the scripts run before it (shell commands)


class EnvRecipe(BaseModel):
    name: str  # readable, e.g. "sympy__sympy-1.1"
    python: str  # "3.9", as the spec asks ("" in a Node environment)
    runtime: Literal["python", "node"] = "python"
    node_runs: list[NodeRun] = Field(default_factory=list)  # a Node environment's test runs
    files: dict[str, str] = Field(default_factory=dict)  # path under the requirements folder -> text
    pip: list[list[str]] = Field(default_factory=list)  # `pip install` arguments, one call per group, in order
    optional: list[str] = Field(default_factory=list)  # installed first, as far as pip can (all at once, else one by one)
    constraints: list[str] = Field(default_factory=list)  # hold the optional installs to these
    services: dict[str, ServiceConfig] = Field(default_factory=dict)
    uploaded_prior_to: str | None = None  # the `pip` groups install releases uploaded before this (an old commit's date)
    runner: str | None = None  # the test runner, checked to run on this Python once installed (else installed anew)
    each_alone: bool = False  # a group pip cannot install whole goes one requirement at a time (naming what is left out)

    @property
    def dated(self) -> bool:
        """Its groups install as of `uploaded_prior_to`, with the pip that knows the option
        (an environment file's packages, installed as far as pip can, know no date)."""
        return bool(self.uploaded_prior_to and self.pip and not self.optional)


class Environment(BaseModel):
    """A tree installed in its environment: everything a backend needs to open a sandbox of it."""

    clone: Path  # a git clone (bare or not) that holds `commit`; only read
    commit: str
    recipe: EnvRecipe
    install: list[str] = Field(default_factory=list)  # commands that install the tree, run in it, its environment active
    variables: dict[str, str] = Field(default_factory=dict)  # ... and the variables they need
    name: str  # readable, e.g. an instance id (part of an image tag)
    network: bool = False  # its tests may reach the network
    ephemeral: bool = False  # a tree of one run (a workspace's commit): nothing to reuse once the run ends
    about: dict[str, str] = Field(default_factory=dict)  # how it was chosen, for the run record


class EnvPaths(BaseModel):
    """Where a built environment lives."""

    python: str  # the interpreter that makes the venvs
    venv: str
    reqs: str  # requirements files are written here and installs run from here
    services: str  # one venv per service below this
    # The interpreter is the sandbox's own (an image's): the venv's packages are its site too, so
    # a tool that links to the interpreter (tox --current-env) still sees them, as in a conda env.
    owned: bool = False


def env_script(recipe: EnvRecipe, paths: EnvPaths, pip_spec: str = "pip", dated_pip_spec: str = "pip>=26.0", relax_years: int = 0) -> str:
    q = shlex.quote
    lines = ["set -euxo pipefail", f"{q(paths.python)} -m venv {q(paths.venv)}", *(_site_lines(paths) if paths.owned else []),
             f". {q(paths.venv)}/bin/activate", f"mkdir -p {q(paths.reqs)} && cd {q(paths.reqs)}"]
    if recipe.dated:
        # Today's pip (it knows --uploaded-prior-to) and build tools; the dependencies as they stood
        # at the cutoff, built with those tools (an isolated build would look for build tools of that
        # time too, and setuptools>=40.8 did not exist before 2019). A group that cannot be had whole
        # as of then goes one requirement at a time, each as late as it must (sandbox.dated).
        lines.append(f"python -m pip install -q --upgrade {q(dated_pip_spec)} setuptools wheel")
        for group in recipe.pip:
            each = " ".join(q(r) for arg in group for r in _requirements(arg, recipe.files))
            lines.append(dated_group(" ".join(group), f"for p in {each}", recipe.uploaded_prior_to, relax_years))
        return "\n".join(lines + _runner_lines(recipe, relax_years) + _service_lines(recipe, paths))
    if recipe.pip or recipe.optional:
        lines.append(f"python -m pip install -q --upgrade {q(pip_spec)}")
    if recipe.optional:
        held = ""
        if recipe.constraints:
            lines.append(f"printf '%s\\n' {' '.join(q(c) for c in recipe.constraints)} > {CONSTRAINTS}")
            held = f"-c {CONSTRAINTS} "
        each = " ".join(q(p) for p in recipe.optional)
        lines.append(f"python -m pip install -q {held}{each} || " + one_at_a_time(f"for p in {each}", f"python -m pip install -q {held}\"$p\""))
    for group in (g for g in recipe.pip if g):
        whole = "python -m pip install -q " + " ".join(group)
        if recipe.each_alone:  # what a repository declares may hold a requirement pip cannot install here
            each = " ".join(q(r) for arg in group for r in _requirements(arg, recipe.files))
            whole += " || " + one_at_a_time(f"for p in {each}", 'python -m pip install -q "$p"')
        lines.append(whole)
    return "\n".join(lines + _runner_lines(recipe, relax_years) + _service_lines(recipe, paths))


def _site_lines(paths: EnvPaths) -> list[str]:
    """A .pth in the interpreter's own site that adds the venv's site (its .pth files included)."""
    q = shlex.quote
    venv_site = f"$({q(paths.venv)}/bin/python -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))')"
    return [f"base_site=$({q(paths.python)} -c 'import site; print(site.getsitepackages()[0])')",
            'mkdir -p "$base_site"',
            f'echo "import site; site.addsitedir(\'{venv_site}\')" > "$base_site/supercoder-env.pth"']


# The distributions that plug into pytest (pytest-cov): pinned with an old pytest, they may not
# load in a newer one. (Others declare the entry point too, hypothesis, anyio: they are left be.)
_PYTEST_PLUGINS = ("import importlib.metadata as m; print(' '.join(sorted({d.metadata['Name'] for d in m.distributions() "
                   "if d.metadata['Name'].lower().startswith('pytest') and any(e.group == 'pytest11' for e in d.entry_points)})))")


def runner_check(runner: str, python: str, cutoff: str | None, relax_years: int = 0) -> list[str]:
    """Shell that checks the test runner can run a one-line test on this Python (a pytest pinned
    in 2014 cannot on 3.9) and, if not, installs it and its plugins anew: as of `cutoff` (that of
    the Python, for a commit older than it), else the newest; saying so, and saying so again if
    even that does not run (the tests then report it), never stopping the build."""
    q = shlex.quote
    upgrade = f"--upgrade {q(runner)} $plugins"
    install = dated_install(upgrade, cutoff, relax_years=relax_years) if cutoff else f"python -m pip install -q {upgrade}"
    told = f"supercoder: the installed {runner} cannot run a test on Python {python}; installing it and its plugins anew"
    return ["runner_probe=$(mktemp -d)",
            "echo 'def test_probe(): pass' > \"$runner_probe/test_probe.py\"",
            f"runner_runs() {{ ( cd \"$runner_probe\" && python -m {q(runner)} -q test_probe.py ) >/dev/null 2>&1; }}",
            f"if ! runner_runs; then echo {q(told)}; plugins=$(python -c {q(_PYTEST_PLUGINS)} || true); {{ {install}; }} || true; "
            f"runner_runs || echo {q(f'supercoder: {runner} still cannot run a test here')}; fi",
            'rm -rf "$runner_probe"']


def _runner_lines(recipe: EnvRecipe, relax_years: int) -> list[str]:
    return runner_check(recipe.runner, recipe.python, recipe.uploaded_prior_to, relax_years) if recipe.runner else []


def _requirements(arg: str, files: dict[str, str]) -> list[str]:
    """The requirements a pip argument stands for: a `-r FILE` of the recipe, line by line (its
    options and comments left out), or itself, unquoted."""
    if arg.startswith("-r "):
        text = files.get(shlex.split(arg[3:])[0], "")
        lines = [line.split(" #")[0].strip() for line in text.splitlines()]
        return [line for line in lines if line and not line.startswith(("#", "-"))]
    return shlex.split(arg)


def _service_lines(recipe: EnvRecipe, paths: EnvPaths) -> list[str]:
    q = shlex.quote
    lines: list[str] = []
    for name, service in recipe.services.items():
        venv = f"{paths.services}/{name}"
        # One that cannot be installed is said; the tests' prelude says again that it does not answer.
        lines += [f"{q(paths.python)} -m venv {q(venv)}",
                  f"{q(venv)}/bin/python -m pip install -q " + " ".join(q(p) for p in service.packages)
                  + f" || echo {q(f'supercoder: service {name} could not be installed')}"]
    return lines


def install_script(venv: str | None, commands: list[str], env: dict[str, str] | None = None) -> str:
    """The repository installed (into `venv`, when it has one), from the working directory."""
    exports = [f"export {k}={shlex.quote(v)}" for k, v in (env or {}).items()]
    activate = [f". {shlex.quote(venv)}/bin/activate"] if venv else []
    return "\n".join(["set -euxo pipefail", *activate, *exports, *commands])


def index_env(cfg: SandboxConfig) -> dict[str, str]:
    """What a build or an install sees of the host to reach the package index: its pip and proxy
    settings (not those pointing at local files), then `sandbox.build_env`."""
    env = {k: v for k, v in os.environ.items() if _INDEX_VARS.match(k) and "file:" not in v}
    env.update(cfg.build_env)
    return env

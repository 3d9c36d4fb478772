"""What a sandbox needs, whichever backend makes it (Docker images, venvs on the host): the
environment (the Python version, requirements files, pip installs in order and the services its
tests expect), the tree and how it is installed; and the shell scripts that build and use them,
given where things live."""

from __future__ import annotations

import os
import re
import shlex
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field

from sandbox.config import SandboxConfig, ServiceConfig

# The host's settings an install needs to reach the package index.
_INDEX_VARS = re.compile(r"^(PIP_(INDEX_URL|EXTRA_INDEX_URL|TRUSTED_HOST|DEFAULT_TIMEOUT|RETRIES)|(HTTPS?|NO)_PROXY|(https?|no)_proxy)$")

CONSTRAINTS = "supercoder-constraints.txt"


class EnvRecipe(BaseModel):
    name: str  # readable, e.g. "sympy__sympy-1.1"
    python: str  # "3.9", as the spec asks
    files: dict[str, str] = Field(default_factory=dict)  # path under the requirements folder -> text
    pip: list[list[str]] = Field(default_factory=list)  # `pip install` arguments, one call per group, in order
    optional: list[str] = Field(default_factory=list)  # installed first, as far as pip can (all at once, else one by one)
    constraints: list[str] = Field(default_factory=list)  # hold the optional installs to these
    services: dict[str, ServiceConfig] = Field(default_factory=dict)
    uploaded_prior_to: str | None = None  # the `pip` groups install releases uploaded before this (an old commit's date)


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


def env_script(recipe: EnvRecipe, paths: EnvPaths, pip_spec: str = "pip", dated_pip_spec: str = "pip>=26.0", relax_years: int = 0) -> str:
    q = shlex.quote
    lines = ["set -euxo pipefail", f"{q(paths.python)} -m venv {q(paths.venv)}", f". {q(paths.venv)}/bin/activate",
             f"mkdir -p {q(paths.reqs)} && cd {q(paths.reqs)}"]
    if recipe.uploaded_prior_to and recipe.pip and not recipe.optional:
        # Today's pip (it knows --uploaded-prior-to) and build tools; the dependencies as they stood
        # at the cutoff, built with those tools (an isolated build would look for build tools of that
        # time too, and setuptools>=40.8 did not exist before 2019). A group that cannot be had as
        # of then is installed as of now; one that cannot be had at all, one requirement at a time,
        # leaving out (and naming) what cannot be installed here.
        lines.append(f"python -m pip install -q --upgrade {q(dated_pip_spec)} setuptools wheel")
        for group in recipe.pip:
            each = [r for arg in group for r in _requirements(arg, recipe.files)]
            one = dated_install('"$p"', recipe.uploaded_prior_to, relax_years=relax_years)
            lines.append(f"{{ {dated_install(' '.join(group), recipe.uploaded_prior_to, relax_years=relax_years)}; }} || "
                         + _one_at_a_time(" ".join(q(r) for r in each), f"{{ {one}; }}"))
        return "\n".join(lines + _service_lines(recipe, paths))
    if recipe.pip or recipe.optional:
        lines.append(f"python -m pip install -q --upgrade {q(pip_spec)}")
    if recipe.optional:
        held = ""
        if recipe.constraints:
            lines.append(f"printf '%s\\n' {' '.join(q(c) for c in recipe.constraints)} > {CONSTRAINTS}")
            held = f"-c {CONSTRAINTS} "
        each = " ".join(q(p) for p in recipe.optional)
        lines.append(f"python -m pip install -q {held}{each} || " + _one_at_a_time(each, f"python -m pip install -q {held}\"$p\""))
    lines += ["python -m pip install -q " + " ".join(group) for group in recipe.pip if group]
    return "\n".join(lines + _service_lines(recipe, paths))


def _one_at_a_time(each: str, install: str) -> str:
    """Shell that runs `install` (which reads "$p") for each of the quoted requirements `each`,
    naming those it cannot install."""
    return f"for p in {each}; do {install} || echo \"supercoder: left out $p (pip cannot install it here)\"; done"


def _requirements(arg: str, files: dict[str, str]) -> list[str]:
    """The requirements a pip argument stands for: a `-r FILE` of the recipe, line by line (its
    options and comments left out), or itself, unquoted."""
    if arg.startswith("-r "):
        text = files.get(shlex.split(arg[3:])[0], "")
        lines = [line.split(" #")[0].strip() for line in text.splitlines()]
        return [line for line in lines if line and not line.startswith(("#", "-"))]
    return shlex.split(arg)


def later(cutoff: str, years: int) -> str:
    """An ISO datetime `years` after `cutoff` (a 29 February becomes the 28th)."""
    when = datetime.fromisoformat(cutoff.replace("Z", "+00:00"))
    return when.replace(year=when.year + years, day=min(when.day, 28) if when.month == 2 else when.day).strftime("%Y-%m-%dT%H:%M:%SZ")


def dated_install(args: str, cutoff: str, fallback: str | None = None, relax_years: int = 0) -> str:
    """`pip install ARGS` as of `cutoff`: built with today's tools, else in an isolated build (whose
    build tools are of that time too); else as of a year later, and another, up to `relax_years`
    (preferring wheels: a release of then may have none for this Python, one a little later has);
    else, saying so, as of now (`pip install FALLBACK`)."""
    q = shlex.quote
    told = q(f"supercoder: not installable as uploaded before {cutoff}, installing the newest releases: {fallback or args}")

    def dated(when: str) -> str:
        return f"python -m pip install -q --uploaded-prior-to={q(when)}"

    steps = [f"{dated(cutoff)} --no-build-isolation {args}", f"{dated(cutoff)} {args}"]
    steps += [f"{dated(later(cutoff, n))} --prefer-binary {args}" for n in range(1, relax_years + 1)]
    return " || ".join(steps + [f"{{ echo {told}; python -m pip install -q {fallback or args}; }}"])


# The distribution an editable install of the working directory made (its name, for pip).
_INSTALLED_NAME = ("import importlib.metadata as m, json, os; here = 'file://' + os.getcwd(); "
                   "print(next((d.metadata['Name'] for d in m.distributions() "
                   "if json.loads(d.read_text('direct_url.json') or '{}').get('url', '').rstrip('/') == here), ''))")


def dated_project_install(extras: list[str], cutoff: str, relax_years: int = 0) -> list[str]:
    """An editable install of the working directory whose dependencies are as of `cutoff`: the tree
    itself is built with today's tools (those of then lack the editable hook pip needs now, and the
    old packages already installed would break today's tools if they shared an environment), then
    what it requires is installed by name, as uploaded before `cutoff`; else, saying so, as of now."""
    q = shlex.quote
    wanted = "." + (f"[{','.join(extras)}]" if extras else "")
    # A build-system pinned to a setuptools before the editable hook (pylint of 2022: ~=62.6) is
    # built with the environment's own, today's, instead.
    return [f"python -m pip install -q --no-deps -e {q(wanted)} || python -m pip install -q --no-deps --no-build-isolation -e {q(wanted)}",
            f"name=$(python -c {q(_INSTALLED_NAME)})",
            'test -n "$name" && ' + dated_install('"$name' + wanted[1:] + '"', cutoff, f"-e {q(wanted)}", relax_years)]


def _service_lines(recipe: EnvRecipe, paths: EnvPaths) -> list[str]:
    q = shlex.quote
    lines: list[str] = []
    for name, service in recipe.services.items():
        venv = f"{paths.services}/{name}"
        lines += [f"{q(paths.python)} -m venv {q(venv)}",
                  f"{q(venv)}/bin/python -m pip install -q " + " ".join(q(p) for p in service.packages)]
    return lines


def install_script(venv: str, commands: list[str], env: dict[str, str] | None = None) -> str:
    """The repository installed into `venv`, from the working directory."""
    exports = [f"export {k}={shlex.quote(v)}" for k, v in (env or {}).items()]
    return "\n".join(["set -euxo pipefail", f". {shlex.quote(venv)}/bin/activate", *exports, *commands])


def service_prelude(services: dict[str, ServiceConfig], services_dir: str) -> str:
    """Shell that starts each service in the background, waits until it answers (saying so and
    showing its log if it does not) and exports what the tests read."""
    lines: list[str] = []
    logs: list[str] = []
    for name, service in services.items():
        path = f"PATH={shlex.quote(f'{services_dir}/{name}/bin')}:\"$PATH\""
        log = f"svc_log_{name}"  # names are letters, digits and _ (checked in config)
        logs.append(log)
        tries = max(1, int(service.ready_timeout_s / service.ready_interval_s))
        lines += [
            f"{log}=$(mktemp)",
            f"( {path} exec bash -c {shlex.quote(service.start)} ) >\"${log}\" 2>&1 &",
            f"for _ in $(seq {tries}); do ( {path} bash -c {shlex.quote(service.ready)} ) >/dev/null 2>&1 && break; sleep {service.ready_interval_s}; done",
            f"( {path} bash -c {shlex.quote(service.ready)} ) >/dev/null 2>&1 || "
            f"{{ echo 'supercoder: service {name} did not answer; its log:'; tail -n 20 \"${log}\"; }}",
            *(f"export {k}={shlex.quote(v)}" for k, v in service.env.items()),
        ]
    if logs:
        lines.append("trap 'rm -f " + " ".join(f'"${log}"' for log in logs) + "' EXIT")
    return "\n".join(lines)


def index_env(cfg: SandboxConfig) -> dict[str, str]:
    """What a build or an install sees of the host to reach the package index: its pip and proxy
    settings (not those pointing at local files), then `sandbox.build_env`."""
    env = {k: v for k, v in os.environ.items() if _INDEX_VARS.match(k) and "file:" not in v}
    env.update(cfg.build_env)
    return env

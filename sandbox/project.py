"""The environment of any repository (one that is no SWE-bench instance), derived from what it
declares at a commit: the Python `requires-python` allows, its requirements files, test
dependency groups, declared dependencies and test extras, and an editable install. Every part
can be overridden in config (`sandbox.project`)."""

from __future__ import annotations

import configparser
import re
import shlex
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import tomllib
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from pydantic import BaseModel

from sandbox.backends import backend_of, open_sandbox
from sandbox.base import Sandbox, SandboxError
from sandbox.config import SandboxConfig
from sandbox.recipes import Environment, EnvRecipe
from sandbox.requirements import read_requirements, show


class Project(BaseModel):
    recipe: EnvRecipe
    install: list[str]  # run in the repository, its environment active


def _toml(text: str | None) -> dict:
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}  # a broken pyproject declares nothing we can use


def _cfg(text: str | None) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text or "")
    except configparser.Error:
        pass
    return parser


def _requirement_name(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


def _requires_python(pyproject: dict, setup_cfg: configparser.ConfigParser, setup_py: str | None) -> SpecifierSet:
    project = pyproject.get("project")
    raw = (project.get("requires-python") if isinstance(project, dict) else None) or setup_cfg.get("options", "python_requires", fallback=None)
    if not raw and setup_py:
        found = re.search(r"python_requires\s*=\s*['\"]([^'\"]+)['\"]", setup_py)
        raw = found.group(1) if found else None
    try:
        return SpecifierSet(raw if isinstance(raw, str) else "")
    except InvalidSpecifier:
        return SpecifierSet("")


def _allows(allowed: SpecifierSet, version: str) -> bool:
    # `>=3.8.1` allows 3.8 and `<3.9.5` allows 3.9: some release of the minor version will do.
    return any(allowed.contains(f"{version}.{patch}", prereleases=True) for patch in (0, 99))


def choose_python(allowed: SpecifierSet, cfg: SandboxConfig) -> str:
    """The configured Python; else the host's, if allowed and the backend offers it; else the
    newest that `requires-python` allows among those the backend offers."""
    if cfg.project.python:
        return cfg.project.python
    host = "%d.%d" % sys.version_info[:2]
    offered = backend_of(cfg).pythons(cfg)
    if host in offered and _allows(allowed, host):
        return host
    for version in sorted(set(offered), key=lambda v: tuple(int(p) for p in v.split(".") if p.isdigit()), reverse=True):
        if _allows(allowed, version):
            return version
    raise SandboxError(f"no Python this sandbox offers ({', '.join(sorted(set(offered)))}) satisfies requires-python {allowed}; "
                       f"set sandbox.project.python")


def derive(clone: Path, commit: str, cfg: SandboxConfig, name: str | None = None) -> Project:
    pc = cfg.project
    pyproject_text = show(clone, commit, "pyproject.toml")
    setup_cfg_text, setup_py = show(clone, commit, "setup.cfg"), show(clone, commit, "setup.py")
    pyproject, setup_cfg = _toml(pyproject_text), _cfg(setup_cfg_text)
    project = pyproject.get("project", {})
    project = project if isinstance(project, dict) else {}
    extras_declared = dict(project.get("optional-dependencies", {}))
    if setup_cfg.has_section("options.extras_require"):
        extras_declared.update({k: _lines(v) for k, v in setup_cfg.items("options.extras_require")})
    if setup_py:
        extras_declared.update({k: [] for k in re.findall(r"['\"]([\w-]+)['\"]\s*:\s*\[", setup_py) if k in pc.test_extras})
    extras = [e for e in pc.test_extras if e in extras_declared]

    files: dict[str, str] = {}
    packages: list[str]
    if pc.packages is not None:
        packages = list(pc.packages)
    else:
        for path in pc.requirements:
            text = read_requirements(clone, commit, path)
            if text is not None and text.strip():
                files[path] = text
        groups = pyproject.get("dependency-groups", {})
        packages = [str(p) for g in pc.test_extras + ["dev"] for p in groups.get(g, []) if isinstance(p, str)]
        packages += [str(p) for p in project.get("dependencies", [])]
        if not project and setup_cfg.has_option("options", "install_requires"):
            packages += _lines(setup_cfg.get("options", "install_requires"))
        packages += [p for e in extras for p in extras_declared[e]]
        packages += pc.always
    # A project's own name among its extras' requirements (`pkg[test]` needing `pkg`) is the install's job.
    own = canonicalize_name(str(project.get("name", "")))
    packages = [p for p in dict.fromkeys(packages) if not own or _requirement_name(p) != own]
    pip = [[f"-r {shlex.quote(p)}" for p in files], [shlex.quote(p) for p in packages]]

    # A setup.cfg may hold only tool settings (flake8, mypy): it makes a package with metadata.
    packaged_cfg = setup_cfg.has_option("metadata", "name") or setup_cfg.has_section("options")
    installable = bool(setup_py is not None or packaged_cfg or "build-system" in pyproject or project)
    if pc.install is not None:
        install = [pc.install]
    elif installable:
        install = ["python -m pip install -e " + shlex.quote("." + (f"[{','.join(extras)}]" if extras else ""))]
    else:
        install = []
    python = choose_python(_requires_python(pyproject, setup_cfg, setup_py), cfg)
    recipe = EnvRecipe(name=name or f"{clone.name.removesuffix('.git')}-env", python=python, files=files, pip=[g for g in pip if g])
    return Project(recipe=recipe, install=install)


def project_environment(clone: Path, commit: str, cfg: SandboxConfig, ephemeral: bool = False) -> Environment:
    """The repository at `commit`, installed in the environment derived from its files
    (`ephemeral`: a commit of one run, whose installed tree is not kept)."""
    project = derive(clone, commit, cfg)
    return Environment(clone=clone, commit=commit, recipe=project.recipe, install=project.install,
                       name=f"{project.recipe.name.removesuffix('-env')}-{commit[:12]}", ephemeral=ephemeral)


@contextmanager
def project_sandbox(clone: Path, commit: str, cfg: SandboxConfig, progress: Callable[[str], None] = lambda _: None,
                    client=None) -> Iterator[Sandbox]:
    """A sandbox holding the repository at `commit`, installed in its environment, on the
    configured backend."""
    with open_sandbox(project_environment(clone, commit, cfg), cfg, progress, client) as (sb, _):
        yield sb

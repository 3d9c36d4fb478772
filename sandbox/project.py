"""The environment of any repository (one that is no SWE-bench instance), derived from what it
declares at a commit: the Python it was written for (sandbox.pythons), its requirements files, test
dependency groups, declared dependencies and test extras, and an editable install. Every part
can be overridden in config (`sandbox.project`)."""

from __future__ import annotations

import configparser
import re
import shlex
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import tomllib
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version
from pydantic import BaseModel

from sandbox.backends import open_sandbox
from sandbox.base import Sandbox, git
from sandbox.config import SandboxConfig
from sandbox.dated import dated_project_install
from sandbox.declared import cfg_lines, declared_needs, native_build, read_cfg, submodules
from sandbox.node import is_node_project, node_environment
from sandbox.pythons import choose, commit_date, declared, pin_date
from sandbox.recipes import Environment, EnvRecipe, runner_check
from sandbox.requirements import own_extras, read_requirements, show
from sandbox.services import wanted_services


class Project(BaseModel):
    recipe: EnvRecipe
    install: list[str]  # run in the repository, its environment active
    about: dict[str, str] = {}  # how the Python and the dependencies' date were chosen


def _toml(text: str | None) -> dict:
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}  # a broken pyproject declares nothing we can use


def _requirement_name(text: str) -> str | None:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return None


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


def derive(clone: Path, commit: str, cfg: SandboxConfig, name: str | None = None) -> Project:
    pc = cfg.project
    pyproject_text = show(clone, commit, "pyproject.toml")
    setup_cfg_text, setup_py = show(clone, commit, "setup.cfg"), show(clone, commit, "setup.py")
    tox_text = show(clone, commit, "tox.ini") or ""  # read once: test deps and the Pythons its envs name
    pyproject, setup_cfg = _toml(pyproject_text), read_cfg(setup_cfg_text)
    project = pyproject.get("project", {})
    project = project if isinstance(project, dict) else {}
    extras_declared = dict(project.get("optional-dependencies", {}))
    if setup_cfg.has_section("options.extras_require"):
        extras_declared.update({k: cfg_lines(v) for k, v in setup_cfg.items("options.extras_require")})
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
            if text is not None:  # `-e .[zstd]` there: the install names the extras
                extras += [e for e in own_extras(show(clone, commit, path)) if e in extras_declared and e not in extras]
        groups = pyproject.get("dependency-groups", {})
        packages = [str(p) for g in pc.test_extras + ["dev"] for p in groups.get(g, []) if isinstance(p, str)]
        packages += [str(p) for p in project.get("dependencies", [])]
        if not project and setup_cfg.has_option("options", "install_requires"):
            packages += cfg_lines(setup_cfg.get("options", "install_requires"))
        packages += [p for e in extras for p in extras_declared[e]]
        texts = {"setup.py": setup_py, "setup.cfg": setup_cfg_text, "tox.ini": tox_text,
                 "pytest.ini": show(clone, commit, "pytest.ini")}
        packages += declared_needs(texts, pyproject, pc.pytest_plugins, pc.test_extras + ["dev"])
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
    when = commit_date(clone, commit)
    python, why = choose(_requires_python(pyproject, setup_cfg, setup_py),
                         declared(clone, commit, [pyproject_text, setup_cfg_text, setup_py], tox_text), when, cfg)
    recipe = EnvRecipe(name=name or f"{clone.name.removesuffix('.git')}-env", python=python, files=files, pip=[g for g in pip if g],
                       uploaded_prior_to=pin_date(when, cfg, python), services=wanted_services(clone, commit, cfg.services),
                       runner="pytest", each_alone=True)
    if pc.install is None and install and recipe.uploaded_prior_to:
        # What the install adds (the dependencies a setup.py declares) is of the commit's time too.
        install = dated_project_install(extras, recipe.uploaded_prior_to, cfg.pin_relax_years)
    if install:  # what the tree requires may pin the runner again
        install += runner_check("pytest", python, recipe.uploaded_prior_to, cfg.pin_relax_years)
    about = {"python": f"{python}: {why}",
             "dependencies": (f"as uploaded before {recipe.uploaded_prior_to}" + (f" (Python {python} came out then; the commit is older)"
                              if when and recipe.uploaded_prior_to[:10] > when.date().isoformat() else "")
                              if recipe.uploaded_prior_to else "the newest releases")}
    native = native_build(setup_py, pyproject)
    if native:  # the images hold a compiler (sandbox.base_packages); a host may not
        about["native code"] = f"compiled at install ({native}): needs a C compiler and Python {python}'s headers"
    missing = submodules(show(clone, commit, ".gitmodules"))
    if missing:  # a tree is taken without them (git archive, a shared clone)
        about["submodules"] = f"not included: {', '.join(missing)} (git submodules; tests that read their files fail)"
    return Project(recipe=recipe, install=install, about=about)


def project_environment(clone: Path, commit: str, cfg: SandboxConfig, ephemeral: bool = False) -> Environment:
    """The repository at `commit`, installed in the environment derived from its files
    (`ephemeral`: a commit of one run, whose installed tree is not kept)."""
    if is_node_project(clone, commit, cfg):
        return node_environment(clone, commit, cfg, ephemeral)
    project = derive(clone, commit, cfg)
    version = tagged_version(clone, commit)
    # The sandbox's tree comes without git history, so setuptools-scm would make the version
    # 0.1.dev1 (and a `minversion` check fails): give it the version of the last tag instead.
    variables = {"SETUPTOOLS_SCM_PRETEND_VERSION": version} if version else {}
    return Environment(clone=clone, commit=commit, recipe=project.recipe, install=project.install, variables=variables,
                       name=f"{project.recipe.name.removesuffix('-env')}-{commit[:12]}", ephemeral=ephemeral, about=project.about)


def tagged_version(clone: Path, commit: str) -> str | None:
    """The version of the last tag before `commit` (`v7.4.0`, `sympy-1.1`), if it is one."""
    done = git(clone, "describe", "--tags", "--abbrev=0", commit)
    tag = re.sub(r"^\D+", "", done.stdout.decode("utf-8", "replace").strip()) if done.returncode == 0 else ""  # v1.2, sympy-1.1
    try:
        return str(Version(tag)) if tag else None
    except InvalidVersion:
        return None


@contextmanager
def project_sandbox(clone: Path, commit: str, cfg: SandboxConfig, progress: Callable[[str], None] = lambda _: None,
                    client=None) -> Iterator[Sandbox]:
    """A sandbox holding the repository at `commit`, installed in its environment, on the
    configured backend."""
    with open_sandbox(project_environment(clone, commit, cfg), cfg, progress, client) as (sb, _):
        yield sb

"""Requirements as a build reads them from a clone at a commit: requirements files with their
includes inlined and the lines that need a version-control host left out, and conda's
environment.yml read as pip requirements."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

import yaml

from sandbox.base import git

CONDA_ONLY = {"python", "pip", "setuptools", "wheel"}  # python comes from the base; pip is upgraded apart


def show(clone: Path, commit: str, path: str) -> str | None:
    done = git(clone, "show", f"{commit}:{path}")
    return done.stdout.decode("utf-8", "replace") if done.returncode == 0 else None


def pip_name(conda: str) -> str:
    """A conda requirement as pip reads it (`numpy=1.20` -> `numpy==1.20`)."""
    return re.sub(r"(?<![=<>!~])=(?!=)", "==", conda.strip())


_VCS = re.compile(r"(^|\s|@)\s*(-e\s+)?(git|hg|svn|bzr)\+", re.I)


def _offline_requirements(text: str) -> str:
    """Requirements without the lines that fetch from a version-control host (only the package
    index is reachable from a build): they are documentation tools, not what the tests need."""
    return "".join(line for line in text.splitlines(keepends=True) if not _VCS.search(line))


_INCLUDE = re.compile(r"^\s*(-r|--requirement)[\s=]+(\S+)")
_SKIPPED = re.compile(r"^\s*(-c|--constraint)(\s|=)|^\s*(-e\s+)?\.(\[[^\]]*\])?(\s|$)")  # constraints; the package itself (the instance installs it)


_OWN_EXTRAS = re.compile(r"^\s*(?:(?:-e|--editable)\s+)?\.\[([^\]]*)\]")


def own_extras(text: str | None) -> list[str]:
    """The extras of the tree itself that a requirements file asks for (`-e .[http2,zstd]`): the
    line is left to the tree's install, which must then name them."""
    found = [m.group(1) for m in map(_OWN_EXTRAS.match, (text or "").splitlines()) if m]
    return [e.strip() for group in found for e in group.split(",") if e.strip()]


def read_requirements(clone: Path, commit: str, path: str, seen: set[str] | None = None) -> str | None:
    """A requirements file at `commit` with its `-r` includes inlined (as swebench does), or None."""
    seen = set() if seen is None else seen
    if path in seen:
        return ""
    seen.add(path)
    text = show(clone, commit, path)
    if text is None:
        return None
    folder = posixpath.dirname(path)
    out = []
    for line in text.splitlines(keepends=True):
        include = _INCLUDE.match(line)
        if include:
            target = posixpath.normpath(posixpath.join(folder, include.group(2)))  # `git show` takes no `..`
            if target.startswith("../"):
                continue
            out.append(read_requirements(clone, commit, target, seen) or "")
        elif not _SKIPPED.match(line):
            out.append(line if line.endswith("\n") else line + "\n")
    return _offline_requirements("".join(out))


def env_yml_packages(text: str, pip_names: dict[str, str] | None = None) -> list[str]:
    """An environment.yml's packages as pip requirements, conda names mapped to pip's ("" for
    one pip does not have: left out)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # a file conda could not read either
    deps = data.get("dependencies") if isinstance(data, dict) else None
    out: list[str] = []
    for dep in deps if isinstance(deps, list) else []:
        if isinstance(dep, dict):
            out += [str(d) for d in dep.get("pip") or []]
            continue
        requirement = pip_name(str(dep))
        name = re.match(r"[A-Za-z0-9_.\-]*", requirement).group(0)
        if name in CONDA_ONLY:
            continue
        mapped = (pip_names or {}).get(name, name)
        if mapped:
            out.append(mapped + requirement[len(name):])
    return out

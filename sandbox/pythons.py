"""Which Python a derived environment gets, and from when its dependencies come: the Python the
commit was written for (what `requires-python` allows, narrowed by the versions its classifiers,
tox envs and CI configuration name; failing those, the newest one released before the commit),
and for an old commit the dependencies as they stood at its date."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from packaging.specifiers import SpecifierSet

from sandbox.backends import backend_of
from sandbox.base import SandboxError, git
from sandbox.config import SandboxConfig
from sandbox.requirements import show

_CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)\b")
_TOX_ENV = re.compile(r"(?<![\w.])py(3?)(\{[\d,\s]+\}|\d+(?![\d.]))")  # py37, py3{12,11}, py{38,39}
_CI_VERSION = re.compile(r"""(?i)\bpython(?:[-_]version)?["']?\s*[:=]\s*\[?\s*["']?(3\.\d{1,2})\b""")
_CI_LIST_KEY = re.compile(r"""(?i)^\s*-?\s*python(?:[-_]version)?["']?\s*:\s*(?:\[(?P<flow>[^\]]*)\]\s*)?$""")
_VERSION = re.compile(r"""(?<![\d.])["']?(3\.\d{1,2})(?:\.\d+)?(?:-dev)?["']?(?![\d.])""")


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def allows(allowed: SpecifierSet, version: str) -> bool:
    # `>=3.8.1` allows 3.8 and `<3.9.5` allows 3.9: some release of the minor version will do.
    return any(allowed.contains(f"{version}.{patch}", prereleases=True) for patch in (0, 99))


def commit_date(clone: Path, commit: str) -> datetime | None:
    done = git(clone, "show", "-s", "--format=%cI", commit)
    try:
        return datetime.fromisoformat(done.stdout.decode().strip()) if done.returncode == 0 else None
    except ValueError:
        return None


def tox_versions(text: str) -> set[str]:
    """Python 3 versions of tox env names (`py37`, `py3{12,11}`, `py{38,39}`, `py311-min`)."""
    found = set()
    for prefix, digits in _TOX_ENV.findall(text):
        for item in digits.strip("{}").split(","):
            item = prefix + item.strip()
            if len(item) >= 2 and item[0] == "3":
                found.add(f"3.{int(item[1:])}")
    return found


def ci_versions(text: str) -> set[str]:
    """Versions a CI file runs: `python: 3.7`, `python-version: ['3.10', '3.11']`, the items
    listed under such a key, and tox envs it names."""
    found = set(_CI_VERSION.findall(text)) | tox_versions(text)
    listing = False
    for line in text.splitlines():
        key = _CI_LIST_KEY.match(line)
        if key:
            found |= set(_VERSION.findall(key.group("flow") or ""))
            listing = key.group("flow") is None
        elif listing and re.match(r"^\s*-\s*\S", line):
            found |= set(_VERSION.findall(line))
        elif line.strip():
            listing = False
    return found


def declared(clone: Path, commit: str, texts: list[str | None], tox_ini: str | None = None) -> set[str]:
    """The Python 3 versions the commit names: classifiers (in `texts`: its pyproject.toml,
    setup.cfg, setup.py), tox envs (`tox_ini`, when the caller has read it already), and the
    versions its CI configuration tests."""
    found: set[str] = set()
    for text in texts:
        found |= set(_CLASSIFIER.findall(text or ""))
    tox = (show(clone, commit, "tox.ini") if tox_ini is None else tox_ini) or ""
    found |= tox_versions("\n".join(line for line in tox.splitlines() if "envlist" in line or line[:1].isspace()))
    ci = [".travis.yml", "azure-pipelines.yml", ".circleci/config.yml"]
    listed = git(clone, "ls-tree", "--name-only", f"{commit}:.github/workflows")
    if listed.returncode == 0:
        ci += [f".github/workflows/{n}" for n in listed.stdout.decode("utf-8", "replace").split() if n.endswith((".yml", ".yaml"))]
    for path in ci:
        found |= ci_versions(show(clone, commit, path) or "")
    return found


def choose(allowed: SpecifierSet, named: set[str], when: datetime | None, cfg: SandboxConfig) -> tuple[str, str]:
    """(the version, why) among those the backend offers and `requires-python` allows: the newest
    the commit names; else the newest below the newest it names; else the newest released before
    the commit; else the oldest offered."""
    if cfg.project.python:
        return cfg.project.python, "sandbox.project.python"
    offered = sorted(set(backend_of(cfg).pythons(cfg)), key=_minor)
    fits = [v for v in offered if allows(allowed, v)]
    if not fits:
        raise SandboxError(f"no Python this sandbox offers ({', '.join(offered)}) satisfies requires-python {allowed}; "
                           f"set sandbox.project.python")
    if named:
        exact = [v for v in fits if v in named]
        if exact:
            return exact[-1], f"the newest the commit names ({', '.join(sorted(named, key=_minor))})"
        below = [v for v in fits if _minor(v) <= max(_minor(n) for n in named)]
        if below:
            return below[-1], f"the newest offered below those the commit names ({', '.join(sorted(named, key=_minor))})"
    elif when is not None:
        released = [v for v in fits if v in cfg.python_released and cfg.python_released[v] <= when.date()]
        if released:
            return released[-1], f"the newest offered released before the commit ({when.date()})"
    names = f"names {', '.join(sorted(named, key=_minor))}" if named else "names none"
    return fits[0], f"the oldest offered (the commit {names}, older than any offered, and predates them)"


def pin_date(when: datetime | None, cfg: SandboxConfig, python: str | None = None, today: date | None = None) -> str | None:
    """The upload cutoff for the dependencies of a commit older than `sandbox.pin_by_date_days`
    (an ISO datetime in UTC), or None. Never before `python` was released: what was uploaded
    before the interpreter existed seldom runs on it (no wheels for it, APIs it removed)."""
    if when is None or cfg.pin_by_date_days is None:
        return None
    today = today or datetime.now(timezone.utc).date()
    if today - when.date() < timedelta(days=cfg.pin_by_date_days):
        return None
    released = cfg.python_released.get(python or "")
    if released is not None and released > when.date():
        when = datetime(released.year, released.month, released.day, tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

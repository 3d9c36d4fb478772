"""The environment of a Node.js package (JavaScript or TypeScript) at a commit, derived from its
package.json: its Node and its dependencies' install (sandbox/node_install.py: the Debian
suite's Node or the one `engines` asks for; npm from its lockfile or by the commit's date, yarn 1
or pnpm from theirs), and the test runs its `scripts.test` makes (`npm run` followed), each by a
runner whose results can be read from a report (jest, vitest, mocha, ava, tape, Node's own
`node --test`, node-tap). What runs no such runner (a linter, a browser runner) is left out, and
said."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

from sandbox.base import SandboxError, git
from sandbox.config import SandboxConfig
from sandbox.node_install import install_commands, installer, node_release, pinned_node
from sandbox.npm_scripts import RUNNER_NAMES, scripted_runs
from sandbox.pythons import commit_date, pin_date
from sandbox.recipes import Environment, EnvRecipe, NodeRun
from sandbox.requirements import show
from sandbox.selection import SCRIPT_FILE

NPM_DEFAULT_TEST = "no test specified"  # `npm init`'s placeholder script: no tests
# Runners (each declared by the package of its name) that find a package's tests with no arguments:
# the run when the test script makes none SuperCoder reads. tape needs its files named.
DISCOVERING = {"jest", "vitest", "mocha", "ava", "tap"}
DETECTED = "declared"  # the script name of a run no script makes: the runner the package declares


def declared_runners(package: dict) -> set[str]:
    """The test runners a package.json declares among its dependencies."""
    names = {name for key in ("devDependencies", "dependencies") if isinstance(package.get(key), dict) for name in package[key]}
    return names & (DISCOVERING | {"tape"})


def _package(clone: Path, commit: str) -> dict | None:
    text = show(clone, commit, "package.json")
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _counts(clone: Path, commit: str) -> tuple[int, int]:
    """How many Python files and how many JavaScript/TypeScript files the tree has."""
    done = git(clone, "ls-tree", "-r", "--name-only", "-z", commit)
    names = [n for n in done.stdout.decode("utf-8", "replace").split("\0") if n and "node_modules/" not in n] if done.returncode == 0 else []
    return sum(n.endswith(".py") for n in names), sum(bool(SCRIPT_FILE.search(n)) and not n.endswith(".d.ts") for n in names)


def is_node_project(clone: Path, commit: str, cfg: SandboxConfig) -> bool:
    """`sandbox.project.runtime` when it names one; else: a package.json at the root, and more
    JavaScript and TypeScript files than Python ones (a Python project with a package.json for
    its docs' or front end's tooling stays a Python one, a package with a docs requirements.txt
    a Node one; a tie goes to Python, as localization's languages do)."""
    runtime = cfg.project.runtime
    if runtime != "auto":
        return runtime == "node"
    if _package(clone, commit) is None:
        return False
    python, script = _counts(clone, commit)
    return script > python


def no_runs(test: str) -> str:
    """Why a package's tests cannot be run by the sandbox's own runners."""
    if not test or NPM_DEFAULT_TEST in test:
        return "package.json has no test script"
    return f"scripts.test ({test[:80]!r}) runs no test runner whose report SuperCoder reads ({RUNNER_NAMES})"


def detected_runs(declared: set[str], why: str) -> tuple[list[NodeRun], str]:
    """When the test script makes no run SuperCoder reads (a wrapper of the package's own, or none):
    the runner the package declares (`declared`), run without arguments, when it is the only one and
    finds its tests unaided (tape is given its files); else no run. Returns the runs and what to say of them."""
    found = sorted(declared)
    if len(found) == 1 and found[0] in DISCOVERING:
        return [NodeRun(runner=found[0], script=DETECTED, command=[found[0]])], f"{found[0]}, the runner package.json declares ({why})"
    if len(found) > 1:
        return [], f"{why}; package.json declares several runners ({', '.join(found)}): SuperCoder cannot tell which runs the tests"
    return [], why


def node_environment(clone: Path, commit: str, cfg: SandboxConfig, ephemeral: bool = False) -> Environment:
    """The package at `commit` in its Node environment; a SandboxError says why there is none."""
    package = _package(clone, commit)
    if package is None:
        raise SandboxError("package.json is missing or is not a JSON object")
    scripts = package.get("scripts") if isinstance(package.get("scripts"), dict) else {}
    skipped: list[str] = []
    test = str(scripts.get("test") or "")
    declared = declared_runners(package)
    node_files = "tape" if declared == {"tape"} else None  # `node test/index.js` runs tape's tests
    runs = scripted_runs(scripts, skipped=skipped, node_files=node_files) if NPM_DEFAULT_TEST not in test else []
    said_runs = "; ".join(f"{r.script}: {' && '.join([*r.before, shlex.join(r.command + r.args)])}" for r in runs)
    if not runs:
        runs, said_runs = detected_runs(declared, no_runs(test))
    how, unread = installer(clone, commit, package, cfg)
    # As for Python's: only a commit older than `sandbox.pin_by_date_days` installs as of its date.
    before = None if how.tool == "npm" and how.lockfile else pin_date(commit_date(clone, commit), cfg)  # (yarn's and pnpm's: for npm's fallback)
    node, said = node_release(package, cfg, pinned_node(clone, commit, cfg))
    about = {"node": said, "dependencies": how.describe(before), "runs": said_runs}
    if unread:
        about["lockfile"] = unread
    if skipped:
        about["not run"] = "; ".join(skipped)
    name = str(package.get("name") or clone.name.removesuffix(".git")).lstrip("@").replace("/", "-")
    recipe = EnvRecipe(name=f"{name}-node", python="", runtime="node", node_runs=runs)
    return Environment(clone=clone, commit=commit, recipe=recipe, install=install_commands(how, before, node),
                       variables=dict(cfg.node_install_env), name=f"{name}-{commit[:12]}", ephemeral=ephemeral, about=about)

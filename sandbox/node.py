"""The environment of a Node.js package (JavaScript or TypeScript) at a commit, derived from its
package.json: Node and npm from a Debian suite (`sandbox.node_suite`), its dependencies by
`npm ci` from its lockfile, else by `npm install` as published before the commit's date (the
analogue of the Python environments' dated installs), and the test runs its `scripts.test`
makes (`npm run` followed), each by a runner whose results can be read from a report (jest,
vitest, mocha). What runs no such runner (a linter, a browser runner) is left out, and said."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

from sandbox.base import SandboxError
from sandbox.config import SandboxConfig
from sandbox.pythons import commit_date, pin_date
from sandbox.recipes import Environment, EnvRecipe, NodeRun
from sandbox.requirements import show

LOCKFILES = ("npm-shrinkwrap.json", "package-lock.json")  # what `npm ci` installs from
OTHER_LOCKFILES = ("yarn.lock", "pnpm-lock.yaml")  # npm cannot read them: their pins are not kept
PYTHON_DECLARED = ("pyproject.toml", "setup.py", "setup.cfg", "requirements.txt", "tox.ini", "Pipfile")
RUNNERS = {"jest": "jest", "jest.js": "jest", "vitest": "vitest", "vitest.mjs": "vitest", "mocha": "mocha",
           "_mocha": "mocha"}  # a command's file name -> runner
COVERAGE = {"nyc", "istanbul", "c8"}  # wrappers that only measure: the runner is run without them
NPM_DEFAULT_TEST = "no test specified"  # `npm init`'s placeholder script: no tests
_MAX_DEPTH = 5  # `npm run` inside `npm run`: how deep scripts are followed
_SEPARATORS = {"&&", "||", ";", "&", "|"}


def _package(clone: Path, commit: str) -> dict | None:
    text = show(clone, commit, "package.json")
    try:
        data = json.loads(text) if text else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def is_node_project(clone: Path, commit: str, cfg: SandboxConfig) -> bool:
    """`sandbox.project.runtime` when it names one; else: a package.json at the root, and nothing
    beside it that declares a Python project (a Python project with a package.json for its
    docs' or front end's tooling stays a Python one)."""
    runtime = cfg.project.runtime
    if runtime != "auto":
        return runtime == "node"
    return _package(clone, commit) is not None and all(show(clone, commit, p) is None for p in PYTHON_DECLARED)


def _words(text: str) -> list[str]:
    """A script's words, with `&&`, `||`, `;` and pipes as words of their own."""
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    try:
        return list(lexer)
    except ValueError:  # an unclosed quote: read as plain words
        return text.split()


def _segments(words: list[str]) -> list[list[str]]:
    out, current = [], []
    for word in words:
        if word in _SEPARATORS:
            if current:
                out.append(current)
            current = []
        else:
            current.append(word)
    return out + ([current] if current else [])


def _assignments(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """Leading `NAME=value` words (and `cross-env`, which only sets them), and the rest."""
    env: dict[str, str] = {}
    rest = list(words)
    while rest:
        name, eq, value = rest[0].partition("=")
        if rest[0] == "cross-env":
            rest.pop(0)
        elif eq and name.isidentifier():
            env[name] = value
            rest.pop(0)
        else:
            break
    return env, rest


def _script_called(words: list[str]) -> tuple[str, list[str]] | None:
    """(script, extra arguments) when `words` run another script: `npm test`, `npm run x -- args`,
    `yarn x`."""
    if not words or words[0] not in ("npm", "yarn", "pnpm"):
        return None
    cut = words.index("--") if "--" in words else len(words)
    rest = [w for w in words[1:cut] if not w.startswith("-")] + words[cut:]  # npm's own options aside
    if not rest:
        return None
    if rest[0] in ("test", "t"):
        name, after = "test", rest[1:]
    elif rest[0] in ("run", "run-script") and len(rest) > 1:
        name, after = rest[1], rest[2:]
    elif words[0] in ("yarn", "pnpm") and rest[0] not in ("install", "add", "exec"):
        name, after = rest[0], rest[1:]
    else:
        return None
    return name, after[1:] if after[:1] == ["--"] else after


def _run_of(words: list[str], env: dict[str, str], script: str) -> NodeRun | None:
    """The run `words` make when a known runner is among them: what comes before it is kept when
    it is `node` itself (its flags, a wrapper script), coverage wrappers are dropped."""
    for i, word in enumerate(words):
        runner = RUNNERS.get(os.path.basename(word))
        if runner is None:
            continue
        before, args = words[:i], words[i + 1:]
        if before[:1] and before[0] in COVERAGE:
            before = []
            if "--" in args:  # `istanbul cover _mocha --report x -- <mocha's own arguments>`
                args = args[args.index("--") + 1:]
        elif before[:1] != ["node"]:
            before = []
        return NodeRun(runner=runner, script=script, env=env, command=[*before, word], args=args)
    return None


def scripted_runs(scripts: dict, name: str = "test", env: dict[str, str] | None = None, extra: list[str] = (),
              depth: int = 0, skipped: list[str] | None = None) -> list[NodeRun]:
    """The runs of script `name`, in order; what runs no known runner goes to `skipped`."""
    text = scripts.get(name)
    if not isinstance(text, str) or depth > _MAX_DEPTH:
        return []
    runs: list[NodeRun] = []
    segments = _segments(_words(text))
    for n, segment in enumerate(segments):
        assigned, words = _assignments(segment)
        here = {**(env or {}), **assigned}
        more = list(extra) if n == len(segments) - 1 else []  # `npm run x -- args` reach its last command
        called = _script_called(words)
        if called is not None:
            runs += scripted_runs(scripts, called[0], here, [*called[1], *more], depth + 1, skipped)
            continue
        run = _run_of([*words, *more], here, name)
        if run is not None:
            runs.append(run)
        elif skipped is not None and words:
            skipped.append(" ".join(words)[:80])
    return runs


def no_runs(test: str) -> str:
    """Why a package's tests cannot be run by the sandbox's own runners."""
    runners = ", ".join(sorted(set(RUNNERS.values())))
    if not test or NPM_DEFAULT_TEST in test:
        return "package.json has no test script"
    return f"scripts.test ({test[:80]!r}) runs no test runner whose report SuperCoder reads ({runners})"


def install_commands(locked: str | None, before: str | None) -> list[str]:
    """`npm ci` from a lockfile, else `npm install` of what was published before `before`; each
    tried again as it must: without the date (a dependency newer than the commit), without
    lifecycle scripts (a `prepare` that needs what the sandbox has not, a hooks installer).
    Peer dependencies as npm 6 took them (`--legacy-peer-deps`): most of the npm registry's
    history was published for it."""
    q = shlex.quote
    flags = "--no-audit --no-fund --legacy-peer-deps"
    if locked:
        first = f"npm ci {flags}"
        then = f"npm install {flags}"
        told = f"supercoder: npm ci from {locked} failed; npm install instead"
    else:
        first = f"npm install {flags} --no-package-lock" + (f" --before={q(before)}" if before else "")
        then = f"npm install {flags} --no-package-lock"
        told = f"supercoder: npm install as of {before} failed; the newest releases instead" if before else ""
    steps = [first] + ([f"{{ echo {q(told)}; {then}; }}"] if told else [])
    no_scripts = f"{{ echo {q('supercoder: the install failed; again without lifecycle scripts')}; {then} --ignore-scripts; }}"
    return ['echo "node_modules/" >> "$(git rev-parse --git-dir)/info/exclude"',  # kept when a sandbox is reset
            " || ".join([*steps, no_scripts])]


def node_environment(clone: Path, commit: str, cfg: SandboxConfig, ephemeral: bool = False) -> Environment:
    """The package at `commit` in its Node environment; a SandboxError says why there is none."""
    package = _package(clone, commit)
    if package is None:
        raise SandboxError("package.json is missing or is not a JSON object")
    scripts = package.get("scripts") if isinstance(package.get("scripts"), dict) else {}
    skipped: list[str] = []
    test = str(scripts.get("test") or "")
    runs = scripted_runs(scripts, skipped=skipped) if NPM_DEFAULT_TEST not in test else []
    locked = next((p for p in LOCKFILES if show(clone, commit, p) is not None), None)
    # As for Python's: only a commit older than `sandbox.pin_by_date_days` installs as of its date.
    before = None if locked else pin_date(commit_date(clone, commit), cfg)
    about = {"node": f"nodejs and npm of Debian {cfg.node_suite}"
             + (f" (the package asks for node {package['engines']['node']})" if isinstance(package.get("engines"), dict)
                and isinstance(package["engines"].get("node"), str) else ""),
             "dependencies": f"npm ci from {locked}" if locked else (f"as published before {before}" if before else "the newest releases"),
             "runs": "; ".join(f"{r.script}: {shlex.join(r.command + r.args)}" for r in runs) or no_runs(test)}
    other = [p for p in OTHER_LOCKFILES if show(clone, commit, p) is not None]
    if other and not locked:
        about["lockfile"] = f"{other[0]} is not read (npm installs by date instead)"
    if skipped:
        about["not run"] = "; ".join(skipped)
    name = str(package.get("name") or clone.name.removesuffix(".git")).lstrip("@").replace("/", "-")
    recipe = EnvRecipe(name=f"{name}-node", python="", runtime="node", node_runs=runs)
    return Environment(clone=clone, commit=commit, recipe=recipe, install=install_commands(locked, before),
                       variables=dict(cfg.node_install_env), name=f"{name}-{commit[:12]}", ephemeral=ephemeral, about=about)

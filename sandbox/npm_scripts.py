"""A package.json's test script read as the test runs it makes: `npm run`, `yarn` and `pnpm`
followed (with the `pre` hook npm runs first), the variables each command sets kept, the
runner found where a command starts (after `npx`, `node` and its flags or a wrapper script of
its own, or a coverage tool, which is dropped), build steps kept to run before the runs that
follow them, and what is neither (a linter, a browser runner) named and left out."""

from __future__ import annotations

import os
import re
import shlex

from sandbox.recipes import NodeRun
from sandbox.selection import SCRIPT_FILE

RUNNERS = {"jest": "jest", "jest.js": "jest", "vitest": "vitest", "vitest.mjs": "vitest", "mocha": "mocha",
           "_mocha": "mocha", "tap": "tap", "ava": "ava", "tape": "tape"}  # a command's file name -> runner (tap: node-tap)
NODE_TEST = "--test"  # `node --test`: Node's own runner (18.15 and later take a reporter of ours)
NODE_COMMANDS = {"node", "tsx"}  # what runs Node's runner with `--test`
NODE_FILE_OPTIONS = {"-r", "--require", "--import", "--loader", "--experimental-loader"}  # node's options that load a file
RUNNER_NAMES = ", ".join(sorted({*RUNNERS.values(), "node --test"}))  # as errors name them
COVERAGE = {"nyc", "istanbul", "c8"}  # wrappers that only measure: the runner is run without them
# Commands that build what the tests import (compiled TypeScript, a bundle), and the script names
# whose every command does: run before the runs that follow them, so that a patch is tested built.
BUILD_TOOLS = {"tsc", "babel", "rollup", "webpack", "esbuild", "swc", "tsup"}
BUILD_SCRIPT = re.compile(r"^(build|compile)(\b|:|$)")
_MAX_DEPTH = 5  # `npm run` inside `npm run`: how deep scripts are followed
_SEPARATORS = {"&&", "||", ";", "&", "|"}
_REDIRECTION = re.compile(r"(?<!\S)\d*(?:>>?|<)(?:&\d+|\s*[^\s;&|]+)")  # `2>&1`, `> log`, `<in`
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WRAPPER_SCRIPT = re.compile(r"\.[cm]?js$")


def _words(text: str) -> list[str]:
    """A command line's words, redirections left out, `&&`, `||`, `;` and pipes as words of their
    own (`#` inside a word is part of it, as the shell reads it)."""
    lexer = shlex.shlex(_REDIRECTION.sub(" ", text), posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = ""
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
    """Leading `NAME=value` words (after `cross-env` or `env`, which only set them), and the rest."""
    env: dict[str, str] = {}
    rest = list(words)
    while rest:
        name, eq, value = rest[0].partition("=")
        if rest[0] in ("cross-env", "env"):
            rest.pop(0)
        elif eq and _NAME.fullmatch(name):
            env[name] = value
            rest.pop(0)
        else:
            break
    return env, rest


def _script_called(words: list[str], scripts: dict) -> tuple[str, list[str]] | None:
    """(script, extra arguments) when `words` run another script: `npm test`, `npm run x -- args`,
    `yarn x args` (yarn and pnpm pass on every word after the name)."""
    if not words or words[0] not in ("npm", "yarn", "pnpm"):
        return None
    if words[0] == "npm":
        cut = words.index("--") if "--" in words else len(words)
        named = [w for w in words[1:cut] if not w.startswith("-")]  # npm's own options aside
        extra = words[cut + 1:]
        if named[:1] in (["test"], ["t"]):
            return "test", extra
        if named[:1] in (["run"], ["run-script"]) and len(named) > 1:
            return named[1], extra
        return None
    rest = words[1:]
    if rest[:1] == ["run"]:
        rest = rest[1:]
    if rest and rest[0] in scripts:
        after = rest[1:]
        return rest[0], after[1:] if after[:1] == ["--"] else after
    return None


def _node_test(words: list[str], i: int) -> bool:
    """Whether the command at `i` is Node's own test runner: `node` (or tsx, which passes node
    its options) with `--test` before any script (`node --stack-size 2000 --require ./s.js --test
    test/`, not `node build.js --test`)."""
    if i >= len(words) or os.path.basename(words[i]) not in NODE_COMMANDS or NODE_TEST not in words[i + 1:]:
        return False
    before = words[i + 1:words.index(NODE_TEST, i + 1)]
    return not any(SCRIPT_FILE.search(w) and not w.startswith("-") and (k == 0 or before[k - 1] not in NODE_FILE_OPTIONS)
                   for k, w in enumerate(before))


def _runner_of(words: list[str], at: int) -> str:
    return "node" if _node_test(words, at) else RUNNERS[os.path.basename(words[at])]


def _past_flags(words: list[str], j: int) -> int:
    """The first position from `j` on that holds no option (`node --stack-size 2000 ...`: its flags)."""
    while j < len(words) and words[j].startswith("-"):
        j += 1
    return j


def _runner_at(words: list[str]) -> int | None:
    """Where the runner stands in a command: first (after `npx`), after `node` and its flags
    (and a wrapper script of the package's own), or anywhere among a coverage tool's words;
    Node's own runner (`node --test`) where `node` stands."""
    i = 1 if words[:1] == ["npx"] else 0
    if i < len(words) and words[i] in COVERAGE:
        return next((j for j in range(i + 1, len(words)) if os.path.basename(words[j]) in RUNNERS or _node_test(words, j)), None)
    if _node_test(words, i):
        return i
    if i < len(words) and words[i] == "node":
        j = _past_flags(words, i + 1)
        if j < len(words) and os.path.basename(words[j]) in RUNNERS:
            return j
        if j + 1 < len(words) and _WRAPPER_SCRIPT.search(words[j]) and os.path.basename(words[j + 1]) in RUNNERS:
            return j + 1  # `node bin/ssl_hotfix.js mocha ...`
        return None
    return i if i < len(words) and os.path.basename(words[i]) in RUNNERS else None


def _node_test_file(words: list[str]) -> int | None:
    """Where the test file stands in `node [flags] FILE ...`, for a file named as tests are
    (`test.js`, `test/index.js`, `tests/run.mjs`; not `build.js`), else None."""
    j = _past_flags(words, 1)
    if words[:1] != ["node"] or j >= len(words) or not SCRIPT_FILE.search(words[j]):
        return None
    return j if any(part.lower().startswith("test") for part in words[j].split("/")) else None


def _run_of(words: list[str], env: dict[str, str], script: str, before: list[str], node_files: str | None = None) -> NodeRun | None:
    at = _runner_at(words)
    if at is None and node_files and (file := _node_test_file(words)) is not None:
        # A test file run by node itself: tape's tests are plain scripts that print their TAP.
        return NodeRun(runner=node_files, script=script, env=env, command=words[:file + 1], args=words[file + 1:], before=before)
    if at is None:
        return None
    by_node = "node" in words[:at] and words[0] not in COVERAGE  # node's flags and wrapper are kept
    command = words[words.index("node"):at + 1] if by_node else [words[at]]
    args = words[at + 1:]
    if words[0] in COVERAGE and "--" in args:  # `istanbul cover _mocha --report x -- <mocha's own arguments>`
        args = args[args.index("--") + 1:]
    return NodeRun(runner=_runner_of(words, at), script=script, env=env, command=command, args=args,
                   before=before)


def _shell(env: dict[str, str], words: list[str]) -> str:
    return " ".join([*(f"{k}={shlex.quote(v)}" for k, v in env.items()), *map(shlex.quote, words)])


class _Reader:
    def __init__(self, scripts: dict, node_files: str | None):
        self.scripts = scripts
        self.node_files = node_files
        self.skipped: list[str] = []
        self.builds: list[str] = []  # build steps not yet run before a run

    def follow(self, name: str, env: dict[str, str], extra: list[str], depth: int, building: bool = False) -> list[NodeRun]:
        text = self.scripts.get(name)
        if not isinstance(text, str) or depth > _MAX_DEPTH:
            return []
        building = building or bool(BUILD_SCRIPT.match(name))
        runs = self.follow(f"pre{name}", env, [], depth + 1, building) if f"pre{name}" in self.scripts else []
        segments = _segments(_words(text))
        for n, segment in enumerate(segments):
            assigned, words = _assignments(segment)
            here = {**env, **assigned}
            if words[:1] == ["export"]:  # `export TZ=UTC && jest`: for what follows
                env = {**env, **_assignments(words[1:])[0]}
                continue
            more = list(extra) if n == len(segments) - 1 else []  # `npm run x -- args` reach its last command
            called = _script_called(words, self.scripts)
            if called is not None:
                runs += self.follow(called[0], here, [*called[1], *more], depth + 1, building)
                continue
            if words[:1] in (["yarn"], ["pnpm"]):  # a binary, not a script: `yarn jest`
                words = words[1:] if words[1:2] != ["run"] else words[2:]
            run = None if building else _run_of([*words, *more], here, name, self.builds, self.node_files)
            if run is not None:
                runs.append(run)
                self.builds = []
            elif words and (building or words[0] in BUILD_TOOLS or words[:2] in (["npx", t] for t in BUILD_TOOLS)):
                self.builds.append(_shell(here, [*words, *more]))
            elif words:
                self.skipped.append(" ".join(words)[:80])
        return runs


def scripted_runs(scripts: dict, name: str = "test", skipped: list[str] | None = None, node_files: str | None = None) -> list[NodeRun]:
    """The runs of script `name`, in order; what runs no known runner and builds nothing goes to
    `skipped`. With `node_files` (tape, when it is the package's only runner), `node FILE` for a
    test file is a run of that runner."""
    reader = _Reader(scripts, node_files)
    runs = reader.follow(name, {}, [], 0)
    if skipped is not None:
        skipped += reader.skipped
    return runs

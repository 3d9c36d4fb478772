"""Run a Node environment's test runs in a sandbox, each after the build steps before it and
with a reporter that writes a file in the tree (jest's and vitest's JSON, mocha's xunit, our
own JSON lines for Node's built-in runner, whose reporter is written into the tree first,
node-tap's raw TAP; ava's and tape's TAP, from their output), and
read them as one result. A run's exit status must agree with its report; no report, a
disagreement or a run cut short, in any run, means every test failed.

The runs are those the package's own scripts make, whole: its runners find its tests, so the
tests a plan names are among what they report."""

from __future__ import annotations

import re
import shlex
from functools import cache
from importlib import resources

from sandbox.base import Sandbox, SandboxError
from sandbox.models import ExecResult, TestResults
from sandbox.node_install import NODE_BIN
from sandbox.node_results import merge, parse_jest, parse_mocha_xunit, parse_node_test
from sandbox.npm_scripts import RUNNER_NAMES
from sandbox.recipes import NodeRun
from sandbox.results import failing_tests
from sandbox.tap_results import parse_ava, parse_tap, parse_tape

REPORT = ".supercoder-report-{n}.{ext}"  # untracked: `reset` removes it
NODE_REPORTER = ".supercoder-node-reporter.cjs"  # our reporter for `node --test`, written beside the reports
_GLOB = re.compile(r"[*?[]")
_PLAIN_WORD = re.compile(r"[\w./*?\[\]@+,=:-]+")  # nothing the shell reads but its patterns
_EXT = {"mocha": "xml", "node": "jsonl", "tap": "tap", "ava": "tap", "tape": "tap"}  # a report's file ending by runner (else json)
# node-tap checks coverage by default from version 15 (and fails a run short of 100%): off, by the
# option of the version the run's own command reports (18 renamed it; a workspace may hoist tap).
_TAP_COVERAGE = 'tap_coverage=--no-coverage; v=$({cmd} --version 2>/dev/null); [ "${{v%%.*}}" -ge 18 ] 2>/dev/null && tap_coverage=--disable-coverage; true'
# jest's --ci came in jest 20 (19 refuses options it does not know): asked of the run's own jest, which prints `v19.0.2` or `29.7.0`
_JEST_CI = 'jest_ci=--ci; v=$({cmd} --version 2>/dev/null); v=${{v#v}}; [ "${{v%%.*}}" -lt 20 ] 2>/dev/null && jest_ci=; true'
# An option chosen by the runner's version, found in the shell before the run: its snippet, and the
# word it becomes first among the runner's words (jest's unquoted: no word at all before jest 20).
_BY_VERSION = {"tap": (_TAP_COVERAGE, '"$tap_coverage"'), "jest": (_JEST_CI, "$jest_ci")}

# What would change what the runner reports or how long it waits: dropped from a script's arguments.
_DROP = {
    # (jest's --ci is added, never dropped: without it a missing snapshot is written, and passes)
    "jest": ({"--coverage", "--watch", "--watchAll", "--json", "--verbose", "--silent", "--bail", "-b", "--onlyChanged", "-o",
              "-u", "--updateSnapshot"},
             {"--outputFile", "--reporters", "--testResultsProcessor"},
             ("--coverage=", "--watch=", "--watchAll=", "--json=", "--outputFile=", "--reporters=", "--bail=", "--testResultsProcessor=")),
    "vitest": ({"--coverage", "--watch", "-w", "--ui", "--bail", "--silent", "-u", "--update"}, {"--reporter", "--outputFile"},
               ("--coverage=", "--coverage.", "--watch=", "--reporter=", "--outputFile=", "--outputFile.", "--bail=")),
    "mocha": ({"--bail", "-b", "--watch", "-w", "--forbid-only"},
              {"--reporter", "-R", "--reporter-options", "--reporter-option", "-O"},
              ("--reporter=", "--reporter-options=", "--reporter-option=")),
    "node": ({"--watch", "--experimental-test-coverage", "--test-only", "--test-update-snapshots"},
             {"--test-reporter", "--test-reporter-destination"}, ("--test-reporter=", "--test-reporter-destination=", "--watch=")),
    "tap": ({"--coverage", "--cov", "--no-coverage", "--no-cov", "--disable-coverage", "--check-coverage", "--100", "-b", "--bail",
             "-w", "--watch", "--allow-incomplete-coverage", "--allow-empty-coverage"},
            {"-R", "--reporter", "-o", "--output-file", "-d", "--output-dir", "-r", "--reporter-arg", "--coverage-report",
             "--reporter-file"},
            ("--reporter=", "--output-file=", "--output-dir=", "--reporter-arg=", "--coverage-report=", "--reporter-file=",
             "--check-coverage=", "--branches=", "--lines=", "--functions=", "--statements=", "-R", "-o", "-d")),  # `-Rspec`
    "ava": ({"--watch", "-w", "--fail-fast", "--tap", "-t", "--verbose", "-v", "--update-snapshots", "-u"}, set(), ()),
    "tape": (set(), set(), ()),  # TAP is all it writes
}


def kept_args(runner: str, args: list[str]) -> list[str]:
    flags, with_value, prefixes = _DROP[runner]
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in with_value:
            skip = True
        elif arg.startswith(prefixes):
            skip = "=" not in arg and arg.startswith(("--coverage.", "--outputFile."))  # vitest's `--coverage.reporter text`
        elif arg not in flags:
            out.append(arg)
    return out


@cache
def _reporter() -> str:
    """Our reporter for `node --test`, read from the package once."""
    return resources.files("sandbox").joinpath("node_test_reporter.cjs").read_text()


def _shell_glob(word: str) -> str:
    """A file pattern of a `node --test` script, left for the shell to expand as npm's shell did
    (Node before 21 expands none); one with `**` stays quoted, for Node's own expansion, since
    npm's `sh` has no recursive `**`: it was written quoted."""
    return word if _GLOB.search(word) and "**" not in word and _PLAIN_WORD.fullmatch(word) else shlex.quote(word)


def run_command(run: NodeRun, report: str, env: dict[str, str] | None = None) -> str:
    """The shell command of `run` (its build steps first), its report written to `report`; `env`
    is set first (the script's own variables win). The reporter's options come before the
    script's own arguments, which may end with `--` and file names."""
    q = shlex.quote
    args = kept_args(run.runner, run.args)
    if run.runner == "jest":  # with --ci where jest has it (below)
        reporting = ["--json", f"--outputFile={report}", "--coverage=false"]
    elif run.runner == "vitest":  # its JSON report is jest's; `run`: never the watch mode
        args = args[1:] if args[:1] in (["run"], ["watch"], ["dev"]) else args
        reporting = ["run", "--reporter=json", f"--outputFile={report}", "--coverage.enabled=false"]
    elif run.runner == "tap":  # TAP to the log and, raw, to the report
        reporting = ["-R", "tap", "-o", report, "--no-bail"]  # (a configuration's bail: every test has a result)
    elif run.runner == "ava":  # its TAP is its output: redirected to the report below
        reporting = ["--tap", "--no-fail-fast"]
    elif run.runner == "tape":  # as ava's, with no option to ask for it
        reporting = []
    elif run.runner == "node":  # its spec reporter to the log, ours to the report
        reporting = ["--test-reporter=spec", "--test-reporter-destination=stdout",
                     f"--test-reporter=./{NODE_REPORTER}", f"--test-reporter-destination={report}"]
    else:
        reporting = ["--reporter", "xunit", "--reporter-options", f"output={report}"]
    # ava writes no snapshot where it runs as in CI, as jest's --ci: a missing one fails
    extra = {"CI": "true"} if run.runner == "ava" else {}
    variables = " ".join(f"{k}={q(v)}" for k, v in {**(env or {}), **extra, **run.env}.items())
    first = [f'export PATH="$PWD/node_modules/.bin:$PWD/{NODE_BIN}:$PATH"', *run.before]  # a fetched Node first
    command = " ".join(map(q, run.command))
    versioned = []
    if run.runner in _BY_VERSION:
        snippet, word = _BY_VERSION[run.runner]
        first.append("{ " + snippet.format(cmd=command) + "; }")
        versioned = [word]
    quote = _shell_glob if run.runner == "node" else q
    words = " ".join([command, *versioned, *map(q, reporting), *map(quote, args)])
    if run.runner in ("ava", "tape"):
        words += f" > {q(report)}"
    return " && ".join([*first, f"{variables + ' ' if variables else ''}{words}"])


def _disagreement(runner: str, exit_code: int | None, results: TestResults) -> str | None:
    failing = failing_tests(results.statuses)
    if exit_code == 0 and failing:
        return f"{runner} exited 0, but its report has {len(failing)} failing test(s)"
    if exit_code != 0 and not failing:
        return f"{runner} exited {exit_code}, but its report has no failing test"
    return None


def run_node(sb: Sandbox, runs: list[NodeRun], root: str, env: dict[str, str] | None = None,
             timeout_s: float | None = None) -> tuple[ExecResult, TestResults]:
    """Every run in turn (`env` set for each); the output of all of them, and their results as
    one. `root` is the tree's folder as the runners see it (jest names files by absolute path)."""
    if not runs:
        raise SandboxError(f"the package's scripts run no test runner whose report SuperCoder reads "
                           f"({RUNNER_NAMES}): give its test command instead (supercoder repair --test-cmd ...)")
    real = sb.run("pwd -P").output.strip()  # jest names files by their real path (a symlinked TMPDIR)
    roots = list(dict.fromkeys(r for r in (root, real) if r))
    outputs, parts, done = [], [], []
    for n, run in enumerate(runs):
        report = REPORT.format(n=n, ext=_EXT.get(run.runner, "json"))
        sb.run(f"rm -f {report}")
        if run.runner == "node":
            sb.write_file(NODE_REPORTER, _reporter())
        result = sb.run(run_command(run, report, env), timeout_s)
        done.append(result)
        outputs.append(f"$ {run.script}: {run.runner}\n{result.output}")
        name = f"{run.runner} ({run.script})"
        if result.cut_short:
            parts.append(TestResults(source="json", problem=f"the tests ({name}) {result.cut_short}"))
            break
        try:
            text = sb.read_file(report)
        except SandboxError:
            tail = " ".join(result.output.strip().splitlines()[-2:])[-300:]
            parts.append(TestResults(source="json", problem=f"{name} wrote no report (exit {result.exit_code}): {tail}"))
            continue
        parse = {"mocha": parse_mocha_xunit, "node": parse_node_test, "tap": parse_tap, "ava": parse_ava,
                 "tape": parse_tape}.get(run.runner, parse_jest)
        results = parse(text, roots)
        why = results.problem or _disagreement(name, result.exit_code, results)
        parts.append(results if why is None else TestResults(source=results.source, problem=f"results disagree: {why}"
                                                             if results.problem is None else why))
    last = done[-1]  # the one cut short, if one was
    failed = next((r.exit_code for r in done if r.exit_code != 0), 0)
    combined = ExecResult(command=" && ".join(r.command for r in done), exit_code=None if last.cut_short else failed,
                          output="\n".join(outputs), duration_s=round(sum(r.duration_s for r in done), 3),
                          timed_out=last.timed_out, truncated=any(r.truncated for r in done), stopped=last.stopped)
    return combined, merge(parts)

"""A Node package's environment, derived from its package.json: which repositories are Node
packages, the test runs their scripts make (`npm run` followed, runners found behind wrappers,
what is no runner left out and said), how they are installed, and the runner's command."""

from __future__ import annotations

import json
import subprocess

from fakes.repos import commit_files

from agent.settings import load_settings
from sandbox.node import is_node_project, node_environment
from sandbox.node_runner import kept_args, run_command
from sandbox.npm_scripts import scripted_runs
from sandbox.recipes import NodeRun


def _cfg(*overrides: str):
    return load_settings(None, list(overrides)).sandbox


def _package(scripts: dict | None = None, **more) -> str:
    return json.dumps({"name": "@scope/pkg", "version": "1.0.0", **({"scripts": scripts} if scripts is not None else {}), **more})


def test_scripts_are_followed_to_their_runners_with_what_they_set():
    scripts = {"test": "TZ=Pacific/Auckland npm run test-tz && npm run test-tz && jest --coverage",
               "test-tz": "date && jest test/timezone.test --coverage=false"}
    skipped: list[str] = []
    runs = scripted_runs(scripts, skipped=skipped)
    assert [(r.script, r.env, r.command, r.args) for r in runs] == [
        ("test-tz", {"TZ": "Pacific/Auckland"}, ["jest"], ["test/timezone.test", "--coverage=false"]),
        ("test-tz", {}, ["jest"], ["test/timezone.test", "--coverage=false"]),
        ("test", {}, ["jest"], ["--coverage"]),
    ]
    assert skipped == ["date", "date"]  # said, not run


def test_runners_behind_node_wrappers_and_coverage_tools_and_what_is_no_runner():
    scripts = {"test": "npm run lint && npm run test:mocha && npm run test:karma",
               "lint": "eslint lib/**/*.js",
               "test:mocha": "node bin/hotfix.js mocha test/unit/**/*.js --timeout 30000 --exit",
               "test:karma": "cross-env LISTEN_ADDR=:: karma start karma.conf.cjs --single-run",
               "cov": "istanbul cover node_modules/mocha/bin/_mocha --report lcovonly -- --require test/env --reporter spec test/",
               "esm": "node --experimental-vm-modules node_modules/jest/bin/jest.js --coverage",
               "nyc": "nyc --reporter=lcov mocha test/"}
    skipped: list[str] = []
    [run] = scripted_runs(scripts, skipped=skipped)
    assert run.runner == "mocha" and run.command == ["node", "bin/hotfix.js", "mocha"]  # node's wrapper is kept
    assert run.args == ["test/unit/**/*.js", "--timeout", "30000", "--exit"]
    assert skipped == ["eslint lib/**/*.js", "karma start karma.conf.cjs --single-run"]
    [cov] = scripted_runs(scripts, "cov")
    assert cov.command == ["node_modules/mocha/bin/_mocha"] and cov.args == ["--require", "test/env", "--reporter", "spec", "test/"]
    [esm] = scripted_runs(scripts, "esm")
    assert esm.runner == "jest" and esm.command == ["node", "--experimental-vm-modules", "node_modules/jest/bin/jest.js"]
    [nyc] = scripted_runs(scripts, "nyc")
    assert nyc.command == ["mocha"] and nyc.args == ["test/"]


def test_arguments_after_a_double_dash_reach_the_script_and_a_loop_ends():
    scripts = {"test": "npm run unit -- --runInBand", "unit": "npm run lint && jest", "lint": "eslint ."}
    [run] = scripted_runs(scripts)
    assert run.args == ["--runInBand"]  # to the script's last command, not to its linter
    assert scripted_runs({"test": "npm test"}) == []  # a script that calls itself: followed a few levels, then left
    assert scripted_runs({"test": "yarn unit", "unit": "mocha"})[0].command == ["mocha"]
    assert scripted_runs({"test": 'echo "unclosed'}) == []


def test_shell_syntax_scripts_use_is_read_as_the_shell_reads_it():
    [run] = scripted_runs({"test": "mocha --grep issue#12 test/ 2>&1 | tee log && jest > /dev/null"})[:1]
    assert run.args == ["--grep", "issue#12", "test/"]  # no redirection, and `#` inside a word is no comment
    runs = scripted_runs({"test": "env FOO=1 jest && export TZ=UTC && jest unit"})
    assert [(r.env, r.args) for r in runs] == [({"FOO": "1"}, []), ({"TZ": "UTC"}, ["unit"])]


def test_a_runner_is_where_a_command_starts_not_anywhere_in_it():
    skipped: list[str] = []
    runs = scripted_runs({"test": "rimraf coverage/jest && eslint --plugin jest src && karma start --reporters mocha && npx jest"},
                         skipped=skipped)
    assert [(r.command, r.args) for r in runs] == [(["jest"], [])]
    assert skipped == ["rimraf coverage/jest", "eslint --plugin jest src", "karma start --reporters mocha"]
    assert scripted_runs({"test": "yarn jest --ci"})[0].args == ["--ci"]  # a binary, not a script
    assert scripted_runs({"test": "yarn unit -t 'adds two'", "unit": "jest"})[0].args == ["-t", "adds two"]  # yarn passes all on


def test_build_steps_run_before_the_runs_that_follow_them():
    scripts = {"pretest": "tsc -p .", "test": "npm run build && mocha lib/test && npm run lint && jest",
               "build": "node scripts/bundle.js --out dist", "lint": "eslint ."}
    skipped: list[str] = []
    first, second = scripted_runs(scripts, skipped=skipped)
    assert first.before == ["tsc -p .", "node scripts/bundle.js --out dist"] and second.before == []  # once, before the first
    assert skipped == ["eslint ."]
    assert run_command(first, "r.xml").startswith('export PATH="$PWD/node_modules/.bin:$PWD/.supercoder-node/node_modules/node/bin:$PATH" && '
                                                  "tsc -p . && node scripts/bundle.js")


def test_which_repositories_are_node_packages(tmp_path):
    node, c1 = commit_files(tmp_path / "node", {"package.json": _package({"test": "jest"}), "index.js": "\n",
                                                "requirements.txt": "sphinx\n"})  # its docs' requirements
    assert is_node_project(node, c1, _cfg())
    both, c2 = commit_files(tmp_path / "both", {"package.json": _package({"test": "jest"}), "calc.py": "\n", "app.js": "\n"})
    assert not is_node_project(both, c2, _cfg())  # a tie: a Python project's front-end tooling
    assert is_node_project(both, c2, _cfg("sandbox.project.runtime=node"))
    assert not is_node_project(node, c1, _cfg("sandbox.project.runtime=python"))
    broken, c3 = commit_files(tmp_path / "broken", {"package.json": "{not json", "index.js": "\n"})
    assert not is_node_project(broken, c3, _cfg())


def test_the_environment_installs_from_the_lockfile_or_as_of_the_commit(tmp_path, monkeypatch):
    for name in ("GIT_COMMITTER_DATE", "GIT_AUTHOR_DATE"):
        monkeypatch.setenv(name, "2019-01-10T12:00:00+00:00")
    files = {"package.json": _package({"test": "npm run lint && mocha --reporter spec --bail test/", "lint": "eslint ."},
                                      engines={"node": ">=16"}),
             "yarn.lock": "__metadata:\n  version: 6\n", "test/a.js": "\n"}  # yarn 3's
    clone, commit = commit_files(tmp_path / "dated", files)
    env = node_environment(clone, commit, _cfg())
    assert env.recipe.runtime == "node" and env.name == f"scope-pkg-{commit[:12]}"
    [run] = env.recipe.node_runs
    assert run.runner == "mocha" and run.args == ["--reporter", "spec", "--bail", "test/"]
    install = env.install[-1]
    assert install.startswith("npm install --no-audit --no-fund --legacy-peer-deps --no-package-lock --before=2019-01-10T12:00:00Z ")
    assert "--ignore-scripts" in install  # the last resort
    assert env.about["lockfile"].startswith("yarn.lock is yarn 2 or later's, not read") and env.about["not run"] == "eslint ."
    assert "node >=16" in env.about["node"]
    assert env.variables["PUPPETEER_SKIP_DOWNLOAD"] == "1"

    locked, commit = commit_files(tmp_path / "locked", {"package.json": _package({"test": "jest"}), "package-lock.json": "{}"})
    env = node_environment(locked, commit, _cfg())
    assert env.install[-1].startswith("npm ci ") and env.about["dependencies"] == "npm ci from package-lock.json"

    monkeypatch.delenv("GIT_COMMITTER_DATE")
    bare, commit = commit_files(tmp_path / "bare", {"package.json": _package({"test": 'echo "Error: no test specified" && exit 1'})})
    env = node_environment(bare, commit, _cfg())
    assert env.about["dependencies"] == "the newest releases"  # a commit of today
    assert env.recipe.node_runs == [] and env.about["runs"] == "package.json has no test script"


def test_the_one_runner_a_package_declares_runs_when_its_test_script_makes_no_run_it_reads(tmp_path):
    wrapped, commit = commit_files(tmp_path / "wrapped", {"package.json": _package(
        {"test": "ts-scripts test && npm run size", "size": "size-limit"}, devDependencies={"vitest": "^3", "typescript": "^5"})})
    env = node_environment(wrapped, commit, _cfg())
    assert [(r.runner, r.command, r.args) for r in env.recipe.node_runs] == [("vitest", ["vitest"], [])]
    assert env.about["runs"].startswith("vitest, the runner package.json declares (scripts.test ('ts-scripts test")
    assert env.about["not run"] == "ts-scripts test; size-limit"

    scriptless, commit = commit_files(tmp_path / "scriptless", {"package.json": _package(None, dependencies={"mocha": "10"})})
    [run] = node_environment(scriptless, commit, _cfg()).recipe.node_runs
    assert (run.runner, run.args) == ("mocha", [])

    two, commit = commit_files(tmp_path / "two", {"package.json": _package({"test": "uvu tests"}, devDependencies={"jest": "29", "mocha": "10"})})
    env = node_environment(two, commit, _cfg())
    assert env.recipe.node_runs == [] and env.about["runs"].endswith("declares several runners (jest, mocha): SuperCoder cannot tell which runs the tests")

    tape = {"test": "node build.js && node --stack-size=2000 test/index.js --verbose", "posttest": "node test.js"}
    named, commit = commit_files(tmp_path / "named", {"package.json": _package(tape, devDependencies={"tape": "5"})})
    env = node_environment(named, commit, _cfg())  # tape's tests are scripts node runs
    assert [(r.runner, r.command, r.args) for r in env.recipe.node_runs] == [
        ("tape", ["node", "--stack-size=2000", "test/index.js"], ["--verbose"])]  # (npm's post hook is not run)
    assert env.about["not run"] == "node build.js" and env.about["runs"] == "test: node --stack-size=2000 test/index.js --verbose"
    named, commit = commit_files(tmp_path / "mixed", {"package.json": _package(tape, devDependencies={"tape": "5", "mocha": "10"})})
    env = node_environment(named, commit, _cfg())  # whose tests node runs, then, cannot be told
    assert env.recipe.node_runs == [] and env.about["runs"].startswith("scripts.test ('node build.js && node")

    scripted, commit = commit_files(tmp_path / "scripted", {"package.json": _package({"test": "mocha test/"}, devDependencies={"jest": "29", "mocha": "10"})})
    [run] = node_environment(scripted, commit, _cfg()).recipe.node_runs
    assert (run.runner, run.args, run.script) == ("mocha", ["test/"], "test")  # the script's own run, never a declared one








def test_the_runner_command_reports_to_a_file_and_drops_what_would_change_what_it_reports():
    assert kept_args("jest", ["--coverage", "--outputFile", "x.json", "--watch=false", "-i", "-u", "test/a"]) == ["-i", "test/a"]
    assert kept_args("mocha", ["-R", "spec", "--bail", "--reporter=dot", "--require", "test/env", "test/"]) == ["--require", "test/env", "test/"]
    jest = NodeRun(runner="jest", script="test", env={"TZ": "Europe/London"}, command=["jest"], args=["--coverage", "test/x y"])
    command = run_command(jest, "r.json")
    assert command.endswith(" && TZ=Europe/London jest $jest_ci --json --outputFile=r.json --coverage=false 'test/x y'")
    for version, option in (("29.7.0", "--ci"), ("v20.0.4", "--ci"), ("v19.0.2", ""), ("", "--ci")):  # jest 19 has no --ci
        shell = command.split(" && TZ=")[0].replace("export PATH=", "PATH=").replace("jest --version", f"echo {version}")
        assert subprocess.run(["bash", "-c", shell + ' && echo "$jest_ci"'], capture_output=True, text=True).stdout.strip() == option
    offline = run_command(jest, "r.json", {"npm_config_offline": "true", "TZ": "UTC"})
    assert "npm_config_offline=true TZ=Europe/London jest" in offline  # the script's own variables win
    vitest = NodeRun(runner="vitest", script="test", command=["vitest"], args=["watch", "--coverage", "src/"])
    assert run_command(vitest, "r.json").endswith("vitest run --reporter=json --outputFile=r.json --coverage.enabled=false src/")
    assert run_command(vitest.model_copy(update={"args": ["run"]}), "r.json").count(" run") == 1
    assert kept_args("vitest", ["--coverage.reporter", "text", "--coverage.enabled=true", "src/"]) == ["src/"]
    assert scripted_runs({"test": "vitest --run"})[0].runner == "vitest"
    mocha = NodeRun(runner="mocha", script="test", command=["mocha"], args=["--reporter", "spec", "test/"])
    assert run_command(mocha, "r.xml").endswith("mocha --reporter xunit --reporter-options output=r.xml test/")
    after_dashes = NodeRun(runner="mocha", script="test", command=["mocha"], args=["--", "test/a.js"])
    assert run_command(after_dashes, "r.xml").endswith("output=r.xml -- test/a.js")  # the report's options before `--`


def test_nodes_own_runner_is_known_by_its_test_option_before_any_script():
    scripts = {"test": "node --test --test-reporter=dot test/ && npm run ts && npm run cov && npm run notest && npm run tsx",
               "ts": "node --stack-size 2000 --import tsx --require ./test/setup.js --test test/*.test.ts",
               "cov": "c8 --reporter=lcov node --test", "notest": "node scripts/check.js --test", "tsx": "tsx --test"}
    skipped: list[str] = []
    runs = scripted_runs(scripts, skipped=skipped)
    assert [(r.runner, r.command, r.args) for r in runs] == [
        ("node", ["node"], ["--test", "--test-reporter=dot", "test/"]),
        ("node", ["node"], ["--stack-size", "2000", "--import", "tsx", "--require", "./test/setup.js", "--test", "test/*.test.ts"]),
        ("node", ["node"], ["--test"]),  # the coverage tool dropped
        ("node", ["tsx"], ["--test"])]
    assert skipped == ["node scripts/check.js --test"]  # a script of its own that takes a --test of its own


def test_nodes_own_runner_reports_through_ours_and_keeps_its_own_options():
    assert kept_args("node", ["--test", "--test-reporter", "tap", "--test-reporter-destination=out.tap", "--watch", "--test-only",
                              "--test-update-snapshots", "--import", "tsx", "test/"]) == ["--test", "--import", "tsx", "test/"]
    # npm's shell expanded a pattern the script did not quote (Node before 21 expands none); `**` was quoted, for Node's own
    globbed = NodeRun(runner="node", script="test", command=["node"], args=["--test", "test/*.test.js", "test/**/*.spec.js", "a b"])
    assert run_command(globbed, "r.jsonl").endswith(" --test test/*.test.js 'test/**/*.spec.js' 'a b'")
    run = NodeRun(runner="node", script="test", command=["node"], args=["--test", "--test-reporter=dot", "test/"])
    assert run_command(run, "r.jsonl").endswith(
        "node --test-reporter=spec --test-reporter-destination=stdout --test-reporter=./.supercoder-node-reporter.cjs "
        "--test-reporter-destination=r.jsonl --test test/")


def test_node_tap_reports_raw_tap_without_measuring_coverage():
    [run] = scripted_runs({"test": "nyc --reporter=lcov tap --100 -Rspec -o out.tap --lines=90 test/*.js"})
    assert (run.runner, run.command) == ("tap", ["tap"])
    assert kept_args("tap", run.args) == ["test/*.js"]
    command = run_command(run, "r.tap")
    assert command.endswith("""tap "$tap_coverage" -R tap -o r.tap --no-bail 'test/*.js'""")  # (a configuration's bail undone)
    assert "v=$(tap --version 2>/dev/null)" in command and "--disable-coverage" in command  # tap 18 renamed --no-coverage
    for version, option in (("16.3.10", "--no-coverage"), ("21.8.0", "--disable-coverage"), ("", "--no-coverage")):
        shell = command.split(" && tap ")[0].replace("export PATH=", "PATH=").replace("tap --version", f"echo {version}")
        assert subprocess.run(["bash", "-c", shell + ' && echo "$tap_coverage"'], capture_output=True, text=True).stdout.strip() == option


def test_tape_is_found_behind_its_coverage_tool_and_writes_its_tap_to_the_report():
    # ljharb's packages' form: `npm run tests-only`, nyc around tape, a quoted pattern tape expands itself
    scripts = {"test": "npm run tests-only", "pretest": "npm run lint", "lint": "eslint .",
               "tests-only": "nyc tape -r ./test/setup.js 'test/**/*.js' | tap-spec"}
    skipped: list[str] = []
    [run] = scripted_runs(scripts, skipped=skipped)
    assert (run.runner, run.command, run.args) == ("tape", ["tape"], ["-r", "./test/setup.js", "test/**/*.js"])
    assert skipped == ["eslint .", "tap-spec"]
    assert run_command(run, "r.tap").endswith("tape -r ./test/setup.js 'test/**/*.js' > r.tap")


def test_ava_writes_its_tap_to_the_report_as_in_ci():
    [run] = scripted_runs({"test": "xo && ava --verbose --watch -u --match 'adds*'"})
    assert run.runner == "ava" and kept_args("ava", run.args) == ["--match", "adds*"]
    assert run_command(run, "r.tap").endswith("CI=true ava --tap --no-fail-fast --match 'adds*' > r.tap")  # no snapshot written in CI
    assert run_command(run.model_copy(update={"env": {"CI": ""}}), "r.tap").endswith("CI='' ava --tap --no-fail-fast --match 'adds*' > r.tap")


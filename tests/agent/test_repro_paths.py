"""Where a Node package's reproduction test goes and how its results are known (agent.repro_paths)."""

from __future__ import annotations

from agent.repro_paths import ReproSpot, mocha_config_spec, mocha_specs, node_repro_spot
from sandbox.recipes import EnvRecipe, NodeRun

FILES = ["package.json", "src/index.js", "test/parse.test.js", "test/utc.test.js", "test/plugin/a.test.js", "__tests__/x.spec.ts",
         "node_modules/dep/test/y.test.js"]
EXPRESS = ["package.json", "lib/router/index.js", "test/app.router.js", "test/res.send.js", "test/support/env.js",
           "test/acceptance/auth.js", "examples/auth/index.js"]


def recipe(*runs: tuple[str, list[str]]) -> EnvRecipe:
    return EnvRecipe(name="pkg", python="", runtime="node",
                     node_runs=[NodeRun(runner=r, script="test", command=[r], args=a) for r, a in runs])


def spot(files: list[str], *runs: tuple[str, list[str]]) -> ReproSpot | str:
    return node_repro_spot(recipe(*runs), files, "test_supercoder_repro.py", "supercoder repro")


def test_a_jest_or_vitest_test_goes_beside_most_of_the_package_tests_and_is_known_by_its_file():
    assert spot(FILES, ("jest", []), ("jest", ["--coverage"])) == ReproSpot(
        "test/supercoder_repro.test.js", "jest", ["test/parse.test.js", "test/utc.test.js"])
    assert spot(["src/a.ts", "src/a.spec.ts", "src/b.spec.ts"], ("vitest", [])) == ReproSpot(
        "src/supercoder_repro.spec.ts", "vitest", ["src/a.spec.ts", "src/b.spec.ts"])
    assert spot(FILES, ("node", ["--test", "test/"])) == ReproSpot(  # node --test: its results name files too
        "test/supercoder_repro.test.js", "node", ["test/parse.test.js", "test/utc.test.js"])
    plain = ["src/index.js", "test/parse.js", "test/utc.js", "test/fixtures/a.json", "lib/x.cjs"]
    assert spot(plain, ("tap", ["test/*.js"])) == ReproSpot("test/supercoder_repro.js", "tap", ["test/parse.js", "test/utc.js"])
    assert spot(plain, ("node", ["--test"])).path == "test/supercoder_repro.js"  # Node's and node-tap's: any script of a test folder
    assert spot(["src/a.ts", "test/a.ts", "test/b.ts", "test/types.d.ts"], ("node", ["--import", "tsx", "--test"])) == ReproSpot(
        "test/supercoder_repro.ts", "node", ["test/a.ts", "test/b.ts"])
    assert "no .test or .spec file" in spot(plain, ("jest", []))  # jest's own naming only
    assert "no .test or .spec file" in spot(["src/index.js", "test/helpers.js"], ("jest", []))
    assert "one kind of runner" in spot(FILES, ("jest", []), ("mocha", []))  # a file of one is no test of the other's


def test_mocha_specs_are_its_positional_arguments_and_spec_values():
    args = ["--require", "test/support/env", "--reporter", "spec", "--check-leaks", "test/", "./test/acceptance/", "--spec=lib/**/*.js"]
    assert mocha_specs(args) == ["test", "test/acceptance", "lib/**/*.js"]
    assert mocha_specs(["-r", "x", "--spec", "spec/a", "--", "t"]) == ["spec/a", "t"]
    assert mocha_specs(["--timeout", "5000", "--watch-files", "lib", "./"]) == ["."]  # "." is the top


def test_a_mocha_test_goes_in_the_first_folder_mocha_is_given_and_is_known_by_its_describe_block():
    express = ("mocha", ["--require", "test/support/env", "--reporter", "spec", "--bail", "--check-leaks", "test/", "test/acceptance/"])
    assert spot(EXPRESS, express) == ReproSpot("test/supercoder_repro.js", "mocha", ["test/app.router.js", "test/res.send.js"],
                                               "supercoder repro")
    assert spot(EXPRESS, ("mocha", [])).path == "test/supercoder_repro.js"  # mocha's own default: ./test
    # a glob: its folder, and the end of its pattern, so that the glob takes the file
    globbed = spot(["lib/a.js", "spec/unit/a.spec.mjs", "spec/unit/b.spec.mjs"], ("mocha", ["spec/unit/**/*.spec.mjs"]))
    assert (globbed.path, globbed.siblings) == ("spec/unit/supercoder_repro.spec.mjs", ["spec/unit/a.spec.mjs", "spec/unit/b.spec.mjs"])
    assert "names no folder" in spot(EXPRESS, ("mocha", ["test/app.router.js"]))  # a file alone: mocha runs no other
    # globs that would not take a file directly in their folder, with their ending, are passed over
    for glob in ("test/{a,b}/*.js", "test/*/*.js", "test/**/test-*.js", "test/**/*.{js,ts}", "test/**/*.ts"):
        assert "names no folder" in spot(EXPRESS, ("mocha", [glob])), glob
    assert spot(EXPRESS, ("mocha", ["test/**"])).path == "test/supercoder_repro.js"
    assert spot(["index.js", "x.test.js"], ("mocha", ["."])).path == "supercoder_repro.js"
    # what mocha loads without a compiler: .js, .cjs, .mjs (type declarations and TypeScript aside)
    typed = spot(["test/a.d.ts", "test/b.d.ts", "test/c.mjs", "test/d.ts"], ("mocha", []))
    assert (typed.path, typed.siblings) == ("test/supercoder_repro.mjs", ["test/c.mjs"])
    assert "names no folder" in spot(["index.js", "spec/a.js"], ("mocha", []))
    # one run that finds it is enough (axios: its unit tests' glob, then one module test file)
    axios = spot(["lib/a.js", "test/unit/a.js", "test/module/test.js"], ("mocha", ["test/module/test.js"]), ("mocha", ["test/unit/**/*.js"]))
    assert axios.path == "test/unit/supercoder_repro.js" and axios.siblings == ["test/unit/a.js"]
    assert "one kind of runner" in node_repro_spot(recipe(("mocha", [])), EXPRESS, "t.py", "")  # no suite title set: none


def test_a_tape_test_goes_where_a_pattern_of_its_command_takes_it_and_is_known_by_its_titles():
    qs = ["lib/parse.js", "test/parse.js", "test/stringify.js", "test/utils/x.js"]
    assert spot(qs, ("tape", ["test/**/*.js"])) == ReproSpot("test/supercoder_repro.js", "tape", ["test/parse.js", "test/stringify.js"],
                                                            "supercoder repro")
    assert spot(qs, ("tape", ["-r", "./test/setup.js", "test/*.js"])).path == "test/supercoder_repro.js"  # -r's value is no pattern
    assert "names no file pattern" in spot(qs, ("tape", ["test"]))  # a folder is a module to tape (its index.js): no other file
    assert "names no file pattern" in spot(qs, ("tape", ["test/parse.js"]))
    assert "one kind of runner" in spot(qs, ("tape", ["test/*.js"]), ("mocha", []))


def test_mocha_s_configuration_gives_its_spec_as_mocha_reads_it():
    rc = {".mocharc.yml": "spec:\n  - 'spec/unit/**/*.spec.js'\n  - spec/other\nrecursive: true\n",
          ".mocharc.json": '// a comment\n{"spec": "ignored"}', "package.json": '{"mocha": {"spec": "tests"}}',
          "cfg/m.json": '{"spec": "./checks/"}', "cfg/n.json": '{"spec": "last"}', "bad.json": "{ nope"}
    read = rc.get
    # .mocharc.yml comes before .mocharc.json in mocha's order, and package.json's mocha is read with it
    assert mocha_config_spec([], read) == ["spec/unit/**/*.spec.js", "spec/other", "tests"]
    assert mocha_config_spec([], {".mocharc.json": rc[".mocharc.json"]}.get) == ["ignored"]  # its comment line aside
    assert mocha_config_spec(["--config", "cfg/m.json", "--config=cfg/n.json", "--no-package"], read) == ["last"]  # the last
    assert mocha_config_spec(["--no-config"], read) == ["tests"] and mocha_config_spec(["--config=bad.json", "--no-package"], read) == []
    assert mocha_config_spec([], {".mocharc.js": "module.exports = {}", **rc}.get) == []  # a JavaScript one is mocha's: not run
    assert mocha_config_spec(["--config", "../../etc/x.json", "--no-package"], read) == []  # outside the package: not read
    assert mocha_config_spec([], {}.get) == []
    tree = ["lib/a.js", "spec/unit/a.spec.js", "test/old.js"]
    found = node_repro_spot(recipe(("mocha", [])), tree, "test_supercoder_repro.py", "supercoder repro", read)
    assert found.path == "spec/unit/supercoder_repro.spec.js"  # not test/, mocha's default, which its configuration replaces
    # the command's spec first; where it cannot take the file, the configuration's (mocha runs both)
    assert node_repro_spot(recipe(("mocha", ["test"])), tree, "supercoder_repro.py", "supercoder repro", read).path == "test/supercoder_repro.js"
    assert node_repro_spot(recipe(("mocha", ["lib/a.js"])), tree, "supercoder_repro.py", "supercoder repro", read).path == (
        "spec/unit/supercoder_repro.spec.js")

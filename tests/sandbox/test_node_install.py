"""How a Node package's dependencies are installed: which Node (the suite's, or the one its
engines ask for), which package manager from which lockfile, and the commands with their
fallbacks."""

from __future__ import annotations

import json

import pytest
from fakes.repos import commit_files

from agent.settings import load_settings
from sandbox.node_install import Installer, install_commands, installer, node_release, pinned_node


def _cfg(*overrides: str):
    return load_settings(None, list(overrides)).sandbox


def _package(scripts: dict | None = None, **more) -> str:
    return json.dumps({"name": "@scope/pkg", "version": "1.0.0", **({"scripts": scripts} if scripts is not None else {}), **more})


def test_install_commands_fall_back_and_keep_node_modules_through_a_reset():
    exclude, dated = install_commands(Installer(), "2019-01-10T00:00:00+00:00")
    assert "info/exclude" in exclude
    first, *rest = dated.split(" || ")
    assert "--before=2019-01-10T00:00:00+00:00" in first and "--before" not in rest[0]
    assert install_commands(Installer(), None)[1].count(" || ") == 1  # nothing to drop the date from
    yarn = install_commands(Installer("yarn", "yarn.lock", "1.22.22"), None)[1].split(" || ")
    assert yarn[0] == "npx --yes yarn@1.22.22 install --ignore-engines --non-interactive --frozen-lockfile"
    assert yarn[1].endswith("; npx --yes yarn@1.22.22 install --ignore-engines --non-interactive; }")  # the lockfile not held to
    assert yarn[2].endswith("--non-interactive --ignore-scripts; }")
    assert yarn[3].endswith("rm -rf node_modules; npm install --no-audit --no-fund --legacy-peer-deps --no-package-lock; }")  # its registry gone


def test_a_node_that_engines_asks_for_is_fetched_where_the_suites_does_not_do():
    def release(asked: str | None, *overrides: str) -> str:
        return node_release({"engines": {"node": asked}} if asked is not None else {}, _cfg(*overrides))[0]

    for suite_will_do in (None, "", ">=16", ">= 0.10.0", "^18.17 || >=20", "*"):  # bookworm's 18.20 (express: `>= 0.10.0`)
        assert release(suite_will_do) == "", suite_will_do
    # the newest it allows: a package that excludes the suite's Node is a recent one (vuejs/core: `>=20`, and pnpm 11 needs 22)
    assert [release(r) for r in (">=20", "^20.11 || ^22", "20.x", ">=22.12.0 <24", "^24")] == ["24", "22", "20", "22", "24"]
    assert release(">=20", "sandbox.node_suite_version=20.19.2") == ""  # trixie's
    assert release(">=99") == "" and "none of sandbox.node_majors" in node_release({"engines": {"node": ">=99"}}, _cfg())[1]
    assert release(None, "sandbox.node_version=22.1.0") == "22.1.0"  # whatever engines says
    assert release(">=16", "sandbox.node_version=22") == "22"  # `--set` reads 22 as a number
    with pytest.raises(Exception, match="as a string"):
        _cfg("sandbox.node_version=20.10")  # 20.1 to YAML
    assert release(">=99", "sandbox.backend=local") == "" and "the host's node" in node_release({}, _cfg("sandbox.backend=local"))[1]
    fetch = install_commands(Installer(), None, "20.9.0")[1].split(" || ")  # a release the registry may lack for this machine
    assert fetch[1].endswith('"node@npm:node-linux-$(uname -m | sed "s/x86_64/x64/; s/aarch64/arm64/")@"20; }')
    assert fetch[2] == "echo 'supercoder: Node 20.9.0 could not be fetched; the suite'\"'\"'s Node instead'"


def test_the_node_a_package_pins_in_nvmrc_is_fetched_when_it_is_not_the_suites(tmp_path):
    def pinned(files: dict) -> tuple[str, str]:
        clone, commit = commit_files(tmp_path / str(len(list(tmp_path.iterdir()))), {"package.json": _package(), **files})
        return pinned_node(clone, commit, _cfg())

    assert pinned({".nvmrc": "v16.20.2\n"}) == ("16.20.2", ".nvmrc") and pinned({".node-version": "22"}) == ("22", ".node-version")
    assert pinned({".nvmrc": "lts/Iron"}) == ("20", ".nvmrc")  # nvm's name of an LTS
    assert pinned({".nvmrc": "lts/*\n"}) == ("", "")  # any LTS: the suite's is one (else what engines allows)
    assert pinned({".nvmrc": "lts/argon\n"}) == ("", "") and pinned({".nvmrc": "node"}) == ("", "") and pinned({}) == ("", "")
    cfg = _cfg()
    assert node_release({}, cfg, ("16", ".nvmrc"))[0] == "16"  # webpack 4 and OpenSSL 3: an older Node, as its developers use
    assert node_release({}, cfg, ("18.17.0", ".nvmrc"))[0] == ""  # the suite's major: the suite's Node
    assert node_release({"engines": {"node": ">=20"}}, cfg, ("16", ".nvmrc"))[0] == "24"  # what engines allows first
    old, said = node_release({}, cfg, ("10.24.1", ".nvmrc"))  # Debian's npm 9 needs Node 14.17
    assert old == "" and "the suite's npm does not run" in said
    assert node_release({}, _cfg("sandbox.node_version=12"))[0] == "" and node_release({}, cfg, ("14", ".nvmrc"))[0] == "14"
    assert node_release({"engines": {"node": ">=18"}}, cfg, ("22", ".nvmrc")) == \
        ("22", "Node 22, as .nvmrc names it, from the npm registry, npm of Debian bookworm (the package asks for node >=18)")
    commands = install_commands(Installer(), None, "22")
    assert commands[1].split(" || ")[0].endswith('--prefix .supercoder-node "node@npm:node-linux-$(uname -m | sed "s/x86_64/x64/; s/aarch64/arm64/")@"22')
    assert commands[2] == 'export PATH="$PWD/.supercoder-node/node_modules/node/bin:$PATH"'
    assert ".supercoder-node/" in commands[0] and "node_modules/" in commands[0]  # both kept through a reset


def test_yarn_1_and_pnpm_install_from_their_lockfiles_at_the_version_the_package_names(tmp_path):
    def chosen(files: dict, **package) -> tuple[Installer, str]:
        clone, commit = commit_files(tmp_path / str(len(list(tmp_path.iterdir()))), {"package.json": _package({"test": "jest"}, **package), **files})
        return installer(clone, commit, json.loads(_package(**package)), _cfg())

    classic = "# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n"
    assert chosen({"yarn.lock": classic}) == (Installer("yarn", "yarn.lock", "1.22.22"), "")
    assert chosen({"yarn.lock": classic}, packageManager="yarn@1.19.0") == (Installer("yarn", "yarn.lock", "1.19.0"), "")
    assert chosen({"yarn.lock": classic, "package-lock.json": "{}"})[0] == Installer("npm", "package-lock.json")  # npm's first
    assert chosen({"pnpm-lock.yaml": "lockfileVersion: '6.0'\n"}) == (Installer("pnpm", "pnpm-lock.yaml", "8.15.9"), "")
    assert chosen({"pnpm-lock.yaml": "lockfileVersion: 5.4\n"})[0].version == "7.33.7"
    named = chosen({"pnpm-lock.yaml": "lockfileVersion: '9.0'\n", "yarn.lock": classic}, packageManager="pnpm@9.1.0+sha512.abc")
    assert named == (Installer("pnpm", "pnpm-lock.yaml", "9.1.0"), "")  # the one packageManager names, at its version
    unknown, why = chosen({"pnpm-lock.yaml": "lockfileVersion: '99.0'\n"})
    assert unknown == Installer() and "not read" in why
    assert chosen({"yarn.lock": classic}, packageManager="yarn@4.1.0")[0] == Installer()  # a later yarn's

"""`supercoder sandbox ...`: input errors exit 2 with one line; a validation runs end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fakes.repos import commit_files

from agent import cli
from sandbox import swebench_adapter as swe


def run(capsys, *args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return (0 if exc.value.code is None else exc.value.code), out, err


def one_error(code: int, err: str, fragment: str) -> None:
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], (code, err)


ROW = {"instance_id": "o__n-1", "repo": "o/n", "version": "1", "base_commit": "0" * 40, "patch": "", "test_patch": "",
       "FAIL_TO_PASS": [], "PASS_TO_PASS": []}


@pytest.fixture
def dataset(tmp_path) -> Path:
    path = tmp_path / "d.jsonl"
    path.write_text(json.dumps(ROW) + "\n")
    return path


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("{not json\n", "d.jsonl:1: not valid JSON"),
        (json.dumps({"instance_id": "x"}) + "\n", "instance x lacks repo, version, base_commit, test_patch, FAIL_TO_PASS, PASS_TO_PASS"),
    ],
)
def test_bad_dataset_lines(clean_env, tmp_path, capsys, text, fragment):
    bad = tmp_path / "d.jsonl"
    bad.write_text(text)
    one_error(*run(capsys, "sandbox", "validate", "--dataset", bad, "--repo-cache", tmp_path)[::2], fragment)


def test_missing_dataset_unknown_instance_bad_patch_and_cache(clean_env, dataset, tmp_path, capsys):
    one_error(*run(capsys, "sandbox", "validate", "--dataset", tmp_path / "nope.jsonl", "--repo-cache", tmp_path)[::2], "no such file")
    one_error(*run(capsys, "sandbox", "validate", "--dataset", dataset, "--repo-cache", tmp_path, "--instance", "zzz")[::2], "not in")
    one_error(*run(capsys, "sandbox", "validate", "--dataset", dataset, "--repo-cache", tmp_path, "--patch", "nofile.diff")[::2],
              "expected gold, none or a diff file")
    one_error(*run(capsys, "sandbox", "validate", "--dataset", dataset, "--repo-cache", tmp_path / "none")[::2], "repo cache not found")
    one_error(*run(capsys, "sandbox", "validate", "--dataset", dataset, "--repo-cache", tmp_path, "--backend", "lxc")[::2],
              "sandbox.backend: Input should be 'docker' or 'local'")


def test_an_instance_that_cannot_run_exits_1_with_its_reason(clean_env, dataset, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {"python": "3.11", "install": "true", "test_cmd": "true"})
    code, out, err = run(capsys, "sandbox", "validate", "--dataset", dataset, "--repo-cache", tmp_path, "--json",
                         "--set", f"sandbox.clone_url={tmp_path}/nowhere/{{repo}}")
    assert code == 1
    [record] = json.loads(out)
    assert record["instance_id"] == "o__n-1" and not record["resolved"]
    assert "no clone of o/n" in record["error"]
    assert set(record) == {"instance_id", "resolved", "fail_to_pass", "pass_to_pass", "duration_s", "error", "refused"}


def test_validate_on_the_local_backend_says_which_python_it_lacks(clean_env, dataset, tmp_path, capsys, monkeypatch):
    (tmp_path / "o__n").mkdir()
    monkeypatch.setattr(swe, "spec", lambda repo, version: {"python": "2.6", "install": "true", "test_cmd": "true"})
    code, out, err = run(capsys, "sandbox", "validate", "--dataset", dataset, "--repo-cache", tmp_path, "--backend", "local", "--json")
    assert code == 1
    [record] = json.loads(out)
    assert "the local backend needs Python 2.6" in record["error"]


# -- sandbox test: a repository's own suite ------------------------------------------------------


CALC = {"calc.py": "def add(a, b):\n    return a - b\n",
        "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n"}


def test_sandbox_test_refuses_what_is_no_repository(clean_env, tmp_path, capsys):
    code, _, err = run(capsys, "sandbox", "test", "--repo", tmp_path / "nowhere")
    one_error(code, err, "nowhere")
    # A project no Python here can run is said as the build's problem, not as a crash.
    repo, _ = commit_files(tmp_path / "future", {**CALC, "pyproject.toml": '[project]\nname = "calc"\nrequires-python = ">=4"\n'})
    code, out, err = run(capsys, "sandbox", "test", "--repo", repo, "--backend", "local", "--json")
    report = json.loads(out)
    assert code == 1 and report["stage"] == "build" and ">=4" in report["problem"] and "unexpected" not in err


def test_sandbox_test_says_up_front_when_a_javascript_repository_has_no_tests_it_can_run(clean_env, tmp_path, capsys):
    from fakes.repos import CALC_JS

    cache = ["--set", f"index.cache_dir={tmp_path / 'cache'}"]
    repo, _ = commit_files(tmp_path / "calc-js", CALC_JS)  # a package.json without a test script
    code, out, err = run(capsys, "sandbox", "test", "--repo", repo, "--backend", "local", "--json", *cache)
    report = json.loads(out)
    assert code == 1 and report["stage"] == "collect" and report["ran"] is False and report["duration_s"] < 5
    assert report["problem"].startswith("package.json has no test script: SuperCoder cannot tell how its tests run")
    assert report["environment"]["runtime"] == "node" and report["built"] is False
    code, out, err = run(capsys, "sandbox", "test", "--repo", repo, "--backend", "local", *cache)
    labels = [line.split()[0] for line in out.splitlines() if line.strip()]
    assert code == 1 and "to" in labels and "installed" not in labels  # nothing was installed: said as what would be
    bare, _ = commit_files(tmp_path / "bare-js", {k: v for k, v in CALC_JS.items() if k != "package.json"})
    code, out, err = run(capsys, "sandbox", "test", "--repo", bare, "--backend", "local", "--json", *cache)
    report = json.loads(out)
    assert code == 1 and report["stage"] == "build"
    assert report["problem"].startswith("the repository is written in javascript, and it has no package.json with a test script")


def test_sandbox_test_runs_the_suite_and_says_what_it_chose(clean_env, tmp_path, capsys):
    repo, _ = commit_files(tmp_path / "calc", CALC)
    local = ["--backend", "local", "--set", f"sandbox.local_venv_dir={tmp_path / 'venvs'}"]
    code, out, err = run(capsys, "sandbox", "test", "--repo", repo, *local, "--json")
    report = json.loads(out)
    # A failing test is the suite's own business: it ran.
    assert code == 0 and report["stage"] == "run" and report["ran"] and report["built"], err
    assert report["counts"] == {"passed": 1, "failed": 1} and report["failing"] == ["test_calc.py::test_add"]
    assert report["environment"]["pip"] == ["pytest pytest-timeout"] and "newest" in report["environment"]["about"]["dependencies"]
    code, out, _ = run(capsys, "sandbox", "test", "--repo", repo, *local, "--tests", "test_calc.py::test_zero")
    assert code == 0 and "1 passed" in out and "failing" not in out


def test_sandbox_test_in_docker_says_why_a_file_could_not_be_collected(clean_env, tmp_path, capsys):
    repo, _ = commit_files(tmp_path / "calc", {**CALC, "test_old.py": "from collections import Mapping\n\n\ndef test_x():\n    pass\n"})
    code, out, err = run(capsys, "sandbox", "test", "--repo", repo, "--set", "sandbox.project.python=3.11")
    assert code == 1, err
    assert "test_old.py cannot be imported" in out and "Mapping" in out  # the reason, in one line
    assert "1 passed" in out and "test_calc.py::test_add" in out  # the other files still ran


def test_sandbox_test_runs_a_node_package_in_docker_and_says_what_it_chose(clean_env, tmp_path, capsys):
    files = {"package.json": json.dumps({"name": "calc", "version": "1.0.0", "scripts": {"test": "npm run lint && mocha test/"},
                                         "devDependencies": {"mocha": "10.2.0"}}),
             "index.js": "module.exports = (a, b) => a - b\n",
             "test/add.test.js": "const add = require('..')\nconst assert = require('assert')\n"
                                 "describe('add', () => {\n  it('adds', () => assert.strictEqual(add(1, 2), 3))\n"
                                 "  it('zero', () => assert.strictEqual(add(1, 0), 1))\n})\n"}
    repo, _ = commit_files(tmp_path / "calc-node", {**files, "package.json": files["package.json"].replace(
        '"npm run lint && mocha test/"}', '"npm run lint && mocha test/", "lint": "eslint ."}')})
    code, out, err = run(capsys, "sandbox", "test", "--repo", repo, "--set", f"index.cache_dir={tmp_path / 'cache'}")
    assert code == 0, out + err
    lines = out.splitlines()
    assert "python" not in out.split("tests ")[0].lower().split("dependencies")[0]  # a Node package: no Python line
    assert any(line.startswith("node ") and "Debian bookworm" in line for line in lines)
    assert any(line.startswith("not run") and "eslint ." in line for line in lines)  # the linter, said
    assert any(line.startswith("installed ") for line in lines)
    assert any(line.startswith("tests ") and "1 failed, 1 passed" in line for line in lines)
    assert "failing       add adds" in out

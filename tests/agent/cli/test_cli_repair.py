"""`supercoder repair` end to end on a small repository the test makes, with the fake model
server playing every stage (as docs/prompts.md describes) and the local sandbox backend."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fakes.repos import git as _git

from agent import cli

GOOD = '<edit path="calc.py" unit="add">\ndef add(a, b):\n    return a + b\n</edit>'
BAD = '<edit path="calc.py" unit="add">\ndef add(a, b):\n    return a * b\n</edit>'
CHECK = "python -c 'import calc; assert calc.add(1, 2) == 3'"


@pytest.fixture
def repo(calc_repo) -> Path:
    return calc_repo


def responder(edits: list[str], seen: list[str], files: tuple[str, ...] = ("calc.py",), units: tuple[str, ...] = ("calc.py::add",)):
    """Answers each stage's prompt in its documented format; edits are given in turn."""
    def answer(body: dict) -> str:
        prompt = body["messages"][-1]["content"]
        seen.append(prompt)
        if "Which files most likely need to be edited" in prompt or "Which of these files need to be edited" in prompt:
            return "```json\n" + json.dumps({"files": list(files)}) + "\n```"
        if "Name the functions, methods or classes" in prompt:
            return "```json\n" + json.dumps({"units": list(units)}) + "\n```"
        if "You are fixing an issue" in prompt:
            return edits.pop(0) if len(edits) > 1 else edits[0]
        return "I cannot help with that."
    return answer


def _args(repo: Path, server, tmp_path: Path, *extra: str) -> list[str]:
    return ["repair", "--repo", str(repo), "--issue", "add() subtracts: add(1, 2) gives -1 instead of 3",
            "--model", "fake-model", "--base-url", server.base_url, "--backend", "local", "--json",
            "--set", f"repair.runs_dir={tmp_path / 'runs'}", "--set", "embeddings.provider=none",
            "--set", f"sandbox.local_venv_dir={tmp_path / 'venvs'}", "--set", f'sandbox.local_pythons={{"3.11": "{sys.executable}"}}',
            "--set", "sandbox.project.packages=[]", "--set", "sandbox.project.always=[]", "--set", "sandbox.project.python=3.11",
            "--set", "editing.temperatures=[0.0, 0.8]", "--set", "editing.samples_per_temperature=1", *extra]


def run(capsys, args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    out, err = capsys.readouterr()
    return (0 if exc.value.code is None else exc.value.code), out, err


def test_a_validated_patch_from_a_test_command(fake_openai, repo, tmp_path, capsys):
    seen: list[str] = []
    fake_openai.responder = responder([GOOD], seen)
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK))
    result = json.loads(out)
    assert code == 0 and result["status"] == "validated", err
    assert "+    return a + b" in result["patch"] and result["tests"]["target"] == {"test-cmd": "passed"}
    assert _git(repo, "status", "--porcelain") == "" and "a - b" in (repo / "calc.py").read_text()  # the user's tree untouched
    run_dir = Path(result["run_dir"])
    assert run_dir.parent == tmp_path / "runs"
    for name in ("config.json", "request.json", "localize.json", "baseline.json", "round-1.json", "summary.json", "patch.diff", "calls.jsonl"):
        assert (run_dir / name).exists(), name
    calls = [json.loads(line) for line in (run_dir / "calls.jsonl").read_text().splitlines()]
    assert any("You are fixing an issue" in c["request"]["messages"][-1]["content"] for c in calls)
    code, out, _ = run(capsys, ["show", "last", "--runs-dir", str(tmp_path / "runs")])
    assert code == 0 and "validated" in out and "calc.py::add" in out and "round-1  candidate 1" in out


def test_failures_are_fed_back_and_the_best_unvalidated_patch_is_kept(fake_openai, repo, tmp_path, capsys):
    seen: list[str] = []
    fake_openai.responder = responder([BAD], seen)
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--set", "repair.rounds=2",
                                       "--output", str(tmp_path / "best.diff")))
    result = json.loads(out)
    assert code == 1 and result["status"] == "unvalidated" and "no candidate makes the failing test" in result["reason"]
    second_round = [p for p in seen if "You are fixing an issue" in p and "What happened with an earlier attempt" in p]
    assert second_round and "Still failing: test-cmd" in second_round[0] and "return a * b" in second_round[0]
    assert (tmp_path / "best.diff").read_text() == result["patch"]


def test_apply_changes_the_tree_only_for_a_validated_patch_and_clean_files(fake_openai, repo, tmp_path, capsys):
    fake_openai.responder = responder([GOOD], [])
    (repo / "calc.py").write_text((repo / "calc.py").read_text() + "\n# my local note\n")  # uncommitted
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--apply"))
    assert code == 1 and "not applied: uncommitted changes in calc.py" in err  # --apply did not do what was asked
    result = json.loads(out)
    assert result["status"] == "validated" and result["patch"]  # the workspace held the local change, the patch was made over it
    _git(repo, "checkout", "calc.py")
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--apply"))
    assert code == 0 and "applied to" in err and "return a + b" in (repo / "calc.py").read_text()


def test_bad_input_and_a_refused_key_stop_before_any_work(fake_openai, repo, tmp_path, capsys):
    code, _, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--tests", "t.py"))
    assert code == 2 and "not both" in err
    fake_openai.fail_next(status=401, path="/models")
    code, _, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK))
    assert code == 2 and err.strip().splitlines()[-1].startswith("error: ") and "refused the key" in err
    assert not fake_openai.chat_requests()
    assert not list((tmp_path / "runs").glob("*"))  # refused before it started: no record for `show last` to show
    code, _, err = run(capsys, ["show", "last", "--runs-dir", str(tmp_path / "runs")])
    assert code == 2 and "no finished run" in err
    code, _, err = run(capsys, [a if a != str(repo) else str(tmp_path / "nope") for a in _args(repo, fake_openai, tmp_path)])
    assert code == 2 and "repository not found" in err


def test_a_model_that_answers_garbage_ends_failed_with_its_record(fake_openai, repo, tmp_path, capsys):
    fake_openai.responder = responder(["Sorry, I am not sure what you mean."], [])
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--set", "editing.max_retries=1",
                                       "--set", "repair.rounds=1"))
    result = json.loads(out)
    assert code == 1 and result["status"] == "failed" and result["patch"] == ""
    assert "edit" in result["reason"].lower(), result["reason"]  # the reader's complaint about the answer
    assert json.loads((Path(result["run_dir"]) / "summary.json").read_text())["status"] == "failed"


def test_the_cost_limit_stops_the_run_with_a_reason(fake_openai, repo, tmp_path, capsys):
    fake_openai.responder = responder([BAD], [])
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--model", "gpt-4o",
                                       "--max-cost", "0.0000001", "--set", "repair.rounds=3"))
    assert out, (code, err)  # once seen empty in a full run: keep the reason the CLI gave
    result = json.loads(out)
    assert code == 1 and result["status"] in ("failed", "unvalidated")
    calls = (Path(result["run_dir"]) / "calls.jsonl").read_text().splitlines()
    assert len(calls) <= 2  # the first call crossed the limit; later ones were refused, not sent
    assert result["cost_usd"] > 0


def test_a_rerun_replays_from_the_cache_at_no_cost(fake_openai, repo, tmp_path, capsys):
    fake_openai.responder = responder([GOOD], [])
    code, out, _ = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--model", "gpt-4o"))
    first = json.loads(out)
    asked = len(fake_openai.chat_requests())
    code, out, _ = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--model", "gpt-4o"))
    again = json.loads(out)
    assert code == 0 and again["patch"] == first["patch"] and again["cost_usd"] == 0 and first["cost_usd"] > 0
    assert len(fake_openai.chat_requests()) == asked


def test_rate_limits_with_retry_after_are_waited_out(fake_openai, repo, tmp_path, capsys):
    fake_openai.responder = responder([GOOD], [])
    fake_openai.fail_next(status=429, times=2, retry_after_ms=20, path="/chat/completions")
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK))
    assert code == 0 and json.loads(out)["status"] == "validated", err
    summary = json.loads((Path(json.loads(out)["run_dir"]) / "summary.json").read_text())
    assert summary["usage"]["retries"] == 2


def test_a_validated_patch_in_docker(fake_openai, repo, tmp_path, capsys):
    fake_openai.responder = responder([BAD, GOOD], [])  # the first round's candidate is wrong; the feedback round fixes it
    args = [a if a != "local" else "docker" for a in _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK,
                                                             "--set", "editing.temperatures=[0.0]")]
    code, out, err = run(capsys, args)
    result = json.loads(out)
    assert code == 0 and result["status"] == "validated", err
    rounds = sorted(p.name for p in Path(result["run_dir"]).glob("round-*.json"))
    assert rounds == ["round-1.json", "round-2.json"]
    # The image of this run's tree (its workspace's own commit) was built, and removed when the run ended.
    assert "building supercoder-instance:repo-" in err
    from sandbox.docker_engine import EPHEMERAL_LABEL, docker_client, owner

    assert docker_client().api.images(filters={"label": f"{EPHEMERAL_LABEL}={owner()}"}) == []


def test_a_sandbox_that_cannot_be_built_ends_failed_with_the_reason(fake_openai, repo, tmp_path, capsys):
    fake_openai.responder = responder([GOOD], [])
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--set", "sandbox.project.install=exit 3"))
    result = json.loads(out)
    assert code == 1 and result["status"] == "failed" and result["reason"].startswith("sandbox: installing the repository failed")
    assert "Traceback" not in err


def test_nothing_located_ends_without_generating(fake_openai, repo, tmp_path, capsys, monkeypatch):
    from agent import pipeline
    from localization.models import Localization

    monkeypatch.setattr(pipeline, "locate", lambda *a: Localization(files=[], units=[]))
    fake_openai.responder = responder([GOOD], [])
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK))
    result = json.loads(out)
    assert code == 1 and result["status"] == "failed" and result["reason"] == "localization found no unit to change"
    assert not fake_openai.chat_requests()


@pytest.mark.parametrize("answer, fragment", [
    ('<edit path="calc.py" unit="Missing.method">\ndef method(self):\n    return 1\n</edit>', "Missing"),
    ("x" * 2_000_000, "no <edit"),
])
def test_unusable_answers_end_failed_with_the_reason(fake_openai, repo, tmp_path, capsys, answer, fragment):
    fake_openai.responder = responder([answer], [])
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--set", "editing.max_retries=0"))
    result = json.loads(out)
    assert code == 1 and result["status"] == "failed" and fragment in result["reason"], result["reason"]
    assert "Traceback" not in err


def test_ctrl_c_mid_run_saves_the_record_and_exits_130_without_waiting_for_the_model(fake_openai, repo, tmp_path):
    import os
    import signal
    import threading

    asked = threading.Event()
    release = threading.Event()

    def slow(body: dict) -> str:
        if "You are fixing an issue" in body["messages"][-1]["content"]:
            asked.set()
            release.wait(120)
        return responder([GOOD], [])(body)

    fake_openai.responder = slow
    env = {**os.environ, "OPENAI_API_KEY": "sk-test", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    proc = subprocess.Popen([sys.executable, "-c", "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
                             "from agent.cli import main; main(sys.argv[1:])", *_args(repo, fake_openai, tmp_path, "--test-cmd", CHECK)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert asked.wait(120), "generation never started"
        proc.send_signal(signal.SIGINT)
        # The model holds its answer for two minutes: the run must not wait for it (it did, for its timeout).
        _, err = proc.communicate(timeout=20)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "error: interrupted"
    [summary] = (tmp_path / "runs").glob("*/summary.json")
    assert json.loads(summary.read_text())["reason"] == "interrupted"
    assert _git(repo, "status", "--porcelain") == ""




def test_a_hostile_endpoint_ends_the_run_with_one_line_and_the_tree_untouched(fake_openai, repo, tmp_path, capsys):
    from fakes.openai_server import Hostile

    hostile = Hostile(responder([GOOD], []), slow_s=3).install(fake_openai)
    args = [a for a in _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK, "--set", "llm.timeout_s=2", "--set", "llm.max_retries=1",
                             "--set", "llm.backoff_initial_s=0.05", "--set", "editing.max_retries=2") if a != "--json"]
    before = (repo / "calc.py").read_text()
    code, out, err = run(capsys, args)
    assert code == 1 and "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(("failed: ", "unvalidated: ")) and out == "", err
    assert _git(repo, "status", "--porcelain") == "" and (repo / "calc.py").read_text() == before
    assert sum(hostile.counts.values()) >= 3  # it went through the rotation


PYTEST = ("--set", 'sandbox.project.packages=["pytest"]')  # the environment of a repository whose tests run with pytest


def _with_tests(repo: Path, tmp_path: Path) -> None:
    """The calc repository with its test of add (failing), a test that fails for reasons of its own
    and one that fails every other time it runs (its count kept outside the tree)."""
    (repo / "tests").mkdir()
    (repo / "tests" / "test_calc.py").write_text("from calc import add, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
                                                 "def test_sub():\n    assert sub(3, 1) == 2\n")
    (repo / "tests" / "test_env.py").write_text(
        f"import pathlib\n\nimport calc\n\nSTATE = pathlib.Path({str(tmp_path / 'flaky-count')!r})\n\n\n"
        "def test_needs_the_network():\n    raise ConnectionError('no network here')\n\n\n"
        "def test_flaky():\n    runs = int(STATE.read_text()) if STATE.exists() else 0\n    STATE.write_text(str(runs + 1))\n"
        "    assert runs % 2 == 1\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "tests")


def test_an_unrelated_failure_and_a_flaky_test_are_neither_targets_nor_regressions(fake_openai, repo, tmp_path, capsys):
    _with_tests(repo, tmp_path)
    fake_openai.responder = responder([GOOD], [])
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, *PYTEST, "--tests", "tests/test_calc.py::test_add"))
    result = json.loads(out)
    assert code == 0 and result["status"] == "validated", (err, result["reason"])
    assert result["targets_from"] == "named" and result["tests"]["target"] == {"tests/test_calc.py::test_add": "passed"}
    assert list(result["tests"]["known_failing"]) == ["tests/test_env.py::test_needs_the_network"]
    assert list(result["tests"]["flaky"]) == ["tests/test_env.py::test_flaky"]  # failed, then passed when run again
    assert "tests/test_calc.py::test_sub" in result["tests"]["regression"]
    baseline = json.loads((Path(result["run_dir"]) / "baseline.json").read_text())
    assert baseline["known_failing"] == ["tests/test_env.py::test_needs_the_network"]
    assert json.loads((Path(result["run_dir"]) / "environment.json").read_text())["python"] == "3.11"


def test_a_reproduction_test_that_fails_on_its_own_import_is_not_kept_and_nothing_is_validated(fake_openai, repo, tmp_path, capsys):
    _with_tests(repo, tmp_path)
    repro = {"test": "```python\nfrom calc import ad\n\n\ndef test_it():\n    assert ad(1, 2) == 3\n```"}
    base = responder([GOOD], [])

    def answer(body: dict) -> str:
        return repro["test"] if "You are writing a test that reproduces" in body["messages"][-1]["content"] else base(body)

    fake_openai.responder = answer
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, *PYTEST))  # no test named: test_add fails, nobody vouches for it
    result = json.loads(out)
    assert code == 1 and result["status"] == "unvalidated" and result["targets_from"] is None, err
    assert result["reason"].startswith("nothing reproduces the issue (no test was named; the reproduction test was not kept: "
                                       "it fails before it runs (ImportError)"), result["reason"]
    assert "tests/test_calc.py::test_add" in result["tests"]["known_failing"]
    repro["test"] = "```python\nfrom calc import add\n\n\ndef test_it():\n    assert add(1, 2) == 3\n```"
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, *PYTEST, "--set", "llm.cache=false"))  # a new answer
    result = json.loads(out)
    assert code == 0 and result["status"] == "validated" and result["targets_from"] == "reproduction", (err, result["reason"])
    assert result["tests"]["target"] == {"test_supercoder_repro.py::test_it": "passed"}


def test_a_module_level_statement_and_a_text_file_end_to_end(fake_openai, repo, tmp_path, capsys):
    (repo / "limits.py").write_text("OFFSET = 1\n\n\ndef shift(x):\n    return x - OFFSET\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "limits")
    seen: list[str] = []
    fix = ('<edit path="limits.py" unit="OFFSET">\nOFFSET = 0\n</edit>\n'
           '<edit path="README.md">\n<<<<<<< SEARCH\ncalc\n=======\ncalc (shift keeps its argument)\n>>>>>>> REPLACE\n</edit>')
    fake_openai.responder = responder([fix], seen, files=("limits.py",), units=("limits.py::OFFSET",))
    args = _args(repo, fake_openai, tmp_path, "--test-cmd", "python -c 'import limits; assert limits.shift(1) == 1'")
    args[args.index("--issue") + 1] = "shift(1) gives 0: OFFSET should be 0"
    code, out, err = run(capsys, args)
    result = json.loads(out)
    assert code == 0 and result["status"] == "validated", err
    assert "-OFFSET = 1\n+OFFSET = 0\n" in result["patch"] and "+calc (shift keeps its argument)\n" in result["patch"]
    stage3 = next(p for p in seen if "Name the functions, methods or classes" in p)
    assert "  OFFSET = 1  [L1-1]" in stage3  # the statement is in the map the model picks from
    generation = next(p for p in seen if "You are fixing an issue" in p)
    assert '<unit path="limits.py" name="OFFSET" lines="1-1">\nOFFSET = 1\n</unit>' in generation
    assert _git(repo, "status", "--porcelain") == ""  # the user's tree untouched


GOOD_JS = '<edit path="src/calc.js" unit="Calc.add">\nadd(a, b) {\n  return round(a + b)\n}\n</edit>'
CHECK_JS = "python -c \"import sys; sys.exit('return round(a + b)' not in open('src/calc.js').read())\""


@pytest.mark.skipif(shutil.which("npm") is None, reason="a Node package on the local backend is installed by the host's npm")
def test_a_javascript_repository_is_localized_edited_and_validated(fake_openai, tmp_path, capsys):
    from fakes.repos import calc_js_repo

    repo = calc_js_repo(tmp_path / "calc-js")
    seen: list[str] = []
    fake_openai.responder = responder([GOOD_JS], seen, files=("src/calc.js",), units=("src/calc.js::Calc.add",))
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--test-cmd", CHECK_JS))
    result = json.loads(out)
    assert code == 0 and result["status"] == "validated", err
    assert "-    return round(a - b)\n+    return round(a + b)" in result["patch"]
    changed = [line for line in result["patch"].splitlines() if line[:1] in "-+" and line[:3] not in ("---", "+++")]
    assert changed == ["-    return round(a - b)", "+    return round(a + b)"]  # that line alone: the comment above stays
    generation = next(p for p in seen if "You are fixing an issue" in p)
    assert 'name="Calc.add"' in generation and "/** The sum of a and b. */" in generation  # shown with its comment
    assert "a - b" in (repo / "src/calc.js").read_text()  # the user's tree untouched


@pytest.mark.skipif(shutil.which("npm") is None, reason="the local backend runs the host's npm")
def test_a_javascript_package_is_validated_by_its_own_jest_tests(fake_openai, tmp_path, capsys):
    from fakes.repos import CALC_JS, commit_files

    files = {**CALC_JS, "package.json": json.dumps({"name": "calc", "version": "1.0.0", "main": "src/calc.js",
                                                    "scripts": {"test": "jest"}, "devDependencies": {"jest": "29.7.0"}}),
             "test/calc.test.js": "const Calc = require('../src/calc')\n\ntest('adds', () => { expect(new Calc().add(1, 2)).toBe(3) })\n"
                                  "test('subtracts', () => { expect(new Calc().sub(3, 1)).toBe(2) })\n"}
    repo, _ = commit_files(tmp_path / "calc-js", files)
    seen: list[str] = []
    bad = GOOD_JS.replace("a + b", "a * b")  # 1 * 2 is not 3: the tests say so, and the next round is told
    fake_openai.responder = responder([bad, bad, GOOD_JS], seen, files=("src/calc.js",), units=("src/calc.js::Calc.add",))
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path, "--tests", "test/calc.test.js"))
    result = json.loads(out)
    assert code == 0 and result["status"] == "validated", err
    assert "+    return round(a + b)" in result["patch"]
    run_dir = Path(result["run_dir"])
    baseline = json.loads((run_dir / "baseline.json").read_text())
    assert baseline["source"] == "named" and not baseline["known_failing"]
    assert {t for t, s in baseline["run"]["statuses"].items() if s == "failed"} == {"test/calc.test.js", "test/calc.test.js:adds"}
    environment = json.loads((run_dir / "environment.json").read_text())
    assert environment["runtime"] == "node" and "jest" in environment["about"]["runs"]
    assert any("test/calc.test.js:adds" in p and "round 1" not in p for p in seen if "You are fixing an issue" in p)  # feedback


@pytest.mark.skipif(shutil.which("npm") is None, reason="the local backend runs the host's npm")
def test_a_javascript_repair_without_named_tests_is_validated_by_a_reproduction_test(fake_openai, tmp_path, capsys):
    """No test is named and none fails: the model writes a jest test beside the package's own,
    which fails on the original tree and passes with the fix."""
    from fakes.repos import CALC_JS, commit_files

    files = {**CALC_JS, "package.json": json.dumps({"name": "calc", "version": "1.0.0", "main": "src/calc.js",
                                                    "scripts": {"test": "jest"}, "devDependencies": {"jest": "29.7.0"}}),
             "test/calc.test.js": "const Calc = require('../src/calc')\n\ntest('subtracts', () => { expect(new Calc().sub(3, 1)).toBe(2) })\n"}
    repo, _ = commit_files(tmp_path / "calc-js", files)
    seen: list[str] = []
    edits = responder([GOOD_JS], seen, files=("src/calc.js",), units=("src/calc.js::Calc.add",))
    repro = "```js\nconst Calc = require('../src/calc')\n\ntest('adds', () => { expect(new Calc().add(1, 2)).toBe(3) })\n```"
    fake_openai.responder = lambda body: repro if "reproduces an issue" in body["messages"][-1]["content"] else edits(body)
    code, out, err = run(capsys, _args(repo, fake_openai, tmp_path))
    result = json.loads(out)
    assert code == 0 and result["status"] == "validated", err
    run_dir = Path(result["run_dir"])
    baseline = json.loads((run_dir / "baseline.json").read_text())
    assert baseline["source"] == "reproduction"
    assert baseline["plan"]["extra_files"] == {"test/supercoder_repro.test.js": repro.split("\n", 1)[1].rsplit("```", 1)[0]}
    assert {t for t, s in baseline["run"]["statuses"].items() if s == "failed"} >= {"test/supercoder_repro.test.js:adds"}
    assert "supercoder_repro" not in result["patch"] and not (repo / "test/supercoder_repro.test.js").exists()


def _repaired_with_a_reproduction_test(fake_openai, tmp_path, capsys, files: dict, repro: str) -> tuple[dict, dict]:
    """The CLI run in Docker on a CALC_JS package with `files`, the model answering `repro` for
    the reproduction test: its result and its baseline."""
    from fakes.repos import CALC_JS, commit_files

    repo, _ = commit_files(tmp_path / "calc-js", {**CALC_JS, **files})
    seen: list[str] = []
    edits = responder([GOOD_JS], seen, files=("src/calc.js",), units=("src/calc.js::Calc.add",))
    fake_openai.responder = lambda body: repro if "reproduces an issue" in body["messages"][-1]["content"] else edits(body)
    args = [a if a != "local" else "docker" for a in _args(repo, fake_openai, tmp_path, "--set", "editing.temperatures=[0.0]")]
    code, out, err = run(capsys, args)
    result = json.loads(out)
    assert code == 0 and result["status"] == "validated", err
    assert "supercoder_repro" not in result["patch"] and "+    return round(a + b)" in result["patch"]
    baseline = json.loads((Path(result["run_dir"]) / "baseline.json").read_text())
    assert baseline["source"] == "reproduction"
    return result, baseline


def test_a_mocha_package_without_named_tests_is_validated_in_docker_by_a_reproduction_test(fake_openai, tmp_path, capsys):
    """mocha's results name no file: the model's test goes in mocha's test folder, inside one
    describe block whose title its results are known by."""
    files = {"package.json": json.dumps({"name": "calc", "version": "1.0.0", "main": "src/calc.js",
                                         "scripts": {"test": "mocha --check-leaks test/"}, "devDependencies": {"mocha": "10.2.0"}}),
             "test/calc.js": "const assert = require('assert')\nconst Calc = require('../src/calc')\n\n"
                             "describe('Calc', function () {\n  it('subtracts in calc.js', function () { assert.strictEqual(new Calc().sub(3, 1), 2) })\n})\n"}
    repro = ("```js\nconst assert = require('assert')\nconst Calc = require('../src/calc')\n\n"
             "describe('supercoder repro', function () {\n  it('adds', function () { assert.strictEqual(new Calc().add(1, 2), 3) })\n})\n```")
    _, baseline = _repaired_with_a_reproduction_test(fake_openai, tmp_path, capsys, files, repro)
    assert list(baseline["plan"]["extra_files"]) == ["test/supercoder_repro.js"]
    # (a title that ends as a file name does is no file to put the test beside)
    assert baseline["run"]["statuses"] == {"Calc subtracts in calc.js": "passed", "supercoder repro adds": "failed"}


NODE_TEST = ("const test = require('node:test')\nconst assert = require('node:assert')\nconst Calc = require('../src/calc')\n\n"
             "test('{name}', () => {{ assert.strictEqual(new Calc().{call}) }})\n")
TAP_TEST = "const t = require('tap')\nconst Calc = require('../src/calc')\n\nt.test('{name}', async t => {{ t.equal(new Calc().{call}) }})\n"


@pytest.mark.parametrize("script, dev, test_file, template, path", [
    # Node's own runner: our reporter names each test's file, so the test goes beside the package's .test files
    ("node --test test/", {}, "test/calc.test.js", NODE_TEST, "test/supercoder_repro.test.js"),
    # node-tap runs any script of its test folder: the test goes there, named as its tests are
    ("tap test/*.js", {"tap": "16.3.10"}, "test/calc.js", TAP_TEST, "test/supercoder_repro.js"),
])
def test_a_package_whose_runner_names_files_is_validated_in_docker_by_a_reproduction_test_known_by_its_file(
        fake_openai, tmp_path, capsys, script, dev, test_file, template, path):
    files = {"package.json": json.dumps({"name": "calc", "version": "1.0.0", "main": "src/calc.js", "scripts": {"test": script},
                                         "devDependencies": dev}),
             test_file: template.format(name="subtracts", call="sub(3, 1), 2")}
    repro = "```js\n" + template.format(name="adds", call="add(1, 2), 3") + "```"
    _, baseline = _repaired_with_a_reproduction_test(fake_openai, tmp_path, capsys, files, repro)
    assert list(baseline["plan"]["extra_files"]) == [path]
    assert baseline["run"]["statuses"] == {test_file: "passed", f"{test_file}:subtracts": "passed", path: "failed", f"{path}:adds": "failed"}

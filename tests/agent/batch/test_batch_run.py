"""`supercoder swebench run`, `eval` and `report` end to end: a dataset over repositories the
test makes, the fake model, the local backend, two worker processes."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fakes.swe_dataset import SECRET, answer, make_dataset, settings_args

from agent import cli


def run(capsys, args) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    out, err = capsys.readouterr()
    return (0 if exc.value.code is None else exc.value.code), out, err


def preds_of(output: Path) -> list[dict]:
    return [json.loads(line) for line in (output / "preds.jsonl").read_text().splitlines()]


def statuses_of(output: Path) -> dict[str, str]:
    return {i: v["status"] for i, v in json.loads((output / "exit_statuses.json").read_text())["instances"].items()}


class Table(HTMLParser):
    """Rows of the report's instance table, as lists of cell texts."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.in_body = self.in_cell = False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self.in_body = True
        elif tag == "tr" and self.in_body:
            self.rows.append([])
        elif tag == "td" and self.in_body:
            self.in_cell = True
            self.rows[-1].append("")

    def handle_endtag(self, tag):
        if tag == "tbody":
            self.in_body = False
        elif tag == "td":
            self.in_cell = False

    def handle_data(self, data):
        if self.in_cell:
            self.rows[-1][-1] += data


def test_run_resume_eval_and_report(fake_openai, venvs, tmp_path, capsys, monkeypatch):
    dataset, cache, rows = make_dataset(tmp_path)
    fake_openai.responder = answer
    out = tmp_path / "out"
    base = ["swebench", "run", "--dataset", str(dataset), "--repo-cache", str(cache), "--output", str(out),
            *settings_args(venvs, fake_openai)]
    code, stdout, err = run(capsys, base)
    assert code == 0, err
    assert statuses_of(out) == {"acme__calc-1": "resolved_by_own_tests", "acme__words-1": "unvalidated_patch"}
    preds = preds_of(out)
    assert sorted(p["instance_id"] for p in preds) == ["acme__calc-1", "acme__words-1"]
    assert all(p["model_name_or_path"] == "fake-model" and "+    return" in p["model_patch"] for p in preds)
    from swebench.harness.utils import get_predictions_from_file

    assert len(get_predictions_from_file(str(out / "preds.jsonl"), "", "test")) == 2  # the official loader reads it
    for iid in ("acme__calc-1", "acme__words-1"):
        assert (out / iid / "patch.diff").read_text() and (out / iid / "run" / "summary.json").exists()
        assert json.loads((out / iid / "result.json").read_text())["gold_files"]
    assert json.loads((out / "config.json").read_text())["batch"]["workers"] == 2
    # Only the solver's view reaches the model: no gold patch, test patch or hidden test name.
    prompts = json.dumps([r.json for r in fake_openai.chat_requests()])
    assert fake_openai.chat_requests() and SECRET not in prompts and "test_hidden" not in prompts
    assert "[2/2]" in err and json.loads(stdout)["by_status"] == {"resolved_by_own_tests": 1, "unvalidated_patch": 1}

    asked = len(fake_openai.chat_requests())
    code, stdout, _ = run(capsys, base)  # resume: everything is done, nothing is asked again
    assert code == 0 and json.loads(stdout)["skipped"] == 2 and len(fake_openai.chat_requests()) == asked

    monkeypatch.chdir(tmp_path)
    code, stdout, err = run(capsys, ["swebench", "eval", "--predictions", str(out / "preds.jsonl"), "--dataset",
                                     str(dataset), "--repo-cache", str(cache), "--run-id", "r1", *settings_args(venvs, fake_openai)])
    assert code == 0, err
    report = json.loads((tmp_path / "fake-model.r1.json").read_text())
    assert report["resolved_ids"] == ["acme__calc-1", "acme__words-1"] and report["error_ids"] == []
    assert report["submitted_instances"] == 2 and report["schema_version"] == 2
    assert (tmp_path / "logs/run_evaluation/r1/fake-model/acme__calc-1/report.json").exists()
    assert "python -m swebench.harness.run_evaluation" in err
    code, stdout, err = run(capsys, ["swebench", "eval", "--predictions", "gold", "--dataset", str(dataset), "--repo-cache",
                                     str(cache), "--run-id", "g", "--instances", "acme__words-1", *settings_args(venvs, fake_openai)])
    assert code == 0 and json.loads((tmp_path / "gold.g.json").read_text())["resolved_ids"] == ["acme__words-1"], err

    code, stdout, _ = run(capsys, ["swebench", "report", str(out), "--eval", str(tmp_path / "fake-model.r1.json")])
    page = Path(stdout.strip()).read_text()
    table = Table()
    table.feed(page)
    assert [r[0] for r in table.rows] == ["acme__calc-1", "acme__words-1"]
    assert table.rows[0][1] == "resolved_by_own_tests" and table.rows[0][2] == "resolved"
    assert "<svg" in page and "http://" not in page and "https://" not in page  # self-contained


def test_a_rate_limit_storm_counts_as_errors_and_retry_errors_reruns_them(fake_openai, venvs, tmp_path, capsys):
    dataset, cache, _ = make_dataset(tmp_path)
    fake_openai.responder = answer
    fake_openai.fail_next(status=429, times=10_000, retry_after=0, path="/chat/completions")
    out = tmp_path / "out"
    base = ["swebench", "run", "--dataset", str(dataset), "--repo-cache", str(cache), "--output", str(out),
            *settings_args(venvs, fake_openai), "--set", "llm.max_retries=1"]
    code, _, err = run(capsys, base)
    assert code == 1, err
    assert set(statuses_of(out).values()) == {"rate_limited"}
    assert [p["model_patch"] for p in preds_of(out)] == ["", ""]  # one line each, even with no patch

    fake_openai.clear_failures()
    code, stdout, _ = run(capsys, base)  # errors are not retried unless asked
    assert code == 1 and json.loads(stdout)["ran"] == 0
    code, stdout, err = run(capsys, [*base, "--retry-errors"])
    assert code == 0, err
    assert statuses_of(out) == {"acme__calc-1": "resolved_by_own_tests", "acme__words-1": "unvalidated_patch"}
    assert len(preds_of(out)) == 2 and all(p["model_patch"] for p in preds_of(out))


def test_a_hostile_endpoint_leaves_every_instance_accounted_for_and_no_traceback(fake_openai, venvs, tmp_path, capsys):
    from fakes.openai_server import Hostile

    dataset, cache, _ = make_dataset(tmp_path, copies=2)
    hostile = Hostile(answer, kinds=["ok", *Hostile.KINDS], slow_s=3).install(fake_openai)
    out = tmp_path / "out"
    base = ["swebench", "run", "--dataset", str(dataset), "--repo-cache", str(cache), "--output", str(out),
            *settings_args(venvs, fake_openai), "--set", "llm.max_retries=1", "--set", "llm.timeout_s=2",
            "--set", "editing.max_retries=1"]
    code, stdout, err = run(capsys, base)
    assert "Traceback" not in err and code in (0, 1), err
    statuses = json.loads((out / "exit_statuses.json").read_text())["instances"]
    ids = ["acme__calc-1", "acme__calc-2", "acme__words-1", "acme__words-2"]
    assert sorted(p["instance_id"] for p in preds_of(out)) == ids and sorted(statuses) == ids
    assert all(s["status"] and (s["reason"] or s["status"] == "resolved_by_own_tests") for s in statuses.values()), statuses
    assert len(hostile.counts) >= 5  # it went through most of the rotation
    hostile.kinds = ["ok"]  # the endpoint behaves again: what failed for want of it is finished
    code, stdout, err = run(capsys, [*base, "--retry-errors"])
    assert code == 0 and not set(statuses_of(out).values()) & {"rate_limited", "infra_error"}, err


def test_no_instance_starts_past_the_total_cost_limit(fake_openai, venvs, tmp_path, capsys):
    dataset, cache, _ = make_dataset(tmp_path)
    fake_openai.responder = answer
    out = tmp_path / "out"
    code, stdout, err = run(capsys, ["swebench", "run", "--dataset", str(dataset), "--repo-cache", str(cache), "--output", str(out),
                                     *settings_args(venvs, fake_openai, workers=1), "--max-total-cost", "0.0001", "--set",
                                     'llm.prices={"fake-model": {"input_per_mtok": 2.5, "output_per_mtok": 10}}'])
    summary = json.loads(stdout)
    assert code == 1 and summary["ran"] == 1 and "max_total_cost" in summary["stopped"] and "stopped early" in err
    assert len(preds_of(out)) == 1 and summary["cost_usd"] > 0.0001


def lines_in(output: Path) -> int:
    try:
        return len(preds_of(output))
    except FileNotFoundError:
        return 0


def kill_when(cmd: list[str], ready, extra_s: float) -> subprocess.Popen:
    """Start the batch; once `ready()` holds, wait `extra_s` more and kill -9 it and its workers."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 300
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(extra_s)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return proc


def test_kill_9_at_random_moments_then_resume_leaves_one_line_per_instance(fake_openai, venvs, tmp_path):
    dataset, cache, rows = make_dataset(tmp_path, copies=2)
    fake_openai.responder = answer
    out = tmp_path / "out"
    cmd = [sys.executable, "-c", "from agent.cli import main; main()", "swebench", "run", "--dataset", str(dataset),
           "--repo-cache", str(cache), "--output", str(out), *settings_args(venvs, fake_openai)]
    rng = random.Random()
    kill_when(cmd, lambda: True, rng.uniform(0.5, 3.0))  # during start-up or the first instances
    # SIGTERM to the driver alone: it stops its workers and exits 143, leaving no process behind.
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    time.sleep(rng.uniform(3.0, 6.0))
    proc.terminate()
    assert proc.wait(timeout=120) == 143, proc.stderr.read().decode()[-2000:]
    for _ in range(300):
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("worker processes outlived the driver")
    for _ in range(2):  # just after an instance is written, while others run
        before = lines_in(out)
        kill_when(cmd, lambda: lines_in(out) > before, rng.uniform(0.0, 1.0))
        ids = [p["instance_id"] for p in preds_of(out)]  # every line parses
        assert len(ids) == len(set(ids))
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    ids = [p["instance_id"] for p in preds_of(out)]
    assert sorted(ids) == sorted(r["instance_id"] for r in rows)
    assert set(statuses_of(out)) == set(ids)


def test_bad_input_is_one_line_and_exit_2(fake_openai, venvs, tmp_path, capsys, monkeypatch):
    dataset, cache, _ = make_dataset(tmp_path)
    common = ["--repo-cache", str(cache), "--output", str(tmp_path / "out"), *settings_args(venvs, fake_openai)]
    import datasets

    def offline(*_, **__):
        raise ConnectionError("Couldn't reach 'someone/NoSuchDataset' on the Hub")

    monkeypatch.setattr(datasets, "load_dataset", offline)  # the hub, as these machines see it
    for args, message in (
        (["--dataset", str(tmp_path / "missing.jsonl")], "no such file"),
        (["--dataset", "someone/NoSuchDataset"], "cannot load it from the hub"),
        (["--dataset", str(dataset), "--instances", "acme__nope-1"], "not in the dataset"),
        (["--dataset", str(dataset), "--slice", "x:y"], "--slice"),
        (["--dataset", str(dataset), "--filter", "nothing-matches"], "no instance selected"),
    ):
        code, _, err = run(capsys, ["swebench", "run", *args, *common])
        assert code == 2 and message in err and "Traceback" not in err, (args, err)
    code, _, err = run(capsys, ["swebench", "eval", "--predictions", str(tmp_path / "p.jsonl"), "--dataset", str(dataset),
                                "--repo-cache", str(cache)])
    assert code == 2 and "no such file" in err
    code, _, err = run(capsys, ["swebench", "report", str(tmp_path / "empty")])
    assert code == 2 and "not a batch output folder" in err
    assert not fake_openai.chat_requests()


def _runs(python: str) -> bool:
    """Whether `python` is on PATH and runs (a pyenv shim of a version not enabled does not)."""
    return shutil.which(python) is not None and subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0


@pytest.mark.skipif(_runs("python3.6"), reason="this machine has Python 3.6")
def test_an_instance_whose_python_cannot_be_had_is_said_before_any_model_call(fake_openai, venvs, tmp_path, capsys):
    dataset, cache, rows = make_dataset(tmp_path)
    # astropy 1.3's spec asks for Python 3.6: no interpreter here has it (nor does any Docker suite).
    old = {**rows[0], "instance_id": "astropy__astropy-1", "repo": "astropy/astropy", "version": "1.3",
           "problem_statement": "ASTROPY_ISSUE_TEXT"}
    dataset.write_text(json.dumps(old) + "\n")
    fake_openai.responder = answer
    out = tmp_path / "out"
    code, stdout, err = run(capsys, ["swebench", "run", "--dataset", str(dataset), "--repo-cache", str(cache), "--output", str(out),
                                     *settings_args(venvs, fake_openai, workers=1)])
    assert code == 0, err
    assert statuses_of(out) == {"astropy__astropy-1": "unsupported_environment"}
    reason = json.loads((out / "exit_statuses.json").read_text())["instances"]["astropy__astropy-1"]["reason"]
    assert "Python 3.6" in reason
    assert fake_openai.chat_requests() == []  # nothing asked of the model (its endpoint checked once), nothing spent

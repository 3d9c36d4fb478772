"""The batch driver never dies of one instance's result: an empty record, a worker process that
dies, a folder that cannot be written, a name that cannot be one. Each instance is recorded with a
status and a reason, and the batch goes on."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from fakes.swe_dataset import answer, make_dataset, settings_args

from agent.batch.dataset import load
from agent.batch.executors import LocalExecutor
from agent.batch.runner import run_batch
from agent.batch.solve import InstanceResult
from agent.settings import load_settings


class Scripted:
    """An executor whose workers return the results a test gives, by instance id."""

    def __init__(self, results: dict[str, InstanceResult], workers: int = 2):
        self.results, self.workers, self.queue = results, workers, []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def submit(self, task, settings, repo_cache):
        self.queue.append(self.results[task["instance_id"]])

    def finished(self, timeout):
        done, self.queue = self.queue, []
        return done

    def events(self):
        return []

    @property
    def in_flight(self):
        return len(self.queue)


class Quiet:
    def __init__(self):
        self.finished_ids: list[str] = []

    def start(self, **kw):
        pass

    def stage(self, *a):
        pass

    def finished(self, result, counts, cost):
        self.finished_ids.append(result.instance_id)

    def stop(self):
        pass


def _rows(ids: list[str]) -> list[dict]:
    return [{"instance_id": i, "repo": "o/r", "base_commit": "abc", "problem_statement": "bug"} for i in ids]


def _statuses(output: Path) -> dict[str, dict]:
    return json.loads((output / "exit_statuses.json").read_text())["instances"]


def test_empty_records_unwritable_folders_and_odd_names_are_all_recorded(tmp_path):
    ids = ["o__r-empty", "o__r-unwritable", "o__r-fine", "../../escape\0me"]
    output = tmp_path / "out"
    output.mkdir()
    (output / "o__r-unwritable").write_text("a file where its folder would go")
    results = {
        "o__r-empty": InstanceResult(instance_id="o__r-empty", status="infra_error", reason="failed before its record had a file"),
        "o__r-unwritable": InstanceResult(instance_id="o__r-unwritable", status="unvalidated_patch", patch="diff\n",
                                          record={"summary.json": "{}"}),
        "o__r-fine": InstanceResult(instance_id="o__r-fine", status="no_patch", reason="nothing located",
                                    record={"summary.json": "{}", "../../../outside.txt": "x", "a\0b": "nul"}),
        "../../escape\0me": InstanceResult(instance_id="../../escape\0me", status="no_patch"),
    }
    display = Quiet()
    summary = run_batch(_rows(ids), output, load_settings(), Scripted(results), tmp_path, display)
    assert summary.ran == 4 and sorted(display.finished_ids) == sorted(ids)
    preds = [json.loads(line) for line in (output / "preds.jsonl").read_text().splitlines()]
    assert sorted(p["instance_id"] for p in preds) == sorted(ids)  # exactly one line each
    statuses = _statuses(output)
    assert statuses["o__r-empty"]["status"] == "infra_error" and (output / "o__r-empty" / "patch.diff").exists()
    assert statuses["o__r-unwritable"]["status"] == "unvalidated_patch"
    assert "its folder could not be written" in statuses["o__r-unwritable"]["reason"]
    assert json.loads((output / "o__r-fine" / "result.json").read_text())["status"] == "no_patch"
    assert not (tmp_path / "outside.txt").exists() and not (output.parent / "escape").exists()
    assert all(p.resolve().is_relative_to(output.resolve()) for p in output.rglob("*"))


def test_output_that_cannot_be_written_at_all_stops_the_batch_with_one_reason(tmp_path):
    from configs.errors import RunError

    output = tmp_path / "out"
    output.mkdir()
    (output / "preds.jsonl").mkdir()  # the predictions file cannot be written
    results = {"o__r-1": InstanceResult(instance_id="o__r-1", status="no_patch")}
    with pytest.raises(RunError, match="cannot write the batch's output"):
        run_batch(_rows(["o__r-1"]), output, load_settings(), Scripted(results), tmp_path, Quiet())


def test_a_worker_process_that_dies_is_an_infra_error_and_the_batch_goes_on(fake_openai, venvs, tmp_path):
    dataset, cache, rows = make_dataset(tmp_path, copies=2)
    asked = threading.Event()

    def stall_then_answer(body: dict) -> str:  # the first instance's worker is killed while it waits here
        if not asked.is_set():
            asked.set()
            time.sleep(60)
        return answer(body)

    fake_openai.responder = stall_then_answer
    settings = load_settings(None, [s for s in settings_args(venvs, fake_openai, workers=1) if s != "--set"])
    executor = LocalExecutor(1)
    killer = threading.Thread(target=lambda: asked.wait(120) and [os.kill(pid, signal.SIGKILL) for pid in
                                                                 list((executor._pool._processes or {}).keys())])
    killer.start()
    display = Quiet()
    chosen = [r for r in load(str(dataset)) if r["repo"] == "acme/calc"]
    summary = run_batch(chosen, tmp_path / "out", settings, executor, cache, display)
    killer.join()
    statuses = _statuses(tmp_path / "out")
    assert summary.ran == 2 and set(statuses) == {r["instance_id"] for r in chosen}
    died = [s for s in statuses.values() if s["status"] == "infra_error"]
    assert len(died) == 1 and "the worker failed" in died[0]["reason"]
    assert [s["status"] for s in statuses.values()].count("resolved_by_own_tests") == 1  # the next one, on a new worker

"""Run records: a folder per run outside the repository, stage outputs and timings written as
they come, model calls appended from several threads, and runs found again by id or `last`."""

from __future__ import annotations

import json
import threading

import pytest

from agent.llm import CallRecord
from agent.records import RunRecord, find_run
from configs.errors import UserError


def test_a_run_folder_holds_stages_timings_calls_and_the_patch(tmp_path):
    record = RunRecord(tmp_path / "runs", repo=tmp_path / "repo")
    with record.stage("localize"):
        record.write("localize", {"units": ["pkg/mod.py::f"]})
    with record.stage("localize"):  # a stage run twice adds up
        pass
    call = CallRecord({"messages": []}, ["answer"], 10, 2, 0.001, False, 0.5, 1)
    threads = [threading.Thread(target=record.call, args=(call,)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    record.write_text("patch.diff", "diff --git a/x b/x\n")
    assert json.loads((record.dir / "localize.json").read_text()) == {"units": ["pkg/mod.py::f"]}
    assert list(json.loads((record.dir / "timings.json").read_text())) == ["localize"]
    lines = (record.dir / "calls.jsonl").read_text().splitlines()
    assert len(lines) == 20 and json.loads(lines[0])["texts"] == ["answer"]
    assert (record.dir / "patch.diff").read_text().startswith("diff --git")


def test_a_run_folder_inside_the_repository_is_refused(tmp_path):
    (tmp_path / "repo").mkdir()
    with pytest.raises(UserError, match="inside the repository"):
        RunRecord(tmp_path / "repo" / "runs", repo=tmp_path / "repo")


def test_runs_are_found_by_path_id_prefix_or_last(tmp_path):
    root = tmp_path / "runs"
    first, second = RunRecord(root), RunRecord(root)
    for r in (first, second):
        r.write("summary", {"status": "failed"})
    assert find_run(first.id, root) == first.dir
    assert find_run(str(second.dir), root) == second.dir
    assert find_run("last", root) == max(first.dir, second.dir)
    with pytest.raises(UserError, match="no run 'nope'"):
        find_run("nope", root)
    with pytest.raises(UserError, match="no finished run"):
        find_run("last", tmp_path / "empty")


def test_every_file_of_a_record_is_private_to_its_user(tmp_path):
    import stat

    record = RunRecord(tmp_path / "runs")
    record.write("config", {"a": 1})
    record.write_text("patch.diff", "diff\n")
    record.call({"prompt": "p", "answer": "a"})
    with record.stage("localize"):
        pass
    assert stat.S_IMODE(record.dir.stat().st_mode) == 0o700
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in record.dir.iterdir()}
    assert set(modes) == {"config.json", "patch.diff", "calls.jsonl", "timings.json"} and set(modes.values()) == {0o600}

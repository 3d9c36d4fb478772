"""Datasets (JSON, JSONL, parquet; selection), the solver's view, and the output folder's
bookkeeping: a rerun replaces an instance's line, done means named by both files."""

from __future__ import annotations

import json

import pytest

from agent.batch import dataset as ds
from agent.batch.solve import InstanceResult
from agent.batch.store import Output
from configs.errors import UserError

ROWS = [{"instance_id": f"o__r-{n}", "repo": "o/r", "base_commit": "abc", "problem_statement": f"bug {n}",
         "version": "1.0", "patch": "SECRET PATCH", "test_patch": "SECRET TESTS", "FAIL_TO_PASS": "[]",
         "PASS_TO_PASS": "[]", "hints_text": "look at x"} for n in range(1, 6)]


def test_json_jsonl_and_parquet_give_the_same_instances(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "d.json").write_text(json.dumps(ROWS))
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    pq.write_table(pa.Table.from_pylist(ROWS), tmp_path / "d.parquet")
    for name in ("d.json", "d.jsonl", "d.parquet"):
        assert ds.load(str(tmp_path / name)) == ROWS, name


def test_bad_datasets_say_what_is_wrong(tmp_path):
    cases = {
        "broken.jsonl": ('{"instance_id": ', "not valid JSON"),
        "object.json": ('{"a": 1}', "expected a list"),
        "missing.json": (json.dumps([{"instance_id": "x"}]), "lacks repo, base_commit, problem_statement"),
        "twice.json": (json.dumps([ROWS[0], ROWS[0]]), "repeat: o__r-1"),
    }
    for name, (text, message) in cases.items():
        (tmp_path / name).write_text(text)
        with pytest.raises(UserError, match=message):
            ds.load(str(tmp_path / name))
    (tmp_path / "bad.parquet").write_text("not parquet")
    with pytest.raises(UserError, match="parquet"):
        ds.load(str(tmp_path / "bad.parquet"))


def test_selection_by_ids_regex_and_slice():
    assert [r["instance_id"] for r in ds.select(ROWS, slice_="1:3")] == ["o__r-2", "o__r-3"]
    assert [r["instance_id"] for r in ds.select(ROWS, slice_=":-4")] == ["o__r-1"]
    assert [r["instance_id"] for r in ds.select(ROWS, pattern=r"-[45]$")] == ["o__r-4", "o__r-5"]
    assert [r["instance_id"] for r in ds.select(ROWS, instances=["o__r-5", "o__r-1"], slice_="1:")] == ["o__r-5"]
    with pytest.raises(UserError, match="bad regex|filter"):
        ds.select(ROWS, pattern="(")


def test_the_solver_view_holds_nothing_of_the_answer():
    view = ds.solver_view(ROWS[0])
    assert "SECRET" not in json.dumps(view) and "hints_text" not in view
    assert set(view) == {"instance_id", "repo", "base_commit", "problem_statement", "version"}
    assert ds.solver_view(ROWS[0], hints=True)["hints_text"] == "look at x"


def result(iid: str, status: str, patch: str = "") -> InstanceResult:
    return InstanceResult(instance_id=iid, status=status, patch=patch, record={"summary.json": "{}", "../../escape.txt": "x"})


def test_a_rerun_replaces_the_line_and_only_errors_are_retried(tmp_path):
    out = Output(tmp_path / "out")
    out.save(result("a", "rate_limited"), "m", [])
    out.save(result("b", "unvalidated_patch", "diff b"), "m", ["f.py"])
    reread = Output(tmp_path / "out")
    assert reread.done() == {"a": "rate_limited", "b": "unvalidated_patch"}
    assert reread.todo(["a", "b", "c"], redo=False, retry_errors=False) == ["c"]
    assert reread.todo(["a", "b", "c"], redo=False, retry_errors=True) == ["a", "c"]
    assert reread.todo(["a", "b"], redo=True, retry_errors=False) == ["a", "b"]
    reread.save(result("a", "no_patch"), "m", [])
    lines = [json.loads(x) for x in (tmp_path / "out" / "preds.jsonl").read_text().splitlines()]
    assert [p["instance_id"] for p in lines] == ["a", "b"] and lines[1]["model_patch"] == "diff b"
    assert json.loads((tmp_path / "out" / "exit_statuses.json").read_text())["instances_by_exit_status"] == {
        "no_patch": ["a"], "unvalidated_patch": ["b"]}
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out" / "escape.txt").exists()
    assert (tmp_path / "out" / "b" / "run" / "summary.json").exists()


def test_an_instance_in_the_predictions_but_not_the_statuses_is_not_done(tmp_path):
    out = Output(tmp_path)
    out.save(result("a", "no_patch"), "m", [])
    (tmp_path / "exit_statuses.json").write_text("{}")  # killed between the two writes
    assert Output(tmp_path).todo(["a"], redo=False, retry_errors=False) == ["a"]
    (tmp_path / "exit_statuses.json").write_text("not json")  # a damaged file is as good as none
    assert Output(tmp_path).todo(["a"], redo=False, retry_errors=False) == ["a"]


def test_the_live_panel_shows_totals_cost_and_each_worker():
    import io

    from rich.console import Console

    from agent.batch.progress import BatchDisplay

    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    display = BatchDisplay(console)
    display.start(total=4, done=1, counts={"resolved_by_own_tests": 1}, cost=0.5)
    display.stage("host:1", "o__r-2", "round 1: generating candidates")
    display.stage("host:2", "o__r-3", "localizing")
    rendered = Console(file=io.StringIO(), width=120, record=True)
    rendered.print(display._render())
    panel = rendered.export_text()
    assert "1/4 done" in panel and "1 resolved by own tests" in panel and "$0.50" in panel
    assert "o__r-2" in panel and "round 1: generating candidates" in panel and "host:2" in panel
    display.finished(InstanceResult(instance_id="o__r-2", status="resolved_by_own_tests", cost_usd=0.25),
                     {"resolved_by_own_tests": 2}, 0.75)
    display.stage("host:2", "o__r-3", "idle")
    rendered.print(display._render())
    panel = rendered.export_text()
    assert "2/4 done" in panel and "$0.75" in panel and "o__r-2" not in panel and "o__r-3" not in panel
    assert "ETA" in panel
    display.stop()


def test_without_a_terminal_each_finished_instance_is_one_line():
    import io

    from rich.console import Console

    from agent.batch.progress import BatchDisplay

    buf = io.StringIO()
    display = BatchDisplay(Console(file=buf, force_terminal=False, width=200))
    display.start(total=2, done=0, counts={}, cost=0.0)
    display.finished(InstanceResult(instance_id="o__r-1", status="infra_error", reason="docker went away", cost_usd=None,
                                    duration_s=12), {"infra_error": 1}, None)
    display.stop()
    assert buf.getvalue().splitlines() == ["[batch] 2 instance(s), 0 already done",
                                           "[1/2] o__r-1: infra_error (unknown, 12 s) - docker went away"]

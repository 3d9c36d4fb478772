"""Multi-SWE-bench's rows read as SWE-bench's (fields as JSON or as Python literals in strings),
and predictions written in its submission format beside preds.jsonl."""

from __future__ import annotations

import json

import pytest

from agent.batch import dataset as ds
from agent.batch.multiswe import PREDS, to_swebench
from agent.batch.solve import InstanceResult
from agent.batch.store import Output
from configs.errors import UserError


def msb_row(number: int = 88, literal_strings: bool = False) -> dict:
    row = {
        "org": "acme", "repo": "widgets", "number": number, "state": "closed",
        "title": "fix: the PR's own title", "body": "closes #60; the fix, described",
        "base": {"label": "acme:main", "ref": "main", "sha": "96f89ad"},
        "resolved_issues": [{"number": 60, "title": "Feature request: hide title", "body": "The title is redundant."},
                            {"number": 61, "title": "Also the border", "body": None}],
        "fix_patch": "diff --git a/src/card.js b/src/card.js\n", "test_patch": "diff --git a/tests/card.test.js b/tests/card.test.js\n",
        "f2p_tests": {"tests/card.test.js": {"run": "PASS", "test": "FAIL", "fix": "PASS"},
                      "tests/card.test.js:should hide the title": {"run": "NONE", "test": "FAIL", "fix": "PASS"}},
        "s2p_tests": {"tests/skip.test.js": {"run": "SKIP", "test": "SKIP", "fix": "PASS"}},
        "n2p_tests": {"tests/card.test.js": {"run": "NONE", "test": "NONE", "fix": "PASS"}},
        "p2p_tests": {"tests/fetch.test.js:should throw": {"run": "PASS", "test": "PASS", "fix": "PASS"}},
    }
    if literal_strings:  # as published copies hold them: Python reprs in strings
        for key in ("base", "resolved_issues", "f2p_tests", "s2p_tests", "n2p_tests", "p2p_tests"):
            row[key] = repr(row[key])
    return row


@pytest.mark.parametrize("literal_strings", [False, True])
def test_a_multi_swe_row_reads_as_a_swebench_instance(tmp_path, literal_strings):
    path = tmp_path / "msb.jsonl"
    path.write_text(json.dumps(msb_row(literal_strings=literal_strings)) + "\n")
    [row] = ds.load(str(path))
    assert row["instance_id"] == "acme__widgets-88"
    assert row["repo"] == "acme/widgets" and row["base_commit"] == "96f89ad"
    # The issues it resolves, not the pull request's own title and body (they describe the fix).
    assert row["problem_statement"] == "Feature request: hide title\nThe title is redundant.\n\nAlso the border"
    assert "fix" not in row["problem_statement"]
    assert row["patch"].startswith("diff --git a/src/card.js")
    assert row["FAIL_TO_PASS"] == ["tests/card.test.js", "tests/card.test.js:should hide the title", "tests/skip.test.js"]
    assert row["PASS_TO_PASS"] == ["tests/fetch.test.js:should throw"]
    assert row["multi_swe"] == {"org": "acme", "repo": "widgets", "number": 88}
    view = ds.solver_view(row)
    assert "patch" not in view and "FAIL_TO_PASS" not in view and view["problem_statement"].startswith("Feature request")


def test_a_given_instance_id_is_kept_and_swebench_rows_pass_through(tmp_path):
    swe = {"instance_id": "o__r-1", "repo": "o/r", "base_commit": "abc", "problem_statement": "bug", "org": "o", "number": 1,
           "base": {"sha": "zzz"}}
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps([{**msb_row(), "instance_id": "custom-id"}, swe]))
    first, second = ds.load(str(path))
    assert first["instance_id"] == "custom-id"
    assert second == swe  # a SWE-bench row (it has base_commit) is not converted


def test_bad_multi_swe_rows_say_what_is_wrong(tmp_path):
    cases = {
        "tests.json": ({**msb_row(), "f2p_tests": "{not a literal"}, "f2p_tests is neither JSON nor a Python literal"),
        "base.json": ({**msb_row(), "base": ["96f89ad"]}, "base should be a dict, not a list"),
        "issues.json": ({**msb_row(), "resolved_issues": []}, "acme__widgets-88 lacks problem_statement"),
    }
    for name, (row, message) in cases.items():
        (tmp_path / name).write_text(json.dumps([row]))
        with pytest.raises(UserError, match=message):
            ds.load(str(tmp_path / name))


def test_predictions_are_also_written_as_multi_swe_takes_them(tmp_path):
    rows = [to_swebench(msb_row(7))]
    origins = {r["instance_id"]: r["multi_swe"] for r in rows}
    out = Output(tmp_path / "out", origins)
    out.save(InstanceResult(instance_id="acme__widgets-7", status="unvalidated_patch", patch="diff --git a/x b/x\n"), "m", [])
    out.save(InstanceResult(instance_id="other-1", status="no_patch"), "m", [])  # not from Multi-SWE-bench: not there
    lines = [json.loads(x) for x in (tmp_path / "out" / PREDS).read_text().splitlines()]
    assert lines == [{"org": "acme", "repo": "widgets", "number": 7, "fix_patch": "diff --git a/x b/x\n"}]
    assert len((tmp_path / "out" / "preds.jsonl").read_text().splitlines()) == 2
    # A later run over another slice keeps the earlier lines, as preds.jsonl does; a rerun replaces its own.
    later = Output(tmp_path / "out", {"acme__widgets-8": {"org": "acme", "repo": "widgets", "number": 8}})
    later.save(InstanceResult(instance_id="acme__widgets-8", status="no_patch"), "m", [])
    Output(tmp_path / "out", origins).save(InstanceResult(instance_id="acme__widgets-7", status="no_patch"), "m", [])
    lines = [json.loads(x) for x in (tmp_path / "out" / PREDS).read_text().splitlines()]
    assert [(x["number"], x["fix_patch"]) for x in lines] == [(7, ""), (8, "")]
    # Without origins (a SWE-bench batch) there is no such file.
    plain = Output(tmp_path / "plain")
    plain.save(InstanceResult(instance_id="o__r-1", status="no_patch"), "m", [])
    assert not (tmp_path / "plain" / PREDS).exists()

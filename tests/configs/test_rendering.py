"""The packaged templates: prompts as plain text, reports escaped, a missing variable an error."""

from __future__ import annotations

import jinja2
import pytest

from configs.rendering import md_code, md_fenced, render, render_template


def test_a_prompt_renders_what_it_is_given_unescaped():
    text = render("localize_reask.j2", unknown=["<x>"], choices=["a.py::f"])
    assert "<x>" in text and "a.py::f" in text


def test_a_missing_variable_is_an_error_never_an_empty_prompt():
    with pytest.raises(jinja2.UndefinedError):
        render("localize_reask.j2", unknown=["x"])


def test_an_unknown_template_is_named():
    with pytest.raises(FileNotFoundError, match="no prompt template named 'no_such_prompt.j2'"):
        render("no_such_prompt.j2")


def test_markdown_spans_and_blocks_cannot_be_closed_by_their_text():
    assert md_code("a `b` c") == "``a `b` c``"
    assert md_code("x|y", cell=True) == "`x\\|y`"
    assert md_fenced("```\nbreak out\n```") == "````text\n```\nbreak out\n```\n````"


def test_html_reports_escape_and_markdown_comments_do_not():
    page = render_template("report.html.j2", title="<b>t</b>", totals={"instances": 0, "statuses": [], "cost": None, "time": "0 s",
                                                                      "graded": False, "resolved": 0},
                           rows=[], by_repo="", cost_chart="", time_chart="")
    assert "&lt;b&gt;t&lt;/b&gt;" in page and "<b>t</b>" not in page


def test_the_bots_tests_table_names_what_was_left_out_of_the_verdict():
    common = {"target": {"t.py::test_issue": "passed"}, "regression": {"t.py::test_ok": "passed"}}
    text = render_template("bot_tests.md.j2", **common, known_failing=[f"t.py::test_old{n}" for n in range(12)], flaky=["t.py::test_coin"])
    assert "| `t.py::test_issue` | failed | `passed` |" in text and "`t.py::test_old9`" in text and "`t.py::test_old10`" not in text
    assert "and 2 more" in text and "Flaky (a different outcome when run again): `t.py::test_coin`" in text
    assert "Left out" not in render_template("bot_tests.md.j2", **common, known_failing=[], flaky=[])

"""The three LLM stages of localization against a fake OpenAI-compatible server."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.llm import make_llm
from agent.settings import load_settings
from localization.localize import Localizer
from localization.stages import _known_paths, parse_answer

ISSUE = "Klass.method adds the base twice when saving a record (ratio unchanged)"


def fenced(key: str, values: list[str]) -> str:
    import json

    return f"Here is my answer.\n```json\n{json.dumps({key: values})}\n```\n"


@pytest.fixture
def repo(toy_repo) -> Path:
    return toy_repo


@pytest.fixture
def setup(repo, localizer_with_model):
    """setup(*overrides) -> (localizer, llm) talking to the fake server."""
    return lambda *overrides: localizer_with_model(repo, *overrides)


def prompts(server) -> list[str]:
    return [r.messages[-1]["content"] for r in server.chat_requests()]


def test_three_stages_put_the_models_unit_first(setup, fake_openai):
    loc, llm = setup()
    baseline = loc.localize(ISSUE)
    assert baseline.units[0].name != "Klass.other"  # retrieval alone would not pick it
    fake_openai.script_chat([
        fenced("files", ["pkg/storage.py", "pkg/mod.py"]),
        fenced("files", ["pkg/mod.py"]),
        fenced("units", ["pkg/mod.py::Klass.other"]),
    ])
    result = loc.localize(ISSUE, llm)
    assert result.mode == "llm"
    assert result.files[0].path == "pkg/mod.py"
    first = result.units[0]
    assert (first.path, first.name, first.start_line, first.end_line) == ("pkg/mod.py", "Klass.other", 10, 11)
    assert first.score > max(u.score for u in result.units[1:])
    assert len(fake_openai.chat_requests()) == 3
    assert [c["stage"] for c in result.llm_calls] == ["files", "schematic", "units"]
    assert not any(n.startswith(("stage", "model")) for n in result.notes)
    assert llm.usage.calls == 3


def test_prompts_carry_the_issue_and_schematics(setup, fake_openai):
    loc, llm = setup()
    fake_openai.script_chat([
        fenced("files", ["pkg/mod.py", "pkg/storage.py"]),
        fenced("files", ["pkg/mod.py"]),
        fenced("units", ["pkg/mod.py::Klass.method"]),
    ])
    loc.localize(ISSUE, llm)
    files_prompt, schematic_prompt, units_prompt = prompts(fake_openai)
    for prompt in (files_prompt, schematic_prompt, units_prompt):
        assert ISSUE in prompt
    assert "pkg/" in files_prompt and "mod.py" in files_prompt  # the file map
    assert "pkg/mod.py :: Klass.method" in files_prompt  # retrieved units
    # Stage 2 shows the schematic of both candidates, with signatures and line spans.
    assert "pkg/mod.py\n" in schematic_prompt and "pkg/storage.py\n" in schematic_prompt
    assert "    def method(self, x)  [L7-8]" in schematic_prompt
    assert "  class Klass  [L4-11]" in schematic_prompt
    assert '"Holds a value."' in schematic_prompt
    # Stage 3 shows only the file kept in stage 2.
    assert "def method(self, x)" in units_prompt
    assert "save_record" not in units_prompt
    req = fake_openai.chat_requests()[0]
    assert req.json["model"] == "fake"
    assert req.headers["Authorization"] == "Bearer sk-test"


def test_unknown_unit_is_reasked_once_with_the_valid_choices(setup, fake_openai):
    loc, llm = setup()
    fake_openai.script_chat([
        fenced("files", ["pkg/mod.py"]),
        fenced("files", ["pkg/mod.py"]),
        fenced("units", ["pkg/mod.py::Klass.methd"]),
        fenced("units", ["pkg/mod.py::Klass.method"]),
    ])
    result = loc.localize(ISSUE, llm)
    requests = fake_openai.chat_requests()
    assert len(requests) == 4
    reask = requests[3]
    prompt = reask.messages[-1]["content"]
    assert "pkg/mod.py::Klass.methd" in prompt
    for choice in ("pkg/mod.py::Klass", "pkg/mod.py::Klass.method", "pkg/mod.py::Klass.other", "pkg/mod.py::func"):
        assert f"- {choice}\n" in prompt
    assert "<module>" not in prompt
    # The re-ask continues the stage-3 conversation.
    assert [m["role"] for m in reask.messages] == ["user", "assistant", "user"]
    assert "pkg/mod.py::Klass.methd" in reask.messages[1]["content"]
    assert result.mode == "llm"
    assert (result.units[0].path, result.units[0].name) == ("pkg/mod.py", "Klass.method")
    assert [c["stage"] for c in result.llm_calls] == ["files", "schematic", "units", "reask"]
    assert not any("unknown" in n for n in result.notes)


def test_units_still_unknown_after_the_reask_are_dropped_with_a_note(setup, fake_openai):
    loc, llm = setup()
    fake_openai.script_chat([
        fenced("files", ["pkg/mod.py"]),
        fenced("files", ["pkg/mod.py"]),
        fenced("units", ["pkg/mod.py::Nope.nothing", "pkg/mod.py::func"]),
        fenced("units", ["pkg/mod.py::Still.wrong"]),
    ])
    result = loc.localize(ISSUE, llm)
    assert len(fake_openai.chat_requests()) == 4  # exactly one re-ask
    assert fake_openai.exhausted == 0
    assert result.mode == "llm"
    assert result.units[0].name == "func"  # the valid pick survives
    names = {(u.path, u.name) for u in result.units}
    assert ("pkg/mod.py", "Still.wrong") not in names and ("pkg/mod.py", "Nope.nothing") not in names
    assert any(n.startswith("model named unknown units, ignored") and "Still.wrong" in n for n in result.notes)


def test_no_reask_when_disabled(setup, fake_openai):
    loc, llm = setup("localization.llm_reask=0")
    fake_openai.script_chat([
        fenced("files", ["pkg/mod.py"]),
        fenced("files", ["pkg/mod.py"]),
        fenced("units", ["pkg/mod.py::Ghost"]),
    ])
    result = loc.localize(ISSUE, llm)
    assert len(fake_openai.chat_requests()) == 3
    assert any("Ghost" in n for n in result.notes)
    assert len(result.units) > 0  # retrieval fills the list


def test_bare_unit_name_unique_among_the_files_is_accepted(setup, fake_openai):
    loc, llm = setup()
    fake_openai.script_chat([
        fenced("files", ["pkg/mod.py"]),
        fenced("files", ["pkg/mod.py"]),
        fenced("units", ["func"]),
    ])
    result = loc.localize(ISSUE, llm)
    assert len(fake_openai.chat_requests()) == 3
    assert (result.units[0].path, result.units[0].name) == ("pkg/mod.py", "func")


def test_stage_one_naming_no_known_file_falls_back_to_retrieval_files(setup, fake_openai):
    loc, llm = setup()
    fake_openai.script_chat([
        fenced("files", ["does/not/exist.py"]),
        fenced("files", ["pkg/mod.py"]),
        fenced("units", ["pkg/mod.py::func"]),
    ])
    result = loc.localize(ISSUE, llm)
    assert result.mode == "llm"
    assert any(n.startswith("stage 1 named no known file") for n in result.notes)
    assert result.units[0].name == "func"
    # Retrieval's files were offered to stage 2.
    assert "pkg/mod.py\n" in prompts(fake_openai)[1]


def test_model_failure_falls_back_to_retrieval(setup, fake_openai, capsys):
    loc, llm = setup()
    expected = loc.localize(ISSUE)
    fake_openai.fail_next(500)
    result = loc.localize(ISSUE, llm)
    assert result.mode == "retrieval"
    assert len(fake_openai.chat_requests()) == 1  # max_retries=0: no retry
    assert (result.files, result.units) == (expected.files, expected.units)
    assert any(n.startswith("model failed") for n in result.notes)


def test_model_failure_in_a_later_stage_keeps_the_earlier_picks(setup, fake_openai):
    loc, llm = setup()
    expected = loc.localize(ISSUE)
    assert expected.files[0].path != "pkg/storage.py"
    fake_openai.script_chat([fenced("files", ["pkg/storage.py", "pkg/mod.py"]), fenced("files", ["pkg/storage.py"])])
    result = loc.localize(ISSUE, llm)  # stage 3 finds the script exhausted: HTTP 500
    assert fake_openai.exhausted == 1
    assert result.mode == "llm"
    assert result.files[0].path == "pkg/storage.py"  # stage 2's pick stands
    assert [u.name for u in result.units] == [u.name for u in expected.units]  # no unit was chosen: retrieval's
    assert [c["stage"] for c in result.llm_calls] == ["files", "schematic"]
    assert any(n.startswith("model failed") for n in result.notes)


def test_prose_answers_without_fences_are_understood(setup, fake_openai):
    loc, llm = setup()
    fake_openai.script_chat([
        'I think {"files": ["pkg/mod.py"]} is it.',
        'Keep this one: {"files": ["./pkg/mod.py"]}',
        'The change belongs in {"units": ["pkg/mod.py::Klass.other"]} -- hope that helps',
    ])
    result = loc.localize(ISSUE, llm)
    assert result.mode == "llm"
    assert result.units[0].name == "Klass.other"


# --- parse_answer and path matching -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ('```json\n{"files": ["a.py", "b.py"]}\n```', ["a.py", "b.py"]),
        ('Sure! Here you go:\n```json\n{"files": ["a.py"]}\n```\nLet me know.', ["a.py"]),
        ('```\n{"files": ["a.py"]}\n```', ["a.py"]),
        ('{"files": ["a.py"]}', ["a.py"]),
        ('My answer is {"files": [" a.py ", ""]} and that is final.', ["a.py"]),
        ('first ```json\n{"files": ["old.py"]}\n``` then ```json\n{"files": ["new.py"]}\n```', ["new.py"]),
        ('```json\n{"units": ["x"]}\n```', []),
        ('```json\n{"files": "a.py"}\n```', []),
        ("```json\n{files: [a.py]}\n```", []),
        ("no json here", []),
        ("", []),
    ],
)
def test_parse_answer(text, expected):
    assert parse_answer(text, "files") == expected


def test_known_paths_normalises_model_paths():
    paths = {"pkg/mod.py", "pkg/sub/mod.py", "pkg/text.py"}
    assert _known_paths(["./pkg/text.py", "`pkg/mod.py`", "text.py", "mod.py", "src/pkg/text.py", "nope.py"], paths) == [
        "pkg/text.py", "pkg/mod.py"]
    assert _known_paths(["sub/mod.py"], paths) == ["pkg/sub/mod.py"]


def test_retrieval_files_are_not_passed_off_as_model_picks(setup, fake_openai):
    loc, llm = setup()
    expected = loc.localize(ISSUE)
    # The model names nothing usable in any stage.
    fake_openai.script_chat(["no idea", "still no idea", fenced("units", [])])
    result = loc.localize(ISSUE, llm)
    assert result.mode == "retrieval"
    assert (result.files, result.units) == (expected.files, expected.units)


def test_statements_spans_and_text_files_the_issue_names_can_be_picked(tmp_path, fake_openai, monkeypatch):
    from fakes.repos import committed
    from fakes.tree import write_tree

    root = committed(write_tree(tmp_path / "logrepo", {
        "pkg/__init__.py": "",
        "pkg/log.py": "import os\n\n# The format.\nFORMAT = '%(message)s'\nLEVEL = 1\n\n\ndef emit(record):\n    return FORMAT % record\n",
        "setup.cfg": "[metadata]\nname = x\nversion = 1\n",
        "docs/setup.cfg": "[x]\n",
    }, str))
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none", "llm.model=fake",
                                 f"llm.base_url={fake_openai.base_url}", "llm.max_retries=0", "llm.timeout_s=10"])
    loc, llm = Localizer.open(root, s), make_llm(s.llm)
    fake_openai.script_chat([
        fenced("files", ["pkg/log.py", "setup.cfg"]),
        fenced("files", ["pkg/log.py", "setup.cfg"]),
        fenced("units", ["pkg/log.py::FORMAT", "pkg/log.py::<module>:4-5", "setup.cfg::<file>", "pkg/log.py::<module>:90-99"]),
        fenced("units", []),
    ])
    issue = "The log FORMAT ignores the level; and pkg/setup.cfg should pin the version (see setup.cfg)."
    result = loc.localize(issue, llm)
    picked = [(u.path, u.name, u.start_line, u.end_line) for u in result.units[:3]]
    assert picked == [("pkg/log.py", "FORMAT", 4, 4), ("pkg/log.py", "<module>:4-5", 4, 5), ("setup.cfg", "<file>", 1, 3)]
    sent = prompts(fake_openai)
    assert "  setup.cfg" in sent[0]  # the file the issue names, in the stage-1 map (the ambiguous docs/ one is not)
    assert "docs/" not in sent[0]
    assert "setup.cfg  (a text file, 3 lines" in sent[1]
    assert "  FORMAT = '%(message)s'  [L4-4]" in sent[2] and "  def emit(record)  [L8-9]" in sent[2]
    assert "<module>:90-99" in sent[3]  # lines the file does not have: asked again
    assert "setup.cfg::<file>" in sent[3] and "pkg/log.py::LEVEL" in sent[3]  # the valid choices include both kinds


def test_named_text_files_by_path_or_by_a_unique_name():
    from localization.signals import named_text_files

    files = ["setup.cfg", "docs/conf.rst", "a/tox.ini", "b/tox.ini", "pkg/mod.py", "README.md", "web/app.js"]
    issue = ("Edit `docs/conf.rst` and setup.cfg; tox.ini is twice; see mod.py and README.md. Version 1.2.3, e.g. foo.bar()."
             " The page's app.js too.")
    python_only = lambda path: path.endswith(".py")  # noqa: E731 - an index that reads Python alone
    assert named_text_files(issue, files, python_only) == ["docs/conf.rst", "setup.cfg", "README.md", "web/app.js"]
    # In a repository whose index reads JavaScript too, app.js is code, not text to show beside it.
    assert named_text_files(issue, files, lambda path: path.endswith((".py", ".js"))) == ["docs/conf.rst", "setup.cfg", "README.md"]

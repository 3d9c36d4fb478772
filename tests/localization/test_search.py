"""The search loop after localization stage 1: a scripted model searches the index before it names files."""

from __future__ import annotations

import dataclasses
import json

import pytest

from configs.errors import LLMError
from localization.search import SearchTools
from localization.stages import _Files

ISSUE = "Klass.method adds the base twice when saving a record (ratio unchanged)"
SEARCH_PARAGRAPH = "If none of the files above can hold the fix"


def fenced(data: dict) -> str:
    return f"Let me see.\n```json\n{json.dumps(data)}\n```\n"


def files(*paths: str) -> str:
    return fenced({"files": list(paths)})


def units(*names: str) -> str:
    return fenced({"units": list(names)})


@pytest.fixture
def setup(toy_repo, localizer_with_model):
    """setup(*overrides) -> (localizer, llm) talking to the fake server; stage 1 shows two files and no units."""
    return lambda *overrides: localizer_with_model(toy_repo, "localization.llm_map_files=2", "localization.llm_retrieved_units=0", *overrides)


def prompts(server) -> list[str]:
    return [r.messages[-1]["content"] for r in server.chat_requests()]


def stages(result) -> list[str]:
    return [c["stage"] for c in result.llm_calls]


def test_search_finds_a_file_outside_the_stage_one_map(setup, fake_openai):
    loc, llm = setup()
    fake_openai.script_chat([
        fenced({"action": "search", "query": "parse an HTTP header value"}),
        fenced({"action": "definition", "name": "parse_header"}),
        files("pkg/text.py"),
        files("pkg/text.py"),
        units("pkg/text.py::parse_header"),
    ])
    result = loc.localize(ISSUE, llm)
    sent = prompts(fake_openai)
    assert SEARCH_PARAGRAPH in sent[0] and '{"action": "definition", "name": "Name"}' in sent[0]
    assert "text.py" not in sent[0]  # not among the stage-1 candidates
    # Step 1 shows the query's ranking from the retriever; step 2 where the name is defined.
    assert sent[1].startswith("Search step 1 of 4.")
    assert '## Result of search "parse an HTTP header value"\nFiles, best first:\n- pkg/text.py\n' in sent[1]
    assert "- pkg/text.py::parse_header (lines 1-4) — `def parse_header(value)`" in sent[1]
    assert '## Result of definition "parse_header"\n- pkg/text.py::parse_header (lines 1-4)' in sent[2]
    # The search continues the stage-1 conversation.
    assert [m["role"] for m in fake_openai.chat_requests()[2].messages] == ["user", "assistant", "user", "assistant", "user"]
    assert "def parse_header(value)" in sent[3]  # stage 2 shows the found file's schematic
    assert stages(result) == ["files", "search", "search", "schematic", "units"]
    assert result.llm_calls[1]["prompt"] == sent[1] and "parse_header" in result.llm_calls[1]["response"]
    assert result.mode == "llm"
    assert result.files[0].path == "pkg/text.py"
    assert (result.units[0].path, result.units[0].name, result.units[0].start_line) == ("pkg/text.py", "parse_header", 1)
    assert not any(n.startswith(("stage", "the search", "model")) for n in result.notes)


def test_search_stops_after_search_steps_calls(setup, fake_openai):
    loc, llm = setup("localization.search_steps=2")
    expected = loc.localize(ISSUE)
    fake_openai.script_chat([
        fenced({"action": "search", "query": "header"}),
        fenced({"action": "references", "name": "base"}),
        fenced({"action": "open", "unit": "pkg/text.py::parse_header"}),  # the last answer: not carried out
        files("pkg/mod.py"),
        units("pkg/mod.py::Klass.method"),
    ])
    result = loc.localize(ISSUE, llm)
    sent = prompts(fake_openai)
    assert stages(result) == ["files", "search", "search", "schematic", "units"]
    assert fake_openai.script_remaining == 0 and fake_openai.exhausted == 0
    assert sent[1].startswith("Search step 1 of 2.") and "Answer with one more action" in sent[1]
    assert sent[2].startswith("Search step 2 of 2.") and "No search is left" in sent[2]
    assert "## Result of references \"base\"\n- pkg/mod.py:8: return x + self.base\n\n" in sent[2]  # whole words only
    assert "Which of these files need to be edited" in sent[3]
    # No file was named: retrieval's files go to stage 2.
    assert "the search loop ended after 2 steps with no file named" in result.notes
    assert any(n.startswith("stage 1 named no known file") for n in result.notes)
    assert f"{expected.files[0].path}\n" in sent[3]
    assert result.units[0].name == "Klass.method"


def test_an_unusable_answer_is_a_step_and_the_model_is_told(setup, fake_openai):
    loc, llm = setup("localization.search_steps=3")
    fake_openai.script_chat([
        fenced({"action": "grep", "pattern": "base"}),
        "I am not sure yet.",
        fenced({"action": "open"}),
        files("pkg/mod.py"),
        files("pkg/mod.py"),
        units("pkg/mod.py::Klass.method"),
    ])
    result = loc.localize(ISSUE, llm)
    sent = prompts(fake_openai)
    assert stages(result) == ["files", "search", "search", "search", "schematic", "units"]
    assert 'Your last answer could not be used: "grep" is no action.' in sent[1]
    assert '{"action": "open", "unit": "pkg/module.py::Class.method"}' in sent[1]  # the forms allowed
    assert "could not be used: it was neither an action nor a list of files" in sent[2]
    assert sent[2].startswith("Search step 2 of 3.")
    assert 'could not be used: the action "open" needs a "unit" string' in sent[3]
    assert "No search is left" in sent[3]
    assert result.files[0].path == "pkg/mod.py"


def test_files_it_names_end_the_search_and_unknown_ones_do_not(setup, fake_openai):
    loc, llm = setup()
    fake_openai.script_chat([
        fenced({"action": "schematic", "path": "text.py"}),
        files("pkg/nowhere.py"),
        files("pkg/net/session.py", "pkg/text.py"),
        files("pkg/net/session.py"),
        units("pkg/net/session.py::Session.send"),
    ])
    result = loc.localize(ISSUE, llm)
    sent = prompts(fake_openai)
    assert '## Result of schematic "pkg/text.py"\npkg/text.py\n  def parse_header(value)  [L1-4]' in sent[1]
    assert "could not be used: it was neither an action nor a list of files" in sent[2]
    assert stages(result) == ["files", "search", "search", "schematic", "units"]
    assert "pkg/net/session.py\n" in sent[3] and "pkg/text.py\n" in sent[3]
    assert [f.path for f in result.files[:1]] == ["pkg/net/session.py"]
    assert result.units[0].name == "Session.send"


class _Failing:
    def __init__(self, answers: list[str] = ()):
        self.answers = list(answers)
        self.calls = 0

    def complete(self, messages, temperature=None, n=1):
        self.calls += 1
        if not self.answers:
            raise LLMError("endpoint down")
        return [self.answers.pop(0)]


def test_retrieval_stands_in_when_every_call_fails(setup):
    loc, _ = setup()
    expected = loc.localize(ISSUE)
    model = _Failing()
    result = loc.localize(ISSUE, model)
    assert model.calls == 1
    assert result.mode == "retrieval" and (result.files, result.units) == (expected.files, expected.units)
    assert any(n.startswith("model failed: endpoint down") for n in result.notes)


def test_a_failure_in_the_search_keeps_the_stage_one_files(setup):
    loc, _ = setup()
    expected = loc.localize(ISSUE)
    # Stage 1 names no file and searches; the search step fails: retrieval's ranking stands.
    model = _Failing([fenced({"action": "search", "query": "header"})])
    result = loc.localize(ISSUE, model)
    assert model.calls == 2
    assert result.mode == "retrieval" and (result.files, result.units) == (expected.files, expected.units)
    assert stages(result) == ["files"] and any(n.startswith("model failed") for n in result.notes)
    # Stage 1 names a file and searches too: the file stays the model's pick.
    assert expected.files[0].path != "pkg/text.py"
    model = _Failing([fenced({"files": ["pkg/text.py"], "action": "search", "query": "header"})])
    result = loc.localize(ISSUE, model)
    assert model.calls == 2
    assert result.mode == "llm" and result.files[0].path == "pkg/text.py"


def test_search_steps_zero_turns_the_loop_off(setup, fake_openai):
    loc, llm = setup("localization.search_steps=0")
    fake_openai.script_chat([
        fenced({"action": "search", "query": "parse an HTTP header value"}),
        files("pkg/mod.py"),
        units("pkg/mod.py::Klass.method"),
    ])
    result = loc.localize(ISSUE, llm)
    sent = prompts(fake_openai)
    assert SEARCH_PARAGRAPH not in sent[0] and '"action"' not in sent[0]
    assert stages(result) == ["files", "schematic", "units"]
    assert "Which of these files need to be edited" in sent[1]
    assert any(n.startswith("stage 1 named no known file") for n in result.notes)
    assert not any("search" in n for n in result.notes)
    assert result.units[0].name == "Klass.method"


def test_files_named_along_an_action_stand_when_the_steps_run_out(setup, fake_openai):
    loc, llm = setup("localization.search_steps=2")
    fake_openai.script_chat([
        fenced({"action": "definition", "name": "parse_header"}),
        fenced({"files": ["pkg/text.py"], "action": "references", "name": "parse_header"}),
        fenced({"action": "open", "unit": "pkg/text.py::parse_header"}),
        files("pkg/text.py"),
        units("pkg/text.py::parse_header"),
    ])
    result = loc.localize(ISSUE, llm)
    sent = prompts(fake_openai)
    assert stages(result) == ["files", "search", "search", "schematic", "units"]
    assert "- pkg/text.py:1: def parse_header(value):" in sent[2]  # the action was carried out
    assert "pkg/text.py\n" in sent[3] and "pkg/mod.py\n" not in sent[3]  # the files named so far go to stage 2
    assert not any(n.startswith(("stage 1", "the search")) for n in result.notes)
    assert (result.files[0].path, result.units[0].name) == ("pkg/text.py", "parse_header")


# --- the actions, against the index directly ----------------------------------------------------


@pytest.fixture
def tools(setup):
    def _tools(*overrides: str) -> SearchTools:
        loc, _ = setup(*overrides)
        index = loc.index
        by_path: dict = {}
        for unit in index.units:
            by_path.setdefault(unit.path, []).append(unit)
        return SearchTools(index, _Files(index), set(index.paths), by_path, loc.settings.localization, loc.retriever.rank,
                           lambda: loc.retriever.graph)

    return _tools


def act(tools: SearchTools, **action: str):
    return tools.run(fenced(action))


def test_definition_by_leaf_qualified_dotted_or_path_name(tools):
    t = tools()
    for name in ("send", "Session.send", "pkg.net.session.Session.send", "net.session.Session.send",
                 "pkg/net/session.py::Session.send"):
        assert act(t, action="definition", name=name).lines == ["- pkg/net/session.py::Session.send (lines 5-6) — `def send(self, method, url)`"], name
    assert act(t, action="definition", name="ession.send").lines == ["no unit of that name is defined in the indexed files"]
    assert [line.split(" ")[1] for line in act(t, action="definition", name="Klass").lines] == ["pkg/mod.py::Klass"]


def test_references_are_whole_words_and_capped(tools):
    t = tools("localization.search_results=2")
    lines = act(t, action="references", name="record").lines
    assert lines == ["- pkg/storage.py:5: def save_record(self, record):", '- pkg/storage.py:6: """Save a record to disk storage."""',
                     "(5 lines in 1 files; the first 2 shown)"]  # not save_record, load_record, serialize_record
    assert act(t, action="references", name="recor").lines == ["no indexed file mentions it"]


def test_references_list_the_callers_the_index_resolved_before_the_text(tools):
    t = tools()
    lines = act(t, action="references", name="serialize_record").lines
    assert lines[:3] == ["Called by (names resolved through imports):", "- pkg/storage.py::RecordStore.save_record",
                         "Lines that mention it:"]
    assert "- pkg/storage.py:7: data = serialize_record(record)" in lines
    # A method named by its class: its callers by the structure, its text by its own name.
    lines = act(t, action="references", name="Session.send").lines
    assert lines[:2] == ["Called by (names resolved through imports):", "- pkg/net/session.py::Session.request"]
    assert "- pkg/net/session.py:3: return self.send(method, url)" in lines
    # Without the structure, the text alone, as before.
    plain = dataclasses.replace(t, graph=None)
    assert act(plain, action="references", name="serialize_record").lines[0].startswith("- pkg/storage.py:")


def test_open_shows_numbered_lines_capped_with_the_way_on(tools):
    t = tools("localization.open_max_lines=2")
    result = act(t, action="open", unit="pkg/storage.py::RecordStore.save_record")
    assert result.heading == 'open "pkg/storage.py::RecordStore.save_record"'
    assert result.lines == ["    5 |     def save_record(self, record):", '    6 |         """Save a record to disk storage."""',
                            "(2 more lines: open pkg/storage.py::<module>:7-8 to read on)"]
    assert act(t, action="open", unit="pkg/storage.py::<module>:7-8").lines[0] == "    7 |         data = serialize_record(record)"
    assert act(t, action="open", unit="format_date").lines[0] == "    7 | def format_date(stamp):"
    assert act(t, action="open", unit="pkg/text.py").lines[0] == "    1 | def parse_header(value):"
    assert "no such unit" in act(t, action="open", unit="pkg/text.py::nothing").error
    assert act(t, action="schematic", path="pkg/none.py").error == "'pkg/none.py' is not a file of the repository"


def test_search_without_a_retriever_says_so(tools):
    t = tools()
    t.search = None
    assert "not available" in act(t, action="search", query="x").error
    assert act(t, action=["search"]).error == '["search"] is no action'

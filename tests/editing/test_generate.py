"""CodeGeneration (editing.generate) against the fake OpenAI-compatible server.

Every request goes through the real `openai` SDK to tests/fakes/openai_server.py; the
assertions read what the server received (`chat_requests()[i].json`).

Concurrent parsing: `ast.parse` is not thread-safe on CPython 3.11 (python/cpython#106905);
generation parses answers one at a time, and `test_concurrent_parsing_does_not_fail_the_generation`
makes thread switches frequent to check that it does.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from fakes.tree import write_tree

from agent.llm import make_llm
from agent.settings import load_settings
from configs.rendering import render
from editing.config import EditingConfig
from editing.engine import make_editor
from editing.generate import Generator, Target, build_context, candidate_key
from editing.models import SampleFailure

PATH = "pkg/m.py"

FILES = {
    "pkg/__init__.py": "",
    PATH: '''
        """Things."""

        import os


        class A:
            """Holds things."""

            def f(self):
                return 1

            def g(self):
                return os.sep


        def helper(x):
            return x * 2
        ''',
    "pkg/util.py": '''
        def twice(x):
            return x + x
        ''',
}

ISSUE = "A.f should return 2, not 1."
TARGETS = [Target(PATH, "A.f")]


def D(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


ORIGINAL = D(FILES[PATH])
FIXED = ORIGINAL.replace("return 1\n", "return 2\n")


def edit(code: str, unit: str = "A.f", path: str = PATH) -> str:
    return f'<edit path="{path}" unit="{unit}">\n{D(code)}</edit>'


GOOD = "The method returns the wrong constant.\n\n" + edit('''
    def f(self):
        return 2
    ''')
NO_BLOCK = "The bug is that A.f returns 1; it should return 2."
UNKNOWN_UNIT = edit('''
    def f(self):
        return 2
    ''', unit="B.f")
NO_PARSE = edit('''
    def f(self):
        return (2
    ''')
UNDEFINED = edit('''
    def f(self):
        return undefined_thing
    ''')
NOOP = edit('''
    def f(self):
        return 1
    ''')


@pytest.fixture
def repo(tmp_path) -> Path:
    return write_tree(tmp_path / "repo", FILES, D)


@pytest.fixture
def make(repo, fake_openai, clean_env):
    """make(*overrides) -> (generator, llm) talking to the fake server."""
    clean_env.setenv("OPENAI_API_KEY", "sk-test")

    def _make(*overrides: str):
        s = load_settings(overrides=[
            "llm.model=fake", f"llm.base_url={fake_openai.base_url}", "llm.max_retries=0", "llm.timeout_s=10",
            *overrides,
        ])
        llm = make_llm(s.llm)
        return Generator(llm, make_editor(s.editing), s.editing, repo), llm

    return _make


def by_temperature(answers: dict[float, object]):
    """A responder answering by the request's temperature (a str is repeated `n` times by the fake)."""

    def responder(req):
        answer = answers[req["temperature"]]
        return answer(req) if callable(answer) else answer

    return responder


def sent(server) -> list[tuple[float, int]]:
    """(temperature, n) of every chat request, sorted (requests run concurrently)."""
    return sorted((r.json["temperature"], r.json["n"]) for r in server.chat_requests())


# --- the prompt --------------------------------------------------------------------------------


def test_prompt_holds_the_issue_units_and_schematic(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]")
    fake_openai.script_chat([GOOD])
    gen.generate(ISSUE, TARGETS)
    (req,) = fake_openai.chat_requests()
    assert [m["role"] for m in req.messages] == ["user"]
    prompt = req.messages[0]["content"]
    assert ISSUE in prompt
    # The located unit in full, as it stands in the file.
    assert f'<unit path="{PATH}" name="A.f">\n    def f(self):\n        return 1\n</unit>' in prompt
    # The schematic of its file: signatures with line spans, not bodies.
    assert f"{PATH}\n" in prompt
    assert "  class A  [L6-13]" in prompt
    assert "    def g(self)  [L12-13]" in prompt
    assert "  def helper(x)  [L16-17]" in prompt
    assert "return x * 2" not in prompt and "return os.sep" not in prompt
    assert "pkg/util.py" not in prompt  # no target there
    assert "earlier attempt" not in prompt  # no feedback given
    assert req.json["model"] == "fake"


def test_feedback_from_an_earlier_attempt_is_in_the_prompt(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]")
    fake_openai.script_chat([GOOD])
    feedback = "FAILED tests/test_m.py::test_f - AssertionError: assert 1 == 2"
    gen.generate(ISSUE, TARGETS, feedback=feedback)
    prompt = fake_openai.chat_requests()[0].messages[-1]["content"]
    assert "## What happened with an earlier attempt\n" + feedback in prompt
    assert ISSUE in prompt


def test_module_target_shows_the_import_block(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]")
    fake_openai.script_chat([GOOD])
    gen.generate(ISSUE, [Target(PATH, "<module>"), Target(PATH, "A.f")])
    prompt = fake_openai.chat_requests()[0].messages[-1]["content"]
    assert f'<unit path="{PATH}" name="<imports>">\nimport os\n</unit>' in prompt
    assert f'<unit path="{PATH}" name="A.f">' in prompt


def test_all_requests_share_the_first_prompt_and_calls_are_recorded(make, fake_openai):
    gen, llm = make()
    fake_openai.responder = lambda req: GOOD
    out = gen.generate(ISSUE, TARGETS)
    prompts = {r.messages[-1]["content"] for r in fake_openai.chat_requests()}
    assert len(prompts) == 1
    assert len(out.calls) == 5  # one per answer: 1 at 0.0, 2 at 0.4, 2 at 0.8
    assert sorted(c["temperature"] for c in out.calls) == [0.0, 0.4, 0.4, 0.8, 0.8]
    assert all(c["response"] == GOOD and c["prompt"] in prompts for c in out.calls)
    assert llm.usage.calls == len(fake_openai.chat_requests()) == 3


# --- temperatures, samples and `n` -----------------------------------------------------------------


def test_default_temperatures_one_sample_at_zero_and_n_above(make, fake_openai):
    gen, _ = make()
    fake_openai.responder = lambda req: GOOD
    out = gen.generate(ISSUE, TARGETS)
    assert sent(fake_openai) == [(0.0, 1), (0.4, 2), (0.8, 2)]
    assert not out.failures
    (cand,) = out.candidates
    assert cand.count == 5
    assert sorted(cand.temperatures) == [0.0, 0.4, 0.4, 0.8, 0.8]
    assert cand.files == {PATH: FIXED}
    assert cand.attempts == 1 and cand.lint_clean


def test_configured_temperatures_and_samples(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.2, 1.0]", "editing.samples_per_temperature=3")
    fake_openai.responder = lambda req: GOOD
    out = gen.generate(ISSUE, TARGETS)
    assert sent(fake_openai) == [(0.2, 3), (1.0, 3)]
    assert out.candidates[0].count == 6


def test_fewer_choices_than_n_are_topped_up_with_single_requests(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0, 0.5]", "editing.samples_per_temperature=3")
    fake_openai.responder = lambda req: [GOOD]  # one choice, whatever `n` asks
    out = gen.generate(ISSUE, TARGETS)
    assert sent(fake_openai) == [(0.0, 1), (0.5, 1), (0.5, 1), (0.5, 3)]
    assert not out.failures
    assert out.candidates[0].count == 4
    assert sorted(out.candidates[0].temperatures) == [0.0, 0.5, 0.5, 0.5]


def test_partial_choices_are_topped_up(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.7]", "editing.samples_per_temperature=3")
    fake_openai.responder = lambda req: [GOOD, GOOD] if req["n"] > 1 else GOOD
    out = gen.generate(ISSUE, TARGETS)
    assert sent(fake_openai) == [(0.7, 1), (0.7, 3)]
    assert out.candidates[0].count == 3


def test_extra_choices_are_not_used(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.7]")
    fake_openai.responder = lambda req: [GOOD] * 4
    out = gen.generate(ISSUE, TARGETS)
    assert sent(fake_openai) == [(0.7, 2)]
    assert out.candidates[0].count == 2


def test_without_use_n_only_single_requests(make, fake_openai):
    gen, _ = make("editing.use_n=false")
    fake_openai.responder = lambda req: GOOD
    out = gen.generate(ISSUE, TARGETS)
    assert sent(fake_openai) == [(0.0, 1), (0.4, 1), (0.4, 1), (0.8, 1), (0.8, 1)]
    assert out.candidates[0].count == 5


def test_endpoint_refusing_n_falls_back_to_single_requests(make, fake_openai):
    gen, _ = make()

    def responder(req):
        if req["n"] > 1:
            raise ValueError("n is not supported")  # the fake answers 500, x-should-retry: false
        return GOOD

    fake_openai.responder = responder
    out = gen.generate(ISSUE, TARGETS)
    assert sent(fake_openai) == [(0.0, 1), (0.4, 1), (0.4, 1), (0.4, 2), (0.8, 1), (0.8, 1), (0.8, 2)]
    assert not out.failures
    assert out.candidates[0].count == 5


def test_every_answer_received_becomes_a_sample_with_repeated_temperatures(make, fake_openai):
    """A temperature listed twice must not throw away the answers of its first request:
    either it is asked once, or both requests' answers are used."""
    gen, _ = make("editing.temperatures=[0.4, 0.4]")
    fake_openai.responder = lambda req: GOOD
    out = gen.generate(ISSUE, TARGETS)
    received = len(out.calls)
    assert sum(c.count for c in out.candidates) + len(out.failures) == received


# --- concurrency ---------------------------------------------------------------------------------------


def test_requests_run_concurrently(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0, 0.4]", "editing.concurrency=2")
    lock = threading.Lock()
    state = {"in_flight": 0, "most": 0}
    both = threading.Event()

    def responder(req):
        with lock:
            state["in_flight"] += 1
            state["most"] = max(state["most"], state["in_flight"])
            if state["in_flight"] >= 2:
                both.set()
        try:
            both.wait(timeout=5)  # the first request waits for the second to arrive
            return GOOD
        finally:
            with lock:
                state["in_flight"] -= 1

    fake_openai.responder = responder
    started = time.monotonic()
    out = gen.generate(ISSUE, TARGETS)
    assert both.is_set(), "the two first requests never ran at the same time"
    assert state["most"] == 2
    assert time.monotonic() - started < 4
    assert out.candidates[0].count == 3


def test_concurrency_one_runs_requests_one_at_a_time(make, fake_openai):
    gen, _ = make("editing.concurrency=1", "editing.use_n=false")
    lock = threading.Lock()
    state = {"in_flight": 0, "most": 0}

    def responder(req):
        with lock:
            state["in_flight"] += 1
            state["most"] = max(state["most"], state["in_flight"])
        time.sleep(0.01)
        with lock:
            state["in_flight"] -= 1
        return GOOD

    fake_openai.responder = responder
    out = gen.generate(ISSUE, TARGETS)
    assert len(fake_openai.chat_requests()) == 5
    assert state["most"] == 1
    assert out.candidates[0].count == 5


def test_concurrent_parsing_does_not_fail_the_generation(make, fake_openai):
    """See the module docstring. Thread switches are made frequent (a garbage
    collection every few allocations, a Python callback in it, a tiny switch interval) so that
    two workers' `ast.parse` calls interleave; `generate` must still return its candidates."""
    gen, _ = make("editing.temperatures=[0.0, 0.2, 0.4, 0.6, 0.8]", "editing.concurrency=4")
    fake_openai.responder = lambda req: GOOD

    def yield_in_gc(phase, info):
        if phase == "start":
            time.sleep(0)

    threshold, interval = gc.get_threshold(), sys.getswitchinterval()
    gc.callbacks.append(yield_in_gc)
    gc.set_threshold(10)
    sys.setswitchinterval(1e-6)
    try:
        outs = [gen.generate(ISSUE, TARGETS) for _ in range(3)]
    finally:
        gc.callbacks.remove(yield_in_gc)
        gc.set_threshold(*threshold)
        sys.setswitchinterval(interval)
    for out in outs:
        assert not out.failures
        assert [c.count for c in out.candidates] == [9]


# --- retries ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, error",
    [
        (NO_BLOCK, 'the answer holds no <edit path="..." unit="..."> block'),
        (UNKNOWN_UNIT, "cannot place B.f: B does not exist"),
        (NO_PARSE, "does not parse"),
        (UNDEFINED, "undefined name 'undefined_thing'"),
        (NOOP, "the edits change nothing"),
    ],
    ids=["no-block", "unknown-unit", "no-parse", "lint", "no-change"],
)
def test_malformed_answer_is_retried_with_the_error(make, fake_openai, bad, error):
    gen, _ = make("editing.temperatures=[0.0]", "editing.max_retries=2")
    fake_openai.script_chat([bad, GOOD])
    out = gen.generate(ISSUE, TARGETS)
    first, retry = fake_openai.chat_requests()
    assert [m["role"] for m in retry.messages] == ["user", "assistant", "user"]
    assert retry.messages[0] == first.messages[0]  # the conversation goes on from the first prompt
    assert retry.messages[1]["content"] == bad  # the earlier answer is in the history
    follow_up = retry.messages[2]["content"]
    assert "Your edits could not be used" in follow_up
    assert error in follow_up
    assert retry.json["temperature"] == 0.0 and retry.json["n"] == 1
    assert not out.failures
    (cand,) = out.candidates
    assert cand.attempts == 2
    assert cand.files == {PATH: FIXED}
    assert cand.lint_clean
    assert len(out.calls) == 2 and error in out.calls[1]["prompt"]


def test_lint_error_names_the_line(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]")
    fake_openai.script_chat([UNDEFINED, GOOD])
    gen.generate(ISSUE, TARGETS)
    follow_up = fake_openai.chat_requests()[1].messages[-1]["content"]
    assert f"{PATH}:10: undefined name 'undefined_thing'" in follow_up


def test_retries_stop_after_max_retries_with_a_sample_failure(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]", "editing.max_retries=2")
    fake_openai.responder = lambda req: NO_BLOCK
    out = gen.generate(ISSUE, TARGETS)
    requests = fake_openai.chat_requests()
    assert len(requests) == 3
    assert [m["role"] for m in requests[2].messages] == ["user", "assistant", "user", "assistant", "user"]
    assert out.candidates == []
    (failure,) = out.failures
    assert isinstance(failure, SampleFailure)
    assert failure.temperature == 0.0 and failure.attempts == 3
    assert "holds no <edit" in failure.error


def test_lint_only_problem_after_the_retries_is_a_candidate_not_lint_clean(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]", "editing.max_retries=1")
    fake_openai.responder = lambda req: UNDEFINED
    out = gen.generate(ISSUE, TARGETS)
    assert len(fake_openai.chat_requests()) == 2
    assert not out.failures
    (cand,) = out.candidates
    assert not cand.lint_clean
    assert cand.attempts == 2
    assert [(f.kind, f.blocking) for f in cand.lint] == [("UndefinedName", True)]
    assert "undefined_thing" in cand.files[PATH]


@pytest.mark.parametrize("bad", [NO_BLOCK, UNKNOWN_UNIT, NO_PARSE])
def test_no_retry_when_max_retries_is_zero(make, fake_openai, bad):
    gen, _ = make("editing.temperatures=[0.0]", "editing.max_retries=0")
    fake_openai.script_chat([bad, GOOD])
    out = gen.generate(ISSUE, TARGETS)
    assert len(fake_openai.chat_requests()) == 1
    assert out.candidates == []
    (failure,) = out.failures
    assert failure.attempts == 1


def test_no_retry_for_lint_when_max_retries_is_zero(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]", "editing.max_retries=0")
    fake_openai.script_chat([UNDEFINED, GOOD])
    out = gen.generate(ISSUE, TARGETS)
    assert len(fake_openai.chat_requests()) == 1
    (cand,) = out.candidates
    assert not cand.lint_clean and cand.attempts == 1


def test_lint_kinds_outside_lint_blocking_do_not_retry(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]", "editing.lint_blocking=[UnusedImport]")
    fake_openai.script_chat([UNDEFINED, GOOD])
    out = gen.generate(ISSUE, TARGETS)
    assert len(fake_openai.chat_requests()) == 1
    (cand,) = out.candidates
    assert cand.lint_clean  # the finding is reported but does not block
    assert [f.kind for f in cand.lint] == ["UndefinedName"]


def test_each_sample_is_retried_on_its_own(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.6]", "editing.max_retries=1")

    def responder(req):
        if len(req["messages"]) > 1:
            return GOOD
        return [GOOD, NO_BLOCK]

    fake_openai.responder = responder
    out = gen.generate(ISSUE, TARGETS)
    assert sent(fake_openai) == [(0.6, 1), (0.6, 2)]
    (cand,) = out.candidates
    assert cand.count == 2 and cand.temperatures == [0.6, 0.6]


def test_model_error_during_a_retry_is_a_sample_failure(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]", "editing.max_retries=2")

    def responder(req):
        if len(req["messages"]) > 1:
            raise RuntimeError("endpoint down")
        return NO_BLOCK

    fake_openai.responder = responder
    out = gen.generate(ISSUE, TARGETS)
    assert len(fake_openai.chat_requests()) == 2
    (failure,) = out.failures
    assert failure.attempts == 1
    assert "model call failed" in failure.error


# --- usual slips repaired without a retry -----------------------------------------------------------------


SLIPS = {
    "fence-inside": 'Here it is.\n<edit path="pkg/m.py" unit="A.f">\n```python\ndef f(self):\n    return 2\n```\n</edit>',
    "fence-and-prose-inside": (
        '<edit path="pkg/m.py" unit="A.f">\nThe method:\n```python\ndef f(self):\n    return 2\n```\nNow it returns 2.\n</edit>'
    ),
    "trailing-prose": '<edit path="pkg/m.py" unit="A.f">\ndef f(self):\n    return 2\n</edit>\n\nThis change makes A.f return 2 as asked.',
    "missing-close-tag": '<edit path="pkg/m.py" unit="A.f">\n```python\ndef f(self):\n    return 2\n```\nThat is all.',
    "indented-method": '<edit path="pkg/m.py" unit="A.f">\n    def f(self):\n        return 2\n</edit>',
    "unneeded-class-wrapper": '<edit path="pkg/m.py" unit="A.f">\nclass A:\n    def f(self):\n        return 2\n</edit>',
    "class-wrapper-with-docstring": (
        '<edit path="pkg/m.py" unit="A.f">\nclass A:\n    """Holds things."""\n\n    def f(self):\n        return 2\n</edit>'
    ),
    "single-quotes-file-attr": "<edit file='./pkg/m.py' unit='A.f'>\ndef f(self):\n    return 2\n</edit>",
    "path-in-unit": '<edit unit="a/pkg/m.py::A.f">\ndef f(self):\n    return 2\n</edit>',
    "markdown-header": "Fix:\n\n### pkg/m.py::A.f\n```python\ndef f(self):\n    return 2\n```\n",
}


@pytest.mark.parametrize("answer", list(SLIPS.values()), ids=list(SLIPS))
def test_usual_slips_are_repaired_without_retry(make, fake_openai, answer):
    gen, _ = make("editing.temperatures=[0.0]", "editing.max_retries=2")
    fake_openai.script_chat([answer, GOOD])
    out = gen.generate(ISSUE, TARGETS)
    assert len(fake_openai.chat_requests()) == 1
    assert not out.failures
    (cand,) = out.candidates
    assert cand.attempts == 1
    assert cand.files == {PATH: FIXED}


def test_method_without_its_class_wrapper(make, fake_openai):
    """`A.f` given as a bare `def f` at column 0 (the format the prompt shows) goes into class A."""
    gen, _ = make("editing.temperatures=[0.0]")
    fake_openai.script_chat([GOOD])
    out = gen.generate(ISSUE, TARGETS)
    assert out.candidates[0].files == {PATH: FIXED}
    assert out.candidates[0].attempts == 1


def test_imports_edit_is_used_without_retry(make, fake_openai):
    """unit="<imports>", as the prompt asks, is read and applied at once (regression: parse_edits
    refused it, see test_answer.py)."""
    gen, _ = make("editing.temperatures=[0.0]", "editing.max_retries=1")
    answer = (
        '<edit path="pkg/m.py" unit="<imports>">\nimport os\nimport sys\n</edit>\n'
        + edit('''
            def f(self):
                return sys.maxsize
            ''')
    )
    fake_openai.script_chat([answer, GOOD])
    out = gen.generate(ISSUE, TARGETS)
    assert len(fake_openai.chat_requests()) == 1
    (cand,) = out.candidates
    assert cand.attempts == 1
    assert "import os\nimport sys\n" in cand.files[PATH]
    assert "return sys.maxsize" in cand.files[PATH]


# --- merging and ordering -----------------------------------------------------------------------------------


PLUS = [
    edit('''
        def f(self):
            return 1 + 1
        '''),
    edit('''
        def f(self):
            # one more than before
            return 1+1  # doubled
        '''),
    "```python\n" + edit('''
            def f(self):

                return (1 + 1)
        ''') + "\n```",
]
GOOD_COMMENTED = edit('''
    def f(self):
        # the answer
        return 2
    ''')


def test_identical_candidates_merge_and_most_proposed_come_first(make, fake_openai):
    gen, _ = make()
    fake_openai.responder = by_temperature({0.0: GOOD, 0.4: [PLUS[0], PLUS[1]], 0.8: [GOOD_COMMENTED, PLUS[2]]})
    out = gen.generate(ISSUE, TARGETS)
    assert not out.failures
    assert [c.count for c in out.candidates] == [3, 2]
    plus, two = out.candidates
    assert sorted(plus.temperatures) == [0.4, 0.4, 0.8]
    assert sorted(two.temperatures) == [0.0, 0.8]
    assert "return 1 + 1" in plus.files[PATH] or "return 1+1" in plus.files[PATH]
    assert two.files[PATH] in (FIXED, FIXED.replace("    def f(self):\n", "    def f(self):\n        # the answer\n"))
    assert plus.key != two.key
    assert plus.key == candidate_key(plus.files) and two.key == candidate_key(two.files)


def test_distinct_candidates_stay_apart(make, fake_openai):
    gen, _ = make()
    three = edit('''
        def f(self):
            return 3
        ''')
    fake_openai.responder = by_temperature({0.0: GOOD, 0.4: [PLUS[0], three], 0.8: [three, three]})
    out = gen.generate(ISSUE, TARGETS)
    assert [c.count for c in out.candidates] == [3, 1, 1]
    assert "return 3" in out.candidates[0].files[PATH]
    assert len({c.key for c in out.candidates}) == 3
    # Equal counts: the lowest temperature first.
    assert out.candidates[1].temperatures == [0.0]
    assert out.candidates[2].temperatures == [0.4]


def test_equal_counts_put_lint_clean_first(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0, 0.4]", "editing.samples_per_temperature=1", "editing.max_retries=0")
    fake_openai.responder = by_temperature({0.0: UNDEFINED, 0.4: GOOD})
    out = gen.generate(ISSUE, TARGETS)
    assert [c.lint_clean for c in out.candidates] == [True, False]
    assert out.candidates[0].temperatures == [0.4]


# --- model errors ------------------------------------------------------------------------------------------------


def test_model_error_at_one_temperature_leaves_the_others(make, fake_openai):
    gen, _ = make()

    def fails(req):
        raise RuntimeError("overloaded")  # the fake answers 500 with x-should-retry: false

    fake_openai.responder = by_temperature({0.0: GOOD, 0.4: fails, 0.8: GOOD})
    out = gen.generate(ISSUE, TARGETS)
    (failure,) = out.failures
    assert failure.temperature == 0.4 and failure.attempts == 1
    assert "model call failed" in failure.error
    (cand,) = out.candidates
    assert cand.count == 3 and sorted(cand.temperatures) == [0.0, 0.8, 0.8]


def test_http_400_on_the_first_request_is_a_sample_failure(make, fake_openai):
    # One worker: the requests go in the order of the temperatures, so the failure hits 0.0.
    gen, _ = make("editing.temperatures=[0.0, 0.4]", "editing.concurrency=1")
    fake_openai.fail_next(status=400, message="bad request for this one")
    fake_openai.responder = lambda req: GOOD
    out = gen.generate(ISSUE, TARGETS)
    assert sent(fake_openai) == [(0.0, 1), (0.4, 2)]  # no SDK retry of the 400
    (failure,) = out.failures
    assert failure.temperature == 0.0
    assert "bad request for this one" in failure.error
    assert "sk-test" not in failure.error
    (cand,) = out.candidates
    assert cand.count == 2 and cand.temperatures == [0.4, 0.4]


def test_all_temperatures_failing_gives_no_candidate(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0, 0.8]", "editing.samples_per_temperature=1")
    fake_openai.fail_next(status=400, times=2)
    out = gen.generate(ISSUE, TARGETS)
    assert out.candidates == []
    assert sorted(f.temperature for f in out.failures) == [0.0, 0.8]


# --- the diff -------------------------------------------------------------------------------------------------------


def git(repo: Path, *args: str, input: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repo, input=input, capture_output=True, text=True, timeout=30)


def test_candidate_diff_applies_with_git(make, fake_openai, repo):
    assert git(repo, "init", "-q").returncode == 0
    gen, _ = make("editing.temperatures=[0.0]")
    answer = GOOD + "\n" + edit('''
        def twice(x):
            return 2 * x
        ''', unit="twice", path="pkg/util.py")
    fake_openai.script_chat([answer])
    out = gen.generate(ISSUE, TARGETS)
    (cand,) = out.candidates
    assert set(cand.files) == {PATH, "pkg/util.py"}
    assert "--- a/pkg/m.py" in cand.diff and "+++ b/pkg/util.py" in cand.diff
    check = git(repo, "apply", "--check", "-", input=cand.diff)
    assert check.returncode == 0, check.stderr
    applied = git(repo, "apply", "-", input=cand.diff)
    assert applied.returncode == 0, applied.stderr
    for path, text in cand.files.items():
        assert (repo / path).read_text(encoding="utf-8") == text


# --- build_context ---------------------------------------------------------------------------------------------------


def unit_names(units: list[dict]) -> list[tuple[str, str]]:
    return [(u["path"], u["name"]) for u in units]


def test_build_context_units_and_schematics(repo):
    units, schematics = build_context(repo, [Target(PATH, "A.f"), Target("pkg/util.py", "twice")], EditingConfig())
    assert unit_names(units) == [(PATH, "A.f"), ("pkg/util.py", "twice")]
    assert units[0]["code"] == "    def f(self):\n        return 1"
    assert units[1]["code"] == "def twice(x):\n    return x + x"
    assert len(schematics) == 2
    assert schematics[0].startswith(f"{PATH}\n") and schematics[1].startswith("pkg/util.py\n")


def test_build_context_respects_context_units(repo):
    targets = [Target(PATH, "A.f"), Target(PATH, "helper"), Target("pkg/util.py", "twice")]
    units, schematics = build_context(repo, targets, EditingConfig(context_units=2))
    assert unit_names(units) == [(PATH, "A.f"), (PATH, "helper")]
    assert len(schematics) == 1  # only the files of the units shown


def test_build_context_respects_schematic_files(repo):
    targets = [Target(PATH, "A.f"), Target("pkg/util.py", "twice")]
    assert len(build_context(repo, targets, EditingConfig(schematic_files=1))[1]) == 1
    assert build_context(repo, targets, EditingConfig(schematic_files=0))[1] == []


def test_build_context_respects_prompt_max_chars(repo):
    targets = [Target(PATH, "A"), Target(PATH, "helper")]
    full, full_schematics = build_context(repo, targets, EditingConfig())
    class_len, helper_len = (len(u["code"]) for u in full)
    (schematic_len,) = (len(s) for s in full_schematics)
    assert class_len > helper_len
    # Units and schematic together fit exactly.
    units, schematics = build_context(repo, targets, EditingConfig(prompt_max_chars=class_len + helper_len + schematic_len))
    assert (units, schematics) == (full, full_schematics)
    # Both units fit, the schematic does not.
    units, schematics = build_context(repo, targets, EditingConfig(prompt_max_chars=class_len + helper_len))
    assert unit_names(units) == [(PATH, "A"), (PATH, "helper")]
    assert schematics == []
    # The class does not fit: the smaller unit after it is still shown.
    units, _ = build_context(repo, targets, EditingConfig(prompt_max_chars=class_len - 1))
    assert unit_names(units) == [(PATH, "helper")]
    # Nothing fits.
    assert build_context(repo, targets, EditingConfig(prompt_max_chars=helper_len - 1)) == ([], [])


def test_prompt_max_chars_reaches_the_prompt(make, fake_openai, repo):
    full, _ = build_context(repo, [Target(PATH, "A"), Target(PATH, "helper")], EditingConfig())
    gen, _ = make("editing.temperatures=[0.0]", f"editing.prompt_max_chars={len(full[0]['code']) - 1}")
    fake_openai.script_chat([GOOD])
    gen.generate(ISSUE, [Target(PATH, "A"), Target(PATH, "helper")])
    prompt = fake_openai.chat_requests()[0].messages[-1]["content"]
    assert f'<unit path="{PATH}" name="helper">' in prompt
    assert f'<unit path="{PATH}" name="A">' not in prompt


def test_context_units_reaches_the_prompt(make, fake_openai):
    gen, _ = make("editing.temperatures=[0.0]", "editing.context_units=1")
    fake_openai.script_chat([GOOD])
    gen.generate(ISSUE, [Target(PATH, "A.f"), Target("pkg/util.py", "twice")])
    prompt = fake_openai.chat_requests()[0].messages[-1]["content"]
    assert f'<unit path="{PATH}" name="A.f">' in prompt
    assert "twice" not in prompt  # neither its code nor its file's schematic


def test_build_context_module_target_is_the_import_block(repo):
    units, _ = build_context(repo, [Target(PATH, "<module>")], EditingConfig())
    assert units == [{"path": PATH, "name": "<imports>", "code": "import os", "lines": ""}]


def test_build_context_shows_statements_spans_and_text_files_with_their_lines(tmp_path):
    files = {"pkg/log.py": "import os\n\n# The format.\nFORMAT = '%(message)s'\nLEVEL = 1\n\n\ndef f():\n    return FORMAT\n",
             "setup.cfg": "[metadata]\nname = x\nversion = 1\n"}
    root = write_tree(tmp_path / "r", files, str)
    targets = [Target("pkg/log.py", "FORMAT"), Target("pkg/log.py", "<module>:4-5"), Target("setup.cfg", "<file>"),
               Target("setup.cfg", "<module>:2-3"), Target("setup.cfg", "metadata"), Target("pkg/log.py", "MISSING")]
    units, schematics = build_context(root, targets, EditingConfig())
    assert units == [
        {"path": "pkg/log.py", "name": "FORMAT", "code": "# The format.\nFORMAT = '%(message)s'", "lines": "3-4"},
        {"path": "pkg/log.py", "name": "<module>:4-5", "code": "FORMAT = '%(message)s'\nLEVEL = 1", "lines": "4-5"},
        {"path": "setup.cfg", "name": "<file>", "code": "[metadata]\nname = x\nversion = 1", "lines": "1-3"},
        {"path": "setup.cfg", "name": "<module>:2-3", "code": "name = x\nversion = 1", "lines": "2-3"},
    ]
    assert schematics == ["pkg/log.py\n  FORMAT = '%(message)s'  [L4-4]\n  LEVEL = 1  [L5-5]\n  def f()  [L8-9]"]
    prompt = render("edit_generate.j2", issue="x", units=units, schematics=schematics, feedback="", scripts=False)
    assert '<unit path="setup.cfg" name="<file>" lines="1-3">\n[metadata]' in prompt
    assert "<<<<<<< SEARCH" in prompt and 'unit="<file>"' in prompt


def test_build_context_module_without_imports_is_skipped(repo):
    units, schematics = build_context(repo, [Target("pkg/util.py", "<module>")], EditingConfig())
    assert units == [] and schematics == []


def test_build_context_skips_unknown_and_repeated_targets(repo):
    targets = [
        Target(PATH, "A.f"),
        Target(PATH, "A.f"),
        Target(PATH, "Nope"),
        Target("pkg/missing.py", "x"),
        Target("../outside.py", "x"),
        Target(PATH, "<imports>"),
        Target(PATH, "<module>"),  # the same block as <imports>
    ]
    units, schematics = build_context(repo, targets, EditingConfig())
    assert unit_names(units) == [(PATH, "A.f"), (PATH, "<imports>")]
    assert len(schematics) == 1


# --- candidate_key -------------------------------------------------------------------------------------------------------


def test_candidate_key_ignores_layout_and_comments():
    a = {PATH: "def f():\n    return 1 + 1\n"}
    b = {PATH: "# new\ndef f():\n\n    return (1+1)  # sum\n"}
    assert candidate_key(a) == candidate_key(b)


def test_candidate_key_tells_code_and_paths_apart():
    a = {PATH: "def f():\n    return 2\n"}
    assert candidate_key(a) != candidate_key({PATH: "def f():\n    return 3\n"})
    assert candidate_key(a) != candidate_key({"pkg/other.py": "def f():\n    return 2\n"})
    assert candidate_key(a) != candidate_key({PATH: 'def f():\n    """Doc."""\n    return 2\n'})
    two = {PATH: a[PATH], "pkg/util.py": "x = 1\n"}
    assert candidate_key(two) == candidate_key(dict(reversed(two.items())))


def test_candidate_key_of_text_that_does_not_parse_ignores_comments_and_layout():
    """A file Python cannot parse (say, Python 2 code the engine leaves alone) is compared as text,
    comments and layout aside."""
    a = {PATH: "print 'x'\ndef f():\n    return 1\n"}
    assert candidate_key(a) == candidate_key({PATH: "print 'x'\ndef f():\n      return 1   # one\n"})
    assert candidate_key(a) == candidate_key({PATH: "print 'x'\n\n# a comment line\ndef f():\n    return 1\n"})


def test_candidate_key_of_text_that_does_not_parse_keeps_hashes_in_strings():
    a = {PATH: "print 'x'\ndef f():\n    return '#1'\n"}
    assert candidate_key(a) != candidate_key({PATH: "print 'x'\ndef f():\n    return '#2'\n"})


def test_a_model_answer_mixing_kinds_becomes_one_candidate_and_a_bad_search_is_retried(make, fake_openai, repo):
    mixed = "\n".join([
        edit("""
            def f(self):
                return SEP
            """),
        edit('SEP = "/"\n', unit="SEP"),
        '<edit path="pkg/util.py">\n<<<<<<< SEARCH\n    return x + x\n=======\n    return 2 * x\n>>>>>>> REPLACE\n</edit>',
        '<edit path="docs/notes.txt" unit="<file>">\nf returns SEP now.\n</edit>',
    ])
    missing = '<edit path="pkg/util.py">\n<<<<<<< SEARCH\n    return x - x\n=======\n    return 0\n>>>>>>> REPLACE\n</edit>'
    gen, _ = make("editing.temperatures=[0.0]")
    fake_openai.script_chat([missing, mixed])
    out = gen.generate(ISSUE, TARGETS)
    (cand,) = out.candidates
    retry = fake_openai.chat_requests()[1].messages[-1]["content"]
    assert "edit 1 (pkg/util.py search/replace): the search text is not in the file; the closest line is 2" in retry
    assert cand.attempts == 2 and cand.lint_clean
    assert cand.files[PATH] == ORIGINAL.replace("return 1\n", "return SEP\n").replace(
        "import os\n", 'import os\n\nSEP = "/"\n')
    assert cand.files["pkg/util.py"] == "def twice(x):\n    return 2 * x\n"
    assert cand.files["docs/notes.txt"] == "f returns SEP now.\n"
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=repo, input=cand.diff.encode(), capture_output=True)
    assert check.returncode == 0, check.stderr

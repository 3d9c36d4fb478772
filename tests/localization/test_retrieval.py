"""Hybrid retrieval on a small repository: lexical scores, the issue's signals, dense scores
from a fake embedder, and the config fields that weigh them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
from fakes.repos import TOY

from agent.settings import load_settings
from configs.errors import UserError
from localization.index import build_index
from localization.localize import Localizer, clean_issue
from localization.models import MODULE_UNIT
from localization.retrieval import HybridRetriever
from localization.tokens import path_tokens, split_identifier, tokenize

pytestmark = pytest.mark.usefixtures("clean_env")

SIGNALS = ("traceback", "path", "dotted", "identifier")


def no_signals_but(*keep: str) -> list[str]:
    return [f"retrieval.signal_{name}_weight=0" for name in SIGNALS if name not in keep]


@pytest.fixture
def repo(toy_repo) -> Path:
    return toy_repo


@pytest.fixture
def rank(repo, tmp_path):
    """rank(issue, *overrides) -> Ranking, with a retriever built per distinct overrides."""

    def _rank(issue: str, *overrides: str, embedder=None):
        s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none", *overrides])
        idx = build_index(repo, s.index, s.retrieval.body_max_chars)
        return HybridRetriever(idx, s, embedder).rank(issue)

    return _rank


def top_file(r) -> str:
    return r.files[0][0]


def top_unit(r) -> str:
    return r.units[0][0].uid


# --- tokens --------------------------------------------------------------------------------


def test_split_identifier_camel_and_snake():
    assert split_identifier("getHTTPResponse") == ["get", "http", "response"]
    assert split_identifier("get_http_response") == ["get", "http", "response"]
    assert split_identifier("__init__") == ["init"]
    assert split_identifier("IOError") == ["io", "error"]
    assert split_identifier("sha256Digest") == ["sha256", "digest"]


def test_split_identifier_acronym_with_digits():
    assert split_identifier("HTTP2Connection") == ["http2", "connection"]
    assert split_identifier("getUTF8String") == ["get", "utf8", "string"]


def test_tokenize_keeps_the_whole_identifier_and_its_parts():
    toks = tokenize("getHTTPResponse")
    assert toks[0] == "gethttpresponse"
    assert {"http", "response"} <= set(toks)
    assert "get_http_response" in tokenize("get_http_response")
    assert {"http", "response"} <= set(tokenize("get_http_response"))


def test_tokenize_drops_stopwords_and_single_letters():
    toks = tokenize("if the x is None: return self.value")
    assert toks == ["value"]


def test_path_tokens():
    assert path_tokens("pkg/net/session.py") == ["pkg", "net", "session"]
    assert path_tokens("pkg/http_client.py") == ["pkg", "http_client", "http", "client"]


# --- issue kinds rank the right file and unit first ------------------------------------------


def test_identifier_ranks_its_definition_first(rank):
    r = rank("getHTTPResponse returns the wrong thing")
    assert top_file(r) == "pkg/net/session.py"
    assert top_unit(r) == "pkg/net/session.py::getHTTPResponse"


def test_snake_case_identifier_ranks_its_definition_first(rank):
    r = rank("parse_header breaks on quoted values")
    assert top_file(r) == "pkg/text.py"
    assert top_unit(r) == "pkg/text.py::parse_header"


TRACEBACK = textwrap.dedent(
    """\
    Saving a record to storage crashes
    Traceback (most recent call last):
      File "/usr/lib/python3/site-packages/pkg/mod.py", line 9, in other
    ValueError: bad
    """
)


def test_traceback_frame_ranks_its_file_and_function_first(rank):
    r = rank(TRACEBACK)
    assert top_file(r) == "pkg/mod.py"
    assert top_unit(r) == "pkg/mod.py::Klass.other"
    assert "issue mentions traceback frame pkg/mod.py:9" in r.notes


def test_traceback_weight_is_used(rank):
    # With the other signals off, the frame alone decides; without it, the words win.
    on = rank(TRACEBACK, *no_signals_but("traceback"))
    off = rank(TRACEBACK, *no_signals_but())
    assert (top_file(on), top_unit(on)) == ("pkg/mod.py", "pkg/mod.py::Klass.other")
    assert top_file(off) == "pkg/storage.py"
    assert top_unit(off) != "pkg/mod.py::Klass.other"


DOTTED = "Saving a record to storage is broken, see pkg.mod.Klass.method"


def test_dotted_name_ranks_its_unit_first(rank):
    r = rank(DOTTED)
    assert top_file(r) == "pkg/mod.py"
    assert top_unit(r) == "pkg/mod.py::Klass.method"


def test_dotted_weight_is_used(rank):
    assert top_unit(rank(DOTTED, *no_signals_but("dotted"))) == "pkg/mod.py::Klass.method"
    assert top_unit(rank(DOTTED, *no_signals_but())) != "pkg/mod.py::Klass.method"


PATH = "Saving records: storage written wrong, see pkg/text.py"


def test_path_ranks_its_file_first(rank):
    r = rank(PATH)
    assert top_file(r) == "pkg/text.py"
    assert top_unit(r).startswith("pkg/text.py::")


def test_path_and_words_pick_the_unit(rank):
    r = rank("The ratio is wrong in pkg/mod.py")
    assert top_file(r) == "pkg/mod.py"
    assert top_unit(r) == "pkg/mod.py::func"


def test_path_weight_is_used(rank):
    assert top_file(rank(PATH, *no_signals_but("path"))) == "pkg/text.py"
    assert top_file(rank(PATH, *no_signals_but())) == "pkg/storage.py"


IDENT = "Saving a record to storage is slow when calling Klass"


def test_identifier_weight_is_used(rank):
    assert top_unit(rank(IDENT, *no_signals_but("identifier"))) == "pkg/mod.py::Klass"
    assert top_unit(rank(IDENT, *no_signals_but())) == "pkg/storage.py::RecordStore.save_record"


def test_lexical_words_alone(rank):
    r = rank("Saving a record to disk storage fails")
    assert top_file(r) == "pkg/storage.py"
    assert top_unit(r) == "pkg/storage.py::RecordStore.save_record"
    assert r.notes == []


def test_lexical_weight_is_used(rank):
    issue = "Saving a record to disk storage fails"
    assert top_unit(rank(issue, *no_signals_but())) == "pkg/storage.py::RecordStore.save_record"
    r = rank(issue, *no_signals_but(), "retrieval.lexical_weight=0", "retrieval.file_lexical_weight=0")
    assert all(score == 0 for _, score in r.units)
    assert all(score == 0 for _, score in r.files)


def test_ranking_covers_every_file_and_non_module_unit(rank, repo):
    r = rank("anything at all")
    assert sorted(p for p, _ in r.files) == sorted(TOY)
    assert all(u.name != MODULE_UNIT for u, _ in r.units)
    assert len(r.units) == 14
    scores = [s for _, s in r.units]
    assert scores == sorted(scores, reverse=True)


def test_unit_file_weight_lifts_units_of_the_named_file(rank):
    issue = "The ratio is wrong in pkg/mod.py"
    with_share = dict((u.uid, s) for u, s in rank(issue).units)
    without = dict((u.uid, s) for u, s in rank(issue, "retrieval.unit_file_weight=0").units)
    assert with_share["pkg/mod.py::Klass.other"] > without["pkg/mod.py::Klass.other"]


def test_property_setter_appears_once_in_the_answer(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "box.py").write_text(
        "class Box:\n    @property\n    def size(self):\n        return self._size\n\n"
        "    @size.setter\n    def size(self, size):\n        self._size = size\n"
    )
    s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none"])
    result = Localizer.open(repo, s).localize("Box.size setter ignores the size")
    names = [u.name for u in result.units]
    assert names.count("Box.size") == 1
    assert result.mode == "retrieval"


# --- the localizer without a model ---------------------------------------------------------------


def test_localize_without_model_respects_top_counts(repo, tmp_path):
    s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none",
                                 "localization.top_files=2", "localization.top_units=3"])
    result = Localizer.open(repo, s).localize("getHTTPResponse returns the wrong thing")
    assert result.mode == "retrieval"
    assert len(result.files) == 2 and len(result.units) == 3
    assert result.units[0].name == "getHTTPResponse" and result.units[0].path == "pkg/net/session.py"
    assert (result.units[0].start_line, result.units[0].end_line) == (9, 10)
    assert set(result.public()) == {"files", "units", "notes"}


def test_clean_issue():
    with pytest.raises(UserError):
        clean_issue("  \n\t ", 100)
    assert clean_issue("  abcdef  ", 3) == "abc"


def test_issue_is_truncated_to_issue_max_chars(repo, tmp_path):
    s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none",
                                 "localization.issue_max_chars=20"])
    # The identifier sits past the limit, so it cannot decide the ranking.
    r = Localizer.open(repo, s).retrieve("Saving disk storage " + "x " * 20 + "getHTTPResponse")
    assert top_file(r) == "pkg/storage.py"


# --- dense retrieval with fake embedders -------------------------------------------------------


class FakeEmbedder:
    """Embeds texts with a caller-supplied function; counts calls."""

    def __init__(self, fn, name: str = "fake-embedder"):
        self.name = name
        self.fn = fn
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        return self.fn(texts)


def keyword_vectors(keyword: str):
    """Texts containing `keyword` point one way, every other text another way."""

    def fn(texts):
        return np.asarray([[1.0, 0.0] if keyword in t else [0.0, 1.0] for t in texts], dtype=np.float32)

    return fn


def test_dense_scores_change_the_ranking(rank):
    issue = "the thing is broken"
    # Lexical and signals off: only the embedder can order the units.
    off = ["retrieval.lexical_weight=0", "retrieval.file_lexical_weight=0", *no_signals_but(), "retrieval.dense_weight=1"]
    embedder = FakeEmbedder(lambda texts: np.asarray(
        [[1.0, 0.0] if t == issue else ([1.0, 0.0] if "format_date" in t else [0.0, 1.0]) for t in texts],
        dtype=np.float32))
    r = rank(issue, *off, embedder=embedder)
    assert top_unit(r) == "pkg/text.py::format_date"
    assert r.notes == []
    assert embedder.calls and embedder.calls[0] == [issue]


def test_dense_vectors_are_cached(rank):
    embedder = FakeEmbedder(keyword_vectors("record"))
    rank("saving a record", embedder=embedder)
    first_texts = sum(len(c) for c in embedder.calls[1:])
    assert first_texts > 0
    embedder.calls.clear()
    rank("saving a record", embedder=embedder)
    assert embedder.calls == [["saving a record"]]  # only the query; unit vectors came from the cache


def test_lazy_top_k_limits_embedded_units(rank):
    embedder = FakeEmbedder(keyword_vectors("record"))
    rank("saving a record", "embeddings.lazy_top_k=3", "embeddings.file_top_k=2", embedder=embedder)
    assert [len(c) for c in embedder.calls] == [1, 3, 2]  # the query once, 3 units, 2 file summaries


def test_lazy_top_k_zero_disables_dense(rank):
    embedder = FakeEmbedder(keyword_vectors("record"))
    rank("saving a record", "embeddings.lazy_top_k=0", embedder=embedder)
    assert embedder.calls == []


def _lexical_only(rank, issue, *overrides):
    r = rank(issue, *overrides)
    return [(u.uid, round(s, 5)) for u, s in r.units], [(p, round(s, 5)) for p, s in r.files]


@pytest.mark.parametrize(
    "fn, reason",
    [
        (lambda texts: np.ones((len(texts), 4 if len(texts) == 1 else 5), dtype=np.float32), "dimension"),
        (lambda texts: np.zeros((len(texts), 4), dtype=np.float32), "zeros"),
        (lambda texts: np.ones(len(texts), dtype=np.float32), "vectors"),  # 1-D: wrong shape
        (lambda texts: np.ones((max(len(texts) - 1, 0) or 2, 4), dtype=np.float32), "vectors"),  # wrong count
        (lambda texts: np.full((len(texts), 4), np.nan, dtype=np.float32), "NaN"),
    ],
    ids=["wrong-dim", "all-zero", "one-dimensional", "wrong-count", "nan"],
)
def test_bad_vectors_fall_back_to_lexical_with_a_note(rank, capsys, fn, reason):
    issue = "Saving a record to disk storage fails"
    expected_units, expected_files = _lexical_only(rank, issue)
    r = rank(issue, embedder=FakeEmbedder(fn))
    assert any(n.startswith("warning: dense retrieval skipped") and reason in n for n in r.notes), r.notes
    assert [(u.uid, round(s, 5)) for u, s in r.units] == expected_units
    assert [(p, round(s, 5)) for p, s in r.files] == expected_files


def test_dense_fallback_surfaces_in_localization_notes(repo, tmp_path):
    s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none"])
    loc = Localizer.open(repo, s)
    loc.retriever = HybridRetriever(loc.index, s, FakeEmbedder(lambda t: np.zeros((len(t), 3), dtype=np.float32)))
    result = loc.localize("Saving a record to disk storage fails")
    assert result.units[0].name == "RecordStore.save_record"
    assert any("dense retrieval skipped" in n for n in result.notes)


def test_cached_vectors_of_another_dimension_do_not_crash(repo, tmp_path):
    # Same embedder name, different dimension (e.g. the same model name served by another endpoint).
    s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none"])
    idx = build_index(repo, s.index, s.retrieval.body_max_chars)
    HybridRetriever(idx, s, FakeEmbedder(lambda t: np.ones((len(t), 4), dtype=np.float32), "same")).rank("storage record")
    (repo / "pkg/text.py").write_text((repo / "pkg/text.py").read_text() + "\n\ndef storage_record():\n    pass\n")
    idx = build_index(repo, s.index, s.retrieval.body_max_chars)
    r = HybridRetriever(idx, s, FakeEmbedder(lambda t: np.ones((len(t), 8), dtype=np.float32), "same")).rank("storage record")
    assert r.units  # either re-embedded or skipped with a note, never a crash
    assert "pkg/text.py::storage_record" in {u.uid for u, _ in r.units}


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_repo_with_only_empty_python_files(tmp_path):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / "pkg" / "__init__.py").write_text("")
    s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none"])
    try:
        result = Localizer.open(repo, s).localize("anything")
    except UserError:
        return
    assert result.units == []


def test_strip_noise_drops_environment_text_but_keeps_code():
    from localization.retrieval import strip_noise

    issue = (
        "xfail marker ignored\n<!-- Thanks for submitting an issue! checklist -->\n"
        "Description here\n```\naiohttp        3.6.2\nsix==1.16.0\n```\n"
        "<details>\nplatform linux, many plugins\n</details>\n"
        "```python\ndef test(request):\n    request.node.add_marker(mark)\n```\n"
    )
    cleaned = strip_noise(issue)
    for gone in ("checklist", "aiohttp", "six", "plugins"):
        assert gone not in cleaned
    for kept in ("xfail marker ignored", "Description here", "request.node.add_marker(mark)"):
        assert kept in cleaned


def test_title_identifier_factor_is_used():
    from localization.config import RetrievalConfig
    from localization.models import Unit
    from localization.signals import SignalResolver

    units_ = [Unit(path="a.py", name="Derivative", kind="class", start_line=1, end_line=3),
              Unit(path="b.py", name="Integral", kind="class", start_line=1, end_line=3)]
    resolver = SignalResolver(units_, ["a.py", "b.py"])
    cfg = RetrievalConfig(signal_identifier_weight=0.5, title_identifier_factor=3.0)
    sig = resolver.resolve("Wrong Derivative kind\n\nIntegral works fine", cfg)
    assert sig.units["a.py::Derivative"] == 1.5
    assert sig.units["b.py::Integral"] == 0.5


def test_dense_weights_for_units_and_files_are_separate(rank):
    issue = "saving a record fails"
    # The structure off: what dense raises would pass a share along it, to files too.
    lexical_units, lexical_files = _lexical_only(rank, issue, "retrieval.file_best_unit_weight=0", "retrieval.structure_weight=0")
    embedder = FakeEmbedder(keyword_vectors("format_date"))  # dense points away from the lexical answer
    unit_only = ["retrieval.dense_weight=1", "retrieval.dense_file_weight=0", "retrieval.file_summary_weight=0", "retrieval.structure_weight=0"]
    r = rank(issue, *unit_only, "retrieval.file_best_unit_weight=0", embedder=embedder)
    assert [(p, round(s, 5)) for p, s in r.files] == lexical_files  # files untouched by dense
    assert [(u.uid, round(s, 5)) for u, s in r.units] != lexical_units
    r = rank(issue, "retrieval.dense_weight=0", "retrieval.dense_file_weight=1", embedder=embedder)
    assert [(p, round(s, 5)) for p, s in r.files] != lexical_files
    # A file's best unit, dense included, reaches the file's score through file_best_unit_weight.
    r = rank(issue, *unit_only, "retrieval.file_best_unit_weight=1", embedder=embedder)
    assert [(p, round(s, 5)) for p, s in r.files] != lexical_files


def test_file_summary_weight_is_used(rank):
    issue = "the thing is broken"
    # The query and pkg/text.py point the same way; every other text points elsewhere.
    embedder = FakeEmbedder(lambda texts: np.asarray(
        [[1.0, 0.0] if (t == issue or t.startswith("pkg/text.py")) else [0.0, 1.0] for t in texts], dtype=np.float32))
    unit_dense_off = ["retrieval.dense_weight=0", "retrieval.dense_file_weight=0", "embeddings.file_top_k=50"]
    off = rank(issue, *unit_dense_off, "retrieval.file_summary_weight=0", embedder=embedder)
    on = rank(issue, *unit_dense_off, "retrieval.file_summary_weight=5", embedder=embedder)
    assert off.files[0][0] != "pkg/text.py"
    assert on.files[0][0] == "pkg/text.py"


ABBREVIATED = {
    "pkg/__init__.py": "",
    "pkg/grid.py": '''
        class Grid:
            def __repr__(self):
                return "Grid(%d, %d) " % (self.rows, self.cols)

            def resize(self, rows):
                self.rows = rows
    ''',
}


def test_code_words_that_abbreviate_query_words_join_the_unit_query(tmp_path):
    """An issue says "representation"; the code says `__repr__`."""
    from fakes.tree import write_tree

    repo = write_tree(tmp_path / "repo", ABBREVIATED)

    def ranked(*overrides: str) -> list[str]:
        s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none", "retrieval.structure_weight=0",
                                     *no_signals_but(), *overrides])
        idx = build_index(repo, s.index, s.retrieval.body_max_chars)
        return [u.uid for u, _ in HybridRetriever(idx, s).rank("The representation of a grid ends in a space").units]

    assert ranked()[0] == "pkg/grid.py::Grid.__repr__"
    assert ranked("retrieval.query_prefix_min_chars=0")[0] == "pkg/grid.py::Grid"
    assert ranked("retrieval.query_prefix_weight=0")[0] == "pkg/grid.py::Grid"
    # "repr" is 4 characters: a minimum of 5 leaves it out.
    assert ranked("retrieval.query_prefix_min_chars=5")[0] == "pkg/grid.py::Grid"

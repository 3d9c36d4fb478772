"""The code's structure: what the parser records (bases, calls, imports), how names resolve to
edges, how retrieval spreads scores along them, and the cache of the edges."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest

from agent.settings import load_settings
from localization.graph_cache import cached_edges
from localization.index import build_index
from localization.languages.python import calls_in, imports_in, parse_source
from localization.retrieval import HybridRetriever, Ranking
from localization.structure import CodeGraph, build_edges

pytestmark = pytest.mark.usefixtures("clean_env")


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


# A public class named by issues, whose behaviour sits in a mixin two bases up, in a file whose
# words the issue does not use.
HIERARCHY = {
    "pkg/__init__.py": "",
    "pkg/helpers.py": '''
        class Printable:
            """Mixin: how objects print."""
            def __str__(self):
                return render_text(self)

        def render_text(obj):
            return repr(obj)
        ''',
    "pkg/basic.py": '''
        from .helpers import Printable

        class Basic(Printable):
            def args(self):
                return ()
        ''',
    "pkg/symbol.py": '''
        from pkg.basic import Basic

        class Symbol(Basic):
            """A named symbol."""
            def name(self):
                return self._name

        def symbols(names):
            return [Symbol(n) for n in names.split()]
        ''',
    "pkg/unrelated.py": '''
        def attribute_dict(x):
            return x.__dict__

        def slots_of(x):
            return x.__slots__
        ''',
}


def graph_of(root: Path, tmp_path: Path, max_defs: int = 8) -> CodeGraph:
    s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none"])
    idx = build_index(root, s.index, s.retrieval.body_max_chars)
    return CodeGraph(idx.units, build_edges(idx.units, max_defs))


# --- what the parser records ---------------------------------------------------------------


def test_parser_records_bases_calls_and_imports():
    src = textwrap.dedent('''
        from .core import Basic, Expr as E
        from ..a.b import (x,  # a comment
            y)
        import os, numpy as np
        class Symbol(AtomicExpr, mixins.Boolean, metaclass=Meta):
            size = compute(1)
            def f(self):
                return self.g(2) + bar (3) + Sym(4)
        def h():
            if (x):
                helper()
        ''').encode()
    units = {u.name: u for u in parse_source(src).units}
    assert units["Symbol"].bases == ["AtomicExpr", "mixins.Boolean"]  # metaclass= is not a base
    assert units["Symbol"].calls == ["compute"]  # its methods' calls are theirs
    assert units["Symbol.f"].calls == ["g", "bar", "Sym"]
    assert units["h"].calls == ["helper"]  # `if (` is not a call
    assert units["<module>"].imports == [".core.Basic", ".core.Expr", "..a.b.x", "..a.b.y", "os", "numpy"]


def test_calls_and_imports_edge_cases():
    assert calls_in("def f(x):\n    return g(x)\nclass C(B): pass") == ["g"]
    assert imports_in("from . import a\nfrom .. import *\n") == [".a", ".."]


# --- edges ---------------------------------------------------------------------------------


def test_bases_resolve_through_imports_and_hops_count(tmp_path):
    g = graph_of(write(tmp_path / "r", HIERARCHY), tmp_path)
    sym = g.index_of("pkg/symbol.py::Symbol")
    assert [(g.units[j].name, hops) for j, hops in g.ancestors(sym, 4)] == [("Basic", 1), ("Printable", 2)]
    assert g.ancestors(sym, 1) == [(g.index_of("pkg/basic.py::Basic"), 1)]
    basic = g.index_of("pkg/basic.py::Basic")
    assert g.subclasses[basic].tolist() == [sym]


def test_a_local_definition_wins_over_others_and_common_names_are_dropped(tmp_path):
    files = {
        "a.py": "def run():\n    return util()\n\ndef util():\n    return 1\n",
        "b.py": "def util():\n    return 2\n\ndef go():\n    return util() + shared()\n",
        **{f"m{i}.py": "def shared():\n    return 0\n" for i in range(3)},
    }
    root = write(tmp_path / "r", files)
    g = graph_of(root, tmp_path, max_defs=2)
    callee_names = lambda uid: sorted(g.units[j].uid for j in g.callees[g.index_of(uid)])  # noqa: E731
    assert callee_names("a.py::run") == ["a.py::util"]  # not b.py's util
    assert callee_names("b.py::go") == ["b.py::util"]  # `shared` has 3 definitions: more than max_defs
    assert sorted(callee_names("b.py::go") + ["x"]) != ["x"]
    g3 = graph_of(root, tmp_path, max_defs=3)
    assert len(g3.callees[g3.index_of("b.py::go")]) == 4


def test_spread_follows_bases_with_decay_and_shares_fans(tmp_path):
    g = graph_of(write(tmp_path / "r", HIERARCHY), tmp_path)
    sym = g.index_of("pkg/symbol.py::Symbol")
    bonus, why = g.spread([(sym, 1.0)], decay=0.5, max_hops=4)
    basic, printable = g.index_of("pkg/basic.py::Basic"), g.index_of("pkg/helpers.py::Printable")
    assert bonus[basic] == pytest.approx(0.5) and bonus[printable] == pytest.approx(0.25)
    assert g.describe(printable, why[printable]) == "`Printable` is a base of `Symbol`"
    assert bonus[sym] == 0  # a seed gets nothing from itself
    # A function passes its share to what it calls and what calls it.
    fn = g.index_of("pkg/helpers.py::Printable.__str__")
    bonus, why = g.spread([(fn, 1.0)], decay=0.5, max_hops=4)
    render = g.index_of("pkg/helpers.py::render_text")
    assert bonus[render] == pytest.approx(0.5) and why[render].kind == "calls"
    # ... and a method to its class, whose body holds what the methods share.
    assert bonus[printable] == pytest.approx(0.5)
    assert g.describe(printable, why[printable]) == "`Printable` holds `Printable.__str__`"
    assert bonus[basic] == 0  # the class's bases are not the method's


def test_import_edges_join_the_module_units_of_files_python_and_javascript(tmp_path):
    g = graph_of(write(tmp_path / "r", HIERARCHY), tmp_path)
    imported = lambda path: sorted(g.units[j].path for j in g.imports[g.index_of(f"{path}::<module>")])  # noqa: E731
    assert imported("pkg/symbol.py") == ["pkg/basic.py"] and imported("pkg/basic.py") == ["pkg/helpers.py"]
    assert imported("pkg/unrelated.py") == []
    js = write(tmp_path / "js", {
        "src/constant.js": "export const MS = 'millisecond'\n",
        "src/utils.js": "const C = require('./constant')\nmodule.exports = { pad: (s) => s }\n",
        "src/plugin/utc/index.js": "import { MS } from '../../constant'\nimport U from '../../utils.js'\nexport default (o) => MS\n",
    })
    g = graph_of(js, tmp_path)
    assert imported("src/plugin/utc/index.js") == ["src/constant.js", "src/utils.js"]
    assert imported("src/utils.js") == ["src/constant.js"]


# --- retrieval -----------------------------------------------------------------------------


def test_structure_raises_a_base_class_the_issue_does_not_name(tmp_path):
    root = write(tmp_path / "r", HIERARCHY)
    issue = "Symbol instances have __dict__ since 1.7\n\nSymbol('s').__dict__ should not exist; Symbol defines __slots__."

    def rank(*overrides: str):
        s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none", *overrides])
        return HybridRetriever(build_index(root, s.index, s.retrieval.body_max_chars), s).rank(issue)

    files_off = [p for p, _ in rank("retrieval.structure_weight=0").files]
    on = rank("retrieval.structure_weight=2")
    files_on = [p for p, _ in on.files]
    assert files_on.index("pkg/helpers.py") < files_off.index("pkg/helpers.py")
    assert on.related["pkg/helpers.py::Printable"] == "`Printable` is a base of `Symbol`"
    assert rank("retrieval.structure_weight=0").related == {}


# A constants module the issue's words do not reach, imported by the file they do.
UTC_FILES = {
    "src/utc.js": "import { REGEX_TZ } from './constant'\n"
                  "export const parseUtc = (date) => { const offset = date.match(REGEX_TZ); return offset }\n",
    "src/constant.js": "export const REGEX_TZ = /^(\\d{4})$/\nexport const MS = 1\n",
    **{f"src/other{i}.js": f"export const offset{i} = (date) => date.utc + {i}\n" for i in range(6)},
}
UTC_ISSUE = "dayjs.utc() dropped timezone offset support\n\nparseUtc ignores the offset of a utc date."


def test_the_map_holds_the_files_the_best_files_import(tmp_path):
    """A constants module the issue's words do not reach: outside the best-ranked files, but in the
    map, because the file the issue names imports it."""
    root = write(tmp_path / "r", UTC_FILES)
    issue = UTC_ISSUE
    s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none"])
    ranking = HybridRetriever(build_index(root, s.index, s.retrieval.body_max_chars), s).rank(issue)
    ranked = [p for p, _ in ranking.files]
    assert ranked[0] == "src/utc.js" and ranked.index("src/constant.js") >= 4
    assert next(iter(ranking.imported.items())) == ("src/constant.js", "src/utc.js")
    assert "src/constant.js" in ranking.map(4, 1) and "src/constant.js" not in ranking.map(4, 0)
    s0 = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none", "retrieval.import_seed_files=0"])
    assert HybridRetriever(build_index(root, s0.index, s0.retrieval.body_max_chars), s0).rank(issue).imported == {}


def test_the_last_of_the_top_files_goes_to_the_file_the_best_files_import_most(tmp_path):
    root = write(tmp_path / "r", UTC_FILES)
    issue = UTC_ISSUE

    def rank(*overrides: str):
        s = load_settings(overrides=[f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none", "localization.top_files=4", *overrides])
        return HybridRetriever(build_index(root, s.index, s.retrieval.body_max_chars), s).rank(issue)

    plain = [p for p, _ in rank("retrieval.import_file_slots=0").files]
    slotted = rank("retrieval.import_file_slots=1", "retrieval.import_file_min_share=0")
    files_slotted = [p for p, _ in slotted.files]
    assert plain.index("src/constant.js") > 3 and files_slotted.index("src/constant.js") == 3
    # The best three keep their places; the fourth moves down one; no file is lost or repeated.
    assert files_slotted[:3] == plain[:3] and files_slotted[4] == plain[3] and sorted(files_slotted) == sorted(plain)
    assert "src/constant.js placed 4th: imported by src/utc.js" in slotted.notes
    # The issue's words do not reach constant.js at all: under half the fourth file's score, it keeps its place.
    kept = rank("retrieval.import_file_slots=1", "retrieval.import_file_min_share=0.5")
    assert [p for p, _ in kept.files] == plain and not any("placed" in n for n in kept.notes)
    # Already among the top files: nothing moves.
    assert [p for p, _ in rank("retrieval.import_file_slots=1", "retrieval.import_file_min_share=0", "localization.top_files=8").files] == plain


def test_stage_one_map_shows_an_imported_file_beyond_the_best_ones(tmp_path, fake_openai, localizer_with_model):
    root = write(tmp_path / "r", {
        "src/utc.js": "import { REGEX_TZ } from './constant'\nexport const parseUtc = (date) => date.match(REGEX_TZ)\n",
        "src/constant.js": "export const REGEX_TZ = /Z$/\n",
        **{f"src/other{i}.js": f"export const offset{i} = (date) => date.utc + {i}\n" for i in range(4)},
    })
    fake_openai.script_chat(['```json\n{"files": ["src/constant.js"]}\n```'] * 2 + ['```json\n{"units": ["src/constant.js::REGEX_TZ"]}\n```'] * 2)
    for slots, shown in (("1", True), ("0", False)):
        loc, llm = localizer_with_model(root, "localization.llm_map_files=2", f"localization.llm_map_import_files={slots}",
                                        "localization.search_steps=0")
        loc.localize("parseUtc drops the utc offset of a date", llm)
        first = [r.messages[-1]["content"] for r in fake_openai.chat_requests() if "## Source files" in r.messages[-1]["content"]][-1]
        assert ("  constant.js  (imported by src/utc.js)" in first) is shown and "  utc.js\n" in first


def test_map_composition():
    ranking = Ranking(files=[(f"f{i}", 1.0 - i / 10) for i in range(8)], units=[], imported={"f1": "f0", "x": "f0", "y": "f1", "z": "f0"})
    # f1 is already among the best: the slots go to x and y; never more than half the map.
    assert ranking.map_with_notes(4, 2) == (["f0", "f1", "x", "y"], {"x": "imported by f0", "y": "imported by f1"})
    assert ranking.map(4, 3) == ["f0", "f1", "x", "y"]
    assert ranking.map(4, 0) == ["f0", "f1", "f2", "f3"]
    # Fewer imported files than slots: the ranking fills the rest, without repeats.
    short = Ranking(files=ranking.files, units=[], imported={"f6": "f0"})
    assert short.map(4, 2) == ["f0", "f1", "f6", "f2"]
    assert len(ranking.map(20, 10)) == 8 + 3 and len(set(ranking.map(20, 10))) == 11


# --- the cache of edges --------------------------------------------------------------------


def test_edges_cache_loads_what_was_built_and_rebuilds_damage(tmp_path):
    built = {"bases": np.array([[1, 0]], dtype=np.int32), "calls": np.array([[0, 2], [2, 1]], dtype=np.int32),
             "imports": np.array([[2, 0]], dtype=np.int32)}
    calls = []

    def build():
        calls.append(1)
        return built

    first = cached_edges(tmp_path, "k", 4, 3, build)
    again = cached_edges(tmp_path, "k", 4, 3, build)
    assert len(calls) == 1 and all(np.array_equal(first[k], again[k]) for k in built)
    (tmp_path / "graph" / "k" / "edges.npz").write_bytes(b"not a zip")
    cached_edges(tmp_path, "k", 4, 3, build)
    assert len(calls) == 2
    # Edges that do not fit the index (fewer units now) are a miss too.
    cached_edges(tmp_path, "k", 4, 2, build)
    assert len(calls) == 3
    # An entry written before import edges existed lacks a kind: a miss, not a crash.
    np.savez(tmp_path / "graph" / "k" / "edges.npz", bases=built["bases"], calls=built["calls"])
    assert np.array_equal(cached_edges(tmp_path, "k", 4, 3, build)["imports"], built["imports"]) and len(calls) == 4


def test_stage_one_shows_how_the_structure_led_to_a_unit(tmp_path, fake_openai, localizer_with_model):
    root = write(tmp_path / "r", HIERARCHY)
    loc, llm = localizer_with_model(root, "retrieval.structure_weight=2", "localization.search_steps=0")
    fake_openai.script_chat(['```json\n{"files": ["pkg/helpers.py"]}\n```'] * 2 + ['```json\n{"units": ["pkg/helpers.py::Printable"]}\n```'])
    result = loc.localize("Symbol instances have __dict__ since 1.7", llm)
    first = fake_openai.chat_requests()[0].messages[-1]["content"]
    assert "pkg/helpers.py :: Printable (lines" in first
    assert "found through the code: `Printable` is a base of `Symbol`" in first
    assert result.units[0].name == "Printable"

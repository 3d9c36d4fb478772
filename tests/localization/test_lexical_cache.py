"""Built BM25 indexes are cached by tree state: loaded when unchanged, rebuilt when damaged."""

from __future__ import annotations

import numpy as np

import localization.lexical_cache as lc

DOCS = [["parse", "header"], ["send", "request", "session"], ["draw", "chart"]]


def counting(monkeypatch) -> list[int]:
    calls = []
    real = lc.build_bm25

    def build(docs, k1, b):
        calls.append(1)
        return real(docs, k1, b)

    monkeypatch.setattr(lc, "build_bm25", build)
    return calls


def test_second_use_loads_instead_of_building(tmp_path, monkeypatch):
    calls = counting(monkeypatch)
    key = lc.snapshot_key("units", {"a.py": "h1"}, {"k1": 1.5})
    first = lc.cached_bm25(tmp_path, key, 4, lambda: DOCS, 1.5, 0.75)
    second = lc.cached_bm25(tmp_path, key, 4, lambda: DOCS, 1.5, 0.75)
    assert len(calls) == 1
    q = ["session", "request"]
    assert np.allclose(first.get_scores(q), second.get_scores(q))
    assert int(np.argmax(second.get_scores(q))) == 1


def test_key_changes_with_file_content_and_parameters():
    base = lc.snapshot_key("units", {"a.py": "h1"}, {"k1": 1.5})
    assert lc.snapshot_key("units", {"a.py": "h2"}, {"k1": 1.5}) != base
    assert lc.snapshot_key("units", {"a.py": "h1"}, {"k1": 1.2}) != base
    assert lc.snapshot_key("files", {"a.py": "h1"}, {"k1": 1.5}) != base


def test_damaged_entry_is_rebuilt(tmp_path, monkeypatch):
    calls = counting(monkeypatch)
    key = lc.snapshot_key("units", {"a.py": "h1"}, {})
    lc.cached_bm25(tmp_path, key, 4, lambda: DOCS, 1.5, 0.75)
    for f in (tmp_path / "bm25" / key).iterdir():
        if f.name != "complete":
            f.write_bytes(b"garbage")
    model = lc.cached_bm25(tmp_path, key, 4, lambda: DOCS, 1.5, 0.75)
    assert len(calls) == 2
    assert int(np.argmax(model.get_scores(["chart"]))) == 2


def test_old_entries_are_pruned(tmp_path):
    import os

    for i in range(4):
        lc.cached_bm25(tmp_path, f"k{i}", 10, lambda: DOCS, 1.5, 0.75)
        os.utime(tmp_path / "bm25" / f"k{i}", (1000 + i, 1000 + i))
    lc.cached_bm25(tmp_path, "k4", 3, lambda: DOCS, 1.5, 0.75)
    kept = sorted(p.name for p in (tmp_path / "bm25").iterdir() if not p.name.startswith("."))
    assert kept == ["k2", "k3", "k4"]

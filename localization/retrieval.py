"""Retrieval: lexical (BM25 over units and over whole files), dense (embeddings of the top
lexical candidates), and the issue's own signals, fused into unit and file rankings.

Scores are each scaled to [0, 1] by their maximum and summed with the configured weights;
a unit's final score also carries a share of its file's score, so that units in files the
issue points at rise together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

from localization.config import LocalizationSettings, RetrievalConfig
from localization.dense import Embedder, EmbeddingError, VectorCache, dense_scores
from localization.graph_cache import cached_edges
from localization.index import CodeIndex
from localization.lexical_cache import cached_bm25, snapshot_key
from localization.models import MODULE_UNIT, Unit
from localization.signals import SignalResolver
from localization.structure import CodeGraph, build_edges
from localization.tokens import issue_title, path_tokens, split_identifier, tokenize

# Relations are described for the best units only; the model is shown fewer.
_RELATED_SHOWN = 100
_GRAPH_SCHEMA = 2  # the kinds of edges a cached graph holds: 2 added imports


class Retriever(Protocol):
    """Scores every unit of an index for a query (one float per unit, index order)."""

    def scores(self, query: str) -> np.ndarray: ...


_HTML_COMMENT = re.compile(r"<!--.*?-->", re.S)
_DETAILS = re.compile(r"<details>.*?</details>", re.S | re.I)
# `pip list` / `pip freeze` / `conda list` rows: a package name and a version, nothing else.
_PACKAGE_ROW = re.compile(r"^\s*[A-Za-z0-9_.\-\[\]]+(\s+|==)v?\d+(\.\w+)+\S*(\s+\S+)?\s*$", re.M)


def strip_noise(issue: str) -> str:
    """The issue without template comments, collapsed <details> blocks and package-version
    listings: text about the environment, not the code. Signals still see the whole issue."""
    text = _HTML_COMMENT.sub(" ", issue)
    text = _DETAILS.sub(" ", text)
    return _PACKAGE_ROW.sub(" ", text)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _slotted(order: list[int], wanted: list[int], top: int) -> tuple[list[int], list[tuple[int, int]]]:
    """The last places of the `top` files go to the `wanted` files (the ones the best files import
    most) not already among them: a fix that spans files often changes the helper or constants
    module its main file imports, which the issue's words reach only in part. The best file
    keeps its place. Returns the new order and (place, file) for each file moved up."""
    extra = [i for i in wanted if i not in order[:top]][: top - 1]  # the best file stays
    keep = top - len(extra)
    return order[:keep] + extra + [i for i in order[keep:] if i not in extra], [(keep + k, i) for k, i in enumerate(extra)]


def _normalized(x: np.ndarray) -> np.ndarray:
    top = float(x.max()) if x.size else 0.0
    return x / top if top > 0 else np.zeros_like(x)


def _query_tokens(query: str, title_repeat: int = 1) -> list[str]:
    """Each distinct token once; the issue's title (first line) counts `title_repeat` times."""
    tokens = list(dict.fromkeys(tokenize(query)))
    return tokens + list(dict.fromkeys(tokenize(issue_title(query)))) * (title_repeat - 1)


def _prefixes(tokens: list[str], vocab: dict, min_chars: int) -> list[str]:
    """The code's words that abbreviate query words by a prefix: code writes `repr`, `init`,
    `param` where an issue writes representation, initialization, parameters."""
    if min_chars <= 0:
        return []
    extra = [t[:k] for t in tokens for k in range(min_chars, len(t)) if t[:k] in vocab]
    return [t for t in dict.fromkeys(extra) if t not in tokens]


class LexicalRetriever:
    """BM25 over units: name tokens and path tokens repeated so that they outweigh body text."""

    def __init__(self, index: CodeIndex, settings: LocalizationSettings):
        cfg = settings.retrieval
        self._cfg = cfg

        def docs() -> list[list[str]]:
            out = []
            for unit in index.units:
                name_toks = [] if unit.name == MODULE_UNIT else split_identifier(unit.leaf) + [unit.leaf.lower()]
                out.append(name_toks * cfg.name_tokens_boost + path_tokens(unit.path) * cfg.path_tokens_boost + unit.tokens)
            return out

        params = {"name": cfg.name_tokens_boost, "path": cfg.path_tokens_boost, "k1": cfg.bm25_k1, "b": cfg.bm25_b,
                  "body": cfg.body_max_chars}
        key = snapshot_key("units", index.file_hashes, params)
        self._model = cached_bm25(settings.index.cache_dir, key, settings.index.bm25_cache_entries, docs, cfg.bm25_k1, cfg.bm25_b)

    def scores(self, query: str) -> np.ndarray:
        tokens = _query_tokens(query, self._cfg.query_title_repeat)
        scores = np.asarray(self._model.get_scores(tokens), dtype=np.float32)
        extra = _prefixes(tokens, self._model.vocab_dict, self._cfg.query_prefix_min_chars)
        if extra and self._cfg.query_prefix_weight > 0:
            scores = scores + self._cfg.query_prefix_weight * np.asarray(self._model.get_scores(extra), dtype=np.float32)
        return scores


class FileLexicalRetriever:
    """BM25 over whole files (path plus every unit's tokens): the classic file-level baseline."""

    def __init__(self, index: CodeIndex, settings: LocalizationSettings):
        cfg = settings.retrieval
        self._cfg = cfg

        def docs() -> list[list[str]]:
            by_path: dict[str, list[str]] = {p: path_tokens(p) * cfg.path_tokens_boost for p in index.paths}
            for unit in index.units:
                by_path[unit.path].extend(unit.tokens)
            return [by_path[p] for p in index.paths]

        params = {"path": cfg.path_tokens_boost, "k1": cfg.bm25_k1, "b": cfg.bm25_b, "body": cfg.body_max_chars}
        key = snapshot_key("files", index.file_hashes, params)
        self._model = cached_bm25(settings.index.cache_dir, key, settings.index.bm25_cache_entries, docs, cfg.bm25_k1, cfg.bm25_b)

    def scores(self, query: str) -> np.ndarray:
        return np.asarray(self._model.get_scores(_query_tokens(query, self._cfg.query_title_repeat)), dtype=np.float32)


class DenseRetriever:
    """Embeds lazily: only the top lexical candidates are embedded, with vectors cached on disk."""

    def __init__(self, index: CodeIndex, settings: LocalizationSettings, embedder: Embedder):
        self.index = index
        self.cfg = settings.embeddings
        self.embedder = embedder
        self.cache = VectorCache(settings.index.cache_dir, embedder.name)
        self._last_query: tuple[str, np.ndarray] | None = None
        self._by_path: dict[str, list[Unit]] = {}
        for unit in index.units:
            self._by_path.setdefault(unit.path, []).append(unit)

    def unit_text(self, unit: Unit) -> str:
        # tree-sitter counts only "\n" as a line break; str.splitlines() knows more (\f, \x85...).
        lines = self.index.sources.get(unit.path, "").split("\n")
        body = "\n".join(lines[unit.start_line - 1 : unit.end_line])
        return f"{unit.path} {unit.name}\n{body}"[: self.cfg.max_chars]

    def _query_vector(self, query: str) -> np.ndarray:
        """The query is embedded once per rank, however many text sets it is compared with."""
        if self._last_query is None or self._last_query[0] != query:
            self._last_query = (query, np.asarray(self.embedder.embed([query]), dtype=np.float32))
        return self._last_query[1]

    def file_text(self, path: str) -> str:
        """A file's summary: path, module docstring, and the names it defines."""
        units = self._by_path.get(path, [])
        doc = next((u.doc for u in units if u.name == MODULE_UNIT), "")
        names = " ".join(u.name for u in units if u.name != MODULE_UNIT)
        return f"{path}\n{doc}\n{names}"[: self.cfg.max_chars]

    def _similarities(self, query: str, size: int, picked: list[int], texts: list[str]) -> np.ndarray:
        """Similarity for the picked positions of an array of `size`; zero elsewhere."""
        out = np.zeros(size, dtype=np.float32)
        if picked:
            sims = dense_scores(self.embedder, self.cache, query, texts, self._query_vector(query))
            out[np.asarray(picked)] = np.clip(sims, 0, None)
        return out

    def file_scores_for(self, query: str, files: list[int]) -> np.ndarray:
        texts = [self.file_text(self.index.paths[i]) for i in files]
        return self._similarities(query, len(self.index.paths), files, texts)

    def scores_for(self, query: str, candidates: list[int]) -> np.ndarray:
        texts = [self.unit_text(self.index.units[i]) for i in candidates]
        return self._similarities(query, len(self.index.units), candidates, texts)


@dataclass
class Ranking:
    files: list[tuple[str, float]]
    units: list[tuple[Unit, float]]
    notes: list[str] = field(default_factory=list)
    related: dict[str, str] = field(default_factory=dict)  # uid -> how the code's structure led to it
    imported: dict[str, str] = field(default_factory=dict)  # file -> the best file importing it; most shared first

    def map(self, size: int, import_slots: int) -> list[str]:
        return self.map_with_notes(size, import_slots)[0]

    def map_with_notes(self, size: int, import_slots: int) -> tuple[list[str], dict[str, str]]:
        """The files of the model's map: the best-ranked ones, with up to `import_slots` of the last
        places (never more than half) given to the files the best ones import: a fix often sits in
        a helper, a base or the constants a named module uses, which the issue's words do not reach.
        Those come with a note of what imports them."""
        ranked = [p for p, _ in self.files]
        slots = min(import_slots, size // 2)
        head = ranked[: size - slots]
        shown = set(head)
        extra = [p for p in self.imported if p not in shown][:slots]
        shown.update(extra)
        rest = [p for p in ranked[len(head):] if p not in shown][: size - len(head) - len(extra)]
        return head + extra + rest, {p: f"imported by {self.imported[p]}" for p in extra}


class HybridRetriever:
    """Builds its indexes once per code index; `rank` answers any number of issues."""

    def __init__(self, index: CodeIndex, settings: LocalizationSettings, embedder: Embedder | None = None):
        self.index = index
        self.settings = settings
        self.lexical: Retriever = LexicalRetriever(index, settings)
        self.file_lexical: Retriever = FileLexicalRetriever(index, settings)
        self.dense = DenseRetriever(index, settings, embedder) if embedder is not None else None
        self.signals = SignalResolver(index.units, index.paths, index.sources)
        self._path_pos = {p: i for i, p in enumerate(index.paths)}
        self._uid_pos = {u.uid: i for i, u in enumerate(index.units)}
        self._file_of = np.asarray([self._path_pos[u.path] for u in index.units], dtype=np.int64)
        self._module_unit = {int(self._file_of[i]): i for i, u in enumerate(index.units) if u.name == MODULE_UNIT}

    @cached_property
    def graph(self) -> CodeGraph:
        """The code's structure, built (or loaded) on first use: runs with structure_weight and import_seed_files 0 never pay for it."""
        index, settings = self.index, self.settings
        max_defs = settings.retrieval.identifier_max_defs
        key = snapshot_key("graph", index.file_hashes, {"max_defs": max_defs, "edges": _GRAPH_SCHEMA})
        edges = cached_edges(settings.index.cache_dir, key, settings.index.bm25_cache_entries, len(index.units),
                             lambda: build_edges(index.units, max_defs))
        return CodeGraph(index.units, edges)

    def rank(self, issue: str, cfg: RetrievalConfig | None = None) -> Ranking:
        """`cfg` overrides the settings' retrieval weights (the benchmark compares several)."""
        cfg = cfg or self.settings.retrieval
        units = self.index.units
        paths = self.index.paths
        notes: list[str] = []
        query = strip_noise(issue)
        lex = _normalized(self.lexical.scores(query))
        unit_score = cfg.lexical_weight * lex
        sig = self.signals.resolve(issue, cfg)
        for uid, bonus in sig.units.items():
            unit_score[self._uid_pos[uid]] += bonus
        dense = np.zeros_like(unit_score)
        if self.dense is not None and self.settings.embeddings.lazy_top_k != 0 and units:
            k = self.settings.embeddings.lazy_top_k
            candidates = list(np.argsort(-unit_score, kind="stable")[:k])
            try:
                dense = _normalized(self.dense.scores_for(issue, candidates))
            except EmbeddingError as exc:
                notes.append(f"warning: dense retrieval skipped ({exc}); lexical retrieval alone")
        # Dense similarity separates units within a file better than it separates files: two weights.
        unit_for_files = unit_score + cfg.dense_file_weight * dense
        unit_score = unit_score + cfg.dense_weight * dense
        related: dict[str, str] = {}
        if cfg.structure_weight > 0 and cfg.structure_seeds > 0 and units:
            spread, why = self._spread(unit_score, cfg)
            unit_score = unit_score + spread
            unit_for_files = unit_for_files + spread
            related = {units[int(j)].uid: self.graph.describe(int(j), why[int(j)]) for j in np.argsort(-unit_score, kind="stable")[:_RELATED_SHOWN]
                       if int(j) in why}

        file_score = np.zeros(len(paths), dtype=np.float32)
        # Best unit, plus a decaying share of the next few: a file with several matching units ranks higher.
        per_file: dict[int, list[float]] = {}
        for i, s in enumerate(unit_for_files):
            per_file.setdefault(int(self._file_of[i]), []).append(float(s))
        for f, scores in per_file.items():
            top = sorted(scores, reverse=True)[: cfg.file_units_counted]
            file_score[f] = sum(s * cfg.file_unit_decay**j for j, s in enumerate(top))
        file_score = _normalized(file_score) + cfg.file_lexical_weight * _normalized(self.file_lexical.scores(query))
        for path, bonus in sig.files.items():
            file_score[self._path_pos[path]] += bonus
        if cfg.file_best_unit_weight > 0 and units:
            best = np.zeros(len(paths), dtype=np.float32)
            np.maximum.at(best, self._file_of, unit_score)
            file_score = file_score + cfg.file_best_unit_weight * _normalized(best)
        emb = self.settings.embeddings
        if self.dense is not None and cfg.file_summary_weight > 0 and emb.file_top_k > 0 and emb.lazy_top_k != 0:
            top_files = list(np.argsort(-file_score, kind="stable")[: emb.file_top_k])
            try:
                file_score = file_score + cfg.file_summary_weight * _normalized(self.dense.file_scores_for(issue, top_files))
            except EmbeddingError as exc:
                notes.append(f"warning: dense file scoring skipped ({exc})")

        imported = self._imported(file_score, cfg.import_seed_files) if cfg.import_seed_files > 0 and units else {}
        final_unit = unit_score + cfg.unit_file_weight * _normalized(file_score)[self._file_of]
        file_order = np.argsort(-file_score, kind="stable").tolist()
        if cfg.import_file_slots > 0 and imported:
            # Importing is evidence beside the issue's words, not instead of them: a file they do not reach
            # (under `import_file_min_share` of the score of the file it would displace) keeps its place.
            top = min(self.settings.localization.top_files, len(file_order))
            floor = cfg.import_file_min_share * float(file_score[file_order[top - 1]])
            wanted = [j for p in list(imported)[: cfg.import_file_slots] if file_score[j := self._path_pos[p]] >= floor]
            file_order, placed = _slotted(file_order, wanted, top)
            notes += [f"{paths[i]} placed {_ordinal(at + 1)}: imported by {imported[paths[i]]}" for at, i in placed]
        unit_order = np.argsort(-final_unit, kind="stable")
        return Ranking(
            files=[(paths[i], float(file_score[i])) for i in file_order],
            units=[(units[i], float(final_unit[i])) for i in unit_order if units[i].name != MODULE_UNIT],
            notes=notes + [f"issue mentions {e}" for e in dict.fromkeys(sig.found)][:20],
            related=related,
            imported=imported,
        )

    def _imported(self, file_score: np.ndarray, seeds: int) -> dict[str, str]:
        """The files the `seeds` best files import, by the sum of their importers' scores, each
        shared as 1/sqrt(n) among the n files it imports (as a relation is in the structure); each
        with the best of its importers."""
        share = np.zeros_like(file_score)
        importer: dict[int, int] = {}
        for f in np.argsort(-file_score, kind="stable")[:seeds].tolist():
            m = self._module_unit.get(f)
            targets = self.graph.imports[m] if m is not None else []
            if len(targets) and file_score[f] > 0:
                files = self._file_of[targets]
                share[files] += float(file_score[f]) / np.sqrt(len(targets))
                for t in files.tolist():
                    importer.setdefault(t, f)  # the seeds come best first
        paths = self.index.paths
        return {paths[i]: paths[importer[i]] for i in np.argsort(-share, kind="stable").tolist() if share[i] > 0}

    def _spread(self, unit_score: np.ndarray, cfg: RetrievalConfig) -> tuple[np.ndarray, dict]:
        """The best units each pass `structure_weight` of their score along the code's structure."""
        order = np.argsort(-unit_score, kind="stable")[: cfg.structure_seeds]
        seeds = [(int(i), cfg.structure_weight * float(unit_score[i])) for i in order if unit_score[i] > 0]
        return self.graph.spread(seeds, cfg.structure_decay, cfg.structure_max_hops)

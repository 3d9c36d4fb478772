"""The three LLM stages of localization, each narrowing the one before:

1. file map + retrieved units  -> candidate files, or an action: then a bounded search loop
   (search.py: query the index, find a definition or references, read a schematic or a unit)
   until the model names files, at most `search_steps` calls
2. schematic maps of candidates -> the files that matter
3. schematic maps of those      -> the units to change, checked against the index
   (unknown names are re-asked with the valid choices)

Any stage whose model call fails leaves the retrieval ranking standing for what is left.
The model is anything with `complete` (ChatModel); the agent's client is one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from configs.errors import LLMError
from configs.rendering import render
from localization.config import LocalizationConfig
from localization.index import CodeIndex, list_files
from localization.languages import file_statements
from localization.localize_result import merge_ranked, ranking_to_localization
from localization.models import FILE_TARGET, MODULE_UNIT, SPAN_TARGET, Localization, Unit
from localization.repomap import file_tree, schematic, text_file_map
from localization.retrieval import Ranking
from localization.search import SearchTools, json_objects, parse_action
from localization.search import known_paths as _known_paths
from localization.signals import named_text_files
from localization.structure import CodeGraph


class ChatModel(Protocol):
    """A model that answers chat messages; a failed call raises configs.errors.LLMError."""

    def complete(self, messages: list[dict[str, str]], temperature: float | None = None, n: int = 1) -> list[str]: ...


@dataclass
class StageLog:
    """Prompts and answers of every stage, for the run record."""

    calls: list[dict[str, str]] = field(default_factory=list)


def parse_answer(text: str, key: str) -> list[str]:
    """The list under `key` in the model's JSON answer; tolerant of prose and missing fences."""
    for data in json_objects(text):
        if isinstance(data.get(key), list):
            return [str(x).strip() for x in data[key] if str(x).strip()]
    return []


def _ask(llm: ChatModel, prompt: str, log: StageLog, stage: str, history: list[dict[str, str]] | None = None) -> tuple[str, list[dict[str, str]]]:
    messages = [*(history or []), {"role": "user", "content": prompt}]
    answer = llm.complete(messages)[0]
    log.calls.append({"stage": stage, "prompt": prompt, "response": answer})
    return answer, [*messages, {"role": "assistant", "content": answer}]


class _Files:
    """The text of the files in play, read once: their statements, spans and whole-file targets."""

    def __init__(self, index: CodeIndex):
        self.index = index
        self.texts: dict[str, str | None] = {}
        self.parsed: dict[str, list[Unit]] = {}

    def text(self, path: str) -> str | None:
        if path not in self.texts:
            try:
                self.texts[path] = self.index.sources.get(path) or (self.index.root / path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                self.texts[path] = None
        return self.texts[path]

    def statements(self, path: str) -> list[Unit]:
        if path not in self.parsed:  # asked by each stage's maps, each name and the re-ask: parsed once
            text = self.text(path) if self.is_source(path) else None
            self.parsed[path] = [u.model_copy(update={"path": path}) for u in file_statements(path, text.encode("utf-8"))] if text else []
        return self.parsed[path]

    def is_source(self, path: str) -> bool:
        """Whether `path` is code in a language the index reads (any other file is shown as text)."""
        return self.index.reads(path)

    def schematic(self, path: str, units: list[Unit]) -> str:
        if not self.is_source(path) and (text := self.text(path)) is not None:
            return text_file_map(path, text)
        return schematic(path, units, self.statements(path))

    def target(self, path: str, name: str) -> Unit | None:
        """A statement, span or whole-file target the index does not hold."""
        text = self.text(path)
        if text is None:
            return None
        lines = max(len(text.splitlines()), 1)
        if name == FILE_TARGET:
            return Unit(path=path, name=name, kind="file", start_line=1, end_line=lines)
        span = SPAN_TARGET.match(name)
        if span:
            lo, hi = int(span.group(1)), int(span.group(2))
            return Unit(path=path, name=name, kind="span", start_line=lo, end_line=hi) if 1 <= lo <= hi <= lines else None
        return next((u for u in self.statements(path) if u.name == name), None)


def _resolve_units(names: list[str], by_uid: dict[str, Unit], files: list[str], extra: _Files | None = None) -> tuple[list[Unit], list[str]]:
    found: list[Unit] = []
    unknown: list[str] = []
    for raw in names:
        path, sep, qual = raw.strip().strip("`").partition("::")
        if not sep:  # a bare name: accept it when it is unique among the files in play
            qual, path = path, ""
        candidates = [by_uid.get(f"{p}::{qual}") or (extra.target(p, qual) if extra and p in files else None) for p in ([path] if path else files)]
        hits = [u for u in candidates if u is not None]
        if len(hits) == 1:
            if hits[0] not in found:
                found.append(hits[0])
        else:
            unknown.append(raw)
    return found, unknown


def _search_loop(llm: ChatModel, tools: SearchTools, answer: str, history: list[dict[str, str]], log: StageLog) -> list[str]:
    """Each step shows the result of the model's last action (or why its answer could not be used)
    and asks again; an answer naming files and no action ends the loop. The files it named last."""
    named: list[str] = []
    steps = tools.cfg.search_steps
    for step in range(1, steps + 1):
        prompt = render("localize_search_result.j2", result=tools.run(answer), step=step, steps=steps,
                        max_files=tools.cfg.llm_candidate_files)
        answer, history = _ask(llm, prompt, log, "search", history)
        named = _known_paths(parse_answer(answer, "files"), tools.paths) or named
        if named and parse_action(answer) is None:
            break
    return named


def run_stages(issue: str, ranking: Ranking, index: CodeIndex, cfg: LocalizationConfig, llm: ChatModel,
               search: Callable[[str], Ranking] | None = None, graph: Callable[[], CodeGraph] | None = None) -> Localization:
    """`search` ranks the index for the model's free-text queries in the search loop; `graph`
    gives the code's structure, for its `references` action."""
    log = StageLog()
    notes: list[str] = []
    texts = _Files(index)
    named = named_text_files(issue, list_files(index.root), index.reads)[: cfg.llm_text_files]
    paths = set(index.paths) | set(named)
    ranked_files = [p for p, _ in ranking.files]
    units_by_path: dict[str, list[Unit]] = {}
    for unit in index.units:
        units_by_path.setdefault(unit.path, []).append(unit)
    by_uid = {u.uid: u for u in index.units if u.name != MODULE_UNIT}

    picked: list[str] = []  # the model's files so far, kept if a later stage fails
    chosen: list[Unit] = []
    try:
        retrieved = [u for u, _ in ranking.units[: cfg.llm_retrieved_units]]
        shown, imported_by = ranking.map_with_notes(cfg.llm_map_files, cfg.llm_map_import_files)
        prompt = render("localize_files.j2", issue=issue, file_map=file_tree(shown + named, imported_by),
                        retrieved=retrieved, related=ranking.related, max_files=cfg.llm_candidate_files, search_steps=cfg.search_steps)
        answer, history = _ask(llm, prompt, log, "files")
        candidates = picked = _known_paths(parse_answer(answer, "files"), paths)[: cfg.llm_candidate_files]
        if cfg.search_steps and parse_action(answer) is not None:
            found = _search_loop(llm, SearchTools(index, texts, paths, units_by_path, cfg, search, graph), answer, history, log)
            if not found:
                notes.append(f"the search loop ended after {cfg.search_steps} steps with no file named")
            candidates = picked = found[: cfg.llm_candidate_files] or picked
        if not candidates:
            notes.append("stage 1 named no known file; retrieval's files stand in")
            candidates = ranked_files[: cfg.llm_candidate_files]

        prompt = render("localize_schematic.j2", issue=issue, max_files=cfg.llm_schematic_files,
                        schematics=[texts.schematic(p, units_by_path.get(p, [])) for p in candidates])
        answer, _ = _ask(llm, prompt, log, "schematic")
        narrowed = [p for p in _known_paths(parse_answer(answer, "files"), paths) if p in candidates][: cfg.llm_schematic_files]
        if narrowed:
            picked = narrowed
        else:
            notes.append("stage 2 kept no candidate file; stage 1's files stand in")
            narrowed = candidates[: cfg.llm_schematic_files]
            picked = picked[: cfg.llm_schematic_files]  # only what the model itself named counts as its pick

        prompt = render("localize_units.j2", issue=issue, max_units=cfg.llm_max_units,
                        schematics=[texts.schematic(p, units_by_path.get(p, [])) for p in narrowed])
        answer, history = _ask(llm, prompt, log, "units")
        chosen, unknown = _resolve_units(parse_answer(answer, "units"), by_uid, narrowed, texts)
        for _ in range(cfg.llm_reask):
            if not unknown:
                break
            choices = [u.uid for p in narrowed for u in [*units_by_path.get(p, []), *texts.statements(p)] if u.name != MODULE_UNIT]
            choices += [f"{p}::{FILE_TARGET}" for p in narrowed if not texts.is_source(p)]
            answer, history = _ask(llm, render("localize_reask.j2", unknown=unknown, choices=choices), log, "reask", history)
            more, unknown = _resolve_units(parse_answer(answer, "units"), by_uid, narrowed, texts)
            chosen.extend(u for u in more if u not in chosen)
        if unknown:
            notes.append(f"model named unknown units, ignored: {', '.join(unknown)}")
        chosen = chosen[: cfg.llm_max_units]
    except LLMError as exc:
        notes.append(f"model failed: {exc}; the retrieval ranking stands in for the rest")
    if not picked and not chosen:
        return ranking_to_localization(ranking, cfg.top_files, cfg.top_units, "retrieval", notes=notes, llm_calls=log.calls)
    return merge_ranked(ranking, picked, chosen, cfg.top_files, cfg.top_units, notes=notes, llm_calls=log.calls)

"""The actions of the search loop after stage 1, answered from the index:

search      a free-text query through the retriever: ranked files and units
definition  where a unit of that leaf or qualified name is defined
references  the lines whose source mentions the identifier as a whole word
schematic   a file's schematic, as stage 2 shows it
open        a unit's source lines (or a statement's, a span's, a file's)

`run` turns one model answer into what the next prompt shows: a result, or why the answer
could not be used. Every number shown is capped by a config field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from localization.config import LocalizationConfig
from localization.index import CodeIndex
from localization.languages import module_names
from localization.models import FILE_TARGET, MODULE_UNIT, Unit
from localization.retrieval import Ranking
from localization.structure import CodeGraph

ACTIONS = {"search": "query", "definition": "name", "references": "name", "schematic": "path", "open": "unit"}
_JSON_BLOCK = re.compile(r"```(?:json)?\s*(\{.*?\})\s*```", re.S)
_OBJECT = re.compile(r"\{.*\}", re.S)
_LINE_CHARS = 160  # a reference line is cut to this many characters


def json_objects(text: str) -> Iterator[dict]:
    """The JSON objects of a model's answer: fenced ones (the last first), then any bare one."""
    for candidate in [*reversed(_JSON_BLOCK.findall(text)), *(_OBJECT.findall(text))]:
        try:
            data = json.loads(candidate)
        except json.JSONDecodeError:
            continue
        if isinstance(data, dict):
            yield data


def parse_action(text: str) -> dict | None:
    """The first JSON object of the answer that names an action (known or not)."""
    return next((data for data in json_objects(text) if "action" in data), None)


def known_paths(names: list[str], paths: set[str]) -> list[str]:
    out = []
    for name in names:
        name = name.strip().strip("`").lstrip("./")
        if name in paths and name not in out:
            out.append(name)
        else:  # a model may shorten or lengthen a path: accept one unambiguous suffix match
            hits = [p for p in paths if p.endswith("/" + name) or name.endswith("/" + p)]
            if len(hits) == 1 and hits[0] not in out:
                out.append(hits[0])
    return out


class FileTexts(Protocol):
    """The files in play as stages.py reads them."""

    def text(self, path: str) -> str | None: ...
    def schematic(self, path: str, units: list[Unit]) -> str: ...
    def target(self, path: str, name: str) -> Unit | None: ...


@dataclass
class Result:
    """What one action found (`lines`), or why the answer could not be used (`error`)."""

    heading: str = ""
    lines: list[str] = field(default_factory=list)
    error: str = ""


def _unit_line(unit: Unit) -> str:
    sig = f" — `{unit.signature}`" if unit.signature else ""
    return f"{unit.uid} (lines {unit.start_line}-{unit.end_line}){sig}"


def _dotted(unit: Unit) -> str:
    """`pkg.mod.Klass.method` for pkg/mod.py::Klass.method."""
    return f"{module_names(unit.path)[0]}.{unit.name}"


@dataclass
class SearchTools:
    index: CodeIndex
    texts: FileTexts
    paths: set[str]  # what the model may name: indexed files and the text files the issue names
    units_by_path: dict[str, list[Unit]]
    cfg: LocalizationConfig
    search: Callable[[str], Ranking] | None = None
    graph: Callable[[], CodeGraph] | None = None  # the code's structure, built on first use

    def run(self, answer: str) -> Result:
        action = parse_action(answer)
        if action is None:
            return Result(error="it was neither an action nor a list of files the repository has")
        name = action.get("action")
        if not isinstance(name, str) or name not in ACTIONS:
            return Result(error=f"{json.dumps(name)} is no action")
        arg = action.get(ACTIONS[name])
        if not isinstance(arg, str) or not arg.strip():
            return Result(error=f'the action "{name}" needs a "{ACTIONS[name]}" string')
        return getattr(self, f"_{name}")(arg.strip())

    def _search(self, query: str) -> Result:
        if self.search is None:
            return Result(error="search is not available in this run; use the other actions")
        ranking = self.search(query)
        n = self.cfg.search_results
        lines = ["Files, best first:", *(f"- {p}" for p, _ in ranking.files[:n]),
                 "Units, best first:", *(f"- {_unit_line(u)}" for u, _ in ranking.units[:n])]
        return Result(f"search {json.dumps(query)}", lines)

    def _definitions(self, name: str) -> list[Unit]:
        path, sep, qual = name.partition("::")
        if sep:
            return [u for u in self.units_by_path.get(path, []) if u.name == qual]
        units = (u for us in self.units_by_path.values() for u in us if u.name != MODULE_UNIT)
        if "." not in name:
            return [u for u in units if u.leaf == name]
        return [u for u in units if u.name == name or ("." + _dotted(u)).endswith("." + name)]

    def _definition(self, name: str) -> Result:
        found = self._definitions(name)
        lines = [f"- {_unit_line(u)}" for u in found[: self.cfg.search_results]]
        if len(found) > len(lines):
            lines.append(f"({len(found) - len(lines)} more)")
        return Result(f"definition {json.dumps(name)}", lines or ["no unit of that name is defined in the indexed files"])

    def _references(self, name: str) -> Result:
        # Who calls or subclasses it, as the index resolved the names (through imports), before the
        # text that mentions it: the text scan finds comments and namesakes too.
        lines = self._related(name)
        word = re.compile(rf"(?<!\w){re.escape(name.rpartition('.')[2].rpartition('::')[2])}(?!\w)")
        hits = [f"- {path}:{i}: {line.strip()[:_LINE_CHARS]}" for path, text in sorted(self.index.sources.items())
                for i, line in enumerate(text.splitlines(), 1) if word.search(line)]
        shown = hits[: self.cfg.search_results]
        if lines and shown:
            lines.append("Lines that mention it:")
        lines += shown
        if len(hits) > len(shown):
            files = len({h.split(":", 1)[0] for h in hits})
            lines.append(f"({len(hits)} lines in {files} files; the first {len(shown)} shown)")
        return Result(f"references {json.dumps(name)}", lines or ["no indexed file mentions it"])

    def _related(self, name: str) -> list[str]:
        found = self._definitions(name)
        if self.graph is None or not found:
            return []
        graph = self.graph()
        at = [i for u in found if (i := graph.index_of(u.uid)) is not None]
        lines: list[str] = []
        for title, edges in (("Called by", graph.callers), ("Subclassed by", graph.subclasses)):
            uids = list(dict.fromkeys(graph.units[j].uid for i in at for j in edges[i].tolist()))
            if uids:
                lines += [f"{title} (names resolved through imports):", *(f"- {u}" for u in uids[: self.cfg.search_results])]
                if len(uids) > self.cfg.search_results:
                    lines.append(f"({len(uids) - self.cfg.search_results} more)")
        return lines

    def _schematic(self, path: str) -> Result:
        hits = known_paths([path], self.paths)
        if not hits:
            return Result(error=f"{path!r} is not a file of the repository")
        return Result(f"schematic {json.dumps(hits[0])}", self.texts.schematic(hits[0], self.units_by_path.get(hits[0], [])).splitlines())

    def _open(self, name: str) -> Result:
        path, sep, qual = name.partition("::")
        hits = known_paths([path], self.paths)
        if sep and hits:
            found = [u for u in self.units_by_path.get(hits[0], []) if u.name == qual] or [self.texts.target(hits[0], qual)]
        elif not sep and hits:
            found = [self.texts.target(hits[0], FILE_TARGET)]
        else:
            found = self._definitions(name)
        found = [u for u in found if u is not None]
        if len(found) != 1:
            what = "no such unit" if not found else f"{len(found)} units have that name: {', '.join(u.uid for u in found[:5])}"
            return Result(error=f"{name!r}: {what}; name one as path::QualifiedName")
        unit = found[0]
        text = self.texts.text(unit.path) or ""
        end = min(unit.end_line, unit.start_line + self.cfg.open_max_lines - 1)
        lines = [f"{i:5d} | {line}" for i, line in enumerate(text.splitlines()[unit.start_line - 1: end], unit.start_line)]
        if end < unit.end_line:
            lines.append(f"({unit.end_line - end} more lines: open {unit.path}::<module>:{end + 1}-{unit.end_line} to read on)")
        return Result(f"open {json.dumps(unit.uid)}", lines)

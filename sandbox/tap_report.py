"""A TAP stream read as its test points, subtests included (node-tap writes each test file as a
subtest of the run, and each of its tests as a subtest of the file, indented four spaces a level).
Python's TAP readers (tappy) do not read subtests. Lines that are not TAP (what a test printed)
are passed over."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

_POINT = re.compile(r"^(?P<indent> *)(?P<not>not )?ok\b(?: +\d+)?(?: +-)?(?: +(?P<rest>.*))?$")
# A directive ends the description: `# SKIP why`, `# TODO`; node-tap adds `# time=12.3ms`.
_DIRECTIVE = re.compile(r"\s+#\s*(?P<word>skip|todo)\b.*$", re.I)
_TIME = re.compile(r"\s+#\s*time=\S+\s*$")
_YAML_START = re.compile(r"^(?P<indent> *)---\s*$")


@dataclass
class Point:
    """One `ok`/`not ok` line: its depth (0: the stream's own points), description, whether it
    passed, its directive (`skip`, `todo` or ""), and the YAML block after it, if one parsed."""

    depth: int
    name: str
    ok: bool
    directive: str = ""
    diagnostics: dict = field(default_factory=dict)


def _description(rest: str) -> tuple[str, str]:
    rest = _TIME.sub("", rest or "")
    found = _DIRECTIVE.search(rest)
    if found:
        return rest[: found.start()].strip(), found.group("word").lower()
    return rest.strip(), ""


def read_points(text: str) -> list[Point]:
    """Every test point of the stream in order, with the YAML block that follows it (a block that
    does not parse gives none: the point's status stands without it)."""
    lines = text.splitlines()
    points: list[Point] = []
    i = 0
    while i < len(lines):
        found = _POINT.match(lines[i])
        i += 1
        if not found:
            continue
        name, directive = _description(found.group("rest") or "")
        point = Point(depth=len(found.group("indent")) // 4, name=name, ok=not found.group("not"), directive=directive)
        points.append(point)
        start = _YAML_START.match(lines[i]) if i < len(lines) else None
        if start is None:
            continue
        indent, block = len(start.group("indent")), []
        i += 1
        # To its `...`; a line less indented ends it too (a stream cut short).
        while i < len(lines) and lines[i].strip() != "..." and (not lines[i].strip() or lines[i].startswith(" " * indent)):
            block.append(lines[i][indent:])
            i += 1
        i += i < len(lines) and lines[i].strip() == "..."
        try:
            parsed = yaml.safe_load("\n".join(block))
        except yaml.YAMLError:
            parsed = None
        point.diagnostics = parsed if isinstance(parsed, dict) else {}
    return points

"""A TAP stream read as its test points, subtests included (node-tap writes each test file as a
subtest of the run, and each of its tests as a subtest of the file, indented four spaces a level).
Python's TAP readers (tappy) do not read subtests. Lines that are not TAP (what a test printed)
are passed over.

A subtest's points come before the point that closes it (`# Subtest: x`, its points, `ok 1 - x`),
or, buffered, after it between braces (`ok 1 - x {` ... `}`, as tap 14 writes files run in
parallel): each point knows its parent either way."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

_POINT = re.compile(r"^(?P<indent> *)(?P<not>not )?ok\b(?: +\d+)?(?: +-)?(?: +(?P<rest>.*?))?(?P<opens> \{)?\s*$")
# A directive ends the description, after an unescaped `#`: `# SKIP why`, `# TODO`; node-tap adds `# time=12.3ms`.
_DIRECTIVE = re.compile(r"(?:^|\s+)(?<!\\)#\s*(?P<word>skip|todo)\b.*$", re.I)
_DIRECTIVE_AT_END = re.compile(r"(?:^|\s+)#\s*(?P<word>skip|todo)\s*$", re.I)  # ava's: it escapes no `#` in a title
_TIME = re.compile(r"(?:^|\s+)(?<!\\)#\s*time=\S+\s*$")
_YAML_START = re.compile(r"^(?P<indent> *)---\s*$")
_SUBTEST = re.compile(r"^(?P<indent> *)# Subtest: (?P<name>.*?)\s*$")
_BRACE = re.compile(r"^(?P<indent> *)(?P<brace>[{}])\s*$")
_PLAN = re.compile(r"^1\.\.\d+", re.M)


class _Loader(yaml.SafeLoader):
    """node-tap's YAML tags its values (`!re`, `!error`, `!date`): read as the plain values."""


def _untagged(loader: yaml.SafeLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node)
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _untagged)


@dataclass
class Point:
    """One `ok`/`not ok` line: its depth (0: the stream's own points), description (the name of
    the `# Subtest:` it closes, when it closes one), whether it passed, its directive (`skip`,
    `todo` or ""), the YAML block after it, if one parsed, and its parent's position."""

    depth: int
    name: str
    ok: bool
    directive: str = ""
    diagnostics: dict = field(default_factory=dict)
    parent: int | None = None


def _description(rest: str, at_end: bool) -> tuple[str, str]:
    rest = _TIME.sub("", rest or "")
    found = (_DIRECTIVE_AT_END if at_end else _DIRECTIVE).search(rest)
    name, directive = (rest[: found.start()], found.group("word").lower()) if found else (rest, "")
    if not at_end:  # node-tap escapes `#` and `\` in a description
        name = name.replace("\\#", "#").replace("\\\\", "\\")
    return name.strip(), directive


def _diagnostics(block: list[str]) -> dict:
    try:
        parsed = yaml.load("\n".join(block), Loader=_Loader)  # noqa: S506 (a SafeLoader)
    except yaml.YAMLError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def has_plan(text: str) -> bool:
    """Whether the stream has its plan (`1..N`) at the top level: a run cut short may not."""
    return bool(_PLAN.search(text))


def read_points(text: str, directive_at_end: bool = False) -> list[Point]:
    """Every test point of the stream in order, with the YAML block that follows it (a block that
    does not parse gives none: the point's status stands without it). `directive_at_end`: only a
    directive ending the line counts (ava's titles may hold a `#`)."""
    lines = text.splitlines()
    points: list[Point] = []
    subtests: dict[int, str] = {}  # indentation -> the `# Subtest:` opened there and not yet closed
    blocks: list[tuple[int, int]] = []  # open braces: (indentation of their point, its position)
    last_at: dict[int, int] = {}  # indentation -> the last point there
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if found := _SUBTEST.match(line):
            subtests[len(found.group("indent"))] = found.group("name")
            continue
        if found := _BRACE.match(line):
            indent = len(found.group("indent"))
            if found.group("brace") == "{" and indent in last_at:
                blocks.append((indent, last_at[indent]))
            elif found.group("brace") == "}" and blocks and blocks[-1][0] == indent:
                blocks.pop()
            continue
        found = _POINT.match(line)
        if not found:
            continue
        indent = len(found.group("indent"))
        name, directive = _description(found.group("rest") or "", directive_at_end)
        owner = next((p for n, p in reversed(blocks) if n == indent - 4), None)
        point = Point(depth=indent // 4, name=subtests.pop(indent, name) or name, ok=not found.group("not"),
                      directive=directive, parent=owner)
        last_at[indent] = len(points)
        points.append(point)
        for deeper in [n for n in subtests if n > indent]:  # what was open below has ended (a test cut short)
            del subtests[deeper]
        if found.group("opens"):
            blocks.append((indent, len(points) - 1))
        start = _YAML_START.match(lines[i]) if i < len(lines) else None
        if start is None:
            continue
        margin, block = len(start.group("indent")), []
        i += 1
        # To its `...`; a line less indented ends it too (a stream cut short).
        while i < len(lines) and lines[i].strip() != "..." and (not lines[i].strip() or lines[i].startswith(" " * margin)):
            block.append(lines[i][margin:])
            i += 1
        i += i < len(lines) and lines[i].strip() == "..."
        point.diagnostics = _diagnostics(block)
    # Streamed subtests: a point's parent is the first point after it one level up.
    later: dict[int, int] = {}
    for k in range(len(points) - 1, -1, -1):
        point = points[k]
        if point.parent is None and point.depth > 0:
            point.parent = later.get(point.depth - 1)
        later[point.depth] = k
    return points

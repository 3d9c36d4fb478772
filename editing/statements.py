"""Module-level statements that have a name, so an edit can address them as it addresses units:
an assignment by the name it binds (`DEFAULT_FORMAT`, `__all__`, `a, b = ...`), and a top-level
`if` by its head (`if TYPE_CHECKING`). Anything else at module level is edited by search/replace.

Rows are 0-based; `end` is exclusive.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from editing.models import EditError
from editing.source import Source, is_blank
from editing.units import leading_comment_row
from localization.languages.python import normal_name
from localization.languages.python import statement_names as parser_statement_names


@dataclass
class Statement:
    names: list[str]
    first_row: int
    comment_row: int  # first attached leading comment, or first_row
    end: int
    plain: bool  # `=` (a binding) rather than `+=`: a name's binding wins over its updates


def statement_names(src: Source, node: Node) -> tuple[list[str], bool]:
    return parser_statement_names(src.data, node)


def named_statements(src: Source) -> list[Statement]:
    out = []
    for child in src.root.named_children:
        names, plain = statement_names(src, child)
        if names:
            first = child.start_point[0]
            out.append(Statement(names=names, first_row=first, comment_row=leading_comment_row(src, first, ""), end=src.end_row(child) + 1, plain=plain))
    return out


def find_statement(src: Source, name: str) -> Statement | None:
    """The statement a name addresses; None when there is none; EditError when several are equally good."""
    wanted = normal_name(name)
    hits = [s for s in named_statements(src) if wanted in s.names]
    if len(hits) > 1:
        hits = [s for s in hits if s.plain] or hits
    if len(hits) > 1:
        rows = ", ".join(str(s.first_row + 1) for s in hits)
        raise EditError(f"{name} is assigned {len(hits)} times at module level (lines {rows}); use a search/replace edit")
    return hits[0] if hits else None


def unique_statement(src: Source, name: str) -> Statement | None:
    """find_statement, with an ambiguous name answered as no statement."""
    try:
        return find_statement(src, name)
    except EditError:
        return None


def holds_statement(src: Source, name: str) -> bool:
    """Whether `src` (an edit's code) has a top-level statement answering to `name`."""
    wanted = normal_name(name)
    return any(wanted in statement_names(src, child)[0] for child in src.root.named_children)


def head_end(src: Source) -> int:
    """The row after the module's head (docstring, imports, constants before the first
    definition): where a new named statement goes."""
    end = 0
    for child in src.root.named_children:
        if child.type in ("function_definition", "class_definition", "decorated_definition"):
            break
        if child.type != "comment":
            end = src.end_row(child) + 1
    return end


def insertion(src: Source, at: int, lines: list[str]) -> tuple[int, list[str]]:
    """Rows to write at `at` so the new statement stands apart from its neighbours by a blank line."""
    before = [""] if at > 0 and not is_blank(src.lines[at - 1]) else []
    after = [""] if at < len(src.lines) and not is_blank(src.lines[at]) else []
    return at, before + lines + after

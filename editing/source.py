"""A Python source seen as lines plus what tree-sitter knows of them: which rows are
comments, which sit inside a multi-line string, how the file indents; edited copies reparse
incrementally."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import cached_property

from tree_sitter import Node, Query, QueryCursor, Tree

from localization.languages.python import _LANGUAGE, new_parser

_STRINGS = Query(_LANGUAGE, "(string) @string")
_INDENT = re.compile(r"[ \t]*")
DEFAULT_INDENT_UNIT = "    "


def split_lines(text: str) -> list[str]:
    """Lines with their endings, split on "\\n" only (as tree-sitter counts rows)."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


def newline_of(text: str) -> str:
    """The line ending most of the text's lines use."""
    return "\r\n" if text.count("\r\n") * 2 > text.count("\n") else "\n"


def indent_of(line: str) -> str:
    return _INDENT.match(line).group(0)


def is_blank(line: str) -> bool:
    return not line.strip()


def syntax_problem(text: str, first_line: int = 1) -> str | None:
    """Python's complaint about `text` ("line N: message", N counted from `first_line`), or None."""
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return f"line {(exc.lineno or 1) + first_line - 1}: {exc.msg}"
    except (ValueError, RecursionError) as exc:  # null bytes, absurd nesting
        return str(exc)
    return None


def _point(data: bytes, offset: int) -> tuple[int, int]:
    return data.count(b"\n", 0, offset), offset - (data.rfind(b"\n", 0, offset) + 1)


@dataclass
class Source:
    text: str
    previous: Tree | None = None  # an edited tree of the text this one was made from: reparsed incrementally

    @cached_property
    def lines(self) -> list[str]:
        return split_lines(self.text)

    @cached_property
    def data(self) -> bytes:
        return self.text.encode("utf-8")

    @cached_property
    def tree(self) -> Tree:
        tree = new_parser().parse(self.data, self.previous) if self.previous is not None else new_parser().parse(self.data)
        self.previous = None
        return tree

    def replace_rows(self, start: int, end: int, text: str) -> Source:
        """The source with rows [start, end) replaced by `text`; its tree is reparsed incrementally."""
        lines = self.lines
        start_byte = len("".join(lines[:start]).encode("utf-8"))
        old_end = start_byte + len("".join(lines[start:end]).encode("utf-8"))
        new = text.encode("utf-8")
        data = self.data[:start_byte] + new + self.data[old_end:]
        old = self.tree.copy()
        old.edit(
            start_byte=start_byte,
            old_end_byte=old_end,
            new_end_byte=start_byte + len(new),
            start_point=_point(self.data, start_byte),
            old_end_point=_point(self.data, old_end),
            new_end_point=_point(data, start_byte + len(new)),
        )
        result = Source(data.decode("utf-8"), previous=old)
        result.__dict__["data"] = data
        joins = (start > 0 and not lines[start - 1].endswith("\n")) or (end < len(lines) and not text.endswith("\n"))
        result.__dict__["lines"] = split_lines(result.text) if joins else lines[:start] + split_lines(text) + lines[end:]
        for inherited in ("indent_unit", "newline"):  # a file's style does not change with an edit
            if inherited in self.__dict__:
                result.__dict__[inherited] = self.__dict__[inherited]
        return result

    @property
    def root(self) -> Node:
        return self.tree.root_node

    @cached_property
    def strings(self) -> list[Node]:
        return QueryCursor(_STRINGS).captures(self.root).get("string", [])

    @cached_property
    def string_rows(self) -> set[int]:
        """Rows that begin inside a multi-line string: their text belongs to the literal."""
        rows: set[int] = set()
        for node in self.strings:
            first, last = node.start_point[0], node.end_point[0]
            rows.update(range(first + 1, last + 1))
        return rows

    @cached_property
    def newline(self) -> str:
        return newline_of(self.text)

    def in_string(self, row: int) -> bool:
        """Whether the row begins inside a multi-line string (asked of the tree, not the whole file)."""
        node = self.root.descendant_for_point_range((row, 0), (row, 0))
        while node is not None:
            if node.type == "string":
                return node.start_point[0] < row
            node = node.parent
        return False

    def is_comment_row(self, row: int) -> bool:
        return self.lines[row].lstrip().startswith("#") and not self.in_string(row)

    def is_code_row(self, row: int) -> bool:
        line = self.lines[row]
        return not is_blank(line) and not line.lstrip().startswith("#") and not self.in_string(row)

    @cached_property
    def indent_unit(self) -> str:
        """The file's indentation step: the first deeper indentation after a line ending in ':'."""
        previous: tuple[int, str] | None = None
        for row, line in enumerate(self.lines):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            indent = indent_of(line)
            if previous is not None and len(indent) > len(previous[1]) and indent.startswith(previous[1]):
                # Asked of the tree only now, as it costs more than the text tests above.
                if not self.in_string(row) and not self.in_string(previous[0]):
                    return indent[len(previous[1]):]
            previous = (row, indent) if stripped.endswith(":") else None
        return DEFAULT_INDENT_UNIT

    def end_row(self, node: Node) -> int:
        """The last row holding text of `node` (0-based)."""
        row, col = node.end_point
        return row if col > 0 or row == node.start_point[0] else row - 1

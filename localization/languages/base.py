"""What a language is to SuperCoder: how its files are recognised and parsed into units, which of
its files are tests or generated, and how a file is named when another file imports it."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Protocol

from tree_sitter import Node, Parser

from localization.models import Unit


@dataclass
class ParsedFile:
    units: list[Unit]
    has_errors: bool = False


@dataclass
class ParseContext:
    """One file's parse under way: its bytes, the body budget for tokens, the units so far."""

    src: bytes
    body_max_chars: int
    units: list[Unit] = field(default_factory=list)


def package_version(package: str) -> str:
    """An installed package's version ("unknown" from a source tree without metadata)."""
    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
        return "unknown"


def end_line(node: Node) -> int:
    """A node's last line, 1-based: a node ending at column 0 ends on the line before."""
    row, col = node.end_point
    return row + (1 if col > 0 else 0) if row > node.start_point[0] else row + 1


class Language(Protocol):
    name: str  # the short name config and messages use: "python", "javascript", "typescript"
    family: str  # languages of one family are indexed together: a repository is written in one family
    suffixes: tuple[str, ...]  # file name endings that are this language's sources
    exclude: tuple[str, ...]  # globs of this language's tests, declarations and generated files, beside index.exclude

    def grammar_version(self) -> str:
        """The grammar packages' versions: parsed units are cached under it."""

    def new_parser(self, path: str) -> Parser:
        """A tree-sitter parser for `path` (a language may have one grammar per suffix)."""

    def parse(self, src: bytes, body_max_chars: int, parser: Parser) -> ParsedFile:
        """The file's units: its head as `<module>`, then definitions by qualified name."""

    def statements(self, src: bytes, parser: Parser) -> list[Unit]:
        """Named top-level statements (bindings) as units of kind "statement", in order."""

    def module_names(self, path: str) -> list[str]:
        """The dotted names other files import `path` by (`src/pkg/mod.py` -> pkg.mod, src.pkg.mod)."""

    def is_package(self, path: str) -> bool:
        """Whether `path` stands for its folder (`__init__.py`, `index.js`): relative imports start there."""

    def patterns(self, src: str) -> list[tuple[int, str, str]]:
        """The regular expressions the source writes out: (offset, pattern, flags as letters: `i` for
        ignore-case, `a` for ASCII-only classes), the pattern in the syntax Python's `regex` reads; what it
        cannot read is skipped later."""

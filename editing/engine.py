"""CodeEditing: apply unit edits to a repository's files in memory.

Edits to one file apply in turn, each locating its unit by name in the current text, so
they never shift each other. Nothing is written here: the result holds the diff and the
new texts, and the caller decides.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Callable, Protocol

from editing.code import Piece, parse_code
from editing.config import EditingConfig
from editing.diff import changed_rows, file_diff, line_matcher
from editing.lint import new_findings
from editing.models import IMPORTS_UNIT, Edit, EditError, EditResult, LintFinding
from editing.place import place
from editing.source import Source, indent_of, syntax_problem
from editing.units import find, import_block

Reader = Callable[[str], str]


class Editor(Protocol):
    def apply(self, repo: Path, edits: list[Edit]) -> EditResult: ...

    def apply_with(self, read: Reader, edits: list[Edit]) -> EditResult: ...


def check_path(repo: Path, path: str) -> Path:
    """The file an edit names, inside the repository; EditError otherwise."""
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise EditError(f"path must be relative to the repository root: {path!r}")
    if pure.suffix != ".py":
        raise EditError(f"only Python files can be edited: {path}")
    full = repo / pure
    try:
        resolved = full.resolve()
        resolved.relative_to(repo.resolve())
    except (OSError, ValueError):
        raise EditError(f"path leaves the repository: {path}") from None
    if not full.is_file():
        raise EditError(f"no such file in the repository: {path}")
    return full


def repo_reader(repo: Path) -> Reader:
    def read(path: str) -> str:
        full = check_path(repo, path)
        try:
            return full.read_bytes().decode("utf-8")
        except UnicodeDecodeError:
            raise EditError(f"{path} is not UTF-8 text") from None
        except OSError as exc:
            raise EditError(f"cannot read {path}: {exc.strerror}") from None

    return read


def _label(i: int, edit: Edit) -> str:
    return f"edit {i + 1} ({edit.path} {edit.unit})"


def _check_overlaps(edits: list[Edit], pieces: list[list[Piece]]) -> None:
    seen: dict[tuple[str, str, tuple[str, ...]], int] = {}
    for i, edit in enumerate(edits):
        for j, other in enumerate(edits[:i]):
            if other.path != edit.path or IMPORTS_UNIT in (edit.unit, other.unit):
                continue
            if edit.unit.startswith(other.unit + ".") or other.unit.startswith(edit.unit + "."):
                raise EditError(f"{_label(i, edit)} overlaps {_label(j, other)}: one unit holds the other", i)
        target = pieces[i][0]
        key = (edit.path, target.name, tuple(target.decorator_texts))
        if key in seen:
            j = seen[key]
            raise EditError(f"{_label(i, edit)} replaces the same unit as {_label(j, edits[j])}", i)
        seen[key] = i


def _spans(text: str, names: set[str]) -> list[tuple[int, int]]:
    """1-based inclusive line spans of the named units in `text`."""
    src = Source(text)
    out = [(d.comment_row + 1, d.end) for name in names if name != IMPORTS_UNIT for d in find(src, name)]
    if IMPORTS_UNIT in names:
        block = import_block(src)
        if block is not None:
            out.append((block.start + 1, block.end))
    return out


_DEF_TYPES = ("function_definition", "class_definition", "decorated_definition")


def _chunk(edited: Source, j1: int, j2: int) -> tuple[int, int, bool]:
    """Rows of the innermost definition holding rows [j1, j2), else of the top-level statements
    they touch; and whether the rows sit in a block (so may be parsed as one)."""
    last = max(j2, j1 + 1) - 1
    node = edited.root.descendant_for_point_range((j1, 0), (min(last, len(edited.lines) - 1), 0))
    while node is not None and node.parent is not None:
        if node.type in _DEF_TYPES and node.start_point[0] <= j1 and edited.end_row(node) >= last:
            if node.parent.type == "decorated_definition":
                node = node.parent
            block = node.parent
            # In a block, the definition must be indented like the block's first statement.
            nested = block.type == "block" and indent_of(edited.lines[block.named_children[0].start_point[0]]) == indent_of(
                edited.lines[node.start_point[0]]
            )
            return node.start_point[0], edited.end_row(node) + 1, nested
        node = node.parent
    rows = [
        (c.start_point[0], edited.end_row(c) + 1)
        for c in edited.root.named_children
        if c.type != "comment" and c.start_point[0] <= last and edited.end_row(c) >= j1
    ]
    return (min(r[0] for r in rows), max(r[1] for r in rows), False) if rows else (j1, j1, False)


def _changed_problem(edited: Source, matcher) -> str | None:
    """Python's verdict on the definitions the edits touched, each parsed on its own (the rest of
    the file is as it was). tree-sitter alone is lenient where Python is not."""
    for lo, hi, nested in sorted({_chunk(edited, j1, j2) for j1, j2 in changed_rows(matcher)}):
        if hi <= lo:
            continue
        text = "".join(edited.lines[lo:hi])
        if nested and text[:1] in (" ", "\t"):  # an indented definition: parse it as a block
            problem = syntax_problem("if 1:\n" + text, lo)
        else:
            problem = syntax_problem(text, lo + 1)
        if problem:
            return problem
    return None


def apply_edits(
    read: Reader, edits: list[Edit], lint: bool = True, blocking: frozenset[str] = frozenset(), context: int = 3
) -> EditResult:
    """Apply the edits in memory. Raises EditError naming the first edit that cannot apply."""
    pieces: list[list[Piece]] = []
    for i, edit in enumerate(edits):
        try:
            pieces.append(parse_code(edit.unit, edit.code))
        except EditError as exc:
            raise EditError(f"{_label(i, edit)}: {exc}", i) from None
    _check_overlaps(edits, pieces)
    first: dict[str, Source] = {}  # the files as read
    sources: dict[str, Source] = {}  # the files as edited so far
    for i, edit in enumerate(edits):
        if edit.path not in first:
            try:
                sources[edit.path] = first[edit.path] = Source(read(edit.path))
            except EditError as exc:
                raise EditError(f"{_label(i, edit)}: {exc}", i) from None
        before = sources[edit.path]
        try:
            after = place(before, pieces[i])
        except EditError as exc:
            raise EditError(f"{_label(i, edit)}: {exc}", i) from None
        if after.root.has_error and not before.root.has_error:
            problem = syntax_problem(after.text) or "syntax error"
            raise EditError(f"{_label(i, edit)}: the edited file does not parse: {problem}", i)
        sources[edit.path] = after
    result = EditResult(diff="")
    for path, src in sources.items():
        text, original = src.text, first[path].text
        if text == original:
            continue
        matcher = line_matcher(first[path].lines, src.lines)
        # An original that tree-sitter cannot parse (another Python version, say) is not held against the edit.
        if not first[path].root.has_error and (problem := _changed_problem(src, matcher)):
            index = max(i for i, e in enumerate(edits) if e.path == path)
            raise EditError(f"{_label(index, edits[index])}: the edited file does not parse: {problem}", index)
        result.files[path] = text
        result.diff += file_diff(path, original, text, context, matcher)
    for i, edit in enumerate(edits):
        result.units.extend(f"{edit.path}::{p.name}" for p in pieces[i])
    if lint:
        result.lint = _lint(edits, pieces, {path: src.text for path, src in first.items()}, result.files, blocking)
    return result


def _lint(edits, pieces, originals, files, blocking) -> list[LintFinding]:
    out = []
    for path, text in files.items():
        owners = [(i, span) for i, e in enumerate(edits) if e.path == path for span in _spans(text, {p.name for p in pieces[i]})]
        for f in new_findings(originals[path], text, path):
            edit = next((i for i, (lo, hi) in owners if lo <= f.line <= hi), None)
            out.append(LintFinding(path=path, line=f.line, message=f.message, kind=f.kind, edit=edit, blocking=f.kind in blocking))
    return out


class AstEditor:
    """The `ast` editor: whole-unit replacement through the syntax tree."""

    def __init__(self, cfg: EditingConfig):
        self.cfg = cfg

    def apply(self, repo: Path, edits: list[Edit]) -> EditResult:
        return self.apply_with(repo_reader(repo), edits)

    def apply_with(self, read: Reader, edits: list[Edit]) -> EditResult:
        cfg = self.cfg
        return apply_edits(read, edits, cfg.lint, frozenset(cfg.lint_blocking), cfg.diff_context)


EDITORS = {"ast": AstEditor}


def make_editor(cfg: EditingConfig) -> AstEditor:
    return EDITORS[cfg.editor](cfg)

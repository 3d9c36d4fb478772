"""CodeEditing: apply edits to a repository's files in memory.

Edits to one file apply in turn, each locating its target (a unit by name, a statement by
name, a search text by its lines) in the current text, so they never shift each other. Nothing
is written here: the result holds the diff and the new texts, and the caller decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from editing.code import Piece, parse_code
from editing.config import EditingConfig
from editing.diff import changed_rows, deleted_file_diff, file_diff, line_matcher, new_file_diff
from editing.lint import new_findings
from editing.models import IMPORTS_UNIT, Edit, EditError, EditResult, LintFinding
from editing.paths import MissingFile, Reader, Resolver, is_python, repo_reader, resolve_path
from editing.place import hoist, place
from editing.replace import search_replace
from editing.script import is_script, replace_unit
from editing.source import Source, indent_of, newline_of, split_lines, syntax_problem
from editing.units import find, import_block


class Editor(Protocol):
    def apply(self, repo: Path, edits: list[Edit]) -> EditResult: ...

    def apply_with(self, read: Reader, edits: list[Edit]) -> EditResult: ...


def _label(i: int, edit: Edit) -> str:
    return f"edit {i + 1} ({edit.label})"


def _check_overlaps(edits: list[Edit], pieces: list[list[Piece]]) -> None:
    seen: dict[tuple[str, str, tuple[str, ...]], int] = {}
    for i, edit in enumerate(edits):
        if not pieces[i]:
            continue
        for j, other in enumerate(edits[:i]):
            if other.path != edit.path or not pieces[j] or IMPORTS_UNIT in (edit.unit, other.unit):
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


@dataclass
class _File:
    original: str | None  # None: the file did not exist
    text: str | None  # None: deleted (or not there)
    src: Source | None = None  # the Python source of `text`, kept while units are placed
    first: Source | None = None  # the Python source of `original`, parsed once

    def source(self) -> Source:
        if self.src is None or self.src.text != self.text:
            self.src = Source(self.text or "")
        return self.src


def _whole_file(state: _File, code: str, max_lines: int, path: str) -> str:
    lines = len(split_lines(state.original)) if state.original is not None else 0
    if lines > max_lines:
        raise EditError(f"{path} has {lines} lines, more than editing.whole_file_max_lines "
                        f"({max_lines}): change it with search/replace edits")
    if not state.original or "\r" in code:
        return code  # a new file, or newlines chosen by the edit: exactly as given
    return code.replace("\n", "\r\n") if newline_of(state.original) == "\r\n" else code


def _apply_one(state: _File, edit: Edit, pieces: list[Piece], path: str, added: list[str], max_lines: int) -> None:
    kind = edit.kind
    if kind == "file":
        state.text = _whole_file(state, edit.code, max_lines, path)
        return
    if state.text is None:
        raise EditError(f"no such file in the repository: {path}" if state.original is None else f"{path} is deleted by an earlier edit")
    if kind == "delete":
        state.text = None
        return
    if kind == "unit" and is_script(path):
        state.text = replace_unit(path, state.text, edit.unit, edit.code)
        return
    python = is_python(path)
    before = state.source() if python else None
    if kind == "replace":
        state.text = search_replace(state.text, edit.search or "", edit.replace or "", newline_of(state.text)).text
        after = Source(state.text) if python else None
    else:  # a unit or statement of a Python file (apply_edits refused the rest)
        added += [p.name for p in pieces if p.kind in ("class", "function") and "." not in p.name and not find(before, p.name)]
        after = place(before, pieces)
        state.src, state.text = after, after.text
    if after is not None and after.root.has_error and not before.root.has_error:
        problem = syntax_problem(after.text) or "syntax error"
        raise EditError(f"the edited file does not parse: {problem}")


def apply_edits(
    read: Reader, edits: list[Edit], lint: bool = True, blocking: frozenset[str] = frozenset(), context: int = 3,
    whole_file_max_lines: int = 200, resolve: Resolver = str,
) -> EditResult:
    """Apply the edits in memory. Raises EditError naming the first edit that cannot apply."""
    pieces: list[list[Piece]] = []
    paths: list[str] = []
    for i, edit in enumerate(edits):
        try:
            paths.append(resolve(edit.path))
            script = edit.kind == "unit" and is_script(paths[-1])  # its units are placed by editing/script.py
            if is_script(paths[-1]) and (edit.kind == "imports" or (edit.kind == "unit" and edit.unit.startswith("<"))):
                raise EditError(f"{paths[-1]}: {edit.unit} names no unit of a JavaScript or TypeScript file: its imports and "
                                f"module-level code change by search/replace")
            if edit.kind in ("unit", "imports") and not is_python(paths[-1]) and not script:
                raise EditError(f"{paths[-1]} is neither Python nor JavaScript: change it with search/replace or a whole-file edit "
                                f"(unit \"<file>\")")
            pieces.append(parse_code(edit.unit, edit.code) if edit.kind in ("unit", "imports") and not script else [])
        except EditError as exc:
            raise EditError(f"{_label(i, edit)}: {exc}", i) from None
    keyed = [e.model_copy(update={"path": p}) for e, p in zip(edits, paths)]
    _check_overlaps(keyed, pieces)
    files: dict[str, _File] = {}
    added: dict[str, list[str]] = {}
    for i, edit in enumerate(edits):
        path = paths[i]
        try:
            if path not in files:
                try:
                    text = read(path)
                except MissingFile:
                    text = None
                files[path] = _File(original=text, text=text)
                if text is not None and is_python(path):
                    files[path].src = files[path].first = Source(text)
            _apply_one(files[path], edit, pieces[i], path, added.setdefault(path, []), whole_file_max_lines)
        except EditError as exc:
            raise EditError(f"{_label(i, edit)}: {exc}", i) from None
    result = EditResult(diff="")
    for path, state in files.items():
        if state.text == state.original:
            continue
        last = max(i for i, p in enumerate(paths) if p == path)
        if state.text is None:
            result.deleted.append(path)
            result.diff += deleted_file_diff(path, state.original or "")
            continue
        if added[path]:
            state.src = hoist(state.source(), added[path])
            state.text = state.src.text
        if state.original is None:
            if is_python(path) and (problem := syntax_problem(state.text)):
                raise EditError(f"{_label(last, edits[last])}: the new file does not parse: {problem}", last)
            result.created.append(path)
            result.files[path] = state.text
            result.diff += new_file_diff(path, state.text)
            continue
        matcher = line_matcher(state.first.lines if state.first else split_lines(state.original), split_lines(state.text))
        # An original that tree-sitter cannot parse (another Python version, say) is not held against the edit.
        if state.first is not None and not state.first.root.has_error and (problem := _changed_problem(state.source(), matcher)):
            raise EditError(f"{_label(last, edits[last])}: the edited file does not parse: {problem}", last)
        result.files[path] = state.text
        result.diff += file_diff(path, state.original, state.text, context, matcher)
    for i, edit in enumerate(edits):
        result.units.extend(f"{paths[i]}::{p.name}" for p in pieces[i])
        if edit.kind == "unit" and is_script(paths[i]):
            result.units.append(f"{paths[i]}::{edit.unit}")
    if lint:
        result.lint = _lint(keyed, pieces, {p: s.original or "" for p, s in files.items()}, result.files, blocking)
    return result


def _lint(edits, pieces, originals, files, blocking) -> list[LintFinding]:
    out = []
    for path, text in files.items():
        if not is_python(path):
            continue
        owners = [(i, span) for i, e in enumerate(edits) if e.path == path for span in _spans(text, {p.name for p in pieces[i] if p.kind != "statement"})]
        # What no unit holds was written by a statement, search/replace or whole-file edit: the last such one is named.
        loose = max((i for i, e in enumerate(edits) if e.path == path and (not pieces[i] or pieces[i][0].kind == "statement")), default=None)
        for f in new_findings(originals[path], text, path):
            edit = next((i for i, (lo, hi) in owners if lo <= f.line <= hi), loose)
            out.append(LintFinding(path=path, line=f.line, message=f.message, kind=f.kind, edit=edit, blocking=f.kind in blocking))
    return out


class AstEditor:
    """The `ast` editor: whole-unit replacement through the syntax tree."""

    def __init__(self, cfg: EditingConfig):
        self.cfg = cfg

    def apply(self, repo: Path, edits: list[Edit]) -> EditResult:
        return self._apply(repo_reader(repo), edits, lambda path: resolve_path(repo, path))

    def apply_with(self, read: Reader, edits: list[Edit]) -> EditResult:
        return self._apply(read, edits, str)

    def _apply(self, read: Reader, edits: list[Edit], resolve: Resolver) -> EditResult:
        cfg = self.cfg
        return apply_edits(read, edits, cfg.lint, frozenset(cfg.lint_blocking), cfg.diff_context, cfg.whole_file_max_lines, resolve)


EDITORS = {"ast": AstEditor}


def make_editor(cfg: EditingConfig) -> AstEditor:
    return EDITORS[cfg.editor](cfg)

"""The new code of an edit, made ready to place: dedented, parsed, and cut into the
definitions it holds (the target plus any siblings the model wrote next to it)."""

from __future__ import annotations

from dataclasses import dataclass, field

from editing.models import IMPORTS_UNIT, EditError
from editing.source import Source, indent_of, is_blank, syntax_problem
from editing.statements import holds_statement
from editing.units import Definition, definitions, is_import_statement
from localization.languages.python import unwrap_definition

_CODE_DEFS = ("comment", "function_definition", "class_definition", "decorated_definition")
# Row kinds: "code" gets the target indentation (and the file's indent unit); "blank" is an
# empty row; "blankws" a whitespace-only row, indented like code; "shift" (a continuation row
# of a string indented with its code) moves with the code; "keep" (a string row that is not)
# is left exactly as written.
Row = tuple[str, str]


@dataclass
class Piece:
    name: str  # qualified name in the target file
    kind: str  # "class" | "function" | "imports" | "statement"
    comments: list[Row] = field(default_factory=list)  # attached leading comment rows
    decorators: list[Row] = field(default_factory=list)  # from the first decorator to the def row
    body: list[Row] = field(default_factory=list)  # the def row to the end
    decorator_texts: list[str] = field(default_factory=list)
    indent_unit: str = "    "  # the indentation step the code was written with


def _normalize_newlines(code: str) -> str:
    return code.replace("\r\n", "\n").replace("\r", "\n")


def _dedent(code: str) -> tuple[Source, str]:
    """Remove the indentation of the first code row from every code row; string rows stay as
    written (whether they move with the code is decided later). Returns the source and the prefix."""
    src = Source(code)
    first = next((r for r in range(len(src.lines)) if src.is_code_row(r)), None)
    if first is None:
        return src, ""
    prefix = indent_of(src.lines[first])
    if not prefix:
        return src, ""
    out = []
    for row, line in enumerate(src.lines):
        if line.startswith(prefix) and row not in src.string_rows:
            out.append(line[len(prefix):])
        elif row in src.string_rows or is_blank(line):
            out.append(line)
        else:
            out.append(line.lstrip(" \t"))  # a row shallower than the first: let the parser judge it
    return Source("".join(out)), prefix


def _shiftable_rows(src: Source, offset: str) -> set[int]:
    """Continuation rows of strings whose rows are all indented at least as deep as the row the
    string starts on (`offset`: the indentation dedenting took from code rows, not string rows)."""
    rows: set[int] = set()
    for node in src.strings:
        first, last = node.start_point[0], node.end_point[0]
        if last == first:
            continue
        depth = len(indent_of(src.lines[first])) + len(offset)
        cont = range(first + 1, last + 1)
        if all(is_blank(src.lines[r]) or len(indent_of(src.lines[r])) >= depth for r in cont):
            rows.update(cont)
    return rows


def _rows(src: Source, start: int, end: int, prefix: str, shiftable: set[int], offset: str = "") -> list[Row]:
    out: list[Row] = []
    for row in range(start, end):
        line = src.lines[row].rstrip("\n").rstrip("\r") if row < len(src.lines) else ""
        if row in src.string_rows:
            if row in shiftable and line.startswith(offset + prefix):
                out.append(("shift", line[len(offset + prefix):]))
            else:
                out.append(("keep", line))
        elif not line:
            out.append(("blank", ""))
        elif is_blank(line):  # whitespace-only: keep what is left after the prefix
            out.append(("blankws", line[len(prefix):] if line.startswith(prefix) else ""))
        else:
            out.append(("code", line[len(prefix):] if line.startswith(prefix) else line.lstrip(" \t")))
    return out


def _piece(src: Source, d: Definition, name: str, shiftable: set[int], offset: str) -> Piece:
    return Piece(
        name=name,
        kind=d.kind,
        comments=_rows(src, d.comment_row, d.first_row, d.indent, shiftable, offset),
        decorators=_rows(src, d.first_row, d.def_row, d.indent, shiftable, offset),
        body=_rows(src, d.def_row, d.end, d.indent, shiftable, offset),
        decorator_texts=d.decorators,
        indent_unit=src.indent_unit,
    )


def _imports_piece(src: Source, offset: str) -> Piece:
    for child in src.root.named_children:
        if child.type != "comment" and not is_import_statement(child):
            raise EditError(f"code for {IMPORTS_UNIT} holds a statement that is not an import (line {child.start_point[0] + 1})")
    last = max((r for r in range(len(src.lines)) if not is_blank(src.lines[r])), default=-1)
    first = next((r for r in range(len(src.lines)) if not is_blank(src.lines[r])), 0)
    return Piece(name=IMPORTS_UNIT, kind="imports", body=_rows(src, first, last + 1, "", _shiftable_rows(src, offset), offset), indent_unit=src.indent_unit)


def _top_level(defs: list[Definition], scope: str) -> list[Definition]:
    return [d for d in defs if d.scope == scope]


def parse_code(unit: str, code: str) -> list[Piece]:
    """The pieces an edit's code holds: the target first, then siblings defined next to it."""
    src, offset = _dedent(_normalize_newlines(code))
    if not src.text.strip():
        raise EditError(f"code for {unit} is empty")
    problem = syntax_problem(src.text)
    if problem:
        raise EditError(f"code for {unit} does not parse: {problem}")
    if unit == IMPORTS_UNIT:
        return [_imports_piece(src, offset)]
    defs = definitions(src)
    shiftable = _shiftable_rows(src, offset)
    if is_statement_name(unit) and not any(d.name == unit for d in defs):
        if holds_statement(src, unit):
            return [_statement_piece(src, unit, shiftable, offset)]
        if unit.startswith("if ") or any(c.type not in _CODE_DEFS for c in src.root.named_children):
            raise EditError(f"code for {unit} neither defines nor assigns {unit} at its top level")
    parts = unit.split(".")
    if len(parts) > 1 and not any(d.leaf == parts[-1] for d in defs) and holds_statement(src, parts[-1]):
        raise EditError(f"code for {unit} assigns {parts[-1]} but class attributes are edited with their class: edit {'.'.join(parts[:-1])} as a whole")
    _only_definitions(src, src.root, unit, "")
    leaf, scope_parts = parts[-1], parts[:-1]
    # A method may come bare (`def m`) or inside its class wrapper(s) (`class C: def m`):
    # find the deepest scope of the code whose path is a suffix of the unit's scope.
    for depth in range(len(scope_parts) + 1):
        code_scope = ".".join(scope_parts[len(scope_parts) - depth:]) if depth else ""
        targets = [d for d in _top_level(defs, code_scope) if d.leaf == leaf]
        if not targets:
            continue
        outer = ".".join(scope_parts[: len(scope_parts) - depth])
        wrappers = [".".join(scope_parts[len(scope_parts) - depth : len(scope_parts) - depth + k]) for k in range(1, depth + 1)]
        for wrapper in wrappers:  # a wrapper stands for its class: anything but definitions in it would be lost
            for d in defs:
                if d.name == wrapper:
                    _only_definitions(src, unwrap_definition(d.node)[0].child_by_field_name("body"), unit, wrapper)
        # Definitions written next to the target, and beside any wrapper, are edits of their own.
        scopes = {"", *wrappers}
        siblings = [d for d in defs if d.scope in scopes and d.name not in wrappers and not (d.scope == code_scope and d.leaf == leaf)]
        qualify = (lambda n: f"{outer}.{n}" if outer else n)
        return [_piece(src, d, qualify(d.name), shiftable, offset) for d in targets + siblings]
    raise EditError(f"code for {unit} does not define {leaf!r}")


def is_statement_name(unit: str) -> bool:
    """Whether a unit name could address a module-level statement (`NAME`, `if COND`)."""
    return unit.startswith("if ") or ("." not in unit and unit.isidentifier())


def _statement_piece(src: Source, unit: str, shiftable: set[int], offset: str) -> Piece:
    """Module-level statements: leading comment rows apart (kept from the file when the code has none)."""
    rows = [r for r in range(len(src.lines)) if not is_blank(src.lines[r])]
    first, last = rows[0], rows[-1]
    body = first
    while body <= last and src.is_comment_row(body):
        body += 1
    return Piece(name=unit, kind="statement", comments=_rows(src, first, body, "", shiftable, offset),
                 body=_rows(src, body, last + 1, "", shiftable, offset), indent_unit=src.indent_unit)


def _only_definitions(src: Source, block, unit: str, where: str) -> None:
    """Refuse statements other than definitions (a docstring, `pass` or `...` aside) in the code's top level or a wrapper class."""
    if block is None:
        return
    for i, child in enumerate(block.named_children):
        if child.type in ("comment", "function_definition", "class_definition", "decorated_definition"):
            continue
        text = src.data[child.start_byte : child.end_byte].strip()
        if child.type == "pass_statement" or text == b"...":
            continue
        if where and i == 0 and child.type == "expression_statement" and child.named_children and child.named_children[0].type == "string":
            continue  # the wrapper's docstring
        place = f"class {where} of the code" if where else "the code"
        hint = f"; to change them, edit {where} as a whole" if where else ""
        raise EditError(f"code for {unit} holds a statement outside a definition in {place} (line {child.start_point[0] + 1}){hint}")

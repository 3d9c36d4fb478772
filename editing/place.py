"""Put pieces of new code into a source: replace a unit where it stands, or add it where a
careful human would (end of its class; end of the module or before its main guard)."""

from __future__ import annotations

from editing.code import Piece, Row
from editing.models import IMPORTS_UNIT, EditError
from editing.source import Source, is_blank
from editing.statements import find_statement, head_end, insertion
from editing.units import Definition, docstring_end, find, import_block, main_guard

# PEP 8 spacing around a unit that is added: one blank line before a method, two around top-level units.
_METHOD_GAP = 1
_TOP_GAP = 2


def _convert(line: str, unit: str, file_unit: str) -> str:
    """Re-express leading indentation written in steps of `unit` in steps of `file_unit`."""
    if unit == file_unit or not unit:
        return line
    steps = 0
    while line.startswith(unit):
        line = line[len(unit):]
        steps += 1
    return file_unit * steps + line


def render(rows: list[Row], indent: str, unit: str, file_unit: str) -> list[str]:
    out = []
    for kind, text in rows:
        if kind == "code":
            out.append(indent + _convert(text, unit, file_unit))
        elif kind in ("shift", "blankws"):
            out.append(indent + text if text or kind == "blankws" else "")  # no trailing whitespace on an empty string row
        elif kind == "blank":
            out.append("")
        else:  # "keep"
            out.append(text)
    return out


def _splice(src: Source, start: int, end: int, new: list[str]) -> Source:
    nl, lines = src.newline, src.lines
    # Only the last row can lack a newline: writing after it gives it one, and the new last row goes without.
    head = nl if 0 < start <= len(lines) and not lines[start - 1].endswith("\n") else ""
    text = head + "".join(line + nl for line in new)
    if end >= len(lines) and lines and not lines[-1].endswith("\n") and text.endswith(nl):
        text = text[: -len(nl)]  # keep the file's missing final newline
    return src.replace_rows(start, end, text)


def _overlap(d: Definition, piece: Piece) -> int:
    return len(set(d.decorators) & set(piece.decorator_texts))


def _assign(matches: list[Definition], group: list[Piece]) -> list[int | None]:
    """Which existing definition (by index) each piece of a same-name group replaces; None: add it.

    One piece: the definition sharing most decorators with it (`@x.setter`), else the last.
    As many pieces as definitions: pairwise, in order. Otherwise by shared decorators, and
    pieces left over go right after the last definition (a setter after its getter)."""
    if len(group) == 1:
        best = max(_overlap(m, group[0]) for m in matches)
        return [max(i for i, m in enumerate(matches) if _overlap(m, group[0]) == best)]
    if len(group) == len(matches):
        return list(range(len(matches)))
    taken: set[int] = set()
    out: list[int | None] = []
    for piece in group:
        free = [i for i in range(len(matches)) if i not in taken]
        scored = [(_overlap(matches[i], piece), i) for i in free]
        pick = max(scored, default=(0, None))
        exact = [i for i in free if set(matches[i].decorators) == set(piece.decorator_texts)]
        choice = exact[0] if exact else (pick[1] if pick[0] > 0 else None)
        if choice is not None:
            taken.add(choice)
        out.append(choice)
    return out


def _replace(src: Source, d: Definition, piece: Piece) -> Source:
    unit, file_unit = piece.indent_unit, src.indent_unit
    comments = render(piece.comments, d.indent, unit, file_unit) if piece.comments else [
        line.rstrip("\r\n") for line in src.lines[d.comment_row : d.first_row]
    ]
    decorators = render(piece.decorators, d.indent, unit, file_unit) if piece.decorators else [
        line.rstrip("\r\n") for line in src.lines[d.first_row : d.def_row]
    ]
    body = render(piece.body, d.indent, unit, file_unit)
    return _splice(src, d.comment_row, d.end, comments + decorators + body)


def _piece_lines(src: Source, piece: Piece, indent: str) -> list[str]:
    parts = piece.comments + piece.decorators + piece.body
    return render(parts, indent, piece.indent_unit, src.indent_unit)


def _add(src: Source, piece: Piece) -> Source:
    scope = piece.name.rpartition(".")[0]
    if scope:
        parents = find(src, scope)
        if not parents:
            raise EditError(f"cannot place {piece.name}: {scope} does not exist")
        parent = parents[-1]
        if parent.kind != "class":
            raise EditError(f"cannot place {piece.name}: {scope} is a function, not a class")
        indent = parent.body_indent if parent.body_indent is not None else parent.indent + src.indent_unit
        lines = [""] * _METHOD_GAP + _piece_lines(src, piece, indent)
        return _splice(src, parent.end, parent.end, lines)
    guard = main_guard(src)
    if guard is not None:  # the guard's own comment lines stay with it
        while guard > 0 and src.lines[guard - 1].startswith("#"):
            guard -= 1
    at = guard if guard is not None else len(src.lines)
    while at > 0 and is_blank(src.lines[at - 1]):  # reuse the blank rows already there
        at -= 1
    lines = ([""] * _TOP_GAP if at > 0 else []) + _piece_lines(src, piece, "")
    if guard is not None:
        lines += [""] * _TOP_GAP
        return _splice(src, at, guard, lines)
    return _splice(src, at, len(src.lines), lines)


def _imports(src: Source, piece: Piece) -> Source:
    lines = _piece_lines(src, piece, "")
    block = import_block(src)
    if block is not None:
        return _splice(src, block.start, block.end, lines)
    at = docstring_end(src)
    before = [""] if at > 0 else []
    following = next((line for line in src.lines[at:] if not is_blank(line)), "")
    blanks = next((k for k, line in enumerate(src.lines[at:]) if not is_blank(line)), 0)
    wanted = _TOP_GAP if following.startswith(("def ", "class ", "async def ", "@")) else 1
    after = [""] * max(wanted - blanks, 0) if following else []
    return _splice(src, at, at, before + lines + after)


def _after(src: Source, d: Definition, piece: Piece) -> Source:
    return _splice(src, d.end, d.end, [""] * _METHOD_GAP + _piece_lines(src, piece, d.indent))


def _statement(src: Source, piece: Piece) -> Source:
    """Replace the statement the piece names (its comments too when the piece has some), or add it after the module's head."""
    comments = render(piece.comments, "", piece.indent_unit, src.indent_unit)
    body = render(piece.body, "", piece.indent_unit, src.indent_unit)
    found = find_statement(src, piece.name)
    if found is None and find(src, piece.name):
        raise EditError(f"{piece.name} is a function or class here, and the code only assigns it: give its definition, or use search/replace")
    if found is None:
        at, lines = insertion(src, head_end(src), comments + body)
        return _splice(src, at, at, lines)
    return _splice(src, found.comment_row if comments else found.first_row, found.end, comments + body)


def place(src: Source, pieces: list[Piece]) -> Source:
    """Apply the pieces of one edit; each name's group sees the result of the groups before."""
    if pieces[0].kind == "statement":
        return _statement(src, pieces[0])
    groups: dict[str, list[Piece]] = {}
    for piece in pieces:
        groups.setdefault(piece.name, []).append(piece)
    for name, group in groups.items():
        if name == IMPORTS_UNIT:
            for piece in group:
                src = _imports(src, piece)
            continue
        matches = find(src, name)
        if not matches:
            for piece in group:
                src = _add(src, piece)
            continue
        targets = _assign(matches, group)
        # Replacements keep the count and order of the name's definitions, so indices stay valid.
        for piece, index in zip(group, targets):
            if index is not None:
                src = _replace(src, find(src, name)[index], piece)
        for piece, index in zip(group, targets):
            if index is None:
                src = _after(src, find(src, name)[-1], piece)
    return src


def _used_when_run(src: Source, node, name: bytes) -> bool:
    """Whether `node` reads `name` as the module runs: function bodies and lambdas run later."""
    if node.type == "identifier":
        return src.data[node.start_byte : node.end_byte] == name
    if node.type in ("import_statement", "import_from_statement", "future_import_statement", "lambda"):
        return False
    if node.type == "function_definition":
        params = node.child_by_field_name("parameters")  # defaults are evaluated at the def
        return params is not None and _used_when_run(src, params, name)
    return any(_used_when_run(src, child, name) for child in node.named_children)


def hoist(src: Source, names: list[str]) -> Source:
    """Move each added top-level unit above the first module-level code that uses it as the
    module runs (a table of handlers, a decorator, a class attribute): at the end of the module it
    would not exist yet when that code runs."""
    for name in names:
        defs = find(src, name)
        if len(defs) != 1 or "." in name:
            continue
        d, key = defs[0], name.encode("utf-8")
        use = next((c.start_point[0] for c in src.root.named_children if c.start_point[0] < d.comment_row
                    and key in src.data[c.start_byte : c.end_byte] and _used_when_run(src, c, key)), None)
        if use is None:
            continue
        while use > 0 and src.lines[use - 1].startswith("#"):  # the user's comments stay with it
            use -= 1
        cut = d.comment_row
        while cut > use and is_blank(src.lines[cut - 1]):
            cut -= 1
        lines, nl = src.lines, src.newline
        above = next((k for k in range(use) if not is_blank(lines[use - 1 - k])), use)  # blank rows already above
        gap = [nl] * (_TOP_GAP - above) if use and above < _TOP_GAP else []
        moved = gap + [line.rstrip("\r\n") + nl for line in lines[d.comment_row : d.end]] + [nl] * _TOP_GAP
        tail = lines[d.end :]
        head = lines[use:cut]
        if not tail and head and not head[-1].endswith("\n"):
            head[-1] += nl
        src = Source("".join(lines[:use] + moved + head + tail))
    return src

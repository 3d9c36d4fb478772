"""Where each unit of a source sits: definitions with their decorators, attached leading
comments and trailing comments, and the module's leading import block.

Rows are 0-based; `end` is exclusive. Functions nested in functions belong to their
enclosing function; classes nest (`Outer.Inner.f`); definitions under `if`/`try`/`with`
at module or class level count at that level, as in localization.
"""

from __future__ import annotations

from dataclasses import dataclass

from tree_sitter import Node

from editing.source import Source, indent_of, is_blank
from localization.languages.python import _TRANSPARENT, unwrap_definition

_IMPORTS = {"import_statement", "import_from_statement", "future_import_statement"}
# Statements allowed inside a try/if of the import block besides imports (fallbacks).
_IMPORT_FALLBACKS = {"pass_statement", "expression_statement", "comment"}


@dataclass
class Definition:
    name: str  # qualified
    kind: str  # "class" | "function"
    def_row: int  # the `def`/`class` line
    first_row: int  # first decorator, or def_row
    comment_row: int  # first attached leading comment, or first_row
    end: int  # exclusive; trailing comments indented deeper than the def included
    indent: str
    decorators: list[str]
    body_indent: str | None  # indentation of the body's first statement, when on its own row
    node: Node

    @property
    def leaf(self) -> str:
        return self.name.rsplit(".", 1)[-1]

    @property
    def scope(self) -> str:
        return self.name.rpartition(".")[0]


@dataclass
class ImportBlock:
    start: int  # first row of the block (exclusive end below); start == end: no block
    end: int


def _text(src: Source, node: Node) -> str:
    return src.data[node.start_byte : node.end_byte].decode("utf-8", "replace")


def leading_comment_row(src: Source, first_row: int, indent: str) -> int:
    row = first_row
    while row > 0 and src.is_comment_row(row - 1) and indent_of(src.lines[row - 1]) == indent:
        row -= 1
    return row


def _trailing_end(src: Source, last_row: int, indent: str) -> int:
    """Extend past the body over comment lines indented deeper than the def (they belong to it)."""
    end = last_row + 1
    row = end
    while row < len(src.lines):
        line = src.lines[row]
        if is_blank(line):
            row += 1
            continue
        if len(indent_of(line)) > len(indent) and src.is_comment_row(row):
            end = row = row + 1
            continue
        break
    return end


def _definition(src: Source, node: Node, scope: list[str], out: list[Definition], recurse: bool = True) -> None:
    parts = unwrap_definition(node)
    if parts is None:
        return
    definition, name_node = parts
    leaf = _text(src, name_node)
    decorators = [" ".join(_text(src, d).split()) for d in node.children if d.type == "decorator"]
    first_row = node.start_point[0]
    def_row = definition.start_point[0]
    indent = indent_of(src.lines[first_row])
    body = definition.child_by_field_name("body")
    body_indent = None
    if body is not None and body.start_point[0] > def_row:
        body_indent = indent_of(src.lines[body.start_point[0]])
    out.append(
        Definition(
            name=".".join([*scope, leaf]),
            kind="class" if definition.type == "class_definition" else "function",
            def_row=def_row,
            first_row=first_row,
            comment_row=leading_comment_row(src, first_row, indent),
            end=_trailing_end(src, src.end_row(node), indent),
            indent=indent,
            decorators=decorators,
            body_indent=body_indent,
            node=node,
        )
    )
    if recurse and definition.type == "class_definition" and body is not None:
        _walk(src, body, [*scope, leaf], out)


def _walk(src: Source, node: Node, scope: list[str], out: list[Definition]) -> None:
    for child in node.named_children:
        if child.type in ("function_definition", "class_definition", "decorated_definition"):
            _definition(src, child, scope, out)
        elif child.type in _TRANSPARENT:
            _walk(src, child, scope, out)


def definitions(src: Source) -> list[Definition]:
    """Every addressable definition, in source order."""
    out: list[Definition] = []
    _walk(src, src.root, [], out)
    return out


def _named_children(src: Source, node: Node, leaf: str) -> list[Node]:
    """Definitions called `leaf` directly in the scope of `node` (through if/try/with blocks)."""
    out = []
    for child in node.named_children:
        if child.type in _TRANSPARENT:
            out.extend(_named_children(src, child, leaf))
            continue
        parts = unwrap_definition(child)
        if parts is not None and _text(src, parts[1]) == leaf:
            out.append(child)
    return out


def find(src: Source, name: str) -> list[Definition]:
    """The definitions of a qualified name, in source order, looking only along its scope path."""
    parts = name.split(".")
    nodes = [src.root]
    for depth, leaf in enumerate(parts):
        found = []
        for node in nodes:
            if depth:  # inside a class: look in its body
                definition = node.child_by_field_name("definition") if node.type == "decorated_definition" else node
                if definition.type != "class_definition" or definition.child_by_field_name("body") is None:
                    continue
                node = definition.child_by_field_name("body")
            found.extend(_named_children(src, node, leaf))
        nodes = found
    out: list[Definition] = []
    for node in nodes:
        _definition(src, node, parts[:-1], out, recurse=False)
    return out


def _blocks(node: Node) -> list[Node]:
    """The statement blocks of a try/if, its clauses included (conditions are not statements)."""
    out = []
    for child in node.named_children:
        if child.type == "block":
            out.append(child)
        elif child.type in ("except_clause", "else_clause", "elif_clause", "finally_clause"):
            out.extend(_blocks(child))
    return out


def _only_imports(node: Node) -> bool:
    """An import, or a try/if whose statements are imports (with pass or fallback assignments)."""
    if node.type in _IMPORTS:
        return True
    if node.type not in ("try_statement", "if_statement"):
        return False
    found = False
    for block in _blocks(node):
        for stmt in block.named_children:
            if _only_imports(stmt):
                found = True
            elif stmt.type not in _IMPORT_FALLBACKS:
                return False
    return found


def is_import_statement(node: Node) -> bool:
    return _only_imports(node)


def import_block(src: Source) -> ImportBlock | None:
    """The module's leading run of import statements; None when the module has none."""
    start = end = None
    for child in src.root.named_children:
        if child.type == "comment":
            continue
        if _only_imports(child):
            if start is None:
                start = child.start_point[0]
            end = src.end_row(child) + 1
            continue
        if start is not None:
            break
        if child.type == "expression_statement" and child.named_children and child.named_children[0].type == "string":
            continue  # the module docstring (or a stray string) before the imports
        return None  # code before any import: there is no leading import block
    if start is None:
        return None
    return ImportBlock(start=start, end=end)


def docstring_end(src: Source) -> int:
    """The row after the module's docstring and leading comments: where a new import block goes."""
    end = 0
    for child in src.root.named_children:
        if child.type == "comment":
            end = src.end_row(child) + 1
            continue
        if child.type == "expression_statement" and child.named_children and child.named_children[0].type == "string":
            end = src.end_row(child) + 1
        break
    return end


def main_guard(src: Source) -> int | None:
    """The row of a top-level `if __name__ == "__main__":`, before which new top-level units go."""
    for child in src.root.named_children:
        if child.type == "if_statement":
            condition = child.child_by_field_name("condition")
            text = _text(src, condition) if condition is not None else ""
            if "__name__" in text and "__main__" in text:
                return child.start_point[0]
    return None

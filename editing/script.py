"""Units of JavaScript and TypeScript files, edited by name through their syntax tree.

A unit is what localization names in such a file (`render`, `Dayjs.format`, `proto.utc`,
`module.exports.parse`) or a top-level binding (`DEFAULTS`); its rows run from the comments right
above it to its last line. New code replaces those rows (the comments only when it starts with
one), re-indented to where the unit stands.
A name the file does not have yet is added: a method of a class the file has before the class's
closing line, anything else after the file's last top-level function or class, or, in a file
with none, before its first `module.exports = ...` or `export default ...` (which may name it);
a new `const`, `let`, `var` or class goes above the first statement that names it, if that comes
before (it is not hoisted: a statement reading it as the module loads would fail).
The result must parse where the file did.
"""

from __future__ import annotations

from dataclasses import dataclass

from editing.models import EditError
from editing.source import is_blank, split_lines
from localization.languages import file_statements, language_of, parse_file
from localization.models import MODULE_UNIT


def is_script(path: str) -> bool:
    """A file in a language edited through this module (JavaScript's family)."""
    lang = language_of(path)
    return lang is not None and lang.family == "javascript"


@dataclass(frozen=True)
class Span:
    name: str
    kind: str
    first: int  # 0-based row of its first line, leading comments included
    end: int  # 0-based row after its last line
    start: int  # 0-based row of the definition itself


def _is_comment(line: str) -> bool:
    s = line.strip()
    return s.startswith(("//", "/*", "*", "*/"))


def spans(path: str, text: str) -> list[Span]:
    """Every addressable unit of the file: definitions and top-level bindings, in order."""
    lines = split_lines(text)
    data = text.encode("utf-8")
    units = [u for u in parse_file(path, data).units if u.name != MODULE_UNIT]
    units += file_statements(path, data)
    out = []
    for u in units:
        first = u.start_line - 1
        while first > 0 and _is_comment(lines[first - 1]) and not is_blank(lines[first - 1]):
            first -= 1
        out.append(Span(u.name, u.kind, first, u.end_line, u.start_line - 1))
    return sorted(out, key=lambda s: (s.first, -s.end))


def _root(path: str, text: str):
    """The syntax tree's root of `text` read as `path`'s language (which is one: callers checked)."""
    return language_of(path).new_parser(path).parse(text.encode("utf-8")).root_node


def _has_error(path: str, text: str) -> bool:
    return _root(path, text).has_error


def _indent(line: str) -> str:
    return line[: len(line) - len(line.lstrip())]


def _template_rows(path: str, code: str) -> set[int]:
    """Rows of `code` that sit inside a template literal after its first row: the string's own text.
    A method alone does not parse as a file; wrapped in a class, it does."""
    if "`" not in code:
        return set()
    for prefix in ("", "class __Wrap {\n"):
        root = _root(path, prefix + code + ("\n}\n" if prefix else ""))
        if not root.has_error or prefix:
            shift = prefix.count("\n")
            rows, stack = set(), [root]
            while stack:
                node = stack.pop()
                if node.type == "template_string":
                    rows.update(range(node.start_point[0] + 1 - shift, node.end_point[0] + 1 - shift))
                else:
                    stack.extend(node.children)
            return rows
    return set()


def _reindent(path: str, code: str, indent: str, newline: str) -> list[str]:
    """`code` as lines at `indent`: its own common indentation replaced, the text of template
    literals as it is (spaces there are the string's)."""
    lines = split_lines(code if code.endswith("\n") else code + "\n")
    verbatim = _template_rows(path, code)
    body = [line for row, line in enumerate(lines) if not is_blank(line) and row not in verbatim]
    common = min((_indent(line) for line in body), key=len, default="")
    out = []
    for row, line in enumerate(lines):
        if row in verbatim:
            out.append(line.rstrip("\r\n") + newline)
            continue
        rest = (line[len(common):] if line.startswith(common) else line.lstrip()).rstrip("\r\n")
        # A line of spaces keeps them, as the model gave them.
        out.append((indent + rest if rest else "") + newline)
    return out


def replace_unit(path: str, text: str, name: str, code: str) -> str:
    """`text` with unit `name` replaced by (or, when absent, added as) `code`."""
    lines = split_lines(text)
    newline = "\r\n" if lines and lines[0].endswith("\r\n") else "\n"
    every = spans(path, text)
    found = [s for s in every if s.name == name]
    if len(found) > 1:
        raise EditError(f"{name} is defined {len(found)} times in {path}: change it with search/replace")
    if found:
        at = found[0]
        new = _reindent(path, code, _indent(lines[at.start]), newline)
        # The comments above a unit go only when the new code brings its own, as Python's units do.
        first = at.first if _is_comment(next((line for line in split_lines(code) if not is_blank(line)), "")) else at.start
        out = [*lines[:first], *new, *lines[at.end :]]
    else:
        out = _added(path, every, lines, name, code, newline)
    result = "".join(out)
    if _has_error(path, result) and not _has_error(path, text):
        raise EditError(f"the edited file does not parse: {path} with {name} as given has a syntax error")
    return result


def _added(path: str, every: list[Span], lines: list[str], name: str, code: str, newline: str) -> list[str]:
    owner_name = name.rpartition(".")[0]
    owner = next((s for s in every if s.name == owner_name and s.kind == "class"), None)
    if owner is not None:
        members = [s for s in every if s.name.startswith(owner_name + ".") and s.name.count(".") == name.count(".")]
        indent = _indent(lines[members[0].start]) if members else _indent(lines[owner.start]) + "  "
        at = owner.end - 1  # the class's closing line
        return [*lines[:at], *([newline] if members else []), *_reindent(path, code, indent, newline), *lines[at:]]
    top = [s for s in every if not _indent(lines[s.start]) and s.kind in ("function", "class")]
    exports = [row for row, line in enumerate(lines) if line.startswith(("module.exports", "export default"))]
    at = max((s.end for s in top), default=exports[0] if exports else len(lines))
    at = _before_first_use(path, "".join(lines), code, at)
    tail = lines[at:]
    lead = [] if at == 0 or is_blank(lines[at - 1]) else [newline]
    gap = [newline] if tail and not is_blank(tail[0]) else []
    if lines and not lines[-1].endswith("\n") and at == len(lines):
        lines = [*lines[:-1], lines[-1] + newline]
    return [*lines[:at], *lead, *_reindent(path, code, "", newline), *gap, *tail]


_HOISTED = ("function_declaration", "generator_function_declaration")
_DECLARES = ("lexical_declaration", "variable_declaration", "class_declaration", "abstract_class_declaration")


def _top_level(node):
    """A top-level statement's own declaration (`export const x` -> `const x`)."""
    decl = node.child_by_field_name("declaration") if node.type == "export_statement" else None
    return decl if decl is not None else node


def _declared(node, data: bytes) -> set[str]:
    """The names a top-level declaration binds (`const a = 1, {b} = o`; `class C`; `function f`;
    a destructuring default's name too, which only makes the check stricter)."""
    node = _top_level(node)
    if node.type in (*_HOISTED, "class_declaration", "abstract_class_declaration"):
        name = node.child_by_field_name("name")
        return {_text_of(name, data)} if name is not None else set()
    if node.type not in _DECLARES:
        return set()
    out = set()
    for declarator in node.named_children:
        if declarator.type == "variable_declarator" and (name := declarator.child_by_field_name("name")) is not None:
            out |= _identifiers(name, data)
    return out


def _identifiers(node, data: bytes) -> set[str]:
    out, stack = set(), [node]
    while stack:
        n = stack.pop()
        if n.type in ("identifier", "shorthand_property_identifier_pattern", "shorthand_property_identifier", "type_identifier"):
            out.add(_text_of(n, data))
        stack.extend(n.children)
    return out


def _text_of(node, data: bytes) -> str:
    return data[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _before_first_use(path: str, text: str, code: str, at: int) -> int:
    """Where a new `const`, `let`, `var` or class goes instead of row `at`: a binding is not hoisted,
    so a statement above `at` that reads it while the module loads would meet it unset. It goes
    above the first statement that names it (a function declaration's body runs later: not a use),
    with the comments right above that statement, unless a statement from there to `at` names
    anything the new code reads (it may declare or change it: `at` stays). The comments heading the
    file stay first (`/// <reference>`, `// @ts-check`)."""
    new_data = code.encode("utf-8")
    new = [c for c in _root(path, code).named_children if c.type != "comment"]
    if not new or any(_top_level(c).type not in _DECLARES for c in new):
        return at
    names = set().union(*(_declared(c, new_data) for c in new))
    reads = set().union(*(_identifiers(c, new_data) for c in new)) - names
    data = text.encode("utf-8")
    children = [c for c in _root(path, text).named_children if c.start_point[0] < at]
    named = [set() if c.type == "comment" else _identifiers(c, data) for c in children]  # each statement walked once
    uses = [k for k, c in enumerate(children) if _top_level(c).type not in _HOISTED and named[k] & names]
    if not uses or any(ids & reads for ids in named[uses[0]:]):
        return at
    k = uses[0]
    row = children[k].start_point[0]
    before = [c for c in children[:k] if c.type != "comment"]
    if before and before[-1].end_point[0] >= row:
        return at  # two statements on one row
    while before and k > 0 and children[k - 1].type == "comment" and children[k - 1].end_point[0] == row - 1 \
            and children[k - 1].start_point[0] > before[-1].end_point[0]:
        k -= 1
        row = children[k].start_point[0]
    return row


def _leaves(node, data: bytes) -> str:
    """A node's tokens, comments aside (as Python's ast leaves them out), spacing aside."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if n.type == "comment":
            continue
        if n.child_count == 0:
            out.append(data[n.start_byte : n.end_byte].decode("utf-8", "replace"))
        else:
            stack.extend(reversed(n.children))
    return "\x00".join(out)


def _normalized(node, data: bytes, moved_rows: set[int]) -> str:
    """The tree as tokens, with the definitions starting on `moved_rows` sorted to the end of their
    file or class body: where an added unit sits does not matter."""
    kept, moved = [], []
    for child in node.named_children:
        if child.type == "comment":  # a comment of its own between statements, as one left above a moved unit
            continue
        body = child.child_by_field_name("body") if child.type in ("class_declaration", "class", "abstract_class_declaration") else None
        if child.type == "export_statement" and (decl := child.child_by_field_name("declaration")) is not None and decl.type.endswith("class_declaration"):
            body = decl.child_by_field_name("body")
        text = _leaves(child, data) if body is None else _leaves_around(child, body, data) + _normalized(body, data, moved_rows)
        (moved if child.start_point[0] in moved_rows else kept).append(text)
    return "[" + "\x01".join(kept + sorted(moved)) + "]"


def _leaves_around(node, body, data: bytes) -> str:
    """A class's tokens before its body (name, heritage): the body is normalized on its own."""
    head = data[node.start_byte : body.start_byte]
    return " ".join(head.decode("utf-8", "replace").split())


def same_script_tree(path: str, a: str, b: str, added: set[str] = frozenset()) -> bool:
    """Whether two JavaScript or TypeScript sources have the same tokens in the same trees, comments
    and spacing aside, apart from where the `added` units sit."""
    if language_of(path) is None:
        return False
    trees = []
    for text in (a, b):
        root = _root(path, text)
        if root.has_error:
            return False
        rows = {s.start for s in spans(path, text) if s.name in added}
        trees.append(_normalized(root, text.encode("utf-8"), rows))
    return trees[0] == trees[1]

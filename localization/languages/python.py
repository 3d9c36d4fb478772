"""Python: tree-sitter parses source into code units with qualified names and line spans.

Functions nested in functions belong to their enclosing function (they are edited with it);
classes nest (`Outer.Inner.f`). Definitions under `if`/`try`/`with` blocks at module or class
level count at that level. Trees with syntax errors still yield what they can.
"""

from __future__ import annotations

import ast
import re
import warnings

import tree_sitter_python
from tree_sitter import Language, Node, Parser

from localization.languages.base import ParseContext, ParsedFile, end_line, package_version
from localization.models import MODULE_UNIT, Unit
from localization.tokens import tokenize

_LANGUAGE = Language(tree_sitter_python.language())
_DEFS = {"function_definition", "class_definition", "decorated_definition"}
# Compound statements whose blocks still sit in the enclosing scope.
_TRANSPARENT = {
    "if_statement", "elif_clause", "else_clause", "try_statement", "except_clause", "finally_clause",
    "with_statement", "block", "ERROR", "for_statement", "while_statement", "match_statement",
    "case_clause", "except_group_clause",
}


def new_parser() -> Parser:
    return Parser(_LANGUAGE)


def _text(ctx: ParseContext, node: Node) -> str:
    return ctx.src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _docstring(ctx: ParseContext, block: Node | None) -> str:
    if block is None:
        return ""
    for child in block.named_children:
        if child.type == "comment":
            continue
        if child.type == "expression_statement" and child.named_children and child.named_children[0].type == "string":
            raw = _text(ctx, child.named_children[0])
            body = raw.lstrip("rRbBuUfF").strip("\"'")
            for line in body.splitlines():
                if line.strip():
                    return line.strip()
        return ""
    return ""


# A call: a name (or the last name of a dotted one) followed by an opening parenthesis.
_CALL = re.compile(r"(?<![\w@])(?:\.\s*)?([A-Za-z_]\w*)\s*\(")
_NOT_CALLS = frozenset("if elif while for return and or not in is print assert del with yield lambda except def class super import".split())
_IMPORT_FROM = re.compile(r"^[ \t]*from[ \t]+(\.*[\w.]*)[ \t]+import[ \t]+(\([^)]*\)|[^\n#]+)", re.M)
_IMPORT = re.compile(r"^[ \t]*import[ \t]+([\w. \t,]+?)[ \t]*(?:#.*)?$", re.M)
MAX_CALLS = 64  # calls recorded per unit: beyond this a unit is a dispatcher, not a caller of each


def calls_in(text: str, not_calls: frozenset[str] = _NOT_CALLS, defining: tuple[str, ...] = ("def ", "ass ")) -> list[str]:
    """The names a piece of code calls, in order of first call (definitions' own names excluded:
    those after a `defining` word's last characters)."""
    out: dict[str, None] = {}
    for m in _CALL.finditer(text):
        name = m.group(1)
        if name not in not_calls and not text[max(0, m.start() - max(map(len, defining))) : m.start()].endswith(defining):
            out[name] = None
            if len(out) >= MAX_CALLS:
                break
    return list(out)


def imports_in(text: str) -> list[str]:
    """A module's imports as dotted names: `import a.b` -> a.b; `from .m import x, y` -> .m.x, .m.y."""
    out: dict[str, None] = {}
    for m in _IMPORT_FROM.finditer(text):
        base = m.group(1)
        for name in re.sub(r"#[^\n]*", "", m.group(2)).strip("()").split(","):
            name = name.split()[0] if name.split() else ""
            if name and name != "*":
                out[base + ("" if base.endswith(".") else ".") + name] = None
            elif name == "*":
                out[base] = None
    for m in _IMPORT.finditer(text):
        for name in m.group(1).split(","):
            if name.split():
                out[name.split()[0]] = None
    return list(out)


def _bases(ctx: ParseContext, definition: Node) -> list[str]:
    """A class's bases as written; keyword arguments (`metaclass=`) are not bases."""
    args = definition.child_by_field_name("superclasses")
    if args is None:
        return []
    return [_text(ctx, a) for a in args.named_children if a.type in ("identifier", "attribute")]


def _signature(ctx: ParseContext, definition: Node) -> str:
    body = definition.child_by_field_name("body")
    end = body.start_byte if body is not None else definition.end_byte
    head = ctx.src[definition.start_byte : end].decode("utf-8", "replace")
    return " ".join(head.split()).rstrip(":").strip()


def _walk(ctx: ParseContext, node: Node, scope: list[str], in_class: bool) -> list[Node]:
    """Record definitions under `node` in `scope`; return the statements that are not definitions."""
    rest: list[Node] = []
    for child in node.named_children:
        if child.type in _DEFS:
            _definition(ctx, child, scope, in_class)
        elif child.type in _TRANSPARENT:
            rest.extend(_walk(ctx, child, scope, in_class))
        else:
            rest.append(child)
    return rest


def unwrap_definition(node: Node) -> tuple[Node, Node] | None:
    """(the def/class node, its name node) of a possibly decorated definition; None otherwise."""
    definition = node.child_by_field_name("definition") if node.type == "decorated_definition" else node
    if definition is None or definition.type not in ("function_definition", "class_definition"):
        return None
    name_node = definition.child_by_field_name("name")
    return (definition, name_node) if name_node is not None else None


def _definition(ctx: ParseContext, node: Node, scope: list[str], in_class: bool) -> None:
    parts = unwrap_definition(node)
    if parts is None:
        return
    definition, name_node = parts
    name = ".".join([*scope, _text(ctx, name_node)])
    body = definition.child_by_field_name("body")
    signature = _signature(ctx, definition)
    doc = _docstring(ctx, body)
    bases: list[str] = []
    if definition.type == "class_definition":
        kind = "class"
        methods_before = len(ctx.units)
        rest = _walk(ctx, body, [*scope, _text(ctx, name_node)], True) if body is not None else []
        members = [u.leaf for u in ctx.units[methods_before:]]
        code = "\n".join(_text(ctx, n) for n in rest)
        text = "\n".join([signature, code, " ".join(members)])
        bases = _bases(ctx, definition)
    else:
        kind = "method" if in_class else "function"
        text = code = _text(ctx, node)
    unit = Unit(
        name=name,
        kind=kind,
        start_line=node.start_point[0] + 1,
        end_line=end_line(node),
        signature=signature,
        doc=doc,
        tokens=tokenize(text[: ctx.body_max_chars]),
        bases=bases,
        calls=calls_in(code),
    )
    ctx.units.append(unit)


def parse_source(src: bytes, body_max_chars: int = 4000, parser: Parser | None = None) -> ParsedFile:
    tree = (parser or new_parser()).parse(src)
    ctx = ParseContext(src=src, body_max_chars=body_max_chars)
    root = tree.root_node
    rest = _walk(ctx, root, [], False)
    head_end = 0
    first_def = min((u.start_line for u in ctx.units), default=None)
    for stmt in rest:
        if first_def is None or stmt.start_point[0] + 1 < first_def:
            head_end = max(head_end, end_line(stmt))
    head_text = "\n".join(_text(ctx, n) for n in rest)
    names = " ".join(u.name for u in ctx.units if "." not in u.name)
    if rest or ctx.units:
        module = Unit(
            name=MODULE_UNIT,
            kind="module",
            start_line=1,
            end_line=max(head_end, 1),
            doc=_docstring(ctx, root),
            tokens=tokenize((head_text[: ctx.body_max_chars] + "\n" + names)),
            calls=calls_in(head_text),
            imports=imports_in(head_text),
        )
        ctx.units.insert(0, module)
    ctx.units.sort(key=lambda u: (u.start_line, u.kind != "module"))
    return ParsedFile(units=ctx.units, has_errors=root.has_error)


# Module-level statements that have a name: an assignment by what it binds, a top-level `if` by its head.
_BINDING_TARGETS = {"pattern_list", "tuple_pattern", "list_pattern"}


def normal_name(name: str) -> str:
    """How a statement's name is compared: spaces collapsed, a trailing colon dropped."""
    return " ".join(name.strip().rstrip(":").split())


def _bound(src: bytes, target: Node) -> list[str]:
    if target.type == "identifier":
        return [src[target.start_byte : target.end_byte].decode("utf-8", "replace")]
    if target.type in _BINDING_TARGETS:
        return [n for child in target.named_children for n in _bound(src, child)]
    return []


def statement_names(src: bytes, node: Node) -> tuple[list[str], bool]:
    """The names a top-level statement answers to, and whether it is a plain binding (`=`, not `+=`)."""
    if node.type == "if_statement":
        condition = node.child_by_field_name("condition")
        head = src[condition.start_byte : condition.end_byte].decode("utf-8", "replace") if condition is not None else ""
        return ([normal_name("if " + head)] if head else []), True
    if node.type != "expression_statement" or not node.named_children:
        return [], False
    inner = node.named_children[0]
    if inner.type == "augmented_assignment":
        left = inner.child_by_field_name("left")
        return (_bound(src, left) if left is not None else []), False
    names: list[str] = []
    while inner is not None and inner.type == "assignment":  # a = b = 1 binds both
        left = inner.child_by_field_name("left")
        if left is not None:
            names += _bound(src, left)
        inner = inner.child_by_field_name("right")
    return names, True


def module_statements(src: bytes, parser: Parser | None = None) -> list[Unit]:
    """Named module-level statements as units of kind "statement" (1-based lines), in order;
    a name bound more than once is listed at its first binding."""
    root = (parser or new_parser()).parse(src).root_node
    out: list[Unit] = []
    seen: set[str] = set()
    for child in root.named_children:
        names, _ = statement_names(src, child)
        names = [n for n in names if n not in seen]
        if not names:
            continue
        seen.update(names)
        head = " ".join(src[child.start_byte : child.end_byte].decode("utf-8", "replace").split("\n", 1)[0].split())
        out.append(Unit(name=names[0], kind="statement", start_line=child.start_point[0] + 1, end_line=end_line(child),
                        signature=head[:100], tokens=[]))
    return out


def module_names(path: str) -> list[str]:
    """The dotted names a file is imported by (`src/pkg/mod.py` -> pkg.mod and src.pkg.mod)."""
    module = path[:-3].replace("/", ".") if path.endswith(".py") else path.replace("/", ".")
    if module.endswith(".__init__"):
        module = module[: -len(".__init__")]
    return with_root_variants(module)


def with_root_variants(module: str) -> list[str]:
    """A module's dotted name, and the same without a `src.` or `lib.` root folder."""
    out = [module]
    for prefix in ("src.", "lib."):
        if module.startswith(prefix):
            out.append(module[len(prefix):])
    return out


# A pattern written as a string literal where the `re` module takes it: re.compile(r"^(\d+)\.(\d+)$", re.I).
_RE_CALL = re.compile(r"""\bre\.(?:compile|match|fullmatch|search|sub|subn|split|findall|finditer)\(\s*"""
                      r"""((?<![\w'"])[rRuU]?(?:'(?:[^'\\\n]|\\.)+'|"(?:[^"\\\n]|\\.)+"))(?=\s*[,)])""")
# re.I among the flags that follow (`re.M | re.I`, `flags=re.IGNORECASE`), before the call closes.
_RE_IGNORECASE = re.compile(r"[^()]*?\bre\.(?:I|IGNORECASE)\b[^()]*\)")


class _Python:
    name = family = "python"
    suffixes = (".py",)
    exclude: tuple[str, ...] = ()  # index.exclude already names Python's test and generated files

    def grammar_version(self) -> str:
        return package_version("tree-sitter-python")

    def new_parser(self, path: str) -> Parser:
        return new_parser()

    def parse(self, src: bytes, body_max_chars: int, parser: Parser) -> ParsedFile:
        return parse_source(src, body_max_chars, parser)

    def statements(self, src: bytes, parser: Parser) -> list[Unit]:
        return module_statements(src, parser)

    def module_names(self, path: str) -> list[str]:
        return module_names(path)

    def is_package(self, path: str) -> bool:
        return path.endswith("__init__.py")

    def patterns(self, src: str) -> list[tuple[int, str, str]]:
        out = []
        for m in _RE_CALL.finditer(src):
            try:
                with warnings.catch_warnings():  # a non-raw '\d' warns of an invalid escape since Python 3.12
                    warnings.simplefilter("ignore")
                    pattern = ast.literal_eval(m.group(1))
            except (ValueError, SyntaxError):
                continue
            if isinstance(pattern, str):
                out.append((m.start(1), pattern, "i" if _RE_IGNORECASE.match(src, m.end(1)) else ""))
        return out


PYTHON = _Python()

"""JavaScript and TypeScript: tree-sitter parses source into the same units as Python's.

Units: function and class declarations and their methods; a function or class bound to a name
(`const f = () => ...`, `X.prototype.m = function`, `module.exports.f = ...`), named as written;
the methods of an object literal bound to a name (`name.method`); `export default` functions and
classes (`default` when anonymous). Inside a function, assignments of functions to members
(`proto.utc = function`, as dayjs's plugins install methods) are units of their own, and the
function keeps the rest of its code. Other nested functions belong to the function around them.
"""

from __future__ import annotations

import re

import tree_sitter_javascript
import tree_sitter_typescript
from tree_sitter import Language, Node, Parser

from localization.languages.base import ParseContext, ParsedFile, end_line, package_version
from localization.languages.python import calls_in, with_root_variants
from localization.models import MODULE_UNIT, Unit
from localization.tokens import tokenize

_JS = Language(tree_sitter_javascript.language())
_TS = Language(tree_sitter_typescript.language_typescript())
_TSX = Language(tree_sitter_typescript.language_tsx())
_JS_GRAMMARS = {".js": _JS, ".mjs": _JS, ".cjs": _JS, ".jsx": _JS}
_TS_GRAMMARS = {".ts": _TS, ".mts": _TS, ".cts": _TS, ".tsx": _TSX}

_FUNCTIONS = {"function_declaration", "generator_function_declaration", "function_expression", "function",
              "arrow_function", "generator_function"}
_CLASSES = {"class_declaration", "abstract_class_declaration", "class"}
_DECLARATIONS = {"lexical_declaration", "variable_declaration"}
_FIELDS = {"field_definition", "public_field_definition"}
# Blocks whose statements still sit in the enclosing scope.
_TRANSPARENT = {"statement_block", "if_statement", "else_clause", "try_statement", "catch_clause", "finally_clause"}
_NOT_CALLS = frozenset("if for while switch catch return typeof function new await async yield super import require constructor".split())
_DEFINING = ("function ", "function* ", "function*")
_IMPORT_FROM = re.compile(r"""\b(?:import|export)\s+(?:type\s+)?(?:([\w$*{}\s,]+?)\s+from\s+)?['"]([^'"\n]+)['"]""")
_REQUIRE = re.compile(r"""(?:(?:const|let|var)\s+([\w${}\s,:]+?)\s*=\s*)?\brequire\(\s*['"]([^'"\n]+)['"]\s*\)""")
UNITS_VERSION = 3  # what parse_units makes of a file: bump on any change, so cached units are made again (3: module doc)
_SUFFIX = re.compile("(?:" + "|".join(re.escape(s) for s in sorted({*_JS_GRAMMARS, *_TS_GRAMMARS}, key=lambda s: (-len(s), s))) + ")$")


def _text(src: bytes, node: Node) -> str:
    return src[node.start_byte : node.end_byte].decode("utf-8", "replace")


def import_names(text: str) -> list[str]:
    """A module's imports in the dotted form structure.py resolves: `import {a} from './x/y'` ->
    .x.y.a; `require('../m')` -> ..m; a package `lodash/get` -> lodash.get."""
    out: dict[str, None] = {}
    for regex in (_IMPORT_FROM, _REQUIRE):
        for m in regex.finditer(text):
            module = _dotted(m.group(2))
            if not module:
                continue
            names = re.findall(r"\{([^}]*)\}", m.group(1) or "")
            picked = [part.split(" as ")[0].split(":")[0].strip() for group in names for part in group.split(",")]
            picked = [p for p in picked if re.fullmatch(r"[\w$]+", p)]
            for name in picked or [""]:
                out[module + ("." + name if name else "")] = None
    return list(out)


def _dotted(spec: str) -> str:
    """`./x/y.js` -> .x.y, `../m` -> ..m, `../../m` -> ...m, `pkg/sub` -> pkg.sub."""
    spec = _SUFFIX.sub("", spec.strip())
    parts = spec.split("/")
    dots = 0
    while parts and parts[0] in (".", ".."):
        dots += 1 if parts[0] == "." else (2 if dots == 0 else 1)
        parts.pop(0)
    if parts and parts[-1] == "index":
        parts.pop()
    if any(not p or "." in p for p in parts):
        return ""
    return "." * dots + ".".join(parts)


def _doc(ctx: ParseContext, node: Node) -> str:
    """The first line of the `/** ... */` comment right before a definition."""
    prev = node.prev_named_sibling
    if prev is None or prev.type != "comment" or prev.end_point[0] < node.start_point[0] - 1:
        return ""
    for line in _text(ctx.src, prev).strip("/*").splitlines():
        line = line.strip().lstrip("*").strip()
        if line and not line.startswith("@"):
            return line
    return ""


def _module_doc(ctx: ParseContext, root: Node) -> str:
    """A file's leading comment, as Python's module docstring: its first line of text
    (`// Spanish [es]`, `/*! express ... */` -> `express`)."""
    first = next((c for c in root.named_children if c.type != "hash_bang_line"), None)
    if first is None or first.type != "comment":
        return ""
    for line in _text(ctx.src, first).splitlines():
        line = line.strip().lstrip("/*!").strip()
        if line and not line.startswith("@"):
            return line
    return ""


def _signature(ctx: ParseContext, node: Node, value: Node) -> str:
    body = value.child_by_field_name("body")
    end = body.start_byte if body is not None and body.type in ("statement_block", "class_body") else value.end_byte
    head = ctx.src[node.start_byte : end].decode("utf-8", "replace")
    return " ".join(head.split())[:200]


def _bases(ctx: ParseContext, cls: Node) -> list[str]:
    out = []
    for child in cls.named_children:
        if child.type != "class_heritage":
            continue
        for part in child.named_children:  # JS: the expression itself; TS: extends/implements clauses
            exprs = part.named_children if part.type in ("extends_clause", "implements_clause") else [part]
            out += [_text(ctx.src, e) for e in exprs if e.type in ("identifier", "type_identifier", "member_expression")]
    return out


def _named_value(src: bytes, node: Node) -> list[tuple[str, Node]]:
    """(name, value) pairs a statement binds: declarators, member assignments, `export default`."""
    if node.type == "export_statement":
        declaration = node.child_by_field_name("declaration")
        if declaration is not None:
            return _named_value(src, declaration)
        value = node.child_by_field_name("value")
        if value is None:
            return []
        own = value.child_by_field_name("name")
        return [(_text(src, own) if own is not None else "default", value)]
    if node.type in _DECLARATIONS:
        out = []
        for declarator in node.named_children:
            name, value = declarator.child_by_field_name("name"), declarator.child_by_field_name("value")
            if declarator.type == "variable_declarator" and name is not None and name.type == "identifier" and value is not None:
                out.append((_text(src, name), value))
        return out
    if node.type == "expression_statement" and node.named_children:
        inner = node.named_children[0]
        if inner.type == "assignment_expression":
            left, right = inner.child_by_field_name("left"), inner.child_by_field_name("right")
            if left is not None and right is not None and left.type in ("member_expression", "identifier"):
                return [("".join(_text(src, left).split()), right)]
    return []


def _unit(ctx: ParseContext, node: Node, name: str, kind: str, value: Node, text: str, bases: list[str] | None = None) -> None:
    ctx.units.append(Unit(
        name=name, kind=kind, start_line=node.start_point[0] + 1, end_line=end_line(node),
        signature=_signature(ctx, node, value), doc=_doc(ctx, node),
        tokens=tokenize(text[: ctx.body_max_chars]), bases=bases or [],
        # A method's own name opens its text as a call would (`m(a) {`): it is not one.
        calls=[c for c in calls_in(text, _NOT_CALLS, _DEFINING) if c != name.rsplit(".", 1)[-1]],
    ))


def _function(ctx: ParseContext, node: Node, name: str, kind: str, value: Node) -> None:
    """A function unit; member assignments of functions inside it become units, outside its text."""
    before = len(ctx.units)
    body = value.child_by_field_name("body")
    inner = _members_in(ctx, body) if body is not None and body.type == "statement_block" else []
    at = len(ctx.units)
    text = _text(ctx.src, node)
    if inner:
        kept, cursor = [], node.start_byte
        for child in inner:
            kept.append(ctx.src[cursor : child.start_byte].decode("utf-8", "replace"))
            cursor = child.end_byte
        kept.append(ctx.src[cursor : node.end_byte].decode("utf-8", "replace"))
        text = "".join(kept) + "\n" + " ".join(u.leaf for u in ctx.units[before:at])
    _unit(ctx, node, name, kind, value, text)


def _members_in(ctx: ParseContext, block: Node) -> list[Node]:
    """Statements of a function body that assign a function to a member (`proto.m = function`), recorded as units."""
    found = []
    for child in block.named_children:
        if child.type in _TRANSPARENT:
            found += _members_in(ctx, child)
            continue
        if child.type != "expression_statement":
            continue
        for name, value in _named_value(ctx.src, child):
            if "." in name and value.type in _FUNCTIONS:
                _function(ctx, child, name, "method", value)
                found.append(child)
    return found


def _class(ctx: ParseContext, node: Node, name: str, value: Node) -> None:
    body = value.child_by_field_name("body")
    before = len(ctx.units)
    rest = []
    decorators: list[Node] = []  # TypeScript's stand before a member, outside it
    for member in body.named_children if body is not None else []:
        if member.type == "decorator":
            decorators.append(member)
            continue
        key = member.child_by_field_name("name") or member.child_by_field_name("property")
        member_value = member.child_by_field_name("value")
        before_member = len(ctx.units)
        if member.type == "method_definition" and key is not None:
            _function(ctx, member, f"{name}.{_text(ctx.src, key)}", "method", member)
        elif member.type in _FIELDS and key is not None and member_value is not None and member_value.type in _FUNCTIONS:
            _function(ctx, member, f"{name}.{_text(ctx.src, key)}", "method", member_value)
        else:
            rest += [_text(ctx.src, d) for d in decorators] + [_text(ctx.src, member)]
        if decorators and len(ctx.units) > before_member:  # the member's unit starts at its first decorator
            unit = ctx.units[-1]
            ctx.units[-1] = unit.model_copy(update={"start_line": decorators[0].start_point[0] + 1})
        decorators = []
    members = " ".join(u.leaf for u in ctx.units[before:])
    _unit(ctx, node, name, "class", value, "\n".join([_signature(ctx, node, value), *rest, members]), _bases(ctx, value))


def _object(ctx: ParseContext, name: str, obj: Node) -> None:
    """The methods of an object literal as `name.key` units."""
    for member in obj.named_children:
        key = member.child_by_field_name("name") if member.type == "method_definition" else member.child_by_field_name("key")
        value = member if member.type == "method_definition" else member.child_by_field_name("value")
        if key is None or value is None or (member.type == "pair" and value.type not in _FUNCTIONS):
            continue
        if member.type in ("method_definition", "pair"):
            _function(ctx, member, f"{name}.{_text(ctx.src, key).strip(chr(34) + chr(39))}", "method", value)


def _statement(ctx: ParseContext, node: Node) -> bool:
    """Record the units a top-level statement defines; whether it was a definition."""
    target = node.child_by_field_name("declaration") if node.type == "export_statement" else node
    if target is not None and target.type in ("function_declaration", "generator_function_declaration") and target.child_by_field_name("name"):
        _function(ctx, node, _text(ctx.src, target.child_by_field_name("name")), "function", target)
        return True
    if target is not None and target.type in _CLASSES and target.child_by_field_name("name"):
        _class(ctx, node, _text(ctx.src, target.child_by_field_name("name")), target)
        return True
    defined = False
    for name, value in _named_value(ctx.src, node):
        if value.type in _FUNCTIONS:
            _function(ctx, node, name, "function", value)
            defined = True
        elif value.type in _CLASSES:
            _class(ctx, node, name, value)
            defined = True
        elif value.type == "object":
            _object(ctx, name, value)  # the statement stays module code: an object holds data too
    return defined


def parse_units(src: bytes, body_max_chars: int, parser: Parser) -> ParsedFile:
    root = parser.parse(src).root_node
    ctx = ParseContext(src=src, body_max_chars=body_max_chars)
    rest = [child for child in root.named_children if not _statement(ctx, child)]  # comments too, as Python's
    first_def = min((u.start_line for u in ctx.units), default=None)
    head_end = max((end_line(n) for n in rest if first_def is None or n.start_point[0] + 1 < first_def), default=0)
    head_text = "\n".join(_text(src, n) for n in rest)
    if rest or ctx.units:
        names = " ".join(u.name for u in ctx.units if u.kind != "method")
        ctx.units.append(Unit(
            name=MODULE_UNIT, kind="module", start_line=1, end_line=max(head_end, 1), doc=_module_doc(ctx, root),
            tokens=tokenize(head_text[: body_max_chars] + "\n" + names),
            calls=calls_in(head_text, _NOT_CALLS, _DEFINING), imports=import_names(_text(src, root)),
        ))
    ctx.units.sort(key=lambda u: (u.start_line, u.kind != "module", -u.end_line, u.kind != "class"))
    return ParsedFile(units=ctx.units, has_errors=root.has_error)


def top_statements(src: bytes, parser: Parser) -> list[Unit]:
    """Top-level bindings that are not units (`const DEFAULTS = {...}`), as "statement" units, first binding only."""
    root = parser.parse(src).root_node
    out: list[Unit] = []
    seen: set[str] = set()
    for child in root.named_children:
        target = child.child_by_field_name("declaration") if child.type == "export_statement" else child
        if target is None or target.type not in _DECLARATIONS:
            continue
        names = [n for n, value in _named_value(src, target) if value.type not in _FUNCTIONS | _CLASSES and n not in seen]
        if not names:
            continue
        seen.update(names)
        head = " ".join(_text(src, child).split("\n", 1)[0].split())
        out.append(Unit(name=names[0], kind="statement", start_line=child.start_point[0] + 1, end_line=end_line(child),
                        signature=head[:100], tokens=[]))
    return out


# A regular-expression literal where an expression starts (after `=`, `(`, `,`, `return`, ...), so that a
# division is not one; read from the text, not the tree, since it is only a hint.
_REGEX_LITERAL = re.compile(r"(?:(?<=[=(,:!&|?{};\[>])|(?<=\breturn)|^)[ \t]*/((?![*/])(?:[^/\\\n\[]|\\.|\[(?:[^\]\\\n]|\\.)*\])+)/([dgimsuvy]*)",
                            re.M)


class _Script:
    """JavaScript or TypeScript: one grammar per suffix, the same units."""

    def __init__(self, name: str, grammars: dict[str, Language], exclude: tuple[str, ...], packages: tuple[str, ...]):
        self.name = name
        self.family = "javascript"  # TypeScript projects hold JavaScript too, and import across the two
        self.grammars = grammars
        self.suffixes = tuple(grammars)
        self.exclude = exclude
        self.packages = packages

    def grammar_version(self) -> str:
        return ",".join(f"{p}={package_version(p)}" for p in self.packages) + f";units={UNITS_VERSION}"

    def new_parser(self, path: str) -> Parser:
        return Parser(next((g for s, g in self.grammars.items() if path.endswith(s)), next(iter(self.grammars.values()))))

    def parse(self, src: bytes, body_max_chars: int, parser: Parser) -> ParsedFile:
        return parse_units(src, body_max_chars, parser)

    def statements(self, src: bytes, parser: Parser) -> list[Unit]:
        return top_statements(src, parser)

    def module_names(self, path: str) -> list[str]:
        module = _SUFFIX.sub("", path)
        if module.endswith("/index") or module == "index":
            module = module[: -len("index")].rstrip("/")
        return with_root_variants(module.replace("/", "."))

    def is_package(self, path: str) -> bool:
        return _SUFFIX.sub("", path.rsplit("/", 1)[-1]) == "index"

    def patterns(self, src: str) -> list[tuple[int, str, str]]:
        # JavaScript's named groups (?<name>) and classes read the same in `regex`; `i` is the flag that changes a match.
        # Without the `u` flag JavaScript's \d and \w are ASCII-only.
        return [(m.start(1), m.group(1), ("i" if "i" in m.group(2) else "") + ("" if {"u", "v"} & set(m.group(2)) else "a"))
                for m in _REGEX_LITERAL.finditer(src)]


# Tests, mocks, bundles, type declarations, build tools' configuration and the top-level scripts/ that npm
# scripts run for maintainers: none holds the code a fix changes.
_SCRIPT_EXCLUDE = ("**/__tests__/**", "**/__mocks__/**", "**/*.test.*", "**/*.spec.*", "**/*.min.js", "**/*.bundle.js",
                   "**/coverage/**", "**/*.d.ts", "**/*.d.cts", "**/*.d.mts", "**/*.config.*", "**/*.conf.*", "**/.*rc.*",
                   "**/gulpfile.*", "**/Gulpfile.*", "**/gruntfile.*", "**/Gruntfile.*", "scripts/**")
JAVASCRIPT = _Script("javascript", _JS_GRAMMARS, _SCRIPT_EXCLUDE, ("tree-sitter-javascript",))
TYPESCRIPT = _Script("typescript", _TS_GRAMMARS, _SCRIPT_EXCLUDE, ("tree-sitter-typescript",))

"""The edits a perfect model would return for a known change: from a pre-image and a
post-image of a file, the post-image source of every changed unit (plus `<imports>` when
the import block changed). Used to replay gold patches and to check the engine against them.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass, field

from editing.models import IMPORTS_UNIT, Edit
from editing.source import Source, is_blank
from editing.units import Definition, definitions, import_block


@dataclass
class Derived:
    edits: list[Edit] = field(default_factory=list)
    problem: str | None = None  # why the change is not expressible as unit edits
    added: set[str] = field(default_factory=set)  # qualified names the change adds


def _owner(defs: list[Definition], row: int) -> Definition | None:
    holders = [d for d in defs if d.comment_row <= row < d.end]
    return max(holders, key=lambda d: (d.name.count("."), d.comment_row - d.end), default=None)


def _changed_rows(pre: Source, post: Source) -> tuple[set[int], set[int]]:
    """Rows of each side that differ, ignoring blank rows."""
    a, b = set(), set()
    matcher = difflib.SequenceMatcher(None, pre.lines, post.lines, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        a.update(r for r in range(i1, i2) if not is_blank(pre.lines[r]))
        b.update(r for r in range(j1, j2) if not is_blank(post.lines[r]))
    return a, b


def _names(defs: list[Definition]) -> dict[str, list[Definition]]:
    out: dict[str, list[Definition]] = {}
    for d in defs:
        out.setdefault(d.name, []).append(d)
    return out


def _code(src: Source, group: list[Definition]) -> str:
    return "\n".join("".join(src.lines[d.comment_row : d.end]) for d in group)


def derive(path: str, pre_text: str, post_text: str) -> Derived:
    pre, post = Source(pre_text), Source(post_text)
    pre_defs, post_defs = definitions(pre), definitions(post)
    pre_names, post_names = _names(pre_defs), _names(post_defs)
    pre_imports, post_imports = import_block(pre), import_block(post)
    rows_a, rows_b = _changed_rows(pre, post)
    changed: set[str] = set()

    def module_level(src: Source, row: int, block) -> str | None:
        if block is not None and block.start <= row < block.end:
            return IMPORTS_UNIT
        if src.is_comment_row(row):
            return ""  # a comment between units: invisible to the syntax tree, nothing to edit
        return None

    for side, rows, defs, block in (("pre", rows_a, pre_defs, pre_imports), ("post", rows_b, post_defs, post_imports)):
        src = pre if side == "pre" else post
        for row in sorted(rows):
            owner = _owner(defs, row)
            if owner is not None:
                changed.add(owner.name)
                continue
            name = module_level(src, row, block)
            if name is None:
                return Derived(problem=f"{path}: module-level change outside the import block ({side} line {row + 1})")
            if name:
                changed.add(name)

    result = Derived()
    # A unit that is gone, or lost its decorators (the engine keeps decorators the new code
    # omits), is expressed through its enclosing class.
    resolved: set[str] = set()
    for name in changed:
        target = name
        while target != IMPORTS_UNIT and (
            target not in post_names
            or (target in pre_names and any(d.decorators for d in pre_names[target]) and not any(d.decorators for d in post_names[target]))
        ):
            parent = target.rpartition(".")[0]
            if not parent:
                return Derived(problem=f"{path}: {target} is removed or undecorated at module level")
            target = parent
        resolved.add(target)
    for name in sorted(resolved):
        if any(name.startswith(other + ".") for other in resolved if other != IMPORTS_UNIT):
            continue  # inside another edited unit
        if name == IMPORTS_UNIT:
            if post_imports is None:
                return Derived(problem=f"{path}: the import block is removed")
            result.edits.append(Edit(path=path, unit=name, code="".join(post.lines[post_imports.start : post_imports.end])))
            continue
        group = post_names[name]
        if name in pre_names and len(group) > 1 and len(pre_names[name]) != len(group):
            return Derived(problem=f"{path}: {name} is defined {len(pre_names[name])} times before and {len(group)} after")
        if name not in pre_names:
            result.added.add(name)
        result.edits.append(Edit(path=path, unit=name, code=_code(post, group)))
    return result


def _normalized(node: ast.AST, added: set[str], scope: str = "") -> str:
    """ast.dump with added units sorted to the end of their body: where they sit does not matter."""
    if isinstance(node, (ast.Module, ast.ClassDef)):
        prefix = f"{scope}{node.name}." if isinstance(node, ast.ClassDef) else scope
        kept, moved = [], []
        for stmt in node.body:
            name = getattr(stmt, "name", None)
            text = _normalized(stmt, added, prefix)
            (moved if name is not None and f"{prefix}{name}" in added else kept).append(text)
        body, node.body = node.body, []
        head = ast.dump(node, include_attributes=False)
        node.body = body
        return head + "[" + ",".join(kept + sorted(moved)) + "]"
    return ast.dump(node, include_attributes=False)


def same_tree(a: str, b: str, added: set[str] = frozenset()) -> bool:
    """Whether two sources have equal syntax trees, apart from where the `added` units sit."""
    try:
        return _normalized(ast.parse(a), set(added)) == _normalized(ast.parse(b), set(added))
    except (SyntaxError, ValueError, RecursionError):
        return False

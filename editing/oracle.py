"""The edits a perfect model would return for a known change, from a pre-image and a post-image
of a file. Used to replay gold patches and to check the engine against them.

A Python file's change is expressed as a model would write it (a JavaScript or TypeScript
file's likewise, by script_oracle.py, through the units localization names there): the post-image source of every
changed unit, `<imports>` when the import block changed, named module-level statements by name;
what none of these holds (an unnamed module-level statement, a removed top-level function, a new
constant placed between two others) goes as search/replace edits, applied first. Each
derivation is replayed in memory; one that does not reproduce the post-image falls back to
search/replace hunks for the whole file (`Derived.fallback` says why), as does every other
text file. New files are written whole, removed ones deleted.
"""

from __future__ import annotations

import ast

from editing.engine import apply_edits
from editing.hunks import Derived, hunks, opcodes
from editing.models import DELETE_UNIT, FILE_UNIT, IMPORTS_UNIT, Edit, EditError
from editing.paths import is_python
from editing.script import is_script, same_script_tree
from editing.script_oracle import structured_script
from editing.source import Source, is_blank, split_lines
from editing.statements import find_statement, named_statements, unique_statement
from editing.units import Definition, definitions, import_block


def _owner(defs: list[Definition], row: int) -> Definition | None:
    holders = [d for d in defs if d.comment_row <= row < d.end]
    return max(holders, key=lambda d: (d.name.count("."), d.comment_row - d.end), default=None)


def _names(defs: list[Definition]) -> dict[str, list[Definition]]:
    out: dict[str, list[Definition]] = {}
    for d in defs:
        out.setdefault(d.name, []).append(d)
    return out


def _code(src: Source, group: list[Definition]) -> str:
    return "\n".join("".join(src.lines[d.comment_row : d.end]) for d in group)


class _Side:
    """One image of a Python file and who owns each of its rows."""

    def __init__(self, text: str):
        self.src = Source(text)
        self.defs = definitions(self.src)
        self.names = _names(self.defs)
        self.imports = import_block(self.src)
        self.statements = named_statements(self.src)

    def statement(self, row: int) -> str | None:
        """The name that addresses the named top-level statement holding `row`, when one does."""
        for s in self.statements:
            if s.first_row <= row < s.end:
                for name in s.names:
                    found = unique_statement(self.src, name)
                    if found is not None and found.first_row == s.first_row:
                        return name
        return None

    def owner(self, row: int) -> str | None:
        """A unit name, `<imports>`, "stmt:NAME", or None (only search/replace reaches it: a comment between units, say)."""
        d = _owner(self.defs, row)
        if d is not None:
            return d.name
        if self.imports is not None and self.imports.start <= row < self.imports.end:
            return IMPORTS_UNIT
        name = self.statement(row)
        return f"stmt:{name}" if name else None


def _structured(path: str, pre_text: str, post_text: str) -> Derived:
    pre, post = _Side(pre_text), _Side(post_text)
    ops = [op for op in opcodes(pre.src.lines, post.src.lines) if op[0] != "equal"]
    raw: set[int] = set()  # opcodes only search/replace expresses
    for _ in range(3):  # a removal found below makes its rows raw: settle
        changed: set[str] = set()
        for k, (_, i1, i2, j1, j2) in enumerate(ops):
            if k in raw:
                continue
            owners = [pre.owner(r) for r in range(i1, i2) if not is_blank(pre.src.lines[r])]
            owners += [post.owner(r) for r in range(j1, j2) if not is_blank(post.src.lines[r])]
            # A statement that is new, or gone, goes by search/replace: by name it would move.
            stmts = {o for o in owners if o and o.startswith("stmt:")}
            if None in owners or any(unique_statement(pre.src, o[5:]) is None or unique_statement(post.src, o[5:]) is None for o in stmts):
                raw.add(k)
            else:
                changed.update(o for o in owners if o)
        removed = _removed_top_level(changed, pre, post)
        more = {k for k, (_, i1, i2, _, _) in enumerate(ops) for d in removed if i1 < d.end and i2 > d.comment_row} - raw
        if not more:
            break
        raw |= more
    else:
        return Derived(problem=f"{path}: removed top-level units could not be settled")
    result = Derived(edits=hunks(path, pre.src.lines, post.src.lines, [ops[k] for k in sorted(raw)]) if raw else [])
    if result.edits is None:
        return Derived(problem=f"{path}: no unique search text for a module-level change")
    resolved = _resolved(changed, pre, post)
    for name in sorted(resolved):
        if any(name.startswith(other + ".") for other in resolved if other != IMPORTS_UNIT):
            continue  # inside another edited unit
        if name.startswith("stmt:"):
            found = find_statement(post.src, name[5:])
            result.edits.append(Edit(path=path, unit=name[5:], code="".join(post.src.lines[found.comment_row : found.end])))
            continue
        if name == IMPORTS_UNIT:
            if post.imports is None:
                return Derived(problem=f"{path}: the import block is removed")
            result.edits.append(Edit(path=path, unit=name, code="".join(post.src.lines[post.imports.start : post.imports.end])))
            continue
        group = post.names[name]
        if name in pre.names and len(group) > 1 and len(pre.names[name]) != len(group):
            return Derived(problem=f"{path}: {name} is defined {len(pre.names[name])} times before and {len(group)} after")
        if name not in pre.names:
            result.added.add(name)
        result.edits.append(Edit(path=path, unit=name, code=_code(post.src, group)))
    return result


def _gone(name: str, pre: _Side, post: _Side) -> bool:
    """A unit that is gone, or lost its decorators (the engine keeps decorators the new code omits)."""
    return name not in post.names or (
        name in pre.names and any(d.decorators for d in pre.names[name]) and not any(d.decorators for d in post.names[name]))


def _removed_top_level(changed: set[str], pre: _Side, post: _Side) -> list[Definition]:
    """Top-level units the change removes: no unit edit expresses them."""
    out = []
    for name in changed:
        if name == IMPORTS_UNIT or name.startswith("stmt:"):
            continue
        while name and _gone(name, pre, post):
            parent = name.rpartition(".")[0]
            if not parent:
                out += pre.names.get(name, [])
            name = parent
    return out


def _resolved(changed: set[str], pre: _Side, post: _Side) -> set[str]:
    """Changed names, a gone unit expressed through its enclosing class (top-level ones are raw)."""
    out = set()
    for name in changed:
        target = name
        while target != IMPORTS_UNIT and not target.startswith("stmt:") and _gone(target, pre, post):
            target = target.rpartition(".")[0]
        if target:
            out.add(target)
    return out


def _replays(path: str, pre: str, post: str, derived: Derived) -> str | None:
    """Why applying the derived edits to `pre` does not give `post` (None when it does)."""
    try:
        result = apply_edits({path: pre}.__getitem__, derived.edits, lint=False, whole_file_max_lines=len(split_lines(pre)) + 1)
    except EditError as exc:
        return str(exc)
    out = result.files.get(path, pre)
    if is_python(path) and same_tree(out, post, derived.added):
        return None
    if is_script(path) and same_script_tree(path, out, post, derived.added):
        return None
    return None if out == post else "the replay differs from the post-image"


def derive(path: str, pre_text: str | None, post_text: str | None) -> Derived:
    """The edits that turn `pre_text` into `post_text` (None: the file does not exist on that side)."""
    if pre_text is None:
        return Derived(edits=[Edit(path=path, unit=FILE_UNIT, code=post_text or "")])
    if post_text is None:
        return Derived(edits=[Edit(path=path, unit=DELETE_UNIT)])
    if pre_text != post_text and pre_text.replace("\r\n", "\n") == post_text.replace("\r\n", "\n"):
        return Derived(problem=f"{path}: only its line endings change, and edits keep a file's line endings")
    fallback = None
    if is_python(path) or is_script(path):
        derived = (_structured if is_python(path) else structured_script)(path, pre_text, post_text)
        fallback = derived.problem or _replays(path, pre_text, post_text, derived)
        if fallback is None and (derived.edits or pre_text == post_text):
            return derived
        fallback = fallback or "only blank lines change"
    pre, post = split_lines(pre_text), split_lines(post_text)
    ops = [op for op in opcodes(pre, post) if op[0] != "equal"]
    edits = hunks(path, pre, post, ops, lambda e: _replays(path, pre_text, post_text, Derived(edits=e)) is None) if ops else []
    if edits is None:
        why = "; its line endings are mixed, and edits keep a file's line endings" if "\r" in pre_text + post_text else ""
        return Derived(problem=f"{path}: no search/replace edits reproduce the change{why}", fallback=fallback)
    return Derived(edits=edits, fallback=fallback)


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

"""The edits a perfect model would return for a change to a JavaScript or TypeScript file: the
post-image of every changed unit (editing/script.py names them), and search/replace hunks for
what no unit holds (imports, `module.exports = ...`, code between units) or what the change
removes. A unit the change adds inside a function goes as that function's edit (only a class
takes new members by name)."""

from __future__ import annotations

from collections import Counter

from editing.hunks import Derived, hunks, opcodes
from editing.models import Edit
from editing.script import Span, spans
from editing.source import is_blank, split_lines


def _owner(every: list[Span], row: int) -> Span | None:
    holders = [s for s in every if s.first <= row < s.end]
    return min(holders, key=lambda s: s.end - s.first, default=None)


def _enclosing(every: list[Span], span: Span) -> Span | None:
    holders = [s for s in every if s.first <= span.first and span.end <= s.end and (s.first, s.end) != (span.first, span.end)]
    return min(holders, key=lambda s: s.end - s.first, default=None)


def structured_script(path: str, pre_text: str, post_text: str) -> Derived:
    pre_lines, post_lines = split_lines(pre_text), split_lines(post_text)
    pre, post = spans(path, pre_text), spans(path, post_text)
    pre_names = {s.name: s for s in pre}
    post_names = {s.name: s for s in post}
    twice = {name for side in (pre, post) for name, n in Counter(s.name for s in side).items() if n > 1}
    ops = [op for op in opcodes(pre_lines, post_lines) if op[0] != "equal"]
    owners = []
    for _, i1, i2, j1, j2 in ops:
        found = [_owner(pre, r) for r in range(i1, i2) if not is_blank(pre_lines[r])]
        owners.append(found + [_owner(post, r) for r in range(j1, j2) if not is_blank(post_lines[r])])
    # What no unit holds, what is named twice and what the change removes go as hunks.
    raw = [any(o is None or o.name in twice or o.name not in post_names for o in found) for found in owners]
    changed = {o.name for found, r in zip(owners, raw) if not r for o in found}
    targets = set()
    for name in changed:
        span = post_names[name]
        while span.name not in pre_names and (outer := _enclosing(post, span)) is not None and outer.kind != "class":
            span = outer  # added inside a function: that function carries it
        targets.add(span.name)
    if any(raw) and targets & {o.name for found, r in zip(owners, raw) if r for o in found if o is not None}:
        return Derived(problem=f"{path}: a unit is changed both by name and by a hunk")
    raw = [op for op, r in zip(ops, raw) if r]
    result = Derived(edits=[])
    if raw:
        found = hunks(path, pre_lines, post_lines, raw)
        if found is None:
            return Derived(problem=f"{path}: no unique search text for a module-level change")
        result.edits += found
    for name in sorted(targets, key=lambda n: post_names[n].first):
        span = post_names[name]
        outer = _enclosing(post, span)
        while outer is not None and outer.name not in targets:
            outer = _enclosing(post, outer)
        if outer is not None:
            continue  # inside another edited unit
        if name not in pre_names:
            result.added.add(name)
        result.edits.append(Edit(path=path, unit=name, code="".join(post_lines[span.first : span.end])))
    return result

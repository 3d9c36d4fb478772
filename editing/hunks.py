"""Search/replace hunks for a change between two images of a file, each widened by context
until its search text occurs once; and what a derivation of edits gives (`Derived`)."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from editing.models import Edit
from editing.replace import bare_lines, exact_positions
from editing.source import is_blank

# Context lines tried around a search/replace hunk until its search text occurs once.
_CONTEXT_STEPS = (0, 1, 2, 3, 5, 8, 13, 21, 34, 55)


@dataclass
class Derived:
    edits: list[Edit] = field(default_factory=list)
    problem: str | None = None  # why the change is not expressible
    added: set[str] = field(default_factory=set)  # qualified names the change adds
    fallback: str | None = None  # why the structured derivation gave way to search/replace hunks


def opcodes(pre: list[str], post: list[str]) -> list[tuple[str, int, int, int, int]]:
    return difflib.SequenceMatcher(None, pre, post, autojunk=False).get_opcodes()


def hunks(path: str, pre: list[str], post: list[str], ops: list, check=None) -> list[Edit] | None:
    """Search/replace edits for the given opcodes, each widened by context until its search
    text occurs once in the pre-image (and `check`, when given, accepts them); None when no width does."""
    # A position between pre rows -> the same position in post: before what is inserted there
    # (a region's start) and after it (a region's end).
    before: dict[int, int] = {}
    after: dict[int, int] = {}
    # Changes that are not these hunks' (a unit's edit carries them): a hunk that ends where one
    # starts ends before it, and one that starts where one ends starts after it, so that neither
    # edit brings the other's lines, whichever is applied first.
    others_start: dict[int, int] = {}
    others_end: dict[int, int] = {}
    mine = {(i1, i2, j1, j2) for _, i1, i2, j1, j2 in ops}
    for tag, i1, i2, j1, j2 in opcodes(pre, post):
        pairs = [(i1 + t, j1 + t) for t in range(i2 - i1 + 1)] if tag == "equal" else [(i1, j1), (i2, j2)]
        for i, j in pairs:
            before[i] = min(before.get(i, j), j)
            after[i] = max(after.get(i, j), j)
        if tag != "equal" and (i1, i2, j1, j2) not in mine:
            others_start[i1], others_end[i2] = j1, j2
    bare = bare_lines("".join(pre))
    for n in _CONTEXT_STEPS:
        spans: list[list[int]] = []
        for _, i1, i2, _, _ in ops:
            lo, hi = i1 - n, i2 + n
            if lo == hi or not any(not is_blank(line) for line in pre[max(lo, 0) : hi]):
                lo, hi = lo - 1, hi + 1  # an insertion needs a line to anchor on
            lo, hi = max(lo, 0), min(hi, len(pre))
            while lo not in before:
                lo -= 1
            while hi not in after:
                hi += 1
            if spans and lo <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], hi)
            else:
                spans.append([lo, hi])
        if all(len(exact_positions(bare, bare[lo:hi])) == 1 for lo, hi in spans):
            edits = [Edit(path=path, search="".join(pre[lo:hi]),
                          replace="".join(post[max(before[lo], others_end.get(lo, -1)) : min(after[hi], others_start.get(hi, len(post)))]))
                     for lo, hi in spans]
            if check is None or check(edits):
                return edits
    return None

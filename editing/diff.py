"""Unified diffs that `git apply` accepts: a/ and b/ paths, and the no-newline marker."""

from __future__ import annotations

import difflib

from editing.source import split_lines

_NO_NEWLINE = "\\ No newline at end of file\n"


def _common(a: list[str], b: list[str], limit: int, equal) -> int:
    """The largest k <= limit with equal(k), by bisection (list slices compare in C)."""
    lo, hi = 0, limit
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if equal(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


class _Matcher(difflib.SequenceMatcher):
    """Matches only the changed middle of two texts: SequenceMatcher is slow on long files, and
    an edit changes a few units. The equal head and tail are never re-aligned."""

    def __init__(self, a: list[str], b: list[str]):
        head = _common(a, b, min(len(a), len(b)), lambda k: a[:k] == b[:k])
        tail = _common(a, b, min(len(a), len(b)) - head, lambda k: a[len(a) - k :] == b[len(b) - k :])
        super().__init__(None, a[head : len(a) - tail], b[head : len(b) - tail])
        self._head, self._tail, self._full = head, tail, (len(a), len(b))

    def get_opcodes(self):
        h, t, (la, lb) = self._head, self._tail, self._full
        ops = [("equal", 0, h, 0, h)] if h else []
        ops += [(tag, i1 + h, i2 + h, j1 + h, j2 + h) for tag, i1, i2, j1, j2 in super().get_opcodes()]
        if t:
            ops.append(("equal", la - t, la, lb - t, lb))
        return ops


def _range(start: int, length: int) -> str:
    first = start + 1 if length else start  # an empty range names the line before it
    return f"{first}" if length == 1 else f"{first},{length}"


def changed_rows(matcher: difflib.SequenceMatcher) -> list[tuple[int, int]]:
    """Row ranges [j1, j2) of the new text that differ from the old (empty ranges mark deletions)."""
    return [(j1, j2) for tag, _, _, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def line_matcher(a: list[str], b: list[str]) -> difflib.SequenceMatcher:
    return _Matcher(a, b)


def file_diff(path: str, old: str, new: str, context: int = 3, matcher: difflib.SequenceMatcher | None = None) -> str:
    if old == new:
        return ""
    a, b = split_lines(old), split_lines(new)
    out = [f"diff --git a/{path} b/{path}\n", f"--- a/{path}\n", f"+++ b/{path}\n"]
    for group in (matcher or _Matcher(a, b)).get_grouped_opcodes(context):
        i1, i2, j1, j2 = group[0][1], group[-1][2], group[0][3], group[-1][4]
        out.append(f"@@ -{_range(i1, i2 - i1)} +{_range(j1, j2 - j1)} @@\n")
        for tag, a1, a2, b1, b2 in group:
            if tag == "equal":
                out.extend(" " + line for line in a[a1:a2])
                continue
            out.extend("-" + line for line in a[a1:a2])
            out.extend("+" + line for line in b[b1:b2])
    return "".join(line if line.endswith("\n") else line + "\n" + _NO_NEWLINE for line in out)


def _body(lines: list[str], sign: str) -> list[str]:
    return [sign + line if line.endswith("\n") else sign + line + "\n" + _NO_NEWLINE for line in lines]


def new_file_diff(path: str, text: str) -> str:
    lines = split_lines(text)
    out = [f"diff --git a/{path} b/{path}\n", "new file mode 100644\n"]
    if lines:  # an empty new file is the header alone, as git writes it
        out += ["--- /dev/null\n", f"+++ b/{path}\n", f"@@ -0,0 +{_range(0, len(lines))} @@\n", *_body(lines, "+")]
    return "".join(out)


def deleted_file_diff(path: str, text: str) -> str:
    lines = split_lines(text)
    out = [f"diff --git a/{path} b/{path}\n", "deleted file mode 100644\n"]
    if lines:
        out += [f"--- a/{path}\n", "+++ /dev/null\n", f"@@ -{_range(0, len(lines))} +0,0 @@\n", *_body(lines, "-")]
    return "".join(out)

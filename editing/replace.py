"""Search/replace edits: exact old lines, found once in a file, give way to new lines.

Matching is by whole lines. An exact match wins; only when there is none are two slips
forgiven, each only when it leaves a single match: trailing whitespace, and indentation that
differs from the file's by the same prefix on every line (the new lines then move by that
prefix too). Blank lines at the edges of the search text are dropped as a last resort. A
search text that occurs more than once is refused, with the lines where it occurs.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from editing.models import EditError
from editing.source import indent_of, split_lines

# How many places an ambiguity error names.
_SHOWN_MATCHES = 5


@dataclass
class Replaced:
    text: str
    start: int  # 0-based first row written
    rows: int  # rows written


def bare_lines(text: str) -> list[str]:
    """Lines without their endings ("\\r\\n" or "\\n")."""
    return [line[:-2] if line.endswith("\r\n") else line.rstrip("\n") for line in split_lines(text)]


def exact_positions(file: list[str], wanted: list[str]) -> list[int]:
    """Where `wanted` occurs in `file` as a run of whole lines (0-based)."""
    if not wanted:
        return []
    first, size = wanted[0], len(wanted)
    return [at for at in range(len(file) - size + 1) if file[at] == first and file[at : at + size] == wanted]


def _trailing(file: list[str], search: list[str], at: int) -> str | None:
    ok = all(a.rstrip() == b.rstrip() for a, b in zip(file[at : at + len(search)], search))
    return "" if ok else None


def _shifted(file: list[str], search: list[str], at: int) -> str | None:
    """The indentation prefix the file has beyond the search text ("-" + prefix when it has less)."""
    offset: str | None = None
    for a, b in zip(file[at : at + len(search)], search):
        if not a.strip() and not b.strip():
            continue
        if not a.strip() or not b.strip():
            return None
        a, b = a.rstrip(), b.rstrip()
        if a.endswith(b.lstrip()) and a[: len(a) - len(b.lstrip())] == indent_of(a):
            ia, ib = indent_of(a), indent_of(b)
            if ia.endswith(ib):
                step = ia[: len(ia) - len(ib)]
            elif ib.endswith(ia):
                step = "-" + ib[: len(ib) - len(ia)]
            else:
                return None
            if offset is None:
                offset = step
            elif offset != step:
                return None
        else:
            return None
    return offset or ""


def _exact(file: list[str], search: list[str]) -> list[tuple[int, str]]:
    return [(at, "") for at in exact_positions(file, search)]


def _loose(test, key):
    """Matches by `test` at the places whose first line equals the search's under `key`."""
    def matches(file: list[str], search: list[str]) -> list[tuple[int, str]]:
        first = key(search[0])
        return [(at, shift) for at in range(len(file) - len(search) + 1)
                if key(file[at]) == first and (shift := test(file, search, at)) is not None]
    return matches


_LEVELS = (_exact, _loose(_trailing, str.rstrip), _loose(_shifted, str.strip))


def _reindent(lines: list[str], shift: str) -> list[str]:
    if not shift:
        return lines
    if shift.startswith("-"):
        cut = shift[1:]
        return [line[len(cut):] if line.startswith(cut) else line for line in lines]
    return [shift + line if line.strip() else line for line in lines]


def _trim_blank_edges(lines: list[str]) -> list[str]:
    lo, hi = 0, len(lines)
    while lo < hi and not lines[lo].strip():
        lo += 1
    while hi > lo and not lines[hi - 1].strip():
        hi -= 1
    return lines[lo:hi]


def _closest(file: list[str], search: list[str]) -> str:
    first = next((s.strip() for s in search if s.strip()), "")
    stripped = [line.strip() for line in file]
    close = difflib.get_close_matches(first, stripped, n=1, cutoff=0.6)
    if not close:
        return ""
    row = stripped.index(close[0])
    return f"; the closest line is {row + 1}: {file[row].strip()[:80]!r}"


def search_replace(text: str, search: str, replace: str, newline: str) -> Replaced:
    """`text` with the one place holding `search` replaced; EditError when there is none or several."""
    file = bare_lines(text)
    wanted, new = bare_lines(search), bare_lines(replace)
    attempts = [(wanted, new)]
    trimmed = _trim_blank_edges(wanted)
    if trimmed != wanted and trimmed:
        attempts.append((trimmed, _trim_blank_edges(new)))
    for lines, new_lines in attempts:
        for level in _LEVELS:
            hits = level(file, lines)
            if len(hits) > 1:
                where = ", ".join(str(at + 1) for at, _ in hits[:_SHOWN_MATCHES])
                raise EditError(f"the search text occurs {len(hits)} times (lines {where}); include more lines around it so it occurs once")
            if hits:
                at, shift = hits[0]
                # At the end of the file, a final newline the search text has and the replacement lacks
                # (or the other way round) is meant; otherwise the file keeps what it had.
                final = replace.endswith(("\n", "\r")) if search.endswith(("\n", "\r")) != replace.endswith(("\n", "\r")) else None
                return _splice(text, at, len(lines), _reindent(new_lines, shift), newline, final)
    raise EditError(f"the search text is not in the file{_closest(file, wanted)}")


def _splice(text: str, at: int, count: int, new: list[str], newline: str, final: bool | None = None) -> Replaced:
    lines = split_lines(text)
    body = "".join(line + newline for line in new)
    end = at + count
    if end >= len(lines) and lines and body:
        had = lines[-1].endswith("\n")
        if not (had if final is None else final):
            body = body[: -len(newline)]  # no final newline: as the file had it, or as the edit says
    return Replaced(text="".join(lines[:at]) + body + "".join(lines[end:]), start=at, rows=len(new))

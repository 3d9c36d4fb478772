"""New pyflakes findings of an edited file, compared with the original."""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass

from pyflakes import checker, messages


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    line: int
    key: tuple


def findings(text: str, path: str) -> list[Finding] | None:
    """pyflakes' findings, or None when the text does not parse."""
    try:
        tree = ast.parse(text, filename=path)
    except (SyntaxError, ValueError, RecursionError):
        return None
    out = []
    for m in checker.Checker(tree, filename=path).messages:
        if isinstance(m, messages.Message):
            out.append(Finding(type(m).__name__, m.message % m.message_args, m.lineno, (type(m).__name__, *(str(a) for a in m.message_args if not isinstance(a, int)))))
    return out


def new_findings(old: str, new: str, path: str) -> list[Finding]:
    """Findings of `new` beyond those `old` already had (matched by kind and names, not lines)."""
    after = findings(new, path) or []
    before = Counter(f.key for f in findings(old, path) or [])
    out = []
    for f in after:
        if before[f.key] > 0:
            before[f.key] -= 1
        else:
            out.append(f)
    return out

"""The repository's regular expressions that match a value the issue quotes: `dayjs.utc('2020-12-01T09:00:00+0900')`
is read by the date pattern in `constant.js`, which no word of the issue names. A parsing bug often sits
in the pattern that reads the value."""

from __future__ import annotations

import re
from dataclasses import dataclass

import regex

from localization.languages import language_of

# A quoted value in the issue: a string literal of its code, or a value in quotes in its prose.
# Not after a letter, so that prose's "it's" and "don't" do not open a quote.
_QUOTED = re.compile(r"""(?<!\w)(['"])([^'"\n]+)\1(?!\w)""")
_WORD = re.compile(r"\b[A-Za-z]{2,}\b")
_VALUE_MAX_CHARS = 200  # a longer quoted text is prose or data, and costs every pattern a long match
_MATCH_TIMEOUT_S = 0.05  # a pattern that backtracks for longer on a short value is skipped
# A pattern that reads any of these reads about anything (`.*`, `\w+`, `(\S*)`): it says nothing of a value.
_ORDINARY = ("", "word", "Two words.", "1")


@dataclass(frozen=True)
class RepoPattern:
    path: str
    offset: int  # where the pattern stands in its file
    compiled: regex.Pattern


def repo_patterns(sources: dict[str, str]) -> list[RepoPattern]:
    """Every pattern the sources write out that `regex` reads and that does not read ordinary text."""
    out = []
    for path, src in sources.items():
        lang = language_of(path)
        if lang is None:
            continue
        for offset, pattern, flags in lang.patterns(src):
            try:
                compiled = regex.compile(pattern, (regex.IGNORECASE if "i" in flags else 0) | (regex.ASCII if "a" in flags else 0))
                if any(compiled.fullmatch(text, timeout=_MATCH_TIMEOUT_S) for text in _ORDINARY):
                    continue
            except Exception:  # noqa: BLE001 - any pattern `regex` cannot read or runs away on (nesting too deep too) is skipped
                continue
            out.append(RepoPattern(path, offset, compiled))
    return out


def quoted_values(issue: str, min_chars: int) -> set[str]:
    """Quoted texts of the issue, less file names (the path signal's: `'*.py'` is read by every glob)."""
    return {v for m in _QUOTED.finditer(issue)
            if min_chars <= len(v := m.group(2)) <= _VALUE_MAX_CHARS and language_of(v) is None}


def _reads(pattern: RepoPattern, text: str) -> bool:
    try:
        return pattern.compiled.fullmatch(text, timeout=_MATCH_TIMEOUT_S) is not None
    except Exception:  # noqa: BLE001 - a timeout, or a recursion limit on a deep pattern: not read
        return False


def ordinary_words(issue: str) -> set[str]:
    return set(_WORD.findall(issue))


def matching(patterns: list[RepoPattern], values: set[str], words: set[str] = frozenset()) -> dict[str, list[RepoPattern]]:
    """Each value the patterns match whole, with those patterns, less the patterns that also match one of
    `words` (the issue's ordinary words: `c.*` or a naming style's `[A-Z][a-z]+` read them as readily as
    any value). Each pattern is tried on the words once, whatever the number of values it reads."""
    out: dict[str, list[RepoPattern]] = {}
    for pattern in patterns:
        read = [v for v in values if _reads(pattern, v)]
        if read and not any(_reads(pattern, w) for w in words):
            for value in read:
                out.setdefault(value, []).append(pattern)
    return out

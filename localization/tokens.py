"""Identifier-aware tokens: `getHTTPResponse` and `get_http_response` both split into get, http,
response (then stopwords such as `get` drop out), and the whole identifier is kept too so that an
exact name scores above its parts."""

from __future__ import annotations

import re
from functools import lru_cache

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CAMEL = re.compile(r"[A-Z]+[0-9]*(?=[A-Z][a-z])|[A-Z]?[a-z0-9]+|[A-Z]+[0-9]*")

STOPWORDS = frozenset(
    """
    a an and are as at be but by for from has have if in into is it its of on or so such that the their
    then there these they this to was were will with not no can do does did we you i me my our your he she
    him her them which who what when where how why all any some more most other than too very just also
    only own same should would could may might must shall been being am get got use used using like
    def self cls return none true false pass class import lambda elif else try except finally raise while
    yield assert del global nonlocal async await args kwargs
    """.split()
)


def issue_title(text: str) -> str:
    """An issue's title: its first non-blank line."""
    return next((line for line in text.splitlines() if line.strip()), "")


def split_identifier(ident: str) -> list[str]:
    parts: list[str] = []
    for chunk in ident.split("_"):
        if chunk:
            parts.extend(m.group(0) for m in _CAMEL.finditer(chunk))
    return [p.lower() for p in parts]


def tokenize(text: str) -> list[str]:
    out: list[str] = []
    for match in _IDENT.finditer(text):
        ident = match.group(0)
        parts = split_identifier(ident)
        lowered = ident.lower().strip("_")
        if len(parts) > 1 and lowered not in STOPWORDS:
            out.append(lowered)
        out.extend(p for p in parts if len(p) > 1 and p not in STOPWORDS)
    return out


@lru_cache(maxsize=65536)
def _path_tokens(path: str) -> tuple[str, ...]:
    stem = re.sub(r"\.[A-Za-z]{1,4}$", "", path)  # `.py`, `.js`, `.tsx`: not a word of the path
    return tuple(tokenize(stem.replace("/", " ").replace(".", " ")))


def path_tokens(path: str) -> list[str]:
    return list(_path_tokens(path))


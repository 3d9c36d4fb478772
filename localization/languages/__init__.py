"""The languages SuperCoder reads, one module each (python.py, javascript.py); adding a language
is adding a module that meets `base.Language` and listing it here."""

from __future__ import annotations

from localization.languages.base import Language, ParsedFile
from localization.languages.javascript import JAVASCRIPT, TYPESCRIPT
from localization.languages.python import PYTHON

LANGUAGES: dict[str, Language] = {lang.name: lang for lang in (PYTHON, JAVASCRIPT, TYPESCRIPT)}


def language_of(path: str) -> Language | None:
    """The language whose suffix `path` ends with (the longest suffix wins), or None."""
    best: tuple[int, Language | None] = (0, None)
    for lang in LANGUAGES.values():
        for suffix in lang.suffixes:
            if path.endswith(suffix) and len(suffix) > best[0]:
                best = (len(suffix), lang)
    return best[1]


def _read_as(path: str) -> Language:
    """The language `path` is read in: its own, or Python for a name no language claims."""
    return language_of(path) or PYTHON


def parse_file(path: str, src: bytes, body_max_chars: int = 4000) -> ParsedFile:
    """`path`'s units in its language."""
    lang = _read_as(path)
    return lang.parse(src, body_max_chars, lang.new_parser(path))


def file_statements(path: str, src: bytes) -> list:
    lang = _read_as(path)
    return lang.statements(src, lang.new_parser(path))


def module_names(path: str) -> list[str]:
    return _read_as(path).module_names(path)


def is_package(path: str) -> bool:
    return _read_as(path).is_package(path)


__all__ = ["LANGUAGES", "Language", "ParsedFile", "file_statements", "is_package", "language_of",
           "module_names", "parse_file"]

"""Plain data passed between localization stages; every model round-trips through JSON."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, Field

UnitKind = Literal["module", "class", "function", "method", "statement", "span", "file"]
MODULE_UNIT = "<module>"
FILE_TARGET = "<file>"  # a whole file, named by localization (a text file that is not Python, say)
SPAN_TARGET = re.compile(r"^<module>:(\d+)-(\d+)$")  # lines of a file, named by localization


class Unit(BaseModel):
    """A code unit: a function, method, class, or a module's head (its top-level code)."""

    path: str = ""  # repo-relative, posix separators; empty inside the content-addressed cache
    name: str  # qualified: "Session.request", "Outer.Inner.f", "<module>"; a statement: "NAME"; a span: "<module>:12-20"
    kind: UnitKind
    start_line: int  # 1-based, inclusive, decorators included
    end_line: int
    signature: str = ""
    doc: str = ""  # first line of the docstring
    tokens: list[str] = Field(default_factory=list)  # lexical tokens, cached with the unit
    # The code's structure, cached with the unit and resolved in localization/structure.py:
    bases: list[str] = Field(default_factory=list)  # a class's base classes, as written (`Basic`, `mixins.Printable`)
    calls: list[str] = Field(default_factory=list)  # names this unit calls (`foo(`, `obj.foo(` -> "foo"), once each
    imports: list[str] = Field(default_factory=list)  # a module head's imports: `pkg.mod`, `pkg.mod.name`, `..rel.name`

    @property
    def uid(self) -> str:
        return f"{self.path}::{self.name}"

    @property
    def leaf(self) -> str:
        return self.name.rsplit(".", 1)[-1]


class FileScore(BaseModel):
    path: str
    score: float


class UnitScore(BaseModel):
    path: str
    name: str
    start_line: int
    end_line: int
    score: float


class Localization(BaseModel):
    """The answer of `localize`: ranked files and units, best first."""

    files: list[FileScore]
    units: list[UnitScore]
    mode: Literal["retrieval", "llm"] = "retrieval"
    notes: list[str] = Field(default_factory=list)
    llm_calls: list[dict[str, str]] = Field(default_factory=list)  # prompts and answers, for the run record

    def public(self) -> dict:
        """What `localize --json` prints: files and units, best first, and the notes that explain
        the order (a file placed for its importer, a name the issue mentions)."""
        return self.model_dump(include={"files", "units", "notes"})

"""Plain data of the editing stage; every model round-trips through JSON."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

IMPORTS_UNIT = "<imports>"


class Edit(BaseModel):
    """Replace (or add) one unit of one file with the given source."""

    model_config = ConfigDict(extra="forbid")

    path: str  # repo-relative, posix separators
    unit: str  # "func", "Class.method", "Outer.Inner.f", or "<imports>"
    code: str  # the full new source of the unit, at any indentation


class LintFinding(BaseModel):
    path: str
    line: int
    message: str  # pyflakes' text, e.g. "undefined name 'foo'"
    kind: str  # pyflakes' message class, e.g. "UndefinedName"
    edit: int | None = None  # index of the edit whose new code holds the line
    blocking: bool = False  # a kind in editing.lint_blocking: the candidate goes back to the model


class EditResult(BaseModel):
    """The edits applied in memory: a `git apply`-able diff and the new file texts."""

    diff: str
    files: dict[str, str] = Field(default_factory=dict)  # path -> new text, changed files only
    lint: list[LintFinding] = Field(default_factory=list)
    units: list[str] = Field(default_factory=list)  # "path::unit" of every unit written, extras included

    def public(self) -> dict:
        return self.model_dump(include={"diff", "files", "lint"})

    @property
    def blocking_lint(self) -> list[LintFinding]:
        return [f for f in self.lint if f.blocking]


class EditError(Exception):
    """An edit that cannot be applied; the message names the edit and the reason."""

    def __init__(self, message: str, index: int | None = None):
        super().__init__(message)
        self.index = index


class Candidate(BaseModel):
    """One distinct patch the model proposed; samples that normalise to the same code merge into it."""

    edits: list[Edit]
    diff: str
    files: dict[str, str] = Field(default_factory=dict)
    lint: list[LintFinding] = Field(default_factory=list)
    temperatures: list[float] = Field(default_factory=list)  # one per merged sample
    count: int = 1  # samples merged into this candidate
    attempts: int = 1  # model answers it took, retries included (of its first sample)
    key: str = ""  # hash of the normalised new file texts

    @property
    def lint_clean(self) -> bool:
        return not any(f.blocking for f in self.lint)


class SampleFailure(BaseModel):
    temperature: float
    attempts: int
    error: str
    stop: Literal["limit", "refused", "unavailable"] | None = None  # the endpoint stopped answering, and why

    @computed_field  # kept in the run record's JSON
    @property
    def fatal(self) -> bool:
        """Limits, retries exhausted, refusal: asking again will not help."""
        return self.stop is not None


class Generation(BaseModel):
    """What CodeGeneration returns: distinct candidates, most often proposed first."""

    candidates: list[Candidate] = Field(default_factory=list)
    failures: list[SampleFailure] = Field(default_factory=list)
    calls: list[dict] = Field(default_factory=list)  # prompts and answers, for the run record

"""Plain data of the editing stage; every model round-trips through JSON."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field, model_validator

IMPORTS_UNIT = "<imports>"
FILE_UNIT = "<file>"  # the whole file: written as given (created when it does not exist)
DELETE_UNIT = "<delete>"  # the file is removed


class Edit(BaseModel):
    """One change to one file, in one of three forms (docs/prompts.md shows each):

    - a unit: `unit` names a function, method or class (`Class.method`), `<imports>`, or a
      module-level statement by the name it assigns (`DEFAULT_FORMAT`, `__all__`) or its head
      (`if TYPE_CHECKING`); `code` is its whole new source, at any indentation;
    - a file: `unit` is `<file>` (the whole text) or `<delete>`;
    - a search/replace: `search` holds exact old lines that occur once in the file, `replace`
      the lines that take their place.
    """

    model_config = ConfigDict(extra="forbid")

    path: str  # repo-relative, posix separators
    unit: str = ""
    code: str = ""
    search: str | None = None
    replace: str | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Edit:
        if self.search is not None or self.replace is not None:
            if self.search is None or self.replace is None:
                raise ValueError("a search/replace edit needs both `search` and `replace`")
            if self.unit or self.code:
                raise ValueError("a search/replace edit takes no `unit` or `code`")
            if not self.search.strip():
                raise ValueError("`search` is empty: give the exact old lines to replace")
        elif not self.unit:
            raise ValueError("an edit needs `unit` and `code`, or `search` and `replace`")
        return self

    @property
    def kind(self) -> str:
        """"replace", "file", "delete", "imports" or "unit" (a definition or a named statement)."""
        if self.search is not None:
            return "replace"
        return {FILE_UNIT: "file", DELETE_UNIT: "delete", IMPORTS_UNIT: "imports"}.get(self.unit, "unit")

    @property
    def label(self) -> str:
        return f"{self.path} {self.unit}" if self.unit else f"{self.path} search/replace"


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
    files: dict[str, str] = Field(default_factory=dict)  # path -> new text, changed and created files
    created: list[str] = Field(default_factory=list)  # files the edits create (in `files` too)
    deleted: list[str] = Field(default_factory=list)  # files the edits remove
    lint: list[LintFinding] = Field(default_factory=list)
    units: list[str] = Field(default_factory=list)  # "path::unit" of every unit written, extras included

    def public(self) -> dict:
        return self.model_dump(include={"diff", "files", "created", "deleted", "lint"})

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

"""CodeGeneration: ask the model for whole units at several temperatures, concurrently, and
turn its answers into candidate patches.

Each temperature gets one request (`n` samples where the endpoint supports it; topped up with
single requests where it returns fewer). Every sample is parsed and applied in memory; one whose
edits cannot be read, placed or parsed, or that adds a blocking lint finding, goes back to the
model with the error, up to `editing.max_retries` times. Samples that normalise to the same
code (comments and layout aside) merge into one candidate with a count. The model is anything
with `complete` (localization's ChatModel); the agent's client is one.
"""

from __future__ import annotations

import ast
import hashlib
import io
import threading
import tokenize
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from configs.errors import LLMError
from configs.rendering import render
from editing.answer import AnswerError, parse_edits
from editing.config import EditingConfig
from editing.engine import Editor
from editing.models import IMPORTS_UNIT, Candidate, EditError, EditResult, Generation, SampleFailure
from editing.paths import is_python, repo_reader
from editing.script import is_script, spans
from editing.source import Source, split_lines
from editing.statements import unique_statement
from editing.units import find, import_block
from localization.languages import file_statements, parse_file
from localization.models import FILE_TARGET, SPAN_TARGET
from localization.repomap import schematic
from localization.stages import ChatModel


@dataclass(frozen=True)
class Target:
    """A unit localization pointed at."""

    path: str
    name: str


def _unit_code(text: str, name: str, path: str) -> tuple[str | None, str]:
    """The code a target names and, for module-level code and files, its lines ("START-END")."""
    lines = [line.rstrip("\r\n") for line in split_lines(text)]
    if name == FILE_TARGET:
        return text.rstrip("\n"), f"1-{len(lines)}"
    span = SPAN_TARGET.match(name)
    if span:
        lo, hi = int(span.group(1)), min(int(span.group(2)), len(lines))
        return ("\n".join(lines[lo - 1 : hi]) or None), f"{lo}-{hi}"
    if is_script(path):
        found = [s for s in spans(path, text) if s.name == name]
        return ("\n".join("\n".join(lines[s.first : s.end]) for s in found) or None), ""
    if not is_python(path):
        return None, ""
    src = Source(text)
    if name in (IMPORTS_UNIT, "<module>"):
        block = import_block(src)
        return ("".join(src.lines[block.start : block.end]).rstrip("\n") if block else None), ""
    defs = find(src, name) if not name.startswith("if ") else []
    if defs:
        return "\n".join("".join(src.lines[d.comment_row : d.end]).rstrip("\n") for d in defs), ""
    stmt = unique_statement(src, name)
    if stmt is None:
        return None, ""
    return "".join(src.lines[stmt.comment_row : stmt.end]).rstrip("\n"), f"{stmt.comment_row + 1}-{stmt.end}"


def build_context(repo: Path, targets: list[Target], cfg: EditingConfig) -> tuple[list[dict], list[str]]:
    """The located code in full (within the prompt budget) and the schematics of its source files."""
    read = repo_reader(repo)
    texts: dict[str, str | None] = {}
    units: list[dict] = []
    budget = cfg.prompt_max_chars
    for target in targets[: cfg.context_units]:
        if target.path not in texts:
            try:
                texts[target.path] = read(target.path)
            except EditError:
                texts[target.path] = None
        text = texts[target.path]
        name = IMPORTS_UNIT if target.name == "<module>" else target.name
        code, lines = _unit_code(text, name, target.path) if text is not None else (None, "")
        if code is None or any(u["path"] == target.path and u["name"] == name for u in units):
            continue
        if len(code) > budget:
            continue  # keeps smaller units that still fit
        budget -= len(code)
        units.append({"path": target.path, "name": name, "code": code, "lines": lines})
    schematics = []
    for path in [p for p in dict.fromkeys(u["path"] for u in units) if is_python(p) or is_script(p)][: cfg.schematic_files]:
        data = texts[path].encode("utf-8")
        text = schematic(path, parse_file(path, data).units, file_statements(path, data))
        if len(text) <= budget:
            budget -= len(text)
            schematics.append(text)
    return units, schematics


_LAYOUT = {tokenize.COMMENT, tokenize.NL}
_PARSE_LOCK = threading.Lock()


def _normalised(text: str) -> str:
    """The code apart from comments and layout: its syntax tree, or else its tokens."""
    try:
        return ast.dump(ast.parse(text))
    except (SyntaxError, ValueError, RecursionError):
        pass
    try:  # Python 2 code, say: tokens still tell code from comments
        tokens = tokenize.generate_tokens(io.StringIO(text).readline)
        return "\0".join(f"{t.type}:{t.string.strip()}" for t in tokens if t.type not in _LAYOUT)
    except (tokenize.TokenError, SyntaxError):
        return " ".join(text.split())


def candidate_key(files: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(path.encode() + b"\0" + _normalised(files[path]).encode() + b"\0")
    return digest.hexdigest()[:16]


class Generator:
    def __init__(self, llm: ChatModel, editor: Editor, cfg: EditingConfig, repo: Path):
        self.llm, self.editor, self.cfg, self.repo = llm, editor, cfg, repo
        self._lock = threading.Lock()
        self._calls: list[dict] = []

    def _ask(self, messages: list[dict[str, str]], temperature: float, n: int) -> list[str]:
        answers = self.llm.complete(messages, temperature=temperature, n=n)
        with self._lock:
            for answer in answers:
                self._calls.append({"temperature": temperature, "prompt": messages[-1]["content"], "response": answer})
        return answers

    def _first_answers(self, messages: list[dict[str, str]], temperature: float) -> list[str]:
        wanted = 1 if temperature == 0 else self.cfg.samples_per_temperature
        answers: list[str] = []
        if self.cfg.use_n and wanted > 1:
            try:
                answers = self._ask(messages, temperature, wanted)[:wanted]
            except LLMError:
                answers = []  # an endpoint that refuses `n`: ask one at a time (an error then is final)
        while len(answers) < wanted:  # endpoints that ignore `n`
            answers += self._ask(messages, temperature, 1)
        return answers

    def _apply(self, answer: str) -> tuple[EditResult | None, list, str | None, str]:
        """(result, edits, error, candidate key) of one answer."""
        try:
            edits = parse_edits(answer)
            # One at a time: ast.parse is not thread-safe on CPython 3.11 (python/cpython#106905),
            # and the work is CPU-bound, so only the model calls gain from threads.
            with _PARSE_LOCK:
                result = self.editor.apply(self.repo, edits)
                result_key = candidate_key(result.files)
        except (AnswerError, EditError) as exc:
            return None, [], str(exc), ""
        if not result.files:
            return None, edits, "the edits change nothing: every unit is identical to the code shown", ""
        blocking = result.blocking_lint
        if blocking:
            lines = "\n".join(f"{f.path}:{f.line}: {f.message}" for f in blocking)
            return result, edits, f"the edited code has new problems (pyflakes):\n{lines}", result_key
        return result, edits, None, result_key

    def _resolve(self, messages: list[dict[str, str]], temperature: float, answer: str) -> Candidate | SampleFailure:
        attempts = 1
        history = list(messages)
        while True:
            result, edits, error, key = self._apply(answer)
            if error is None or (result is not None and attempts > self.cfg.max_retries):
                return Candidate(edits=edits, diff=result.diff, files=result.files, lint=result.lint,
                                 temperatures=[temperature], attempts=attempts, key=key)
            if attempts > self.cfg.max_retries:
                return SampleFailure(temperature=temperature, attempts=attempts, error=error)
            history += [{"role": "assistant", "content": answer}, {"role": "user", "content": render("edit_retry.j2", error=error)}]
            try:
                answer = self._ask(history, temperature, 1)[0]
            except LLMError as exc:
                return SampleFailure(temperature=temperature, attempts=attempts, error=str(exc), stop=exc.stop)
            attempts += 1

    def generate(self, issue: str, targets: list[Target], feedback: str | None = None) -> Generation:
        units, schematics = build_context(self.repo, targets, self.cfg)
        scripts = any(is_script(u["path"]) for u in units)  # the JavaScript rules are said only where they apply
        prompt = render("edit_generate.j2", issue=issue, units=units, schematics=schematics, feedback=feedback or "", scripts=scripts)
        messages = [{"role": "user", "content": prompt}]
        self._calls = []
        outcomes: list[Candidate | SampleFailure] = []
        pool = ThreadPoolExecutor(max_workers=self.cfg.concurrency)
        try:
            firsts = [(t, pool.submit(self._first_answers, messages, t)) for t in self.cfg.temperatures]
            samples = []
            for t, future in firsts:
                try:
                    samples += [(t, a) for a in future.result()]
                except LLMError as exc:
                    outcomes.append(SampleFailure(temperature=t, attempts=1, error=str(exc), stop=exc.stop))
            outcomes += list(pool.map(lambda s: self._resolve(messages, *s), samples))
        except BaseException:
            # Ctrl-C: no queued request is sent, and none in flight is waited for (a model can take minutes).
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return _merge(outcomes, self._calls)


def _merge(outcomes: list[Candidate | SampleFailure], calls: list[dict]) -> Generation:
    out = Generation(calls=calls)
    by_key: dict[str, Candidate] = {}
    for item in outcomes:
        if isinstance(item, SampleFailure):
            out.failures.append(item)
        elif item.key in by_key:
            kept = by_key[item.key]
            kept.count += 1
            kept.temperatures += item.temperatures
        else:
            by_key[item.key] = item
    # Most often proposed first; then lint-clean, then lowest temperature.
    out.candidates = sorted(by_key.values(), key=lambda c: (-c.count, not c.lint_clean, min(c.temperatures)))
    return out

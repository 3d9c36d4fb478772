"""What the issue text itself points at: file paths, traceback frames, dotted names, and
identifiers that name definitions in the repository. Each signal resolves against the index
into file and unit bonuses; weights come from the retrieval config."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from localization.config import RetrievalConfig
from localization.languages import LANGUAGES, module_names
from localization.models import MODULE_UNIT, Unit
from localization.patterns import RepoPattern, matching, ordinary_words, quoted_values, repo_patterns
from localization.tokens import issue_title

# A file name with an extension that is not Python's, as an issue writes it (`setup.cfg`, `docs/conf.rst`).
_TEXT_PATH = re.compile(r"(?<![\w./-])((?:[\w.-]+/)*[\w-]+\.(?!py\b)[A-Za-z][\w]{0,7})(?![\w/])")


def _suffixes(family: str | None = None) -> str:
    r"""A pattern for the suffixes of the languages read (of one family): `\.(?:py|js|...)`."""
    found = {s[1:] for lang in LANGUAGES.values() if family in (None, lang.family) for s in lang.suffixes}
    return r"\.(?:" + "|".join(sorted(found, key=lambda s: (-len(s), s))) + ")"


_SOURCE_SUFFIX = _suffixes()
_PATH = re.compile(r"(?<![\w.])((?:[\w.-]+[/\\])*[\w-]+" + _SOURCE_SUFFIX + r")\b")
# Python's frames (`File "x.py", line 3, in f`) and Node's (`at f (/app/src/x.js:3:7)`, `at /app/x.js:3:7`).
_FRAME = re.compile(r"File \"([^\"]+\.py)\", line (\d+)(?:, in ([\w<>]+))?")
# IPython's: `~/site-packages/pkg/x.py in f(self, key)` with the line marked `--> 144` below it, and
# since IPython 8 `File ~/site-packages/pkg/x.py:144, in f(self, key)`.
# The file has a folder in it (`~/`, `/`, `\`), so that prose ("setup.py in install(...) fails") is no frame;
# IPython 8 names a method with its class (`NDFrame.__getattr__`): the frame's name is the last part.
_IPYTHON_FRAME = re.compile(r"^[ \t]*(?:File )?(\S*[/\\~]\S*\.py)(?::(\d+),)? in ([\w<>.]+)\(", re.M)
_IPYTHON_MARK = re.compile(r"^-*>[ \t]*(\d+)", re.M)
_SCRIPT_SUFFIX = _suffixes("javascript")
_NODE_FRAME = re.compile(r"^\s*at (?:(?:new |async )?([\w$.<>]+) (?:\[as [\w$]+\] )?\()?(?:file://)?([^\s()]+" + _SCRIPT_SUFFIX
                         + r"):(\d+)(?::\d+)?\)?\s*$", re.M)
# A module the issue's code imports: `import utc from 'dayjs/plugin/utc'`, `require('./lib/router')`.
_IMPORT_PATH = re.compile(r"""(?:\bfrom\s+|\brequire\(\s*|\bimport\s*\(\s*)['"]([^'"\s]+)['"]""")
_DOTTED = re.compile(r"(?<![\w.])([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)")
_IDENT = re.compile(r"(?<![\w.])([A-Za-z_]\w{2,})")
_FLAG = re.compile(r"(?<![\w-])(--[a-z][a-z0-9]+(?:-[a-z0-9]+)*)")
# A command the issue runs: a `$ ` line, or a line of a shell-tagged fenced block.
_SHELL_LINE = re.compile(r"^[ \t]*\$[ \t]+(.+?)[ \t]*$", re.M)
_SHELL_BLOCK = re.compile(r"^[ \t]*```[ \t]*(?:shell|sh|bash|console|zsh|shell-session)[ \t]*\n(.*?)^[ \t]*```", re.M | re.S)
_SUBCOMMAND = re.compile(r"[a-z][a-z0-9_-]{2,}")
# A line the issue quotes from the code: prompts (`>>>`, `$`) and backticks aside, with code punctuation.
_PROMPT = re.compile(r"^\s*(?:>>>|\.\.\.|\$|>)?\s*`*\s*|\s*`*\s*$")
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_CODE_PUNCT = re.compile(r"[=(\[]")
_ERROR_LINE = re.compile(r"^\s*(?:[\w.]+\.)?(\w*(?:Error|Exception|Warning|Exit))\s*:\s*(.+?)\s*$", re.M)


@dataclass
class Signals:
    files: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    units: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # uid -> bonus
    found: list[str] = field(default_factory=list)  # human-readable evidence

    def add_file(self, path: str, weight: float) -> None:
        self.files[path] = max(self.files[path], weight)

    def add_unit(self, unit: Unit, weight: float) -> None:
        self.units[unit.uid] = max(self.units[unit.uid], weight)


def _literal_pieces(message: str, min_chars: int) -> list[str]:
    """Runs of a message that are likely literal in the source: split at quotes, braces and
    numbers, where formatted values usually sit."""
    return [p.strip() for p in re.split(r"['\"`{}()\[\]]|\b\d+\b", message) if len(p.strip()) >= min_chars]


@dataclass
class _Frame:
    path: str
    line: int
    func: str | None
    span: tuple[int, int]
    end: int  # where the frame's own text ends (Python prints the source line after it)


def _traceback_blocks(issue: str) -> list[list[_Frame]]:
    """Frames grouped by traceback, outermost first: Python's blocks start at each 'Traceback'
    header; Node's are runs of `at` lines, innermost first as Node prints them."""
    starts = [m.start() for m in re.finditer(r"Traceback \(most recent call last\)", issue)]
    frames = [_Frame(m.group(1), int(m.group(2)), m.group(3), m.span(), m.end()) for m in _FRAME.finditer(issue)]
    ipython = list(_IPYTHON_FRAME.finditer(issue))
    for m, after in zip(ipython, ipython[1:] + [None]):
        # IPython 7 names the line by the `-->` mark of the source it quotes, before the next frame.
        mark = _IPYTHON_MARK.search(issue, m.end(), after.start() if after else len(issue))
        line = m.group(2) or (mark.group(1) if mark else "0")
        frames.append(_Frame(m.group(1), int(line), m.group(3).rsplit(".", 1)[-1], m.span(), m.end()))
    blocks: dict[int, list[_Frame]] = {}
    for frame in sorted(frames, key=lambda f: f.span):
        key = max((s for s in starts if s < frame.span[0]), default=-1)
        blocks.setdefault(key, []).append(frame)
    out = list(blocks.values())
    run: list[_Frame] = []
    for m in _NODE_FRAME.finditer(issue):
        between = issue[run[-1].span[1] : m.start()].splitlines() if run else []
        if any(line.strip() and not line.strip().startswith("at ") for line in between):  # `at node:internal/...` stays in the run
            out.append(run[::-1])
            run = []
        func = m.group(1).rsplit(".", 1)[-1] if m.group(1) else None
        run.append(_Frame(m.group(2), int(m.group(3)), func if func != "<anonymous>" else None, m.span(), -1))
    if run:
        out.append(run[::-1])
    return out


def _whole_line_hits(src: str, text: str) -> list[int]:
    """Offsets where `text` stands alone on a line of `src`, indentation aside."""
    out, at = [], src.find(text)
    while at >= 0:
        start = src.rfind("\n", 0, at) + 1
        end = at + len(text)
        if not src[start:at].strip() and (end == len(src) or src[end] in "\r\n"):
            out.append(at)
        at = src.find(text, end)
    return out


class SignalResolver:
    """Indexes the repository's names once; resolves any issue's signals against them."""

    def __init__(self, units: list[Unit], paths: list[str], sources: dict[str, str] | None = None):
        self.paths = paths
        self.sources = sources or {}
        self._patterns: list[RepoPattern] | None = None
        self.by_suffix: dict[str, list[str]] = defaultdict(list)
        self.modules: dict[str, str] = {}
        self.top_modules: set[str] = set()
        self.stems: dict[str, list[str]] = defaultdict(list)
        for path in paths:
            parts = path.split("/")
            for i in range(len(parts)):
                self.by_suffix["/".join(parts[i:])].append(path)
            names = module_names(path)
            self.modules.update((m, path) for m in names)
            self.top_modules.update(top for m in names if (top := m.split(".", 1)[0]))  # a root index.js names no module
            self.stems[names[0].rsplit(".", 1)[-1]].append(path)
        self.by_qualname: dict[str, list[Unit]] = defaultdict(list)
        self.by_leaf: dict[str, list[Unit]] = defaultdict(list)
        self.by_file: dict[str, list[Unit]] = defaultdict(list)
        # Dispatch-style names: `_print_Product`, `visit_functiondef` handle the class named last.
        self.by_dispatch_suffix: dict[str, list[Unit]] = defaultdict(list)
        self.class_names: set[str] = set()
        for unit in units:
            self.by_file[unit.path].append(unit)
            if unit.name == MODULE_UNIT:
                continue
            self.by_leaf[unit.leaf].append(unit)
            if unit.kind == "class":
                self.class_names.add(unit.leaf.lower())
            prefix, sep, suffix = unit.leaf.rpartition("_")
            if sep and prefix.strip("_") and suffix:
                self.by_dispatch_suffix[suffix.lower()].append(unit)
            parts = unit.name.split(".")
            for i in range(len(parts)):
                self.by_qualname[".".join(parts[i:])].append(unit)

    def _files_for(self, raw_path: str, cfg: RetrievalConfig) -> list[str]:
        parts = [p for p in raw_path.replace("\\", "/").split("/") if p and p != "."]
        # Longest suffix that names a repo file: site-packages/requests/sessions.py -> requests/sessions.py;
        # a bare file name (`utils.py`) counts only while few files share it.
        for i in range(len(parts)):
            hits = self.by_suffix.get("/".join(parts[i:]))
            if hits:
                return hits if i < len(parts) - 1 or len(hits) <= cfg.bare_name_max_files else []
        return []

    def _unit_at(self, path: str, line: int) -> Unit | None:
        best = None
        for unit in self.by_file.get(path, []):
            if unit.name != MODULE_UNIT and unit.start_line <= line <= unit.end_line:
                if best is None or unit.end_line - unit.start_line < best.end_line - best.start_line:
                    best = unit
        return best

    def resolve(self, issue: str, cfg: RetrievalConfig) -> Signals:
        sig = Signals()
        blocks = _traceback_blocks(issue)
        frame_spans = [f.span for block in blocks for f in block]
        for block in blocks:
            resolved = [(frame, path) for frame in block for path in self._files_for(frame.path, cfg)]
            for pos, (frame, path) in enumerate(resolved):
                # The innermost repository frame is most often where the fix goes; entry points least.
                depth = pos / (len(resolved) - 1) if len(resolved) > 1 else 1.0
                weight = cfg.signal_traceback_weight * (cfg.traceback_outer_share + (1 - cfg.traceback_outer_share) * depth)
                sig.add_file(path, weight)
                named = [u for u in self.by_file.get(path, []) if frame.func and u.leaf == frame.func]
                # A name several units share (each option class's `preprocess`): the one at the line, when one is.
                named = [u for u in named if u.start_line <= frame.line <= u.end_line] or named
                if not named:  # `<module>` frames, or a name not found: fall back to the line
                    at = self._unit_at(path, frame.line)
                    named = [at] if at is not None else []
                for unit in named:
                    sig.add_unit(unit, weight)
                sig.found.append(f"traceback frame {path}:{frame.line}")
        for m in _PATH.finditer(issue):
            if any(a <= m.start() < b for a, b in frame_spans):
                continue
            for path in self._files_for(m.group(1), cfg):
                sig.add_file(path, cfg.signal_path_weight)
                sig.found.append(f"path {path}")
        for m in _IMPORT_PATH.finditer(issue):
            self._resolve_import_path(m.group(1), sig, cfg)
        for m in _DOTTED.finditer(issue):
            self._resolve_dotted(m.group(1), sig, cfg)
        self._resolve_identifiers(issue, sig, cfg)
        self._resolve_messages(issue, sig, cfg)
        self._resolve_patterns(issue, sig, cfg)
        self._resolve_code_lines(issue, [f.end for block in blocks for f in block if f.end >= 0], sig, cfg)
        return sig

    def _resolve_code_lines(self, issue: str, frame_ends: list[int], sig: Signals, cfg: RetrievalConfig) -> None:
        """Lines the issue quotes verbatim from the code, as a line or an inline span ("In sessions.py:
        `method = builtin_str(method)`").
        A traceback's own source lines are left to the frame signal, which knows their depth, and
        `def`/`class` lines to the identifier signal (an issue proposing code repeats them too)."""
        if cfg.signal_code_line_weight <= 0:
            return
        after_frame = {issue.count("\n", 0, end) + 1 for end in frame_ends}
        lines = [_PROMPT.sub("", line) for n, line in enumerate(issue.split("\n")) if n not in after_frame]
        quoted = {text.strip() for text in lines + _INLINE_CODE.findall(issue)
                  if len(text.strip()) >= cfg.code_line_min_chars and _CODE_PUNCT.search(text)
                  and not text.strip().startswith(("#", "def ", "class "))}
        # Each line is a scan of every source: the longest (the most distinctive) are searched.
        for text in sorted(quoted, key=lambda t: (-len(t), t))[: cfg.code_lines_max]:
            hits = [(path, at) for path, src in self.sources.items() for at in _whole_line_hits(src, text)]
            if self._credit_hits(hits, cfg.signal_code_line_weight, cfg.signal_file_share, sig, cfg):
                sig.found.append(f"code line {text[:40]!r}")

    def _credit_hits(self, hits: list[tuple[str, int]], weight: float, file_share: float, sig: Signals, cfg: RetrievalConfig) -> bool:
        """Text found at (path, offset) in at most `identifier_max_defs` places: the unit holding each
        place gets weight / sqrt(places), its file `file_share` of that. False when too rare or too common."""
        if not 0 < len(hits) <= cfg.identifier_max_defs:
            return False
        weight /= math.sqrt(len(hits))
        for path, offset in hits:
            sig.add_file(path, weight * file_share)
            unit = self._unit_at(path, self.sources[path].count("\n", 0, offset) + 1)
            if unit is not None:
                sig.add_unit(unit, weight)
        return True

    def _resolve_messages(self, issue: str, sig: Signals, cfg: RetrievalConfig) -> None:
        """`SomeError: text` lines and `--flags`: the code that raises or defines them holds them as literals."""
        if cfg.signal_message_weight <= 0:
            return
        pieces = {p for m in _ERROR_LINE.finditer(issue) for p in _literal_pieces(m.group(2), cfg.message_min_chars)}
        # Command-line flags are defined where they appear quoted: add_argument("--collect-only", ...).
        pieces |= {f"{q}{m.group(1)}{q}" for m in _FLAG.finditer(issue) for q in "\"'"}
        # ... and so are subcommands: @click.command("routes"), add_parser('init').
        pieces |= {f"{q}{word}{q}" for word in self._subcommands(issue) for q in "\"'"}
        for piece in pieces:
            hits = [(path, at) for path, src in self.sources.items() if (at := src.find(piece)) >= 0]
            if self._credit_hits(hits, cfg.signal_message_weight, 1.0, sig, cfg):
                sig.found.append(f"message {piece[:40]!r}")

    def _resolve_patterns(self, issue: str, sig: Signals, cfg: RetrievalConfig) -> None:
        """Values the issue quotes that a pattern of the code matches whole: the pattern's unit reads them."""
        values = quoted_values(issue, cfg.pattern_value_min_chars) if cfg.signal_pattern_weight > 0 else set()
        if not values:
            return
        if self._patterns is None:  # compiled on the first issue that quotes a value
            self._patterns = repo_patterns(self.sources)
        tried = sorted(values, key=lambda v: (-len(v), v))[: cfg.pattern_values_max]
        readers = matching(self._patterns, set(tried), ordinary_words(issue))
        # Each value on its own, as each message piece: a number that many patterns read does not dilute a date's one.
        for value in tried:
            hits = readers.get(value, [])
            if self._credit_hits([(p.path, p.offset) for p in hits], cfg.signal_pattern_weight, 1.0, sig, cfg):
                sig.found.extend(f"pattern {p.compiled.pattern[:40]!r} in {p.path} reads {value[:40]!r}" for p in hits)

    def _subcommands(self, issue: str) -> set[str]:
        """The words after the program in the commands the issue runs (`$ flask routes`), when the
        program is the repository's own: its name (before a `-`) is one of its top-level modules
        (`flask`, `sphinx-build`, `python -m pylint`). The words end at the first option or argument
        that is not a plain lowercase word (a path, a file name, a value)."""
        lines = _SHELL_LINE.findall(issue) + [line for m in _SHELL_BLOCK.finditer(issue) for line in m.group(1).splitlines()]
        out: set[str] = set()
        for line in lines:
            words = line.lstrip("$ \t").split()
            if len(words) > 2 and re.fullmatch(r"python[\d.]*", words[0]) and words[1] == "-m":
                words = words[2:]
            if not words or re.split(r"[-.]", re.split(r"[/\\]", words[0])[-1])[0] not in self.top_modules:
                continue
            for word in words[1:]:
                if not _SUBCOMMAND.fullmatch(word):
                    break
                out.add(word)
        return out

    def _resolve_import_path(self, spec: str, sig: Signals, cfg: RetrievalConfig) -> None:
        """The module an import names: its longest tail that is a module of the repository, since
        code outside the package starts with the package's name (`dayjs/plugin/utc` -> src/plugin/utc/index.js).
        It weighs as a module's dotted name does: the code an issue imports is what it uses, not always what is wrong.
        An absolute path is a file's, not a module's (Python's "module 'x' from '/site/x.py'"); a bare name
        without a slash is a package's own entry."""
        if spec.startswith("/") or ("/" not in spec and not spec.startswith(".")):
            return  # a bare name is a package's (or Python's own "cannot import name 'x' from 'pkg'")
        parts = [p for p in re.sub(_SOURCE_SUFFIX + "$", "", spec).split("/") if p not in ("", ".", "..")]
        for i in range(len(parts)):
            path = self.modules.get(".".join(parts[i:]))
            if path is not None:
                sig.add_file(path, cfg.signal_dotted_weight)
                sig.found.append(f"import {spec}")
                return

    def _resolve_dotted(self, dotted: str, sig: Signals, cfg: RetrievalConfig) -> None:
        parts = dotted.split(".")
        for i in range(len(parts), 0, -1):
            path = self.modules.get(".".join(parts[:i]))
            if path is None:
                continue
            rest = parts[i:]
            if not rest:
                sig.add_file(path, cfg.signal_dotted_weight)
                sig.found.append(f"module {dotted}")
                return
            for j in range(len(rest), 0, -1):
                hits = [u for u in self.by_qualname.get(".".join(rest[:j]), []) if u.path == path]
                if hits:
                    for unit in hits:
                        sig.add_unit(unit, cfg.signal_dotted_weight)
                    sig.add_file(path, cfg.signal_dotted_weight)
                    sig.found.append(f"name {dotted}")
                    return
            # `pkg.mod.name` where name is re-exported or an attribute: the module still counts.
            sig.add_file(path, cfg.signal_dotted_weight * cfg.signal_file_share)
            return
        # Not module-rooted: `Session.request`, `obj.method` style names.
        for j in range(len(parts), 1, -1):
            for k in range(0, len(parts) - j + 1):
                hits = self.by_qualname.get(".".join(parts[k : k + j]), [])
                if 0 < len(hits) <= cfg.identifier_max_defs:
                    for unit in hits:
                        sig.add_unit(unit, cfg.signal_dotted_weight)
                        sig.add_file(unit.path, cfg.signal_dotted_weight * cfg.signal_file_share)
                    sig.found.append(f"name {'.'.join(parts[k:k + j])}")
                    return

    def _resolve_identifiers(self, issue: str, sig: Signals, cfg: RetrievalConfig) -> None:
        in_title = {m.group(1) for m in _IDENT.finditer(issue_title(issue))}
        seen: set[str] = set()
        for m in _IDENT.finditer(issue):
            ident = m.group(1)
            if ident in seen:
                continue
            seen.add(ident)
            defs = self.by_leaf.get(ident, [])
            if 0 < len(defs) <= cfg.identifier_max_defs:
                # The title names what the issue is about; the body also names what it merely uses.
                factor = cfg.title_identifier_factor if ident in in_title else 1.0
                weight = factor * cfg.signal_identifier_weight / math.sqrt(len(defs))
                for unit in defs:
                    sig.add_unit(unit, weight)
                    sig.add_file(unit.path, weight * cfg.signal_file_share)
            if ident.lower() in self.class_names and cfg.signal_dispatch_weight > 0:
                handlers = self.by_dispatch_suffix.get(ident.lower(), [])
                if 0 < len(handlers) <= cfg.dispatch_max_defs:
                    for unit in handlers:
                        sig.add_unit(unit, cfg.signal_dispatch_weight / math.sqrt(len(handlers)))
            files = self.stems.get(ident, [])
            if 0 < len(files) <= cfg.identifier_max_defs:
                for path in files:
                    sig.add_file(path, cfg.signal_identifier_weight * cfg.signal_file_share / math.sqrt(len(files)))


def named_text_files(issue: str, files: list[str], is_source: Callable[[str], bool]) -> list[str]:
    """Files of the repository that are not source code (`is_source`) and that the issue names, by
    path or by a file name only one file has: the model may be shown them beside the ranked sources."""
    by_name: dict[str, list[str]] = defaultdict(list)
    for path in files:
        by_name[path.rsplit("/", 1)[-1]].append(path)
    present = set(files)
    out: list[str] = []
    for m in _TEXT_PATH.finditer(issue):
        name = m.group(1).lstrip("./")
        hits = [name] if name in present else [p for p in files if p.endswith("/" + name)] if "/" in name else by_name.get(name, [])
        if len(hits) == 1 and hits[0] not in out and not is_source(hits[0]):
            out.append(hits[0])
    return out

"""The code index: every source file of a repository, in the languages it is written in, parsed
into units, from cache where possible."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from configs.errors import UserError
from localization.cache import UnitCache, content_hash
from localization.config import IndexConfig
from localization.globs import excluded
from localization.languages import LANGUAGES, Language, language_of
from localization.models import Unit

Progress = Callable[[int, int], None]
# Below this many files to parse, worker processes cost more than they save.
_PARALLEL_MIN_FILES = 64
# A NUL byte this early means a binary file, as git decides it.
_BINARY_SNIFF_BYTES = 8000


def _usable_path(rel: str) -> bool:
    try:
        rel.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class IndexStats:
    files: int = 0
    parsed: int = 0
    from_cache: int = 0
    skipped_large: int = 0
    skipped_binary: int = 0
    skipped_other: int = 0  # symlinks and undecodable names
    with_syntax_errors: int = 0
    units: int = 0


@dataclass
class CodeIndex:
    root: Path
    units: list[Unit]
    file_hashes: dict[str, str]
    sources: dict[str, str] = field(repr=False, default_factory=dict)
    stats: IndexStats = field(default_factory=IndexStats)
    languages: list[str] = field(default_factory=lambda: ["python"])  # the languages indexed

    def reads(self, path: str) -> bool:
        """Whether `path` is in a language this index reads (a test file it left out included)."""
        lang = language_of(path)
        return lang is not None and lang.name in self.languages

    @cached_property
    def paths(self) -> list[str]:
        return sorted(self.file_hashes)


def list_files(root: Path, suffix: str = "") -> list[str]:
    """Repo-relative posix paths of the files ending in `suffix` (every file for ""): git's view
    (tracked plus untracked, not ignored) inside a git work tree, from any subdirectory of it; a
    plain walk elsewhere."""
    # safe.directory: reading a repository owned by another user (a container, CI) is harmless.
    proc = subprocess.run(
        ["git", "-c", "safe.directory=*", "-C", str(root), "ls-files", "-z", "--cached", "--others", "--exclude-standard",
         "--", f"*{suffix}"],
        capture_output=True,
    )
    if proc.returncode == 0:
        names = {p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p}
        return sorted(p for p in names if (root / p).is_file())
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".")]
        for name in filenames:
            if name.endswith(suffix):
                out.append(Path(dirpath, name).relative_to(root).as_posix())
    return sorted(out)


def _parse_job(args: tuple[str, str, bytes, int]) -> tuple[list[dict], bool]:
    language, rel, src, body_max_chars = args
    lang = LANGUAGES[language]
    parsed = lang.parse(src, body_max_chars, _worker_parser(lang, rel))
    return [u.model_dump() for u in parsed.units], parsed.has_errors


_PARSERS: dict[tuple[str, str], object] = {}


def _worker_parser(lang: Language, rel: str):
    key = (lang.name, rel.rsplit(".", 1)[-1])
    if key not in _PARSERS:
        _PARSERS[key] = lang.new_parser(rel)
    return _PARSERS[key]


def source_files(root: Path, cfg: IndexConfig) -> dict[str, list[str]]:
    """The files to index by language: each file by its suffix, less index.exclude and the language's
    own exclusions (index.include wins over both); then the languages `index.languages` names, or,
    when it names none, the family with the most files (JavaScript and TypeScript are one): a
    Python project's scripts for its documentation pages, or its generated message catalogs, are
    not what it is written in."""
    by_language: dict[str, list[str]] = {}
    for rel in list_files(root):
        lang = language_of(rel)
        if lang is not None and not excluded(rel, [*cfg.exclude, *lang.exclude], cfg.include):
            by_language.setdefault(lang.name, []).append(rel)
    if cfg.languages:
        return {name: files for name, files in by_language.items() if name in cfg.languages}
    families: dict[str, int] = {}
    for name, files in by_language.items():
        families[LANGUAGES[name].family] = families.get(LANGUAGES[name].family, 0) + len(files)
    if not families:
        return {}
    # On a tie, the family listed first (Python): what SuperCoder was built for and tested on most.
    order = list(dict.fromkeys(lang.family for lang in LANGUAGES.values() if lang.family in families))
    main = max(order, key=lambda f: families[f])
    return {name: files for name, files in by_language.items() if LANGUAGES[name].family == main}


def build_index(root: Path, cfg: IndexConfig, body_max_chars: int, progress: Progress | None = None) -> CodeIndex:
    root = Path(root)
    if not root.exists():
        raise UserError(f"repository not found: {root}")
    if not root.is_dir():
        raise UserError(f"not a directory: {root}")
    root = root.resolve()
    stats = IndexStats()
    by_language = source_files(root, cfg)
    if not by_language:
        raise UserError(f"no source files to index in {root} in a language SuperCoder reads ({', '.join(LANGUAGES)}), "
                        f"after excluding tests and vendored code")
    # Python's entries keep the key they had before other languages came, so old caches stay warm.
    caches = {name: UnitCache(cfg.cache_dir, {"body_max_chars": body_max_chars, "grammar": LANGUAGES[name].grammar_version(),
                                              **({} if name == "python" else {"language": name})}) for name in by_language}
    candidates = sorted((rel, name) for name, files in by_language.items() for rel in files)

    file_hashes: dict[str, str] = {}
    sources: dict[str, str] = {}
    units_by_path: dict[str, list[Unit]] = {}
    to_parse: list[tuple[str, str, str, bytes]] = []
    for rel, language in candidates:
        path = root / rel
        if not _usable_path(rel) or path.is_symlink():
            # Undecodable names cannot be reported; symlinks may lead outside the repository
            # or alias a file indexed under its real name.
            stats.skipped_other += 1
            continue
        try:
            if path.stat().st_size > cfg.max_file_bytes:
                stats.skipped_large += 1
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:_BINARY_SNIFF_BYTES]:
            stats.skipped_binary += 1
            continue
        digest = content_hash(data)
        file_hashes[rel] = digest
        sources[rel] = data.decode("utf-8", "replace")
        cached = caches[language].get(digest)
        if cached is None:
            to_parse.append((rel, language, digest, data))
        else:
            stats.from_cache += 1
            units_by_path[rel], had_errors = cached
            stats.with_syntax_errors += int(had_errors)

    total = len(to_parse)
    if progress:
        progress(0, total)
    jobs = [(language, rel, data, body_max_chars) for rel, language, _, data in to_parse]
    if total >= _PARALLEL_MIN_FILES and cfg.workers > 1:
        with ProcessPoolExecutor(max_workers=cfg.workers) as pool:
            results = pool.map(_parse_job, jobs, chunksize=16)
            parsed_all = _consume(results, total, progress)
    else:
        parsed_all = _consume(map(_parse_job, jobs), total, progress)
    for (rel, language, digest, _), (dumped, has_errors) in zip(to_parse, parsed_all):
        units = [Unit.model_validate(u) for u in dumped]
        caches[language].put(digest, units, has_errors)
        units_by_path[rel] = units
        stats.parsed += 1
        stats.with_syntax_errors += int(has_errors)

    units: list[Unit] = []
    for rel in sorted(units_by_path):
        for unit in units_by_path[rel]:
            unit.path = rel
            units.append(unit)
    if not units:
        raise UserError(f"no code to index in {root}: its source files ({', '.join(by_language)}) define nothing")
    stats.files = len(file_hashes)
    stats.units = len(units)
    return CodeIndex(root=root, units=units, file_hashes=file_hashes, sources=sources, stats=stats, languages=sorted(by_language))


def _consume(results, total: int, progress: Progress | None) -> list:
    out = []
    for i, item in enumerate(results, 1):
        out.append(item)
        if progress and (i == total or i % 25 == 0):
            progress(i, total)
    return out

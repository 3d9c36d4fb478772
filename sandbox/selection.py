"""Which tests to run when the caller names none: the test files of the edited modules, found
by naming convention (`test_mod.py`, `mod_test.py`) and by what they import."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Callable

_SOURCE_ROOTS = ("src/", "lib/")


def is_test_file(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def module_names(path: str) -> list[str]:
    """Dotted names a file may be imported as (`src/pkg/mod.py` -> `pkg.mod`)."""
    stem = path[:-3] if path.endswith(".py") else path
    names = [stem.replace("/", ".")]
    for root in _SOURCE_ROOTS:
        if stem.startswith(root):
            names.append(stem[len(root):].replace("/", "."))
    return [n[: -len(".__init__")] if n.endswith(".__init__") else n for n in names]


def _imports(text: str, module: str) -> bool:
    package, _, leaf = module.rpartition(".")
    patterns = [rf"^\s*import\s+{re.escape(module)}\b", rf"^\s*from\s+{re.escape(module)}\s+import\b"]
    if package:
        patterns.append(rf"^\s*from\s+{re.escape(package)}\s+import\s+(\([^)]*\b|[^\n]*\b){re.escape(leaf)}\b")
    return any(re.search(p, text, re.M) for p in patterns)


def related_tests(paths: list[str], edited: list[str], read: Callable[[str], str], limit: int) -> list[str]:
    """Test files for the edited modules, conventions first, at most `limit`."""
    tests = [p for p in paths if is_test_file(p)]
    by_convention: list[str] = []
    by_import: list[str] = []
    for source in edited:
        if is_test_file(source):
            by_convention.append(source)  # an edited test file is its own test
            continue
        stem = PurePosixPath(source).stem
        wanted = {f"test_{stem}.py", f"{stem}_test.py"}
        by_convention += [t for t in tests if PurePosixPath(t).name in wanted]
        modules = module_names(source)
        for test in tests:
            try:
                text = read(test)
            except (OSError, UnicodeDecodeError):
                continue
            if any(_imports(text, m) for m in modules):
                by_import.append(test)
    return list(dict.fromkeys(by_convention + by_import))[:limit]

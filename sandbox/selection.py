"""Which tests to run when the caller names none: the test files of the edited modules, found
by naming convention (`test_mod.py`, `mod_test.py`; `mod.test.js`, `mod.spec.ts`) and by what
they import (`from pkg.mod import`; `require('../src/mod')`, `from './mod'`)."""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Callable

SOURCE_ROOTS = ("src/", "lib/")
SCRIPT_FILE = re.compile(r"\.[cm]?[jt]sx?$")  # JavaScript and TypeScript
SCRIPT_TEST = re.compile(r"(^|\.)(test|spec)\.[cm]?[jt]sx?$")  # jest's default: `a.test.js`, `test.js`
SCRIPT_TEST_FOLDERS = ("test", "tests", "__tests__")
ROOT_TEST_DIRS = ("spec",)  # jasmine's and rspec's: a test folder at the root only (deeper, code may sit in one)


def is_test_file(path: str) -> bool:
    pure = PurePosixPath(path)
    name = pure.name
    if name.endswith(".py"):
        return name.startswith("test_") or name.endswith("_test.py")
    if not SCRIPT_FILE.search(name) or name.endswith(".d.ts"):
        return False
    # jest's and mocha's own conventions: a `.test.js` anywhere, any script below a tests folder
    return bool(SCRIPT_TEST.search(name)) or any(part in SCRIPT_TEST_FOLDERS for part in pure.parts[:-1]) or below_root_tests(path)


def below_root_tests(path: str) -> bool:
    parts = PurePosixPath(path).parts
    return len(parts) > 1 and parts[0] in ROOT_TEST_DIRS


def _script_stem(path: str) -> str:
    """The name a script is imported by: its file's, or its folder's for an index file."""
    pure = PurePosixPath(SCRIPT_FILE.sub("", path))
    return pure.parent.name if pure.name == "index" and pure.parent.name else pure.name


def _script_imports(text: str, source: str) -> bool:
    stem = re.escape(_script_stem(source))
    quoted = rf"""['"](?:[^'"\n]*/)?{stem}(?:/index)?(?:\.[cm]?[jt]sx?)?['"]"""
    return bool(re.search(rf"(?:require\s*\(|import\s*\(|\bfrom|^\s*import)\s*{quoted}", text, re.M))


def module_names(path: str) -> list[str]:
    """Dotted names a file may be imported as (`src/pkg/mod.py` -> `pkg.mod`)."""
    stem = path[:-3] if path.endswith(".py") else path
    names = [stem.replace("/", ".")]
    for root in SOURCE_ROOTS:
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
        script = bool(SCRIPT_FILE.search(source))
        stem = _script_stem(source) if script else PurePosixPath(source).stem
        if script:
            by_convention += [t for t in tests if SCRIPT_TEST.search(t) and PurePosixPath(t).name.split(".")[0] == stem]
        else:
            wanted = {f"test_{stem}.py", f"{stem}_test.py"}
            by_convention += [t for t in tests if PurePosixPath(t).name in wanted]
        modules = module_names(source)
        for test in tests:
            if script != bool(SCRIPT_FILE.search(test)):
                continue
            try:
                text = read(test)
            except (OSError, UnicodeDecodeError):
                continue
            if _script_imports(text, source) if script else any(_imports(text, m) for m in modules):
                by_import.append(test)
    return list(dict.fromkeys(by_convention + by_import))[:limit]

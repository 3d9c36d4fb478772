"""The small repositories tests make, in one place:

- TOY: a package with classes, methods and functions that localization ranks and the CLI shows
  (`pkg/mod.py::Klass.other` at lines 10-11, `pkg/storage.py::RecordStore.save_record`, ...);
- CALC: a module whose `add` subtracts, the bug the repair tests fix;
- CALC_JS: the same bug in a JavaScript package (a class method and a plugin-style member function).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from fakes.tree import write_tree

CALC = {
    "calc.py": 'def add(a, b):\n    """The sum of a and b."""\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n',
    "README.md": "calc\n",
}


CALC_JS = {
    "package.json": '{"name": "calc", "version": "1.0.0", "main": "src/calc.js"}\n',
    "src/calc.js": (
        "const { round } = require('./round')\n\n"
        "class Calc {\n  /** The sum of a and b. */\n  add(a, b) {\n    return round(a - b)\n  }\n\n"
        "  sub(a, b) {\n    return round(a - b)\n  }\n}\n\nmodule.exports = Calc\n"
    ),
    "src/round.js": "function round(x) {\n  return Math.round(x)\n}\n\nmodule.exports = { round }\n",
    "README.md": "calc\n",
}


def git(cwd: Path, *args: str) -> str:
    """`git ARGS` in `cwd` (with an identity for commits); its output."""
    done = subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, capture_output=True,
                          text=True, check=True)
    return done.stdout


def committed(root: Path) -> Path:
    """`root` as a git repository with everything in it committed."""
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "init")
    return root


def commit_files(root: Path, files: dict[str, str]) -> tuple[Path, str]:
    """`files` (as written) committed in a new repository at `root`; (root, the commit)."""
    committed(write_tree(root, files, transform=lambda text: text))
    return root, git(root, "rev-parse", "HEAD").strip()


def toy_repo(root: Path) -> Path:
    return write_tree(root, TOY)


def calc_repo(root: Path) -> Path:
    return committed(write_tree(root, CALC, str))


def calc_js_repo(root: Path) -> Path:
    return committed(write_tree(root, CALC_JS, str))


TOY = {
    "pkg/__init__.py": "",
    "pkg/mod.py": '''
        """Arithmetic helpers."""


        class Klass:
            """Holds a value."""

            def method(self, x):
                return x + self.base

            def other(self):
                return 2


        def func(a, b):
            ratio = a / b
            return ratio
        ''',
    "pkg/storage.py": '''
        """Saving records to storage."""


        class RecordStore:
            def save_record(self, record):
                """Save a record to disk storage."""
                data = serialize_record(record)
                self.disk.write(data)

            def load_record(self, key):
                return self.disk.read(key)


        def serialize_record(record):
            return repr(record)
        ''',
    "pkg/net/__init__.py": "",
    "pkg/net/session.py": '''
        class Session:
            def request(self, method, url):
                return self.send(method, url)

            def send(self, method, url):
                return getHTTPResponse(url)


        def getHTTPResponse(url):
            return url
        ''',
    "pkg/text.py": '''
        def parse_header(value):
            """Parse an HTTP header value."""
            parts = value.split(";")
            return parts


        def format_date(stamp):
            return str(stamp)
        ''',
}

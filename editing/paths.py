"""Which file an edit names, and reading it: inside the repository, through symlinks to the
file they point to, never into `.git`, text only."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Callable

from editing.models import EditError

Reader = Callable[[str], str]
Resolver = Callable[[str], str]
PYTHON_SUFFIXES = (".py", ".pyi")
# A NUL byte this early means a binary file, as git decides it.
_BINARY_SNIFF_BYTES = 8000


class MissingFile(EditError):
    """The file does not exist (yet): only a whole-file edit may create it."""


def is_python(path: str) -> bool:
    return path.endswith(PYTHON_SUFFIXES)


def _checked(path: str) -> PurePosixPath:
    pure = PurePosixPath(path)
    if not path or pure.is_absolute() or ".." in pure.parts or "\\" in path:
        raise EditError(f"path must be relative to the repository root: {path!r}")
    if ".git" in pure.parts:
        raise EditError(f"files under .git cannot be edited: {path}")
    return pure


def resolve_path(repo: Path, path: str) -> str:
    """The repository-relative path of the file an edit names: a symlink inside the repository
    stands for the file it points to (so the diff and the write reach that file)."""
    full = repo / _checked(path)
    root = repo.resolve()
    try:
        real = full.resolve() if full.exists() else full.parent.resolve() / full.name
        rel = real.relative_to(root)
    except (OSError, ValueError, RuntimeError):
        raise EditError(f"path leaves the repository: {path}") from None
    if full.is_symlink() and not full.exists():
        raise EditError(f"{path} is a link to a file that does not exist")
    if full.exists() and not full.is_file():
        raise EditError(f"{path} is not a file")
    return rel.as_posix()


def decode_text(data: bytes, path: str) -> str:
    if b"\0" in data[:_BINARY_SNIFF_BYTES]:
        raise EditError(f"{path} is a binary file; only text files can be edited")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise EditError(f"{path} is not UTF-8 text") from None


def repo_reader(repo: Path) -> Reader:
    """Reads a file by its resolved path (see resolve_path); MissingFile when there is none."""

    def read(path: str) -> str:
        full = repo / _checked(path)
        if not full.is_file():
            raise MissingFile(f"no such file in the repository: {path}")
        try:
            return decode_text(full.read_bytes(), path)
        except OSError as exc:
            raise EditError(f"cannot read {path}: {exc.strerror}") from None

    return read

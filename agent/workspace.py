"""The copy a repair works on: the user's repository as it stands, uncommitted changes and
untracked files included, committed in a private clone, so that the sandbox sees exactly what
the user sees and the user's tree is never touched. The repository must be a git repository
(its top folder)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from pydantic import BaseModel

from agent.errors import UserError

_IDENTITY = ["-c", "user.name=supercoder", "-c", "user.email=supercoder@localhost", "-c", "commit.gpgsign=false"]


class Workspace(BaseModel):
    path: Path  # a git clone holding the user's tree at `commit`
    commit: str
    base: str | None  # the user's HEAD, when the repository is a git repository


def _git(cwd: Path, *args: str, input: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=cwd, capture_output=True, input=input)


def _ok(done: subprocess.CompletedProcess, what: str) -> bytes:
    if done.returncode != 0:
        raise UserError(f"{what}: {done.stderr.decode('utf-8', 'replace').strip().splitlines()[-1:] or 'git failed'}")
    return done.stdout


def check_repo(repo: Path) -> Path:
    """The repository's top folder, or a UserError saying why `repo` is not one."""
    repo = repo.resolve()
    if not repo.is_dir():
        raise UserError(f"repository not found: {repo}")
    inside = _git(repo, "rev-parse", "--show-toplevel")
    if inside.returncode != 0 or Path(inside.stdout.decode().strip()).resolve() != repo:
        # --apply and the patch's base need history: say so rather than guess
        raise UserError(f"not the top of a git repository: {repo} (run `git init` there, or point --repo at its top)")
    return repo


def make_workspace(repo: Path, dest: Path) -> Workspace:
    repo = check_repo(repo)
    base = _git(repo, "rev-parse", "HEAD")
    base_commit = base.stdout.decode().strip() if base.returncode == 0 else None
    if base_commit:
        _ok(_git(repo, "clone", "-q", "--shared", "--no-checkout", str(repo), str(dest)), "cannot copy the repository")
        _ok(_git(dest, "checkout", "-q", "--detach", base_commit), "cannot check out the copy")
    else:  # a repository without commits yet
        _ok(_git(repo.parent, "init", "-q", str(dest)), "cannot make the copy")
    # Tracked changes, staged or not, then untracked files that are not ignored.
    diff = _ok(_git(repo, "diff", "HEAD", "--binary") if base_commit else _git(repo, "diff", "--binary"), "cannot read local changes")
    if diff.strip():
        _ok(_git(dest, "apply", "--binary", "--whitespace=nowarn", "-", input=diff), "cannot copy local changes")
    untracked = _ok(_git(repo, "ls-files", "--others", "--exclude-standard", "-z"), "cannot list untracked files")
    for rel in filter(None, untracked.decode("utf-8", "surrogateescape").split("\0")):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(repo / rel, target, follow_symlinks=False)
    _ok(_git(dest, "add", "-A"), "cannot stage the copy")
    _ok(_git(dest, *_IDENTITY, "commit", "-q", "--allow-empty", "--no-verify", "-m", "supercoder: the tree as found"),
        "cannot commit the copy")
    commit = _ok(_git(dest, "rev-parse", "HEAD"), "cannot read the copy's commit").decode().strip()
    return Workspace(path=dest, commit=commit, base=base_commit)

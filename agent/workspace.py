"""The copy a repair works on: the user's repository as it stands, uncommitted changes and
untracked files included, committed in a private clone, so that the sandbox sees exactly what
the user sees and the user's tree is never touched. The repository must be a git repository
(its top folder)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pydantic import BaseModel

from configs.errors import UserError
from sandbox.base import SandboxError

_IDENTITY = ["-c", "user.name=supercoder", "-c", "user.email=supercoder@localhost", "-c", "commit.gpgsign=false"]


class Workspace(BaseModel):
    path: Path  # a git clone holding the user's tree at `commit`
    commit: str
    base: str | None  # the user's HEAD, if it has one
    skipped: list[str] = []  # what git could not take from the working tree


def _git(cwd: Path, *args: str, input: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-c", "safe.directory=*", *args], cwd=cwd, capture_output=True, input=input,
                          env={**os.environ, **env} if env else None)


def _date_of(repo: Path, commit: str) -> str:
    return _git(repo, "show", "-s", "--format=%cI", commit).stdout.decode().strip()


def git_failure(stderr: str | bytes, default: str = "git failed") -> str:
    """Why a git command failed: the last line it wrote (where git says it), or `default`."""
    text = stderr.decode("utf-8", "replace") if isinstance(stderr, bytes) else stderr
    lines = text.strip().splitlines()
    return lines[-1].strip() if lines else default


def _ok(done: subprocess.CompletedProcess, what: str) -> bytes:
    if done.returncode != 0:
        raise UserError(f"{what}: {git_failure(done.stderr)}")
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
    """The user's tree as it stands, committed in a private clone. It is staged with the copy's
    own git directory over the user's work tree, so what the user has (staged or not, untracked
    but not ignored) is taken as git sees it, whatever the user's diff settings, and nothing is
    written to the user's repository."""
    repo = check_repo(repo)
    base = _git(repo, "rev-parse", "--verify", "-q", "HEAD")
    base_commit = base.stdout.decode().strip() if base.returncode == 0 else None
    if base_commit:
        _ok(_git(repo, "clone", "-q", "--shared", "--no-checkout", str(repo), str(dest)), "cannot copy the repository")
        _ok(_git(dest, "reset", "-q", base_commit), "cannot set up the copy")
    else:  # a repository without commits yet
        _ok(_git(repo.parent, "init", "-q", str(dest)), "cannot make the copy")
    own = ["--git-dir", str(dest / ".git"), "--work-tree", str(repo)]
    # What git cannot take (an empty nested repository) is left out, not fatal: the rest is the tree.
    added = _git(repo, *own, "add", "-A", "--ignore-errors")
    skipped = [line for line in added.stderr.decode("utf-8", "replace").splitlines() if line.startswith("error:")]
    # Dated as the user's HEAD: the environment is chosen by the commit's date (sandbox.pythons).
    dated = {"GIT_AUTHOR_DATE": _date_of(repo, base_commit), "GIT_COMMITTER_DATE": _date_of(repo, base_commit)} if base_commit else {}
    _ok(_git(dest, *_IDENTITY, "commit", "-q", "--allow-empty", "--no-verify", "-m", "supercoder: the tree as found", env=dated),
        "cannot commit the copy")
    _ok(_git(dest, "reset", "-q", "--hard"), "cannot check out the copy")
    commit = _ok(_git(dest, "rev-parse", "HEAD"), "cannot read the copy's commit").decode().strip()
    return Workspace(path=dest, commit=commit, base=base_commit, skipped=skipped)


def checkout_workspace(clone: Path, commit: str, dest: Path) -> Workspace:
    """A private checkout of `commit` from a (bare) clone, sharing its objects: a benchmark
    instance's tree at its base commit."""
    for args, cwd in ((["clone", "-q", "--shared", "--no-checkout", str(clone), str(dest)], None),
                      (["-c", "advice.detachedHead=false", "checkout", "-q", commit], dest)):
        done = _git(cwd or dest.parent, *args)
        if done.returncode != 0:
            raise SandboxError(f"cannot check out {commit[:12]} from {clone}: {git_failure(done.stderr)}")
    return Workspace(path=dest, commit=commit, base=commit)

"""The workspace: the user's tree as it stands, copied into a private clone."""

from __future__ import annotations

from pathlib import Path

import pytest
from fakes.repos import git as _git


@pytest.fixture
def repo(calc_repo) -> Path:
    return calc_repo


def test_the_workspace_holds_local_changes_and_refuses_what_is_no_repository(repo, tmp_path):
    from agent.workspace import make_workspace
    from configs.errors import UserError

    (repo / "calc.py").write_text("changed = True\n")
    (repo / "new.py").write_text("fresh = 1\n")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "debug.log").write_text("ignored\n")
    ws = make_workspace(repo, tmp_path / "ws")
    assert (ws.path / "calc.py").read_text() == "changed = True\n" and (ws.path / "new.py").exists()
    assert not (ws.path / "debug.log").exists() and ws.base == _git(repo, "rev-parse", "HEAD").strip()
    assert _git(ws.path, "status", "--porcelain") == ""  # all of it committed in the copy
    assert "?? new.py" in _git(repo, "status", "--porcelain")  # the user's repository as it was
    # Whatever the user's diff settings; deletions; a nested repository; a repository without commits.
    _git(repo, "config", "diff.noprefix", "true")
    _git(repo, "config", "color.diff", "always")
    (repo / "README.md").unlink()
    (repo / "vendor").mkdir()
    _git(repo / "vendor", "init", "-q")
    ws = make_workspace(repo, tmp_path / "ws-b")
    assert not (ws.path / "README.md").exists() and (ws.path / "calc.py").read_text() == "changed = True\n"
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    _git(fresh, "init", "-q")
    (fresh / "m.py").write_text("x = 1\n")
    _git(fresh, "add", "m.py")
    ws = make_workspace(fresh, tmp_path / "ws-c")
    assert (ws.path / "m.py").read_text() == "x = 1\n" and ws.base is None
    (tmp_path / "plain").mkdir()
    with pytest.raises(UserError, match="not the top of a git repository"):
        make_workspace(tmp_path / "plain", tmp_path / "ws2")
    with pytest.raises(UserError, match="not the top of a git repository"):
        make_workspace(repo / ".git", tmp_path / "ws3")

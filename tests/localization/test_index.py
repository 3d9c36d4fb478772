"""The code index: which files are indexed, the content-addressed cache, and robustness."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from agent.settings import load_settings
from configs.errors import UserError
from localization import index as index_mod
from localization.globs import excluded, matches
from localization.index import build_index, list_files
from localization.models import MODULE_UNIT

pytestmark = pytest.mark.usefixtures("clean_env")

_GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=_GIT_ENV)


def write(root: Path, rel: str, text: str | bytes) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def settings(tmp_path: Path, *overrides: str, cache: str = "cache"):
    return load_settings(overrides=[f"index.cache_dir={tmp_path / cache}", "embeddings.provider=none", *overrides])


def build(root: Path, s):
    return build_index(root, s.index, s.retrieval.body_max_chars)


def make_plain_repo(root: Path) -> Path:
    write(root, "pkg/__init__.py", "")
    write(root, "pkg/core.py", "def run(job):\n    return job.execute()\n\n\nclass Engine:\n    def start(self):\n        return True\n")
    write(root, "pkg/util.py", "def helper(x):\n    return x * 2\n")
    write(root, "main.py", "from pkg.core import run\n\nrun(None)\n")
    return root


def make_git_repo(root: Path) -> Path:
    make_plain_repo(root)
    write(root, ".gitignore", "ignored.py\ngenerated/\n")
    git(root, "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "init")
    write(root, "pkg/untracked.py", "def fresh():\n    return 1\n")  # untracked, not ignored
    write(root, "ignored.py", "def hidden():\n    pass\n")
    write(root, "generated/out.py", "def gen():\n    pass\n")
    write(root, "README.md", "# not python\n")
    return root


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            out[path.relative_to(root).as_posix()] = (st.st_mtime_ns, st.st_size if not stat.S_ISDIR(st.st_mode) else 0)
    return out


def dumped(idx) -> list[dict]:
    return [u.model_dump() for u in idx.units]


# --- which files ---------------------------------------------------------------------------


def test_git_repo_indexes_tracked_and_untracked_but_not_ignored(tmp_path):
    repo = make_git_repo(tmp_path / "repo")
    idx = build(repo, settings(tmp_path))
    assert idx.paths == ["main.py", "pkg/__init__.py", "pkg/core.py", "pkg/untracked.py", "pkg/util.py"]
    assert idx.stats.files == 5
    assert {u.path for u in idx.units} == {"main.py", "pkg/core.py", "pkg/untracked.py", "pkg/util.py"}
    assert "pkg/untracked.py::fresh" in {u.uid for u in idx.units}


def test_git_repo_skips_tracked_file_deleted_from_worktree(tmp_path):
    repo = make_git_repo(tmp_path / "repo")
    (repo / "pkg/util.py").unlink()
    assert "pkg/util.py" not in list_files(repo, ".py")
    assert "pkg/util.py" not in build(repo, settings(tmp_path)).paths


def test_plain_directory_is_walked_without_hidden_dirs(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    write(repo, ".venv/lib/site.py", "def x():\n    pass\n")
    write(repo, "notes.txt", "def not_python(): pass\n")
    assert list_files(repo, ".py") == ["main.py", "pkg/__init__.py", "pkg/core.py", "pkg/util.py"]


def test_units_carry_their_paths_and_files_are_in_order(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    idx = build(repo, settings(tmp_path))
    assert [u.path for u in idx.units] == sorted(u.path for u in idx.units)
    core = [u for u in idx.units if u.path == "pkg/core.py"]
    assert [u.name for u in core] == [MODULE_UNIT, "run", "Engine", "Engine.start"]
    assert idx.root == repo.resolve()
    assert idx.sources["pkg/util.py"].startswith("def helper")
    assert set(idx.file_hashes) == set(idx.paths)
    assert idx.stats.units == len(idx.units)


def test_default_excludes_skip_tests_and_vendored_code(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    for rel in ("tests/test_core.py", "pkg/tests/helpers.py", "pkg/test_util.py", "pkg/util_test.py",
                "conftest.py", "pkg/_vendor/six.py", "third_party/lib.py", "setup.py", "docs/conf.py"):
        write(repo, rel, "def f():\n    pass\n")
    idx = build(repo, settings(tmp_path))
    assert idx.paths == ["main.py", "pkg/__init__.py", "pkg/core.py", "pkg/util.py"]


def test_include_readmits_excluded_files(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    write(repo, "pkg/tests/helpers.py", "def assist():\n    pass\n")
    write(repo, "pkg/tests/test_a.py", "def test_a():\n    pass\n")
    idx = build(repo, settings(tmp_path, "index.include=['**/tests/helpers.py']"))
    assert "pkg/tests/helpers.py" in idx.paths
    assert "pkg/tests/test_a.py" not in idx.paths


def test_custom_exclude_replaces_defaults(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    write(repo, "tests/test_x.py", "def test_x():\n    pass\n")
    idx = build(repo, settings(tmp_path, "index.exclude=['pkg/**']"))
    assert idx.paths == ["main.py", "tests/test_x.py"]


def test_max_file_bytes_skips_big_files(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    write(repo, "pkg/big.py", "def big():\n" + "    x = 1\n" * 100)
    idx = build(repo, settings(tmp_path, "index.max_file_bytes=500"))
    assert "pkg/big.py" not in idx.paths
    assert idx.stats.skipped_large == 1
    assert "pkg/core.py" in idx.paths


def test_binary_file_is_skipped(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    write(repo, "pkg/blob.py", b"def x():\n    pass\n\x00\x01\x02binary")
    idx = build(repo, settings(tmp_path))
    assert "pkg/blob.py" not in idx.paths
    assert idx.stats.skipped_binary == 1


def test_syntax_errors_are_counted_and_valid_defs_kept(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    write(repo, "pkg/broken.py", "def ok():\n    return 1\n\ndef bad(:\n    pass\n")
    idx = build(repo, settings(tmp_path))
    assert idx.stats.with_syntax_errors == 1
    assert "pkg/broken.py::ok" in {u.uid for u in idx.units}


def test_non_utf8_file_is_indexed(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    write(repo, "pkg/latin.py", "# caf\xe9\ndef latin():\n    return 1\n".encode("latin-1"))
    idx = build(repo, settings(tmp_path))
    assert "pkg/latin.py::latin" in {u.uid for u in idx.units}


def test_progress_reports_start_and_end(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    s = settings(tmp_path)
    calls = []
    build_index(repo, s.index, s.retrieval.body_max_chars, progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, 4) and calls[-1] == (4, 4)


def test_parallel_parse_matches_serial(tmp_path, monkeypatch):
    repo = make_plain_repo(tmp_path / "repo")
    serial = build(repo, settings(tmp_path, cache="c1"))
    monkeypatch.setattr(index_mod, "_PARALLEL_MIN_FILES", 2)
    parallel = build(repo, settings(tmp_path, "index.workers=2", cache="c2"))
    assert parallel.stats.parsed == 4
    assert dumped(parallel) == dumped(serial)


# --- the cache -----------------------------------------------------------------------------


def test_second_build_comes_from_cache(tmp_path):
    repo = make_git_repo(tmp_path / "repo")
    s = settings(tmp_path)
    first = build(repo, s)
    assert first.stats.parsed == first.stats.files == 5
    assert first.stats.from_cache == 0
    second = build(repo, s)
    assert second.stats.from_cache == second.stats.files == 5
    assert second.stats.parsed == 0
    assert dumped(second) == dumped(first)


def test_changed_file_is_the_only_one_parsed(tmp_path):
    repo = make_git_repo(tmp_path / "repo")
    s = settings(tmp_path)
    build(repo, s)
    write(repo, "pkg/util.py", "def helper(x):\n    return x * 3\n\n\ndef added():\n    pass\n")
    again = build(repo, s)
    assert again.stats.parsed == 1
    assert again.stats.from_cache == again.stats.files - 1
    assert "pkg/util.py::added" in {u.uid for u in again.units}


def test_cache_is_shared_between_checkouts(tmp_path):
    repo = make_git_repo(tmp_path / "one")
    other = tmp_path / "two"
    shutil.copytree(repo, other)
    s = settings(tmp_path)
    first = build(repo, s)
    second = build(other, s)
    assert second.stats.parsed == 0
    assert second.stats.from_cache == second.stats.files == first.stats.files
    assert second.root == other.resolve()
    assert dumped(second) == dumped(first)  # paths are repo-relative, so the units are identical


def test_cache_lives_under_cache_dir_only(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    build(repo, settings(tmp_path))
    entries = list((tmp_path / "cache").rglob("*.json"))
    assert len(entries) == 4  # one per file, named by content hash
    # The repository's paths are not stored: the same content in another repo hits the same entry.
    for entry in entries:
        assert b"pkg/" not in entry.read_bytes()


@pytest.mark.parametrize("garbage", [b"\x00not json{{{", b"[]", b"{}", b'{"schema": 1, "hash": "x", "units": []}', b""])
def test_corrupt_cache_entries_are_rebuilt(tmp_path, garbage):
    repo = make_git_repo(tmp_path / "repo")
    s = settings(tmp_path)
    first = build(repo, s)
    entries = list((tmp_path / "cache").rglob("*.json"))
    assert len(entries) == first.stats.files
    for entry in entries:
        entry.write_bytes(garbage)
    rebuilt = build(repo, s)
    assert rebuilt.stats.parsed == rebuilt.stats.files
    assert rebuilt.stats.from_cache == 0
    assert dumped(rebuilt) == dumped(first)
    # and the damaged entries were rewritten
    assert build(repo, s).stats.from_cache == first.stats.files


def test_cache_entry_with_invalid_units_is_a_miss(tmp_path):
    repo = make_plain_repo(tmp_path / "repo")
    s = settings(tmp_path)
    first = build(repo, s)
    import json

    for entry in (tmp_path / "cache").rglob("*.json"):
        data = json.loads(entry.read_text())
        data["units"] = [{"name": "x", "kind": "nonsense"}]
        entry.write_text(json.dumps(data))
    again = build(repo, s)
    assert again.stats.parsed == again.stats.files
    assert dumped(again) == dumped(first)


def test_unwritable_cache_dir_warns_and_still_indexes(tmp_path, capsys):
    repo = make_plain_repo(tmp_path / "repo")
    cache = tmp_path / "cache"
    cache.mkdir()
    cache.chmod(0o500)
    try:
        if os.access(cache, os.W_OK):
            pytest.skip("chmod does not stop this user from writing (running as root)")
        idx = build(repo, settings(tmp_path))
    finally:
        cache.chmod(0o700)
    assert idx.stats.files == 4 and idx.stats.parsed == 4
    err = capsys.readouterr().err
    assert "warning" in err and "not writable" in err
    assert err.count("warning") == 1


def test_cache_dir_blocked_by_a_file_warns_once_and_still_indexes(tmp_path, capsys):
    # Works whatever the user (root ignores permissions but not a file in the way).
    repo = make_plain_repo(tmp_path / "repo")
    blocker = tmp_path / "blocker"
    blocker.write_text("i am a file")
    s = load_settings(overrides=[f"index.cache_dir={blocker}", "embeddings.provider=none"])
    idx = build(repo, s)
    assert idx.stats.files == 4 and idx.stats.parsed == 4
    assert "pkg/core.py::Engine.start" in {u.uid for u in idx.units}
    err = capsys.readouterr().err
    assert err.count("warning: index cache") == 1
    assert "not writable" in err
    assert blocker.read_text() == "i am a file"


def test_repository_is_never_written(tmp_path):
    repo = make_git_repo(tmp_path / "repo")
    before = snapshot(repo)
    s = settings(tmp_path)
    build(repo, s)
    build(repo, s)
    assert snapshot(repo) == before


# --- errors --------------------------------------------------------------------------------


def test_nonexistent_path_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="not found"):
        build(tmp_path / "missing", settings(tmp_path))


def test_file_instead_of_directory_is_a_user_error(tmp_path):
    path = write(tmp_path, "single.py", "x = 1\n")
    with pytest.raises(UserError, match="not a directory"):
        build(path, settings(tmp_path))


def test_repo_without_source_files_is_a_user_error(tmp_path):
    repo = tmp_path / "repo"
    write(repo, "README.md", "# hello\n")
    write(repo, "src/main.c", "int main(void) { return 0; }\n")
    with pytest.raises(UserError, match="no source files to index .* in a language SuperCoder reads"):
        build(repo, settings(tmp_path))


def test_repo_with_only_test_files_is_a_user_error(tmp_path):
    repo = tmp_path / "repo"
    write(repo, "tests/test_a.py", "def test_a():\n    pass\n")
    with pytest.raises(UserError):
        build(repo, settings(tmp_path))


# --- globs ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path, pattern, expected",
    [
        ("tests/test_a.py", "**/tests/**", True),
        ("pkg/tests/test_a.py", "**/tests/**", True),
        ("a/b/tests/c/d.py", "**/tests/**", True),
        ("mytests/a.py", "**/tests/**", False),
        ("pkg/tests.py", "**/tests/**", False),
        ("tests/a.py", "tests/**", True),
        ("tests/deep/er/a.py", "tests/**", True),
        ("pkg/tests/a.py", "tests/**", False),
        ("test_a.py", "**/test_*.py", True),
        ("pkg/sub/test_a.py", "**/test_*.py", True),
        ("pkg/contest_a.py", "**/test_*.py", False),
        ("pkg/test_dir/a.py", "**/test_*.py", False),
        ("setup.py", "setup.py", True),
        ("pkg/setup.py", "setup.py", False),
        ("a.py", "?.py", True),
        ("ab.py", "?.py", False),
        ("pkg/x.py", "*.py", False),
        ("pkg/.hidden/x.py", "**/.*/**", True),
        ("pkg/a+b.py", "pkg/a+b.py", True),
    ],
)
def test_glob_matching(path, pattern, expected):
    assert matches(path, pattern) is expected


def test_excluded_with_include_override():
    exclude = ["**/tests/**", "**/test_*.py"]
    assert excluded("pkg/tests/x.py", exclude, [])
    assert not excluded("pkg/tests/x.py", exclude, ["pkg/tests/x.py"])
    assert not excluded("pkg/core.py", exclude, [])
    assert excluded("test_top.py", exclude, ["pkg/**"])


def test_syntax_errors_are_counted_on_warm_runs_too(tmp_path):
    repo = tmp_path / "repo"
    write(repo, "ok.py", "def fine():\n    return 1\n")
    write(repo, "broken.py", "def good():\n    pass\n\ndef bad(:\n    pass\n")
    s = settings(tmp_path)
    cold = build(repo, s)
    warm = build(repo, s)
    assert cold.stats.with_syntax_errors == 1
    assert (warm.stats.parsed, warm.stats.with_syntax_errors) == (0, 1)


def test_symlinked_files_are_not_indexed(tmp_path):
    outside = tmp_path / "outside"
    write(outside, "secret.py", "def outside_secret():\n    pass\n")
    repo = tmp_path / "repo"
    write(repo, "pkg/real.py", "def real():\n    pass\n")
    (repo / "pkg" / "linked.py").symlink_to(outside / "secret.py")
    (repo / "pkg" / "alias.py").symlink_to(repo / "pkg" / "real.py")
    idx = build(repo, settings(tmp_path))
    assert idx.paths == ["pkg/real.py"]
    assert idx.stats.skipped_other == 2


def test_subdirectory_of_a_git_repo_uses_gits_view(tmp_path):
    import subprocess

    repo = tmp_path / "repo"
    write(repo, "pkg/core.py", "def core():\n    pass\n")
    write(repo, "pkg/venv/junk.py", "def junk():\n    pass\n")
    write(repo, ".gitignore", "venv/\n")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    idx = build(repo / "pkg", settings(tmp_path))
    assert idx.paths == ["core.py"]

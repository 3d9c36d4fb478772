"""The `local` sandbox backend: a shared clone in a temp dir and commands in their own process group."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.settings import load_settings
from sandbox.base import SandboxError
from sandbox.config import SandboxConfig
from sandbox.local import LocalSandbox

README = "hello\nworld\n"
MAIN = "def main():\n    return 1\n"

VALID_DIFF = """\
diff --git a/src/main.py b/src/main.py
--- a/src/main.py
+++ b/src/main.py
@@ -1,2 +1,2 @@
 def main():
-    return 1
+    return 2
"""

NEW_FILE_DIFF = """\
diff --git a/src/added.py b/src/added.py
new file mode 100644
--- /dev/null
+++ b/src/added.py
@@ -0,0 +1 @@
+ADDED = True
"""

BAD_DIFF = """\
diff --git a/src/main.py b/src/main.py
--- a/src/main.py
+++ b/src/main.py
@@ -1,2 +1,2 @@
 def main():
-    return 42
+    return 43
"""


def _git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=test@example.com", "-c", "user.name=Test", "-c", "init.defaultBranch=main", *args],
        cwd=cwd, capture_output=True, text=True, check=True,
    )
    return done.stdout.strip()


def _snapshot(root: Path, with_mtime: bool = True) -> dict[str, tuple[int, int, str]]:
    """Every file and directory under root: mode, mtime and content hash (a write shows up)."""
    found: dict[str, tuple[int, int, str]] = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() and not path.is_symlink() else ""
        found[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns if with_mtime else 0, digest)
    return found


def _marker() -> str:
    """A unique `sleep` argument, so the processes of one test can be told from any other."""
    return f"{random.randint(60, 69)}.{random.randint(10**8, 10**9 - 1)}"


def _live_pids(marker: str) -> list[int]:
    """Pids of live (not zombie) processes whose command line contains marker."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            pids.append(int(entry.name))
    return pids


def _gone(marker: str, within_s: float = 2.0) -> bool:
    deadline = time.monotonic() + within_s
    while _live_pids(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _ps_shows(marker: str) -> bool:
    ps = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True, check=True).stdout
    return any(marker in line and not line.lstrip().startswith("Z") for line in ps.splitlines())


@pytest.fixture
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temp dir of this test alone, so leftovers of other test runs do not count."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    assert tempfile.gettempdir() == str(tmp)
    return tmp


def _sandbox_dirs() -> list[str]:
    return sorted(p.name for p in Path(tempfile.gettempdir()).glob("supercoder-sandbox-*"))


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path, str]:
    """A small git repo with one commit, and a bare clone of it: (worktree clone, bare clone, commit)."""
    src = tmp_path / "src-repo"
    (src / "src").mkdir(parents=True)
    (src / "README.md").write_text(README)
    (src / "src" / "main.py").write_text(MAIN)
    (src / ".gitignore").write_text("*.log\n")
    _git("init", "-q", cwd=src)
    _git("add", "-A", cwd=src)
    _git("commit", "-q", "-m", "first", cwd=src)
    commit = _git("rev-parse", "HEAD", cwd=src)
    bare = tmp_path / "bare-repo.git"
    _git("clone", "-q", "--bare", str(src), str(bare), cwd=tmp_path)
    return src, bare, commit


def _cfg(**kw) -> SandboxConfig:
    base = {"command_timeout_s": 10, "kill_grace_s": 1, "output_max_chars": 10_000}
    return SandboxConfig(**{**base, **kw})


@pytest.fixture
def sb(repo, private_tmp) -> Iterator[LocalSandbox]:
    src, _, commit = repo
    box = LocalSandbox(src, commit, _cfg())
    yield box
    box.close()


# --- construction and isolation of the source clone -------------------------------------------


@pytest.mark.parametrize("kind", ["worktree", "bare"])
def test_works_from_a_clone_and_never_writes_into_it(repo, private_tmp, kind):
    src, bare, commit = repo
    source = src if kind == "worktree" else bare
    before = _snapshot(source)
    with LocalSandbox(source, commit, _cfg()) as box:
        root = Path(box.workdir)
        assert root.is_dir() and Path(tempfile.gettempdir()) in root.parents
        assert source not in root.parents and root != source
        assert box.read_file("README.md") == README
        assert box.read_file("src/main.py") == MAIN
        assert box.run("git rev-parse HEAD").output.strip() == commit
        # Everything the sandbox itself does that writes: files, a patch, a command, a reset.
        box.write_file("new/file.txt", "x\n")
        box.apply_diff(VALID_DIFF)
        assert box.run("echo y > other.txt && rm README.md").ok
        box.reset()
        assert box.read_file("README.md") == README
    assert _snapshot(source) == before  # not a byte, not even an mtime


@pytest.mark.parametrize("kind", ["worktree", "bare"])
def test_git_commands_in_the_sandbox_do_not_change_the_source(repo, private_tmp, kind):
    src, bare, commit = repo
    source = src if kind == "worktree" else bare
    before = _snapshot(source, with_mtime=False)
    with LocalSandbox(source, commit, _cfg()) as box:
        box.apply_diff(VALID_DIFF)
        done = box.run("echo y > other.txt && git add -A && "
                       "git -c user.email=a@b.c -c user.name=n commit -qm in-sandbox && git gc -q && git prune")
        assert done.ok, done.output
    # Git itself may freshen the mtime of an object it finds in the source (alternates): the
    # listing and every byte stay the same.
    assert _snapshot(source, with_mtime=False) == before


def test_settings_from_load_settings_are_used(repo, private_tmp):
    src, _, commit = repo
    cfg = load_settings(overrides=["sandbox.command_timeout_s=1", "sandbox.kill_grace_s=1"]).sandbox
    assert cfg.command_timeout_s == 1
    with LocalSandbox(src, commit, cfg) as box:
        start = time.monotonic()
        result = box.run("sleep 60")  # no timeout_s: the configured one applies
        assert result.timed_out and result.exit_code is None
        assert time.monotonic() - start < 5


def test_missing_commit_is_an_error_and_leaves_no_temp_dir(repo, private_tmp):
    src, bare, _ = repo
    assert _sandbox_dirs() == []
    for source in (src, bare):
        with pytest.raises(SandboxError):
            LocalSandbox(source, "0123456789abcdef0123456789abcdef01234567", _cfg())
        with pytest.raises(SandboxError):
            LocalSandbox(source, "no-such-branch", _cfg())
    assert _sandbox_dirs() == []


def test_missing_clone_is_an_error_and_leaves_no_temp_dir(tmp_path, private_tmp):
    with pytest.raises(SandboxError):
        LocalSandbox(tmp_path / "does-not-exist", "HEAD", _cfg())
    assert _sandbox_dirs() == []


# --- run --------------------------------------------------------------------------------------


def test_run_exit_code_and_interleaved_output(sb):
    ok = sb.run("true")
    assert ok.exit_code == 0 and ok.ok and not ok.timed_out and not ok.truncated
    assert ok.command == "true"
    failed = sb.run("exit 3")
    assert failed.exit_code == 3 and not failed.ok and not failed.timed_out
    mixed = sb.run("echo one; echo two >&2; echo three; echo four >&2; exit 1")
    assert mixed.output == "one\ntwo\nthree\nfour\n"
    assert mixed.exit_code == 1


def test_run_duration(sb):
    result = sb.run("sleep 0.3")
    assert result.ok
    assert 0.3 <= result.duration_s < 3


def test_run_cwd_is_the_tree_root(sb):
    assert sb.run("pwd -P").output.strip() == os.path.realpath(sb.workdir)
    assert sb.run("cat README.md").output == README


def test_shell_state_does_not_persist_but_files_do(sb):
    assert sb.run("cd src && export SC_SANDBOX_STATE=set && echo made > made.txt").ok
    assert sb.run("pwd -P").output.strip() == os.path.realpath(sb.workdir)
    assert sb.run("echo ${SC_SANDBOX_STATE-unset}").output == "unset\n"
    assert sb.run("cat src/made.txt").output == "made\n"
    assert sb.read_file("src/made.txt") == "made\n"


# --- time limits and leftover processes --------------------------------------------------------


def test_timeout_kills_the_command(sb):
    start = time.monotonic()
    result = sb.run("echo started; sleep 60", timeout_s=1)
    elapsed = time.monotonic() - start
    assert result.timed_out and result.exit_code is None and not result.ok
    assert 1 <= elapsed < 5
    assert result.duration_s < 5
    assert "started" in result.output


def test_timeout_kills_every_forked_child(sb):
    m = _marker()
    result = sb.run(f"sleep {m} & sleep {m} & (sleep {m}; echo never) & wait", timeout_s=1)
    assert result.timed_out and result.exit_code is None
    assert _gone(m), f"left alive: {_live_pids(m)}"
    assert not _ps_shows(m)


def test_background_children_of_a_finished_command_are_killed(sb):
    m = _marker()
    start = time.monotonic()
    # The command ends only once its child runs `sleep`, so the child is there to be killed.
    result = sb.run(f"sleep {m} & p=$!; echo $p > bg.pid; "
                    'until [ "$(cat /proc/$p/comm 2>/dev/null)" = sleep ]; do sleep 0.01; done; echo done')
    assert time.monotonic() - start < 5
    assert result.ok and result.output == "done\n"
    child = int(sb.read_file("bg.pid"))
    assert _gone(m), f"left alive: {_live_pids(m)}"
    assert child not in _live_pids(m)
    assert not _ps_shows(m)


@pytest.mark.parametrize("finishes", [False, True])
def test_a_child_escaped_with_setsid_does_not_hang_run(sb, finishes):
    m = _marker()
    pidfile = Path(sb.workdir) / "escaped.pid"
    tail = "echo finished" if finishes else "sleep 60"
    # The child leaves the group (setsid) and keeps the output pipe open; the command goes on
    # only once it has escaped, so the kill of the group cannot catch it early.
    command = (f"setsid bash -c 'echo $$ > escaped.pid; exec sleep {m}' & "
               f"until [ -s escaped.pid ]; do sleep 0.01; done; echo before; {tail}")
    start = time.monotonic()
    try:
        result = sb.run(command, timeout_s=1)
        elapsed = time.monotonic() - start
        escaped = int(pidfile.read_text())
        assert escaped in _live_pids(m)  # it did escape: the case under test happened
        # timeout (1 s) + kill_grace_s (1 s) + a margin
        assert elapsed < 1 + sb.cfg.kill_grace_s + 2
        assert result.timed_out is (not finishes)
        assert result.exit_code == (0 if finishes else None)
        assert "before" in result.output
        if finishes:
            assert "finished" in result.output
    finally:
        for pid in _live_pids(m):  # the escaped child: end it by its id
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --- output cap --------------------------------------------------------------------------------


def test_output_over_the_cap_keeps_head_and_tail(repo, private_tmp):
    src, _, commit = repo
    with LocalSandbox(src, commit, _cfg(output_max_chars=1000)) as box:
        small = box.run("printf 'x%.0s' $(seq 1 900)")
        assert small.output == "x" * 900 and not small.truncated
        big = box.run("printf 'HEAD-START\\n'; head -c 20000 /dev/zero | tr '\\0' m; printf '\\nTAIL-END\\n'")
        assert big.ok and big.truncated
        assert big.output.startswith("HEAD-START\n")
        assert big.output.endswith("\nTAIL-END\n")
        assert len(big.output) < 1200  # the cap, plus a short note of what was dropped
        assert big.output.count("m") < 1000


def test_long_output_keeps_an_exact_head_and_tail(repo, private_tmp):
    src, _, commit = repo
    full = "".join(f"{i}\n" for i in range(1, 100_001))  # ~590 kB: many reads of the pipe
    with LocalSandbox(src, commit, _cfg(output_max_chars=2000)) as box:
        result = box.run("seq 1 100000")
    assert result.ok and result.truncated
    assert len(result.output) <= 2000 + 100
    assert full.startswith(result.output[:400])
    assert full.endswith(result.output[-1400:])
    assert result.output.endswith("99999\n100000\n")


def test_multibyte_output_is_decoded_whole(repo, private_tmp):
    src, _, commit = repo
    with LocalSandbox(src, commit, _cfg(output_max_chars=200_000)) as box:
        # 3-byte characters: reads of the pipe split some of them
        result = box.run(f"{sys.executable} -c \"import sys; sys.stdout.write('\u20ac' * 100000)\"")
    assert result.ok and not result.truncated
    assert result.output == "\u20ac" * 100_000


# --- secrets -----------------------------------------------------------------------------------


LEAKS = {"OPENAI_API_KEY": "sk-sandbox-leak-1", "GITHUB_TOKEN": "ghp-sandbox-leak-2", "MY_DB_PASSWORD": "pw-sandbox-leak-3",
         "aws_secret_access_key": "aws-sandbox-leak-4", "GH_PAT": "ghp-sandbox-leak-5",
         "DATABASE_URL": "postgres://app:pw-sandbox-leak-6@db/app", "ANTHROPIC_AUTH": "sandbox-leak-7",
         "PIP_INDEX_URL": "https://user:pw-sandbox-leak-8@pypi.example/simple", "SSH_AUTH_SOCK": "/tmp/ssh-sandbox-leak-9/agent"}


def test_only_allowed_variables_reach_the_tests(sb, monkeypatch):
    for name, value in LEAKS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LC_TIME", "C.UTF-8")
    result = sb.run("env")
    assert result.ok
    assert not [name for name, value in LEAKS.items() if name in result.output or value in result.output]
    assert "LC_TIME=C.UTF-8" in result.output and f"PATH={os.environ['PATH']}" in result.output  # the allow-list, with a pattern
    assert sb.run("echo ${GH_PAT-unset} ${HOME}").output == f"unset {os.environ['HOME']}\n"


def test_an_install_also_gets_what_reaches_the_package_index(repo, private_tmp, monkeypatch):
    monkeypatch.setenv("PIP_INDEX_URL", LEAKS["PIP_INDEX_URL"])
    monkeypatch.setenv("GH_PAT", LEAKS["GH_PAT"])
    src, _, commit = repo
    with LocalSandbox(src, commit, _cfg(local_env=["PATH", "HOME", "SC_MINE"])) as box:
        monkeypatch.setenv("SC_MINE", "mine")
        assert box.install("echo ${PIP_INDEX_URL-unset} ${GH_PAT-unset}").output == f"{LEAKS['PIP_INDEX_URL']} unset\n"
        assert box.run("echo ${PIP_INDEX_URL-unset} ${SC_MINE}").output == "unset mine\n"


# --- apply_diff --------------------------------------------------------------------------------


def test_valid_diff_applies(sb):
    sb.apply_diff(VALID_DIFF)
    assert sb.read_file("src/main.py") == "def main():\n    return 2\n"
    sb.apply_diff(NEW_FILE_DIFF.rstrip("\n"))  # a missing final newline is tolerated
    assert sb.read_file("src/added.py") == "ADDED = True\n"


def test_diff_that_does_not_apply_is_an_error_and_changes_nothing(sb):
    combined = NEW_FILE_DIFF + BAD_DIFF  # the first part would apply, the second does not
    before = sb.run("git status --porcelain --untracked-files=all && git diff").output
    with pytest.raises(SandboxError) as info:
        sb.apply_diff(combined)
    message = str(info.value)
    assert message.startswith("the patch does not apply")
    assert "src/main.py" in message  # git's reason names the file
    assert sb.read_file("src/main.py") == MAIN
    assert not (Path(sb.workdir) / "src" / "added.py").exists()
    assert sb.run("git status --porcelain --untracked-files=all && git diff").output == before
    with pytest.raises(SandboxError, match="^the patch does not apply"):
        sb.apply_diff("this is not a diff at all\n")


@pytest.mark.parametrize("diff", ["", "\n", "   \n\n"])
def test_empty_diff_is_a_no_op(sb, diff):
    sb.apply_diff(diff)
    assert sb.run("git status --porcelain --untracked-files=all").output == ""
    assert sb.read_file("src/main.py") == MAIN


# --- read_file / write_file --------------------------------------------------------------------


def test_write_then_read_round_trip(sb):
    sb.write_file("notes.txt", "héllo\nwörld\n")
    assert sb.read_file("notes.txt") == "héllo\nwörld\n"
    assert (Path(sb.workdir) / "notes.txt").read_text(encoding="utf-8") == "héllo\nwörld\n"
    sb.write_file("README.md", "replaced\n")
    assert sb.read_file("README.md") == "replaced\n"
    assert sb.run("cat README.md").output == "replaced\n"


def test_write_creates_nested_dirs(sb):
    sb.write_file("a/b/c/deep.txt", "deep\n")
    assert (Path(sb.workdir) / "a" / "b" / "c" / "deep.txt").read_text() == "deep\n"
    assert sb.read_file("a/b/c/deep.txt") == "deep\n"


@pytest.mark.parametrize("path", ["../x", "../../x", "src/../../x", "/tmp/x", "/etc/passwd"])
def test_paths_outside_the_tree_are_refused(sb, path):
    outside = Path(sb.workdir).parent
    before = sorted(p.name for p in outside.iterdir())
    with pytest.raises(SandboxError):
        sb.write_file(path, "escaped\n")
    with pytest.raises(SandboxError):
        sb.read_file(path)
    assert sorted(p.name for p in outside.iterdir()) == before
    assert not Path("/tmp/x").exists() or Path("/tmp/x").read_text(errors="replace") != "escaped\n"


def test_reading_a_missing_file_is_a_sandbox_error(sb):
    with pytest.raises(SandboxError):
        sb.read_file("no/such/file.txt")


def test_a_symlink_does_not_lead_outside_the_tree(sb, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("outside secret\n")
    assert sb.run(f"ln -s {outside} escape").ok
    with pytest.raises(SandboxError):
        sb.write_file("escape/planted.txt", "escaped\n")
    assert not (outside / "planted.txt").exists()
    with pytest.raises(SandboxError):
        sb.read_file("escape/secret.txt")


def test_write_file_that_cannot_be_written_is_a_sandbox_error(sb):
    with pytest.raises(SandboxError):
        sb.write_file("README.md/inside-a-file.txt", "x\n")  # a file, not a directory


# --- reset -------------------------------------------------------------------------------------


def test_reset_restores_the_starting_tree(sb):
    sb.apply_diff(VALID_DIFF)
    sb.apply_diff(NEW_FILE_DIFF)
    sb.write_file("README.md", "changed\n")
    sb.write_file("scratch/new.txt", "new\n")
    assert sb.run("rm src/main.py").ok
    sb.reset()
    assert sb.read_file("README.md") == README
    assert sb.read_file("src/main.py") == MAIN
    root = Path(sb.workdir)
    assert not (root / "src" / "added.py").exists()
    assert not (root / "scratch").exists()
    assert sb.run("git status --porcelain --untracked-files=all --ignored").output == ""
    sb.apply_diff(VALID_DIFF)  # the tree is usable again
    assert sb.read_file("src/main.py") == "def main():\n    return 2\n"


def test_reset_keeps_ignored_files(sb):
    # Documented: ignored files (build metadata of an install, a generated version file) stay.
    sb.write_file("build.log", "made by a build\n")
    sb.write_file("untracked.txt", "x\n")
    sb.reset()
    assert sb.read_file("build.log") == "made by a build\n"
    assert not (Path(sb.workdir) / "untracked.txt").exists()


def test_reset_after_a_commit_in_the_sandbox(sb, repo):
    _, _, commit = repo
    sb.apply_diff(VALID_DIFF)
    assert sb.run("git -c user.email=a@b.c -c user.name=n commit -qam moved").ok
    sb.reset()
    assert sb.read_file("src/main.py") == MAIN
    assert sb.run("git rev-parse HEAD").output.strip() == commit


# --- close -------------------------------------------------------------------------------------


def test_close_removes_the_temp_dir(repo, private_tmp):
    src, _, commit = repo
    box = LocalSandbox(src, commit, _cfg())
    root = Path(box.workdir)
    assert root.is_dir() and len(_sandbox_dirs()) == 1
    box.close()
    assert not root.exists()
    assert _sandbox_dirs() == []
    box.close()  # twice is harmless


def test_context_manager_closes_even_when_the_body_raises(repo, private_tmp):
    src, _, commit = repo
    with LocalSandbox(src, commit, _cfg()) as box:
        root = Path(box.workdir)
        assert root.is_dir()
    assert not root.exists()
    with pytest.raises(RuntimeError, match="boom"):
        with LocalSandbox(src, commit, _cfg()) as box:
            root = Path(box.workdir)
            box.write_file("x.txt", "x\n")
            raise RuntimeError("boom")
    assert not root.exists()
    assert _sandbox_dirs() == []


def test_a_commit_a_clone_cannot_give_is_told_in_gits_own_words(repo, private_tmp):
    from sandbox.docker_engine import git_archive

    src, bare, _ = repo
    missing = "0" * 40
    with pytest.raises(SandboxError) as exc:
        LocalSandbox(src, missing, _cfg())
    assert f"cannot check out {missing}" in str(exc.value) and "fatal:" in str(exc.value) and missing in str(exc.value)
    with pytest.raises(SandboxError) as exc:
        git_archive(bare, missing)
    assert "cannot take the tree of" in str(exc.value) and "fatal: not a tree object" in str(exc.value)
    assert list(private_tmp.iterdir()) == []  # the half-made sandbox is gone

"""`supercoder edit`: the diff on stdout and nothing else, lint on stderr, files written only
with --apply, and every bad input an exit status 2 with one `error:` line and no file changed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from fakes.tree import write_tree

from agent import cli

SCRIPT = Path(sys.executable).parent / "supercoder"

MOD = textwrap.dedent('''
    import os


    class Klass:
        """Holds a value."""

        def method(self, x):
            return x + 1

        def other(self):
            return 2


    def func(a, b):
        return os.path.join(a, b)
    ''').lstrip()

FILES = {
    "pkg/__init__.py": "",
    "pkg/mod.py": MOD,
    "pkg/util.py": "def helper():\n    return 1\n",
    "README.md": "# readme\n",
    "notes.txt": "x = 1\ny = 2\nx = 1\n",
}

METHOD_EDIT = {"path": "pkg/mod.py", "unit": "Klass.method", "code": "def method(self, x):\n    return x + 2\n"}
MOD_AFTER_METHOD_EDIT = MOD.replace("return x + 1", "return x + 2")


@pytest.fixture
def repo(tmp_path) -> Path:
    return write_tree(tmp_path / "repo", FILES, str)


@pytest.fixture
def env(clean_env, tmp_path):
    clean_env.setenv("SUPERCODER_INDEX__CACHE_DIR", str(tmp_path / "cache"))
    clean_env.setenv("SUPERCODER_EMBEDDINGS__PROVIDER", "none")
    return clean_env


def run(capsys, *args) -> tuple[int, str, str]:
    """agent.cli.main in-process: (exit code, stdout, stderr)."""
    with pytest.raises(SystemExit) as exc:
        cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    code = exc.value.code
    return (0 if code is None else code), out, err


def write_edits(tmp_path: Path, edits, name: str = "edits.json") -> Path:
    path = tmp_path / name
    path.write_text(edits if isinstance(edits, str) else json.dumps(edits), encoding="utf-8")
    return path


def snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under the repository with its bytes and mtime."""
    return {str(p.relative_to(root)): (p.read_bytes(), p.stat().st_mtime_ns) for p in sorted(root.rglob("*")) if p.is_file()}


def assert_error(code: int, out: str, err: str, *fragments: str) -> None:
    """Exit 2, nothing on stdout, exactly one stderr line, an `error:` one, no traceback."""
    assert code == 2, (code, out, err)
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, err)


def _git(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


# --- success ----------------------------------------------------------------------------------


def test_edit_prints_the_diff_and_writes_nothing(env, repo, tmp_path, capsys):
    before = snapshot(repo)
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, [METHOD_EDIT]))
    assert code == 0, err
    assert err == ""
    assert out == (
        "diff --git a/pkg/mod.py b/pkg/mod.py\n"
        "--- a/pkg/mod.py\n"
        "+++ b/pkg/mod.py\n"
        "@@ -5,7 +5,7 @@\n"
        '     """Holds a value."""\n'
        " \n"
        "     def method(self, x):\n"
        "-        return x + 1\n"
        "+        return x + 2\n"
        " \n"
        "     def other(self):\n"
        "         return 2\n"
    )
    assert snapshot(repo) == before


def test_edit_diff_applies_with_git(env, repo, tmp_path, capsys):
    edits = [
        METHOD_EDIT,
        {"path": "pkg/mod.py", "unit": "Klass.added", "code": "    def added(self):\n        return 3\n"},
        {"path": "pkg/util.py", "unit": "helper", "code": "def helper():\n    return 10\n"},
    ]
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, edits))
    assert code == 0, err
    assert _git(repo, "init", "-q").returncode == 0
    (tmp_path / "out.diff").write_text(out, encoding="utf-8")
    check = _git(repo, "apply", "--check", str(tmp_path / "out.diff"))
    assert check.returncode == 0, check.stderr
    assert _git(repo, "apply", str(tmp_path / "out.diff")).returncode == 0
    assert (repo / "pkg/util.py").read_text() == "def helper():\n    return 10\n"
    assert (repo / "pkg/mod.py").read_text() == MOD_AFTER_METHOD_EDIT.replace(
        "        return 2\n", "        return 2\n\n    def added(self):\n        return 3\n")


def test_edit_apply_writes_the_files(env, repo, tmp_path, capsys):
    before = snapshot(repo)
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, [METHOD_EDIT]), "--apply")
    assert code == 0, err
    assert out.startswith("diff --git a/pkg/mod.py b/pkg/mod.py\n")
    assert err.strip() == "applied: 1 file(s) written"
    assert (repo / "pkg/mod.py").read_text(encoding="utf-8") == MOD_AFTER_METHOD_EDIT
    after = snapshot(repo)
    assert {k: v for k, v in after.items() if k != "pkg/mod.py"} == {k: v for k, v in before.items() if k != "pkg/mod.py"}
    assert not list(repo.rglob("*supercoder-tmp*"))


def test_edit_apply_keeps_the_file_mode(env, repo, tmp_path, capsys):
    target = repo / "pkg/mod.py"
    target.chmod(0o755)
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, [METHOD_EDIT]), "--apply")
    assert code == 0, err
    assert target.stat().st_mode & 0o777 == 0o755


def test_edit_json(env, repo, tmp_path, capsys):
    before = snapshot(repo)
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, [METHOD_EDIT]), "--json")
    assert code == 0, err
    assert out.count("\n") == 1
    data = json.loads(out)
    assert set(data) == {"diff", "files", "created", "deleted", "lint"}
    assert data["files"] == {"pkg/mod.py": MOD_AFTER_METHOD_EDIT}
    assert data["created"] == data["deleted"] == []
    assert data["diff"].startswith("diff --git a/pkg/mod.py b/pkg/mod.py\n")
    assert data["lint"] == []
    assert snapshot(repo) == before


def test_edit_lint_goes_to_stderr(env, repo, tmp_path, capsys):
    edits = [
        {"path": "pkg/util.py", "unit": "helper", "code": "def helper():\n    return 1\n"},  # unchanged
        {"path": "pkg/mod.py", "unit": "func", "code": "def func(a, b):\n    return join(a, b)\n"},
    ]
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, edits))
    assert code == 0, err
    assert out.startswith("diff --git a/pkg/mod.py b/pkg/mod.py\n")
    assert "lint" not in out
    lines = err.strip().splitlines()
    assert len(lines) == 2
    assert set(lines) == {
        "lint: pkg/mod.py:1: 'os' imported but unused",  # a line no edit wrote: no owner
        "lint: pkg/mod.py:15: undefined name 'join' (edit 2)",
    }


def test_edit_lint_in_json(env, repo, tmp_path, capsys):
    edit = {"path": "pkg/mod.py", "unit": "func", "code": "def func(a, b):\n    return os.path.join(a, c)\n"}
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, [edit]), "--json")
    assert code == 0, err
    lint = json.loads(out)["lint"]
    assert lint == [{"path": "pkg/mod.py", "line": 15, "message": "undefined name 'c'", "kind": "UndefinedName",
                     "edit": 0, "blocking": True}]
    assert err.strip() == "lint: pkg/mod.py:15: undefined name 'c' (edit 1)"


def test_edit_no_change_prints_nothing(env, repo, tmp_path, capsys):
    edit = {"path": "pkg/util.py", "unit": "helper", "code": "def helper():\n    return 1\n"}
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, [edit]))
    assert (code, out, err) == (0, "", "")


def test_edits_from_stdin(env, repo, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(json.dumps([METHOD_EDIT]).encode())))
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", "-", "--json")
    assert code == 0, err
    assert json.loads(out)["files"] == {"pkg/mod.py": MOD_AFTER_METHOD_EDIT}


def test_edits_object_with_an_edits_list(env, repo, tmp_path, capsys):
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, {"edits": [METHOD_EDIT]}), "--json")
    assert code == 0, err
    assert json.loads(out)["files"] == {"pkg/mod.py": MOD_AFTER_METHOD_EDIT}


def test_script_edit_from_stdin_with_apply(env, repo):
    assert SCRIPT.exists()
    proc = subprocess.run([str(SCRIPT), "edit", "--repo", str(repo), "--edits", "-", "--apply"],
                          input=json.dumps([METHOD_EDIT]), capture_output=True, text=True, env=dict(os.environ), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("diff --git a/pkg/mod.py b/pkg/mod.py\n")
    assert proc.stderr.strip() == "applied: 1 file(s) written"
    assert (repo / "pkg/mod.py").read_text() == MOD_AFTER_METHOD_EDIT


# --- bad edits: exit 2, one line naming the edit, no file changed ---------------------------------


@pytest.mark.parametrize(
    "bad, fragments",
    [
        ({"path": "pkg/missing.py", "unit": "f", "code": "def f():\n    pass\n"},
         ["edit 2 (pkg/missing.py f)", "no such file"]),
        ({"path": "../outside.py", "unit": "f", "code": "def f():\n    pass\n"},
         ["edit 2 (../outside.py f)", "relative to the repository"]),
        ({"path": "{abs}", "unit": "f", "code": "def f():\n    pass\n"},
         ["edit 2 (", "relative to the repository"]),
        ({"path": "README.md", "unit": "f", "code": "def f():\n    pass\n"},
         ["edit 2 (README.md f)", "neither Python nor JavaScript", "search/replace"]),
        ({"path": "pkg/mod.py", "unit": "Foo.bar", "code": "def bar(self):\n    pass\n"},
         ["edit 2 (pkg/mod.py Foo.bar)", "Foo does not exist"]),
        ({"path": "pkg/mod.py", "unit": "func", "code": "def func(a, b:\n    pass\n"},
         ["edit 2 (pkg/mod.py func)", "does not parse"]),
        ({"path": "pkg/mod.py", "unit": "<imports>", "code": "import os\nos.environ.clear()\n"},
         ["edit 2 (pkg/mod.py <imports>)", "not an import"]),
        ({"path": "pkg/mod.py", "unit": "func", "code": "def fun(a, b):\n    pass\n"},
         ["edit 2 (pkg/mod.py func)", "does not define 'func'"]),
        ({"path": "pkg/util.py", "unit": "helper", "code": ""},
         ["edit 2 (pkg/util.py helper)", "empty"]),
        ({"path": "pkg/mod.py", "unit": "Klass", "code": "class Klass:\n    pass\n"},
         ["edit 2 (pkg/mod.py Klass)", "overlaps", "edit 1 (pkg/mod.py Klass.method)"]),
        ({"path": "pkg/evil\nline2\u0000.py", "unit": "f\rx", "code": "def f():\n    pass\n"},
         ["edit 2 (pkg/evil\\nline2\\x00.py f\\rx)"]),  # one line, whatever the names hold
        ({"path": "notes.txt", "search": "x = 1\n", "replace": "x = 3\n"},
         ["edit 2 (notes.txt search/replace)", "the search text occurs 2 times (lines 1, 3)"]),
        ({"path": "README.md", "search": "# read me", "replace": "# Read me"},
         ["edit 2 (README.md search/replace)", "the search text is not in the file", "closest line is 1"]),
        ({"path": "README.md", "search": "", "replace": "x"},
         ["edits file", "edit 2", "`search` is empty"]),
        ({"path": "pkg/new.txt", "search": "a", "replace": "b"},
         ["edit 2 (pkg/new.txt search/replace)", "no such file"]),
        ({"path": ".git/config", "unit": "<file>", "code": "x"},
         ["edit 2 (.git/config <file>)", "under .git"]),
    ],
    ids=["missing-file", "dotdot", "absolute", "not-python", "unplaceable", "syntax", "imports-non-import",
         "wrong-name", "empty-code", "overlap", "control-characters", "ambiguous-search", "missing-search",
         "empty-search", "search-in-missing-file", "git-dir"],
)
def test_bad_edit_exits_2_and_changes_nothing(env, repo, tmp_path, capsys, bad, fragments):
    bad = {k: v.replace("{abs}", str(repo / "pkg/util.py")) for k, v in bad.items()}
    edits = write_edits(tmp_path, [METHOD_EDIT, bad])
    before = snapshot(repo)
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", edits, "--apply")
    assert_error(code, out, err, *fragments)
    assert snapshot(repo) == before


def test_apply_creates_deletes_and_edits_through_a_symlink(env, repo, tmp_path, capsys):
    (repo / "pkg/alias.py").symlink_to("mod.py")
    edits = [
        {"path": "pkg/alias.py", "unit": "func", "code": "def func(a, b):\n    return os.path.join(b, a)\n"},
        {"path": "README.md", "search": "# readme", "replace": "# Read me"},
        {"path": "docs/changes/1.rst", "unit": "<file>", "code": "Fixed.\n"},
        {"path": "pkg/util.py", "unit": "<delete>"},
    ]
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, edits), "--apply")
    assert code == 0, err
    assert err.strip() == "applied: 3 file(s) written, 1 removed"
    assert (repo / "pkg/alias.py").is_symlink()  # the link stays a link; the file it points to changed
    assert (repo / "pkg/mod.py").read_text() == MOD.replace("join(a, b)", "join(b, a)")
    assert (repo / "README.md").read_text() == "# Read me\n"
    assert (repo / "docs/changes/1.rst").read_text() == "Fixed.\n"
    assert not (repo / "pkg/util.py").exists()
    assert "diff --git a/pkg/mod.py b/pkg/mod.py" in out and "alias" not in out
    assert "new file mode 100644\n--- /dev/null\n+++ b/docs/changes/1.rst" in out


def test_symlink_leaving_the_repo_is_refused(env, repo, tmp_path, capsys):
    outside = tmp_path / "outside.py"
    outside.write_text("def f():\n    return 1\n")
    (repo / "pkg/link.py").symlink_to(outside)
    edits = write_edits(tmp_path, [{"path": "pkg/link.py", "unit": "f", "code": "def f():\n    return 2\n"}])
    before = snapshot(repo)
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", edits, "--apply")
    assert_error(code, out, err, "edit 1 (pkg/link.py f)", "leaves the repository")
    assert outside.read_text() == "def f():\n    return 1\n"
    assert snapshot(repo) == before


def test_error_in_a_later_file_writes_no_earlier_file(env, repo, tmp_path, capsys):
    edits = [
        {"path": "pkg/util.py", "unit": "helper", "code": "def helper():\n    return 10\n"},
        {"path": "pkg/mod.py", "unit": "Nope.f", "code": "def f(self):\n    pass\n"},
    ]
    before = snapshot(repo)
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", write_edits(tmp_path, edits), "--apply", "--json")
    assert_error(code, out, err, "edit 2 (pkg/mod.py Nope.f)")
    assert snapshot(repo) == before


# --- bad edits file: exit 2, one line ---------------------------------------------------------


@pytest.mark.parametrize(
    "content, fragments",
    [
        (None, ["edits file not found"]),
        ("{not json", ["not valid JSON"]),
        ('{"path": "pkg/mod.py"}', ["expected a JSON list"]),
        ('"a string"', ["expected a JSON list"]),
        ("[]", ["no edits"]),
        ('[{"path": "pkg/mod.py", "unit": "func"}]', ["edit 1", "code"]),
        ('[{"path": "pkg/mod.py", "unit": "func", "code": "x", "extra": 1}]', ["edit 1", "extra", "unknown field"]),
        ('[{"path": "pkg/mod.py", "unit": "func", "code": 5}]', ["edit 1", "code"]),
        ('["not an object"]', ["edit 1"]),
    ],
    ids=["missing", "not-json", "object", "string", "empty-list", "missing-field", "unknown-field", "wrong-type",
         "not-an-object"],
)
def test_bad_edits_file_exits_2_with_one_line(env, repo, tmp_path, capsys, content, fragments):
    path = tmp_path / "edits.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    before = snapshot(repo)
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", path, "--apply")
    assert_error(code, out, err, *fragments)
    assert snapshot(repo) == before


def test_edits_file_not_utf8(env, repo, tmp_path, capsys):
    path = tmp_path / "edits.json"
    path.write_bytes(b"[\xff]")
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", path)
    assert_error(code, out, err, "not valid JSON")


def test_bad_stdin_exits_2(env, repo, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"not json")))
    code, out, err = run(capsys, "edit", "--repo", repo, "--edits", "-")
    assert_error(code, out, err, "not valid JSON")


def test_missing_repo(env, tmp_path, capsys):
    code, out, err = run(capsys, "edit", "--repo", tmp_path / "nope", "--edits", write_edits(tmp_path, [METHOD_EDIT]))
    assert_error(code, out, err, "repository not found")


def test_missing_edits_option(env, repo, capsys):
    code, out, err = run(capsys, "edit", "--repo", repo)
    assert_error(code, out, err, "--edits")

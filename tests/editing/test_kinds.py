"""Edits beyond units: named module-level statements, search/replace in any text file, whole
files (new, rewritten, deleted), and paths through symlinks. Exact texts, in memory."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from editing.config import EditingConfig
from editing.engine import AstEditor, apply_edits
from editing.models import Edit, EditError

PATH = "pkg/mod.py"


def D(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


MOD = D('''
    """A module."""
    import re

    # The default format.
    DEFAULT = "%(message)s"
    __all__ = ["f"]
    __all__ += ["g"]

    HANDLERS = {
        "x": re.compile,
    }

    if TYPE_CHECKING:
        from pkg import other


    def f():
        return 1
    ''')


def run(files: dict[str, str], *edits: Edit, **kw):
    return apply_edits(files.__getitem__, list(edits), **kw)


def new_text(files, *edits, path=PATH, **kw) -> str:
    return run(files, *edits, **kw).files[path]


# --- named statements -------------------------------------------------------------------------


def test_a_statement_by_the_name_it_assigns_keeps_its_comment():
    out = new_text({PATH: MOD}, Edit(path=PATH, unit="DEFAULT", code='DEFAULT = "%(levelname)s %(message)s"'))
    assert out == MOD.replace('DEFAULT = "%(message)s"', 'DEFAULT = "%(levelname)s %(message)s"')


def test_a_statement_with_comments_replaces_its_comments_and_may_come_indented():
    code = '    # New default.\n    DEFAULT = "%(name)s"\n'
    out = new_text({PATH: MOD}, Edit(path=PATH, unit="DEFAULT", code=code))
    assert out == MOD.replace('# The default format.\nDEFAULT = "%(message)s"', '# New default.\nDEFAULT = "%(name)s"')


def test_a_multi_line_statement_and_an_if_head():
    out = new_text({PATH: MOD}, Edit(path=PATH, unit="HANDLERS", code='HANDLERS = {\n    "x": re.compile,\n    "y": str,\n}'))
    assert '    "y": str,\n}\n\nif TYPE_CHECKING:' in out
    out = new_text({PATH: MOD}, Edit(path=PATH, unit="if TYPE_CHECKING:", code="if TYPE_CHECKING:\n    from pkg import other, third\n"))
    assert "    from pkg import other, third\n\n\ndef f" in out


def test_a_binding_wins_over_its_updates_and_two_bindings_are_ambiguous():
    out = new_text({PATH: MOD}, Edit(path=PATH, unit="__all__", code='__all__ = ["f", "h"]'))
    assert '__all__ = ["f", "h"]\n__all__ += ["g"]\n' in out
    twice = MOD + "\nDEFAULT = 2\n"
    with pytest.raises(EditError, match=r"DEFAULT is assigned 2 times at module level \(lines 5, 20\); use a search/replace edit"):
        run({PATH: twice}, Edit(path=PATH, unit="DEFAULT", code="DEFAULT = 3"))


def test_a_new_statement_goes_after_the_module_head():
    out = new_text({PATH: MOD}, Edit(path=PATH, unit="LIMIT", code="LIMIT = 10"))
    assert out == MOD.replace("    from pkg import other\n", "    from pkg import other\n\nLIMIT = 10\n")


def test_code_that_does_not_assign_the_name_and_class_attributes_are_refused():
    with pytest.raises(EditError, match="code for DEFAULT neither defines nor assigns DEFAULT at its top level"):
        run({PATH: MOD}, Edit(path=PATH, unit="DEFAULT", code="OTHER = 1"))
    with pytest.raises(EditError, match="class attributes are edited with their class: edit A as a whole"):
        run({PATH: "class A:\n    x = 1\n"}, Edit(path=PATH, unit="A.x", code="x = 2"))


def test_an_added_helper_moves_above_the_table_that_uses_it():
    edits = [Edit(path=PATH, unit="_compile", code="def _compile(v):\n    return re.compile(v)\n"),
             Edit(path=PATH, unit="HANDLERS", code='HANDLERS = {\n    "x": _compile,\n}')]
    out = new_text({PATH: MOD}, *edits)
    assert out.index("def _compile") < out.index("HANDLERS = {")
    assert '__all__ += ["g"]\n\n\ndef _compile(v):\n    return re.compile(v)\n\n\nHANDLERS = {' in out
    namespace = {"TYPE_CHECKING": False}
    exec(compile(out, PATH, "exec"), namespace)  # the module runs: the helper exists when the table is built
    assert namespace["HANDLERS"]["x"]("a+").pattern == "a+"


# --- search/replace ---------------------------------------------------------------------------


CFG = "[metadata]\nname = x\nversion = 1\n\n[options]\nzip_safe = False\n"


def test_search_replace_in_a_text_file_and_next_to_a_unit_edit():
    out = run({"setup.cfg": CFG}, Edit(path="setup.cfg", search="version = 1\n", replace="version = 2\nlicense = MIT\n"))
    assert out.files == {"setup.cfg": CFG.replace("version = 1\n", "version = 2\nlicense = MIT\n")}
    edits = [Edit(path=PATH, unit="f", code="def f():\n    return 2\n"), Edit(path=PATH, search="import re\n", replace="import re\nimport os\n")]
    out = new_text({PATH: MOD}, *edits, lint=False)
    assert out == MOD.replace("import re\n", "import re\nimport os\n").replace("return 1", "return 2")


def test_ambiguous_and_missing_search_text():
    text = "a = 1\nb = 1\na = 1\n"
    with pytest.raises(EditError, match=r"edit 1 \(m.txt search/replace\): the search text occurs 2 times \(lines 1, 3\)"):
        run({"m.txt": text}, Edit(path="m.txt", search="a = 1", replace="a = 2"))
    with pytest.raises(EditError, match=r"the search text is not in the file; the closest line is 2: 'b = 1'"):
        run({"m.txt": text}, Edit(path="m.txt", search="b = 3", replace="b = 2"))
    assert new_text({"m.txt": text}, Edit(path="m.txt", search="b = 1\na = 1", replace="b = 2\na = 1"), path="m.txt") == "a = 1\nb = 2\na = 1\n"


def test_whitespace_is_forgiven_only_when_one_place_matches():
    text = "def f():\n    if x:\n        return 1   \n"
    # Trailing spaces in the file, and the search written at column 0: both forgiven, the new lines move in.
    out = new_text({"m.py": text}, Edit(path="m.py", search="if x:\n    return 1", replace="if x:\n    return 2"), path="m.py")
    assert out == "def f():\n    if x:\n        return 2\n"
    twice = "def f():\n    return 1\n\n\ndef g():\n        return 1\n"
    with pytest.raises(EditError, match="occurs 2 times"):
        run({"m.py": twice}, Edit(path="m.py", search="return 1", replace="return 2"))


def test_crlf_and_tab_files_keep_their_style():
    crlf = "a\r\nb\r\nc\r\n"
    assert new_text({"w.txt": crlf}, Edit(path="w.txt", search="b\n", replace="B\nB2\n"), path="w.txt") == "a\r\nB\r\nB2\r\nc\r\n"
    tabs = "def f():\n\tif x:\n\t\treturn 1\n"
    out = new_text({"t.py": tabs}, Edit(path="t.py", search="\t\treturn 1", replace="\t\treturn 2"), path="t.py")
    assert out == "def f():\n\tif x:\n\t\treturn 2\n"
    no_final_newline = "x = 1\ny = 2"
    assert new_text({"n.py": no_final_newline}, Edit(path="n.py", search="y = 2", replace="y = 3"), path="n.py") == "x = 1\ny = 3"


def test_a_search_replace_that_breaks_python_is_refused():
    with pytest.raises(EditError, match="the edited file does not parse"):
        run({PATH: MOD}, Edit(path=PATH, search="def f():", replace="def f(:"))


def test_units_in_a_file_that_is_not_python_are_refused_with_the_way_out():
    with pytest.raises(EditError, match=r'setup.cfg is neither Python nor JavaScript: change it with search/replace or a whole-file edit \(unit "<file>"\)'):
        run({"setup.cfg": CFG}, Edit(path="setup.cfg", unit="metadata", code="[metadata]\n"))


def test_the_edit_model_takes_one_form():
    for bad in ({"path": "a", "search": "x"}, {"path": "a", "search": "x", "replace": "y", "unit": "f"},
                {"path": "a", "search": "  ", "replace": "y"}, {"path": "a", "code": "x"}):
        with pytest.raises(ValueError):
            Edit(**bad)


# --- whole files ------------------------------------------------------------------------------


def test_a_new_file_its_diff_applies_and_a_deleted_file(tmp_path):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / PATH).write_text(MOD)
    (repo / "old.txt").write_text("gone\n")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    editor = AstEditor(EditingConfig())
    result = editor.apply(repo, [Edit(path="docs/new.rst", unit="<file>", code="Title\n=====\n"),
                                 Edit(path="pkg/empty.py", unit="<file>", code=""),
                                 Edit(path="old.txt", unit="<delete>")])
    assert result.files == {"docs/new.rst": "Title\n=====\n", "pkg/empty.py": ""}
    assert result.created == ["docs/new.rst", "pkg/empty.py"] and result.deleted == ["old.txt"]
    check = subprocess.run(["git", "apply", "--check", "-"], cwd=repo, input=result.diff.encode(), capture_output=True)
    assert check.returncode == 0, check.stderr
    subprocess.run(["git", "apply", "-"], cwd=repo, input=result.diff.encode(), check=True)
    assert (repo / "docs/new.rst").read_text() == "Title\n=====\n" and (repo / "pkg/empty.py").read_text() == ""
    assert not (repo / "old.txt").exists()


def test_whole_file_rewrites_are_for_small_files_and_new_python_must_parse():
    big = "".join(f"line {i}\n" for i in range(30))
    with pytest.raises(EditError, match=r"big.txt has 30 lines, more than editing.whole_file_max_lines \(20\)"):
        run({"big.txt": big}, Edit(path="big.txt", unit="<file>", code="x\n"), whole_file_max_lines=20)
    assert new_text({"small.txt": "a\r\nb\r\n"}, Edit(path="small.txt", unit="<file>", code="c\nd\n"), path="small.txt") == "c\r\nd\r\n"
    # A new file is written exactly as given: its own newlines, a final newline or none.
    def missing(path):
        from editing.paths import MissingFile

        raise MissingFile(path)

    made = apply_edits(missing, [Edit(path="a.csv", unit="<file>", code="x,y\r\n1,2\r\n"), Edit(path="b.json", unit="<file>", code="{}")])
    assert made.files == {"a.csv": "x,y\r\n1,2\r\n", "b.json": "{}"}

    with pytest.raises(EditError, match="the new file does not parse"):
        apply_edits(missing, [Edit(path="n.py", unit="<file>", code="def f(:\n")])
    with pytest.raises(EditError, match="no such file in the repository: n.txt"):
        apply_edits(missing, [Edit(path="n.txt", search="a", replace="b")])


# --- symlinks ---------------------------------------------------------------------------------


def test_an_edit_through_a_symlink_edits_the_file_it_points_to(tmp_path):
    repo = tmp_path / "repo"
    (repo / "pkg").mkdir(parents=True)
    (repo / PATH).write_text(MOD)
    (repo / "alias.py").symlink_to("pkg/mod.py")
    (tmp_path / "outside.py").write_text("x = 1\n")
    (repo / "out.py").symlink_to(tmp_path / "outside.py")
    editor = AstEditor(EditingConfig())
    result = editor.apply(repo, [Edit(path="alias.py", unit="f", code="def f():\n    return 2\n")])
    assert list(result.files) == [PATH]
    assert result.diff.startswith(f"diff --git a/{PATH} b/{PATH}\n")
    with pytest.raises(EditError, match="leaves the repository: out.py"):
        editor.apply(repo, [Edit(path="out.py", unit="<file>", code="x = 2\n")])


def test_a_final_newline_follows_the_file_unless_search_and_replace_say_otherwise():
    def out(text, search, replace):
        return new_text({"f.txt": text}, Edit(path="f.txt", search=search, replace=replace), path="f.txt")

    assert out("a\nb", "b\n", "c\n") == "a\nc"  # both end alike: the file keeps its missing newline
    assert out("a\nb\n", "b", "c") == "a\nc\n"
    assert out("a\nb", "b", "c\n") == "a\nc\n"  # the replacement adds the final newline the search lacked
    assert out("a\nb\n", "b\n", "c") == "a\nc"  # ... or drops it
    assert out("a\nb\nz\n", "b", "c\n") == "a\nc\nz\n"  # away from the end, nothing to decide


def test_a_statement_cannot_stand_in_for_a_definition_of_the_same_name():
    with pytest.raises(EditError, match="f is a function or class here, and the code only assigns it"):
        run({PATH: MOD}, Edit(path=PATH, unit="f", code="f = print"))

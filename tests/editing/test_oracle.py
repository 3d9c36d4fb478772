"""Gold edits derived from a change, and the syntax-tree comparison the replay benchmark uses."""

from __future__ import annotations

from editing.engine import apply_edits
from editing.models import IMPORTS_UNIT
from editing.oracle import derive, same_tree

PRE = '''"""Module."""
import os


class A:
    x = 1

    @property
    def p(self):
        return 1

    def f(self):
        return 1


def g():
    return 2
'''


def _replay(pre: str, post: str) -> tuple[list, str]:
    derived = derive("m.py", pre, post)
    assert derived.problem is None
    result = apply_edits({"m.py": pre}.__getitem__, derived.edits, lint=False)
    return derived, result.files.get("m.py", pre)


def test_a_changed_method_is_one_edit_and_replays_exactly():
    post = PRE.replace("        return 1\n\n\ndef g", "        return 10\n\n\ndef g")
    derived, replayed = _replay(PRE, post)
    assert [(e.unit, e.code) for e in derived.edits] == [("A.f", "    def f(self):\n        return 10\n")]
    assert replayed == post


def test_class_attribute_change_edits_the_class_and_import_change_edits_imports():
    post = PRE.replace("    x = 1", "    x = 2").replace("import os\n", "import os\nimport sys\n")
    derived, replayed = _replay(PRE, post)
    assert sorted(e.unit for e in derived.edits) == [IMPORTS_UNIT, "A"]
    assert replayed == post


def test_added_method_replays_to_the_same_tree_wherever_it_lands():
    post = PRE.replace("    def f(self):", "    def new(self):\n        return 0\n\n    def f(self):")
    derived, replayed = _replay(PRE, post)
    assert derived.added == {"A.new"}
    assert replayed != post  # added at the end of the class, not where the gold put it
    assert same_tree(replayed, post, derived.added)
    assert not same_tree(replayed, post)  # without the allowance, the order counts


def test_removed_decorator_is_expressed_through_the_class():
    post = PRE.replace("    @property\n", "")
    derived, replayed = _replay(PRE, post)
    assert [e.unit for e in derived.edits] == ["A"]
    assert replayed == post


def test_a_named_statement_change_is_a_statement_edit():
    derived, replayed = _replay(PRE + "\nX = 1\n", PRE + "\nX = 2\n")
    assert [(e.unit, e.code) for e in derived.edits] == [("X", "X = 2\n")]
    assert derived.fallback is None
    assert replayed == PRE + "\nX = 2\n"


def test_a_removed_top_level_function_goes_by_search_replace():
    post = PRE.replace("\n\ndef g():\n    return 2\n", "")
    derived, replayed = _replay(PRE, post)
    assert [e.kind for e in derived.edits] == ["replace"]
    assert derived.edits[0].replace.strip() == "" or "def g" not in derived.edits[0].replace
    assert same_tree(replayed, post)


def test_an_unnamed_module_level_call_and_a_unit_in_one_file():
    pre = PRE + "\nregister(A)\n"
    post = pre.replace("register(A)", "register(A, name='a')").replace("return 2", "return 3")
    derived, replayed = _replay(pre, post)
    assert sorted(e.kind for e in derived.edits) == ["replace", "unit"]
    assert derived.edits[0].kind == "replace"  # search/replace goes first, on the text as it was
    assert replayed == post


def test_a_new_statement_keeps_its_place_through_search_replace():
    post = PRE.replace("import os\n", "import os\n\nLIMIT = 3\n")
    derived, replayed = _replay(PRE, post)
    assert [e.kind for e in derived.edits] == ["replace"]
    assert replayed == post


def test_text_files_new_files_and_removed_files():
    cfg = "[metadata]\nname = x\nversion = 1\n\n[options]\nzip_safe = False\n"
    derived = derive("setup.cfg", cfg, cfg.replace("version = 1", "version = 2"))
    assert [e.kind for e in derived.edits] == ["replace"] and derived.problem is None
    result = apply_edits({"setup.cfg": cfg}.__getitem__, derived.edits, lint=False)
    assert result.files["setup.cfg"] == cfg.replace("version = 1", "version = 2")
    assert [(e.unit, e.code) for e in derive("docs/new.rst", None, "Title\n").edits] == [("<file>", "Title\n")]
    assert [e.unit for e in derive("old.py", "x = 1\n", None).edits] == ["<delete>"]


def test_a_repeated_line_gets_context_until_it_occurs_once():
    text = "a\nx\nb\nx\nc\n"
    derived = derive("f.txt", text, "a\nx\nb\ny\nc\n")
    (edit,) = derived.edits
    assert edit.search.count("\n") >= 2 and "b\n" in edit.search  # "x" alone occurs twice
    assert apply_edits({"f.txt": text}.__getitem__, derived.edits, lint=False).files["f.txt"] == "a\nx\nb\ny\nc\n"


def test_same_tree_ignores_comments_and_layout_but_not_code():
    assert same_tree("x = 1  # one\n", "x = (1)\n")
    assert not same_tree("x = 1\n", "x = 2\n")
    assert not same_tree("x = (\n", "x = 1\n")  # what does not parse is never equal


def test_lines_inserted_at_the_top_of_a_file_land_before_the_anchor():
    pre = "Release 1.0\n-----------\n\n- fixed\n"
    post = "Development\n-----------\n\nNothing yet.\n\n" + pre
    derived = derive("CHANGES", pre, post)
    assert derived.problem is None and [e.kind for e in derived.edits] == ["replace"]
    assert apply_edits({"CHANGES": pre}.__getitem__, derived.edits, lint=False).files["CHANGES"] == post


def test_comments_between_units_and_blank_lines_are_replayed_to_the_letter():
    pre = PRE.replace("\n\ndef g", "\n\n# helpers\n\n\ndef g")  # a comment of its own, not attached to g
    post = pre.replace("# helpers", "# small helpers")
    derived, replayed = _replay(pre, post)
    assert [e.kind for e in derived.edits] == ["replace"] and replayed == post
    post = PRE.replace("def g():\n    return 2\n", "def g():\n\n    return 2\n")
    derived, replayed = _replay(PRE, post)
    assert derived.fallback == "only blank lines change" and replayed == post

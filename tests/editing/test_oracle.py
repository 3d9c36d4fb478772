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


def test_module_level_statement_change_is_not_expressible():
    derived = derive("m.py", PRE + "\nX = 1\n", PRE + "\nX = 2\n")
    assert derived.problem and "module-level change" in derived.problem


def test_removed_function_at_module_level_is_not_expressible():
    derived = derive("m.py", PRE, PRE.replace("\n\ndef g():\n    return 2\n", ""))
    assert derived.problem and "g" in derived.problem


def test_same_tree_ignores_comments_and_layout_but_not_code():
    assert same_tree("x = 1  # one\n", "x = (1)\n")
    assert not same_tree("x = 1\n", "x = 2\n")
    assert not same_tree("x = (\n", "x = 1\n")  # what does not parse is never equal

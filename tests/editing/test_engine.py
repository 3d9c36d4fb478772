"""The editing engine end to end, in memory: edits in, exact file texts, diff and lint out.

Files are small texts held in a dict; `apply_edits` reads them through `files.__getitem__`.
Expected texts are written out in full: the result must be what a careful human would write.
Tests marked `ENGINE BUG` assert the behaviour the spec asks for and fail against the engine
as it stands (see the reproduction in each test's docstring).
"""

from __future__ import annotations

import ast
import subprocess
import textwrap
from pathlib import Path

import pytest

from editing.engine import apply_edits
from editing.models import Edit, EditError, EditResult

PATH = "pkg/mod.py"


def D(text: str) -> str:
    """Dedent a triple-quoted block and drop its first newline."""
    return textwrap.dedent(text).lstrip("\n")


def apply(files: dict[str, str], *edits: tuple[str, str] | tuple[str, str, str], **kw) -> EditResult:
    """Apply edits given as (unit, code) on PATH or (path, unit, code)."""
    items = [Edit(path=PATH, unit=e[0], code=e[1]) if len(e) == 2 else Edit(path=e[0], unit=e[1], code=e[2]) for e in edits]
    return apply_edits(files.__getitem__, items, **kw)


def edit_one(text: str, unit: str, code: str, **kw) -> str:
    """The new text of PATH after one edit (asserts the result parses)."""
    result = apply({PATH: text}, (unit, code), **kw)
    new = result.files.get(PATH, text)
    ast.parse(new)
    return new


# --- methods and nested classes ---------------------------------------------------------------

CLASS_A = D('''
    class A:
        """A thing."""

        def f(self):
            return 1

        def g(self):
            return 2


    def h():
        return 3
    ''')


def test_replace_method_given_at_column_0():
    code = D('''
        def f(self):
            value = 10
            return value
        ''')
    result = apply({PATH: CLASS_A}, ("A.f", code))
    assert result.files == {PATH: D('''
        class A:
            """A thing."""

            def f(self):
                value = 10
                return value

            def g(self):
                return 2


        def h():
            return 3
        ''')}
    assert result.units == [f"{PATH}::A.f"]
    assert result.lint == []


def test_replace_method_over_indented():
    code = "            def f(self):\n                return 10\n"
    assert edit_one(CLASS_A, "A.f", code) == CLASS_A.replace("return 1\n", "return 10\n")


def test_replace_method_written_with_two_space_steps():
    code = "def f(self):\n  if self:\n    return 10\n  return 0\n"
    assert edit_one(CLASS_A, "A.f", code) == CLASS_A.replace(
        "        return 1\n", "        if self:\n            return 10\n        return 0\n")


def test_replace_method_wrapped_in_its_class():
    code = D('''
        class A:
            def f(self):
                return 10
        ''')
    assert edit_one(CLASS_A, "A.f", code) == CLASS_A.replace("return 1\n", "return 10\n")


def test_wrapped_method_with_a_sibling_replaces_and_adds():
    code = D('''
        class A:
            def f(self):
                return 10

            def g(self):
                return 20

            def k(self):
                return 30
        ''')
    result = apply({PATH: CLASS_A}, ("A.f", code))
    assert result.files[PATH] == D('''
        class A:
            """A thing."""

            def f(self):
                return 10

            def g(self):
                return 20

            def k(self):
                return 30


        def h():
            return 3
        ''')
    assert sorted(result.units) == sorted([f"{PATH}::A.f", f"{PATH}::A.g", f"{PATH}::A.k"])


def test_top_level_helper_next_to_a_class_wrapper_is_not_dropped():
    # ENGINE BUG (spec reading: "extra definitions written next to the target become sibling
    # edits"): with the method wrapped in its class, a function the model wrote after the class
    # is silently dropped. Unit "A.f" in "class A:\n    def f(self):\n        return 1\n" with code
    # "class A:\n    def f(self):\n        return helper()\n\n\ndef helper():\n    return 3\n"
    # gives "class A:\n    def f(self):\n        return helper()\n" (helper lost; undefined name).
    text = "class A:\n    def f(self):\n        return 1\n"
    code = "class A:\n    def f(self):\n        return helper()\n\n\ndef helper():\n    return 3\n"
    result = apply({PATH: text}, ("A.f", code))
    assert result.files[PATH] == "class A:\n    def f(self):\n        return helper()\n\n\ndef helper():\n    return 3\n"
    assert result.lint == []


def test_async_method():
    text = "class A:\n    async def f(self):\n        return 1\n"
    assert edit_one(text, "A.f", "async def f(self):\n    return 2\n") == text.replace("return 1", "return 2")


def test_bare_sibling_next_to_a_method_is_added_to_the_class():
    code = D('''
        def f(self):
            return self._helper()

        def _helper(self):
            return 10
        ''')
    assert edit_one(CLASS_A, "A.f", code) == D('''
        class A:
            """A thing."""

            def f(self):
                return self._helper()

            def g(self):
                return 2

            def _helper(self):
                return 10


        def h():
            return 3
        ''')


def test_replace_function():
    assert edit_one(CLASS_A, "h", "def h():\n    return 30\n") == CLASS_A.replace("return 3\n", "return 30\n")


def test_replace_whole_class():
    code = D('''
        class A:
            def f(self):
                return 1
        ''')
    assert edit_one(CLASS_A, "A", code) == D('''
        class A:
            def f(self):
                return 1


        def h():
            return 3
        ''')


NESTED = D('''
    class Outer:
        class Inner:
            def f(self):
                return 1

            def g(self):
                return 2

        def m(self):
            return 3
    ''')


@pytest.mark.parametrize(
    "code",
    [
        "def f(self):\n    return 10\n",
        "class Inner:\n    def f(self):\n        return 10\n",
        "class Outer:\n    class Inner:\n        def f(self):\n            return 10\n",
    ],
    ids=["bare", "in-inner", "in-outer-and-inner"],
)
def test_nested_class_method(code):
    assert edit_one(NESTED, "Outer.Inner.f", code) == NESTED.replace("return 1\n", "return 10\n")


def test_add_method_to_nested_class():
    assert edit_one(NESTED, "Outer.Inner.k", "def k(self):\n    return 9\n") == D('''
        class Outer:
            class Inner:
                def f(self):
                    return 1

                def g(self):
                    return 2

                def k(self):
                    return 9

            def m(self):
                return 3
        ''')


# --- decorators -------------------------------------------------------------------------------

DECORATED = D('''
    import functools


    class A:
        @staticmethod
        @functools.cache
        def f():
            return 1
    ''')


def test_decorators_in_new_code_replace_the_old_ones():
    code = "@classmethod\ndef f(cls):\n    return 2\n"
    assert edit_one(DECORATED, "A.f", code) == D('''
        import functools


        class A:
            @classmethod
            def f(cls):
                return 2
        ''')


def test_decorators_kept_when_new_code_has_none():
    assert edit_one(DECORATED, "A.f", "def f():\n    return 2\n") == DECORATED.replace("return 1", "return 2")


# --- comments ---------------------------------------------------------------------------------

COMMENTED = D('''
    import os

    # Section: helpers


    # Join with the OS separator.
    # (attached to f)
    def f(a, b):
        return a + os.sep + b
        # note: trailing, deeper than the def


    def g():
        return 1
    ''')


def test_leading_comment_kept_when_new_code_has_none():
    code = "def f(a, b):\n    return os.path.join(a, b)\n"
    assert edit_one(COMMENTED, "f", code) == D('''
        import os

        # Section: helpers


        # Join with the OS separator.
        # (attached to f)
        def f(a, b):
            return os.path.join(a, b)


        def g():
            return 1
        ''')


def test_leading_comment_replaced_when_new_code_has_some():
    code = "# Join paths.\ndef f(a, b):\n    return os.path.join(a, b)\n    # still trailing\n"
    assert edit_one(COMMENTED, "f", code) == D('''
        import os

        # Section: helpers


        # Join paths.
        def f(a, b):
            return os.path.join(a, b)
            # still trailing


        def g():
            return 1
        ''')


def test_comment_between_units_untouched_by_the_next_unit():
    assert edit_one(COMMENTED, "g", "def g():\n    return 2\n") == COMMENTED.replace("return 1", "return 2")


def test_leading_comment_of_a_method_and_decorator_together():
    text = D('''
        class A:
            # cached: expensive
            @property
            def x(self):
                return 1
        ''')
    assert edit_one(text, "A.x", "@cached_property\ndef x(self):\n    return 2\n") == D('''
        class A:
            # cached: expensive
            @cached_property
            def x(self):
                return 2
        ''')


def test_comments_inside_new_code_follow_its_indentation():
    code = D('''
            def f(self):
                # first
                if self:
                    # nested
                    return 10
                return 0
        ''')
    assert edit_one(CLASS_A, "A.f", code) == CLASS_A.replace("        return 1\n", textwrap.indent(D('''
        # first
        if self:
            # nested
            return 10
        return 0
        '''), " " * 8))


# --- tabs and spaces --------------------------------------------------------------------------

TABS = "class A:\n\tdef f(self):\n\t\treturn 1\n\n\tdef g(self):\n\t\treturn 2\n"


def test_tab_indented_file_gets_tabs_from_a_four_space_answer():
    code = "def f(self):\n    if self:\n        return 10\n    return 0\n"
    new = edit_one(TABS, "A.f", code)
    assert new == "class A:\n\tdef f(self):\n\t\tif self:\n\t\t\treturn 10\n\t\treturn 0\n\n\tdef g(self):\n\t\treturn 2\n"


def test_tab_indented_file_gets_tabs_from_a_wrapped_answer():
    code = "class A:\n    def g(self):\n        return 20\n\n    def k(self):\n        return 30\n"
    new = edit_one(TABS, "A.g", code)
    assert new == "class A:\n\tdef f(self):\n\t\treturn 1\n\n\tdef g(self):\n\t\treturn 20\n\n\tdef k(self):\n\t\treturn 30\n"


def test_space_indented_file_gets_spaces_from_a_tab_answer():
    code = "\tdef f(self):\n\t\tif self:\n\t\t\treturn 10\n\t\treturn 0\n"
    assert edit_one(CLASS_A, "A.f", code) == CLASS_A.replace(
        "        return 1\n", "        if self:\n            return 10\n        return 0\n")


def test_add_method_to_tab_indented_class():
    new = edit_one(TABS, "A.k", "def k(self):\n    return 3\n")
    assert new == TABS + "\n\tdef k(self):\n\t\treturn 3\n"


# --- adding units -----------------------------------------------------------------------------


def test_add_method_at_end_of_its_class():
    new = edit_one(CLASS_A, "A.k", "def k(self):\n    return 4\n")
    assert new == D('''
        class A:
            """A thing."""

            def f(self):
                return 1

            def g(self):
                return 2

            def k(self):
                return 4


        def h():
            return 3
        ''')


def test_add_method_after_a_trailing_comment_of_the_last_method():
    text = "class A:\n    def f(self):\n        return 1\n        # todo\n"
    assert edit_one(text, "A.k", "def k(self):\n    return 4\n") == (
        "class A:\n    def f(self):\n        return 1\n        # todo\n\n    def k(self):\n        return 4\n")


def test_add_function_at_end_of_module():
    new = edit_one(CLASS_A, "k", "def k():\n    return 4\n")
    assert new == CLASS_A + "\n\ndef k():\n    return 4\n"


def test_add_class_at_end_of_module_with_trailing_blank_lines():
    text = "def f():\n    return 1\n\n\n\n"
    assert edit_one(text, "B", "class B:\n    pass\n") == "def f():\n    return 1\n\n\nclass B:\n    pass\n"


def test_add_function_before_main_guard():
    text = D('''
        def f():
            return 1


        if __name__ == "__main__":
            f()
        ''')
    assert edit_one(text, "g", "    def g():\n        return 2\n") == D('''
        def f():
            return 1


        def g():
            return 2


        if __name__ == "__main__":
            f()
        ''')


def test_add_function_before_main_guard_with_one_blank_line_before_it():
    text = 'def f():\n    return 1\n\nif __name__ == "__main__":\n    f()\n'
    assert edit_one(text, "g", "def g():\n    return 2\n") == (
        'def f():\n    return 1\n\n\ndef g():\n    return 2\n\n\nif __name__ == "__main__":\n    f()\n')


def test_add_function_before_main_guard_keeps_the_guards_comment_with_it():
    # ENGINE BUG: a comment directly above the main guard belongs to the guard, but the new
    # function is put between them. Unit "g" (code "def g():\n    return 2\n") in
    # 'def f():\n    return 1\n\n\n# run it\nif __name__ == "__main__":\n    f()\n' gives
    # '...# run it\n\n\ndef g():\n    return 2\n\n\nif __name__ ...' (comment cut from its guard).
    text = 'def f():\n    return 1\n\n\n# run it\nif __name__ == "__main__":\n    f()\n'
    assert edit_one(text, "g", "def g():\n    return 2\n") == (
        'def f():\n    return 1\n\n\ndef g():\n    return 2\n\n\n# run it\nif __name__ == "__main__":\n    f()\n')


def test_add_method_to_a_one_line_class_is_refused_not_broken():
    with pytest.raises(EditError, match=r"^edit 1 \(pkg/mod.py A.k\): "):
        apply({PATH: "class A: pass\n"}, ("A.k", "def k(self):\n    return 1\n"))


def test_add_function_to_empty_module():
    assert edit_one("", "f", "def f():\n    return 1\n") == "def f():\n    return 1\n"


# --- several edits in one file ----------------------------------------------------------------


def test_two_edits_in_either_order_give_the_same_result():
    f_code = "def f(self):\n    a = 1\n    b = 2\n    c = 3\n    return a + b + c\n"
    h_code = "def h():\n    return 30\n"
    expected = D('''
        class A:
            """A thing."""

            def f(self):
                a = 1
                b = 2
                c = 3
                return a + b + c

            def g(self):
                return 2


        def h():
            return 30
        ''')
    one = apply({PATH: CLASS_A}, ("A.f", f_code), ("h", h_code))
    two = apply({PATH: CLASS_A}, ("h", h_code), ("A.f", f_code))
    assert one.files[PATH] == two.files[PATH] == expected
    assert one.diff == two.diff


def test_two_methods_of_one_class_plus_an_addition_in_either_order():
    edits = [("A.g", "def g(self):\n    return 20\n"), ("A.f", "def f(self):\n    pass\n    return 10\n"),
             ("A.k", "def k(self):\n    return 40\n")]
    results = {apply({PATH: CLASS_A}, *order).files[PATH] for order in (edits, edits[::-1])}
    assert results == {D('''
        class A:
            """A thing."""

            def f(self):
                pass
                return 10

            def g(self):
                return 20

            def k(self):
                return 40


        def h():
            return 3
        ''')}


def test_edits_to_two_files():
    files = {"a.py": "def f():\n    return 1\n", "b.py": "def g():\n    return 2\n", "c.py": "x = 1\n"}
    result = apply(files, ("a.py", "f", "def f():\n    return 10\n"), ("b.py", "g", "def g():\n    return 20\n"))
    assert result.files == {"a.py": "def f():\n    return 10\n", "b.py": "def g():\n    return 20\n"}
    assert result.diff.startswith("diff --git a/a.py b/a.py\n")
    assert "diff --git a/b.py b/b.py\n" in result.diff
    assert "c.py" not in result.diff


def test_edit_that_changes_nothing_gives_no_diff():
    result = apply({PATH: CLASS_A}, ("h", "def h():\n    return 3\n"))
    assert result.diff == "" and result.files == {}


def test_overlapping_edits_are_an_error():
    with pytest.raises(EditError) as exc:
        apply({PATH: CLASS_A}, ("A", "class A:\n    pass\n"), ("A.f", "def f(self):\n    pass\n"))
    message = str(exc.value)
    assert message.startswith("edit 2 (pkg/mod.py A.f)"), message
    assert "edit 1 (pkg/mod.py A)" in message and "overlaps" in message
    assert exc.value.index == 1


def test_same_unit_twice_is_an_error():
    with pytest.raises(EditError, match=r"edit 2 \(pkg/mod.py h\)"):
        apply({PATH: CLASS_A}, ("h", "def h():\n    return 1\n"), ("h", "def h():\n    return 2\n"))


# --- <imports> --------------------------------------------------------------------------------


def test_imports_replaced():
    text = D('''
        """Doc."""

        import os
        import sys


        def f():
            return os.sep + sys.platform + re.escape("x")
        ''')
    new = edit_one(text, "<imports>", "import os\nimport re\nimport sys\n")
    assert new == text.replace("import os\nimport sys\n", "import os\nimport re\nimport sys\n")


def test_imports_replaced_whatever_the_indentation():
    text = "import os\n\nX = os.sep\n"
    assert edit_one(text, "<imports>", "    import os\n    import re\n") == "import os\nimport re\n\nX = os.sep\n"


def test_imports_added_after_the_docstring():
    text = '"""Doc."""\n\n\ndef f():\n    return os.sep\n'
    assert edit_one(text, "<imports>", "import os\n") == '"""Doc."""\n\nimport os\n\n\ndef f():\n    return os.sep\n'


def test_imports_added_to_a_module_without_docstring():
    """ENGINE BUG (PEP 8, E302): a top-level def after the new import block needs two blank lines.

    apply_edits(..., [Edit(path="m.py", unit="<imports>", code="import os\\n")]) on "def f():\\n    return os.sep\\n"
    gives "import os\\n\\ndef f():..." (one blank line).
    """
    text = "def f():\n    return os.sep\n"
    assert edit_one(text, "<imports>", "import os\n") == "import os\n\n\ndef f():\n    return os.sep\n"


def test_imports_added_before_a_statement():
    text = "X = os.sep\n"
    assert edit_one(text, "<imports>", "import os\n") == "import os\n\nX = os.sep\n"


def test_imports_with_try_fallback_replaced_whole():
    text = D('''
        import os

        try:
            import ujson as json
        except ImportError:
            import json

        X = json.dumps(os.sep)
        ''')
    new = edit_one(text, "<imports>", "import json\nimport os\n")
    assert new == "import json\nimport os\n\nX = json.dumps(os.sep)\n"


def test_imports_and_a_function_in_either_order():
    text = "import os\n\n\ndef f():\n    return os.sep\n"
    imports = ("<imports>", "import os\nimport sys\n")
    func = ("f", "def f():\n    return os.sep + sys.platform\n")
    expected = "import os\nimport sys\n\n\ndef f():\n    return os.sep + sys.platform\n"
    assert apply({PATH: text}, imports, func).files[PATH] == expected
    assert apply({PATH: text}, func, imports).files[PATH] == expected


def test_imports_code_holding_a_non_import_is_an_error():
    with pytest.raises(EditError) as exc:
        apply({PATH: "import os\n"}, ("<imports>", "import os\nX = 1\n"))
    assert str(exc.value).startswith("edit 1 (pkg/mod.py <imports>): ")
    assert "not an import" in str(exc.value)


# --- duplicate names: property getter/setter, overload -----------------------------------------

PROPERTY = D('''
    class A:
        @property
        def x(self):
            return self._x

        @x.setter
        def x(self, value):
            self._x = value
    ''')


def test_setter_replaced_when_new_code_is_a_setter():
    code = "@x.setter\ndef x(self, value):\n    self._x = int(value)\n"
    assert edit_one(PROPERTY, "A.x", code) == PROPERTY.replace("self._x = value", "self._x = int(value)")


def test_getter_replaced_when_new_code_is_a_property():
    code = "@property\ndef x(self):\n    return self._x or 0\n"
    assert edit_one(PROPERTY, "A.x", code) == PROPERTY.replace("return self._x\n", "return self._x or 0\n")


def test_undecorated_code_replaces_the_last_definition_and_keeps_its_decorator():
    code = "def x(self, value):\n    self._x = str(value)\n"
    assert edit_one(PROPERTY, "A.x", code) == PROPERTY.replace("self._x = value", "self._x = str(value)")


def test_getter_and_setter_replaced_pairwise():
    code = D('''
        @property
        def x(self):
            return self._x * 2

        @x.setter
        def x(self, value):
            self._x = value // 2
        ''')
    assert edit_one(PROPERTY, "A.x", code) == PROPERTY.replace("return self._x\n", "return self._x * 2\n").replace(
        "self._x = value\n", "self._x = value // 2\n")


def test_getter_and_setter_as_two_edits_in_either_order():
    getter = ("A.x", "@property\ndef x(self):\n    return self._x or 0\n")
    setter = ("A.x", "@x.setter\ndef x(self, value):\n    self._x = int(value)\n")
    expected = PROPERTY.replace("return self._x\n", "return self._x or 0\n").replace("= value\n", "= int(value)\n")
    assert apply({PATH: PROPERTY}, getter, setter).files[PATH] == expected
    assert apply({PATH: PROPERTY}, setter, getter).files[PATH] == expected


def test_overload_implementation_is_the_last_definition():
    text = D('''
        from typing import overload


        @overload
        def f(x: int) -> int: ...
        @overload
        def f(x: str) -> str: ...
        def f(x):
            return x
        ''')
    assert edit_one(text, "f", "def f(x):\n    return x * 2\n") == text.replace("return x\n", "return x * 2\n")


def test_adding_a_getter_and_a_setter_for_a_new_name():
    text = "class A:\n    pass\n"
    code = "@property\ndef y(self):\n    return 1\n\n@y.setter\ndef y(self, v):\n    pass\n"
    assert edit_one(text, "A.y", code) == (
        "class A:\n    pass\n\n    @property\n    def y(self):\n        return 1\n\n    @y.setter\n    def y(self, v):\n        pass\n")


# --- multi-line strings -----------------------------------------------------------------------


def test_column_0_string_content_kept_exactly():
    code = D('''
            def f(self):
                text = """
        column zero
          two spaces
        """
                return text
        ''')
    new = edit_one(CLASS_A, "A.f", code)
    assert new == CLASS_A.replace("        return 1\n",
                                  '        text = """\ncolumn zero\n  two spaces\n"""\n        return text\n')


def test_docstring_moves_with_the_code():
    # ENGINE BUG: an empty row inside a docstring that moves with the code gets the target
    # indentation as trailing whitespace (W293; the literal's value changes too).
    # Unit "A.f" in "class A:\n    def f(self):\n        return 1\n" with the code
    # 'def f(self):\n    """One.\n\n    Two.\n    """\n' gives '...        """One.\n    \n        Two...'
    # (the empty row becomes four spaces) instead of '...        """One.\n\n        Two...'.
    code = D('''
        def f(self):
            """Return one.

            Really.
            """
            return 1
        ''')
    new = edit_one(CLASS_A, "A.f", code)
    assert new == CLASS_A.replace("        return 1\n", '        """Return one.\n\n        Really.\n        """\n        return 1\n')
    assert ast.get_docstring(ast.parse(new).body[0].body[1]) == "Return one.\n\nReally."
    assert not [line for line in new.splitlines() if line != line.rstrip()]  # no trailing whitespace


def test_string_continuation_rows_indented_with_the_code_move_with_it():
    code = 'def h():\n    return """\n        a\n          b\n        """\n'
    assert edit_one(CLASS_A, "A.f", code.replace("def h():", "def f(self):")) == CLASS_A.replace(
        "        return 1\n", '        return """\n            a\n              b\n            """\n')


def test_existing_column_0_string_in_other_units_untouched():
    text = 'def f():\n    return 1\n\n\nSQL = """\nSELECT 1\n"""\n'
    assert edit_one(text, "f", "def f():\n    return SQL\n") == text.replace("return 1", "return SQL")


# --- newlines ---------------------------------------------------------------------------------


def test_file_without_final_newline_keeps_lacking_it_on_replace():
    text = "def f():\n    return 1\n\n\ndef g():\n    return 2"
    result = apply({PATH: text}, ("g", "def g():\n    return 20\n"))
    assert result.files[PATH] == "def f():\n    return 1\n\n\ndef g():\n    return 20"
    assert result.diff.endswith("\\ No newline at end of file\n")


def test_file_without_final_newline_keeps_lacking_it_when_a_function_is_added():
    """ENGINE BUG: adding a unit at the end of a file that lacks a final newline adds one.

    apply_edits({"m.py": "def f():\\n    return 1"}.__getitem__,
                [Edit(path="m.py", unit="g", code="def g():\\n    return 2\\n")])
    gives "def f():\\n    return 1\\n\\n\\ndef g():\\n    return 2\\n" (final newline added).
    """
    text = "def f():\n    return 1"
    assert edit_one(text, "g", "def g():\n    return 2\n") == "def f():\n    return 1\n\n\ndef g():\n    return 2"


def test_file_without_final_newline_keeps_lacking_it_when_a_method_is_added():
    """ENGINE BUG (same cause as above), for a method added at the end of the last class."""
    text = "class A:\n    def f(self):\n        return 1"
    assert edit_one(text, "A.k", "def k(self):\n    return 2\n") == (
        "class A:\n    def f(self):\n        return 1\n\n    def k(self):\n        return 2")


def test_crlf_file_keeps_crlf():
    text = CLASS_A.replace("\n", "\r\n")
    result = apply({PATH: text}, ("A.f", "def f(self):\n    return 10\n"), ("A.k", "def k(self):\r\n    return 4\r\n"))
    new = result.files[PATH]
    assert new == D('''
        class A:
            """A thing."""

            def f(self):
                return 10

            def g(self):
                return 2

            def k(self):
                return 4


        def h():
            return 3
        ''').replace("\n", "\r\n")


def test_crlf_file_with_leading_comment_and_decorator_kept():
    text = "class A:\r\n    # note\r\n    @staticmethod\r\n    def f():\r\n        return 1\r\n"
    assert edit_one(text, "A.f", "def f():\n    return 2\n") == text.replace("return 1", "return 2")


# --- lint -------------------------------------------------------------------------------------

LINTED = D('''
    import os


    def f():
        return os.sep


    def g():
        return preexisting_undefined
    ''')


def test_lint_findings_are_new_ones_attributed_per_edit():
    result = apply(
        {PATH: LINTED},
        ("f", "def f():\n    return undefined_a\n"),
        ("g", "def g():\n    x = preexisting_undefined\n    return undefined_b\n"),
        blocking=frozenset({"UndefinedName"}),
    )
    assert result.files[PATH] == D('''
        import os


        def f():
            return undefined_a


        def g():
            x = preexisting_undefined
            return undefined_b
        ''')
    found = sorted((f.line, f.kind, f.message, f.edit, f.blocking) for f in result.lint)
    assert found == [
        (1, "UnusedImport", "'os' imported but unused", None, False),
        (5, "UndefinedName", "undefined name 'undefined_a'", 0, True),
        (9, "UnusedVariable", "local variable 'x' is assigned to but never used", 1, False),
        (10, "UndefinedName", "undefined name 'undefined_b'", 1, True),
    ]  # preexisting_undefined was already in the original: not new
    assert all(f.path == PATH for f in result.lint)
    assert [f.line for f in result.blocking_lint] == [5, 10]


def test_lint_attributes_findings_in_sibling_units_to_their_edit():
    result = apply({PATH: LINTED}, ("f", "def f():\n    return os.sep\n\n\ndef extra():\n    return nope\n"))
    assert [(f.line, f.kind, f.edit) for f in result.lint] == [(13, "UndefinedName", 0)]


def test_lint_blocking_set_decides_blocking():
    result = apply({PATH: LINTED}, ("f", "def f():\n    return undefined_a\n"))
    assert {f.kind for f in result.lint} == {"UnusedImport", "UndefinedName"}
    assert not any(f.blocking for f in result.lint)
    result = apply({PATH: LINTED}, ("f", "def f():\n    return undefined_a\n"), blocking=frozenset({"UnusedImport"}))
    assert [(f.kind, f.blocking) for f in sorted(result.lint, key=lambda f: f.line)] == [
        ("UnusedImport", True), ("UndefinedName", False)]


def test_lint_off():
    assert apply({PATH: LINTED}, ("f", "def f():\n    return undefined_a\n"), lint=False).lint == []


def test_import_edit_owns_its_findings():
    result = apply({PATH: LINTED}, ("<imports>", "import os\nimport re\n"))
    assert [(f.line, f.kind, f.edit) for f in result.lint] == [(2, "UnusedImport", 0)]


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "unit, code, reason",
    [
        ("Foo.bar", "def bar(self):\n    pass\n", "Foo does not exist"),
        ("h.inner", "def inner():\n    pass\n", "not a class"),
        ("h", "def h(:\n    pass\n", "does not parse"),
        ("h", "   \n", "empty"),
        ("h", "def other():\n    pass\n", "does not define 'h'"),
        ("A.f", "class B:\n    def g(self):\n        pass\n", "does not define 'f'"),
        ("h", "x = 1\ndef h():\n    pass\n", "outside a definition"),
        ("<imports>", "def f():\n    pass\n", "not an import"),
    ],
    ids=["missing-class", "function-scope", "syntax", "empty", "wrong-name", "wrong-name-wrapped",
         "stray-statement", "imports-non-import"],
)
def test_edit_errors_name_the_edit(unit, code, reason):
    files = {PATH: CLASS_A, "other.py": "def z():\n    pass\n"}
    with pytest.raises(EditError) as exc:
        apply(files, ("other.py", "z", "def z():\n    return 1\n"), (PATH, unit, code))
    message = str(exc.value)
    assert message.startswith(f"edit 2 ({PATH} {unit}): "), message
    assert reason in message
    assert exc.value.index == 1


def test_missing_file_from_the_reader_names_the_edit():
    def read(path: str) -> str:
        raise EditError(f"no such file in the repository: {path}")

    with pytest.raises(EditError, match=r"^edit 1 \(nope.py f\): no such file in the repository: nope.py$"):
        apply_edits(read, [Edit(path="nope.py", unit="f", code="def f():\n    pass\n")])


# --- the diff applies with git ----------------------------------------------------------------


def _git(cwd: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, timeout=60)


def test_diff_applies_with_git(tmp_path):
    files = {
        PATH: CLASS_A,
        "pkg/nonl.py": "def f():\n    return 1\n\n\ndef g():\n    return 2",
        "pkg/crlf.py": "def f():\r\n    return 1\r\n\r\n\r\ndef g():\r\n    return 2\r\n",
        "pkg/tabs.py": TABS,
    }
    result = apply(
        files,
        (PATH, "A.f", "def f(self):\n    return 10\n"),
        (PATH, "k", "def k():\n    return 4\n"),
        ("pkg/nonl.py", "g", "def g():\n    return 20\n"),
        ("pkg/crlf.py", "f", "def f():\n    return 10\n"),
        ("pkg/tabs.py", "A.k", "def k(self):\n    return 3\n"),
        ("pkg/tabs.py", "<imports>", "import os\n"),
    )
    assert set(result.files) == set(files)
    repo = tmp_path / "repo"
    repo.mkdir()
    assert _git(repo, "init", "-q").returncode == 0
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_bytes(text.encode())
    (tmp_path / "change.diff").write_bytes(result.diff.encode())
    check = _git(repo, "apply", "--check", str(tmp_path / "change.diff"))
    assert check.returncode == 0, check.stderr
    done = _git(repo, "apply", str(tmp_path / "change.diff"))
    assert done.returncode == 0, done.stderr
    for rel, text in result.files.items():
        assert (repo / rel).read_bytes() == text.encode(), rel
    assert result.diff.count("diff --git a/") == 4
    assert "--- a/pkg/mod.py\n+++ b/pkg/mod.py\n" in result.diff


def test_diff_context_setting(tmp_path):
    text = "".join(f"X{i} = {i}\n" for i in range(20)) + "\n\ndef f():\n    return 1\n"
    three = apply({PATH: text}, ("f", "def f():\n    return 2\n")).diff
    one = apply({PATH: text}, ("f", "def f():\n    return 2\n"), context=1).diff
    assert three.splitlines()[3:] == ["@@ -21,4 +21,4 @@", " ", " ", " def f():", "-    return 1", "+    return 2"]
    assert one.splitlines()[3:] == ["@@ -23,2 +23,2 @@", " def f():", "-    return 1", "+    return 2"]


# --- the repository reader and the configured editor --------------------------------------------


@pytest.mark.parametrize(
    "path, reason",
    [
        ("../x.py", "relative to the repository"),
        ("/etc/x.py", "relative to the repository"),
        ("pkg\\mod.py", "relative to the repository"),
        ("", "relative to the repository"),
        (".git/config", "under .git"),
        ("logo.png", "binary file"),
        ("latin1.txt", "not UTF-8"),
        ("pkg/missing.py", "no such file"),
        ("pkg", "no such file"),
    ],
)
def test_repo_reader_refuses_bad_paths(tmp_path, path, reason):
    from editing.paths import repo_reader

    (tmp_path / "pkg").mkdir()
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git/config").write_text("[core]\n")
    (tmp_path / "pkg/mod.py").write_text(CLASS_A)
    (tmp_path / "README.md").write_text("x\n")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(EditError, match=reason):
        repo_reader(tmp_path)(path)
    assert repo_reader(tmp_path)(PATH) == CLASS_A
    assert repo_reader(tmp_path)("README.md") == "x\n"  # any text file reads


def test_configured_editor_uses_the_blocking_set_and_diff_context(tmp_path):
    from editing.config import EditingConfig
    from editing.engine import make_editor

    (tmp_path / "pkg").mkdir()
    (tmp_path / PATH).write_text(LINTED)
    editor = make_editor(EditingConfig(diff_context=1))
    result = editor.apply(tmp_path, [Edit(path=PATH, unit="f", code="def f():\n    return undefined_a\n")])
    assert {(f.kind, f.blocking) for f in result.lint} == {("UnusedImport", True), ("UndefinedName", True)}
    assert "@@ -4,3 +4,3 @@\n def f():\n" in result.diff
    assert (tmp_path / PATH).read_text() == LINTED  # nothing written

"""Where the units of a source sit: definitions (decorators, attached comments, trailing
comments), the module's leading import block, the main guard, and how a file indents."""

from __future__ import annotations

import textwrap

import pytest

from editing.source import Source, split_lines
from editing.units import definitions, docstring_end, import_block, main_guard


def src(text: str) -> Source:
    return Source(textwrap.dedent(text).lstrip("\n"))


def by_name(text: str) -> dict:
    return {d.name: d for d in definitions(src(text))}


# --- definitions ------------------------------------------------------------------------------


def test_definitions_functions_methods_and_nested_classes_in_source_order():
    defs = definitions(src('''
        def top():
            def inner():
                return 1
            return inner


        class Outer:
            x = 1

            class Inner:
                def f(self):
                    return 1

            def g(self):
                return 2
        '''))
    assert [d.name for d in defs] == ["top", "Outer", "Outer.Inner", "Outer.Inner.f", "Outer.g"]
    assert [d.kind for d in defs] == ["function", "class", "class", "function", "function"]
    assert [d.leaf for d in defs] == ["top", "Outer", "Inner", "f", "g"]
    assert defs[3].scope == "Outer.Inner"


def test_definition_rows_with_decorators_and_attached_comments():
    d = by_name('''
        import functools


        # first attached comment
        # second attached comment
        @functools.cache
        @other(
            1,
        )
        def f():
            return 1
        ''')["f"]
    assert d.comment_row == 3
    assert d.first_row == 5
    assert d.def_row == 9
    assert d.end == 11
    assert d.decorators == ["@functools.cache", "@other( 1, )"]
    assert d.indent == ""
    assert d.body_indent == "    "


def test_comment_separated_by_a_blank_line_is_not_attached():
    d = by_name('''
        # a section comment

        def f():
            return 1
        ''')["f"]
    assert d.comment_row == d.first_row == d.def_row == 2


def test_comment_at_another_indentation_is_not_attached():
    d = by_name('''
        class A:
            x = 1
        # column-0 comment
            def f(self):
                return 1
        ''')["A.f"]
    assert d.comment_row == d.def_row == 3


def test_trailing_comments_indented_deeper_belong_to_the_unit():
    text = '''
        class A:
            def f(self):
                return 1

                # trailing note, deeper than the def
            # same depth as the def: not f's

            def g(self):
                return 2
        # column 0: not A's
        '''
    defs = by_name(text)
    assert defs["A.f"].end == 5  # rows 1..4 (the deeper comment included)
    assert defs["A.g"].end == 9
    assert defs["A"].end == 9  # the method's comment at class-body depth is deeper than `class`


def test_method_in_tab_indented_class():
    d = by_name("class A:\n\tdef f(self):\n\t\treturn 1\n")["A.f"]
    assert d.indent == "\t"
    assert d.body_indent == "\t\t"


def test_definitions_under_if_and_try_count_at_their_level():
    names = [d.name for d in definitions(src('''
        try:
            def fast():
                return 1
        except ImportError:
            def fast():
                return 2


        class A:
            if True:
                def m(self):
                    return 1
        '''))]
    assert names == ["fast", "fast", "A", "A.m"]


def test_single_line_body_has_no_body_indent():
    d = by_name("def f(): return 1\n")["f"]
    assert d.body_indent is None
    assert d.end == 1


# --- import block -----------------------------------------------------------------------------


def _block(text: str):
    block = import_block(src(text))
    return None if block is None else (block.start, block.end)


def test_import_block_plain():
    assert _block('''
        import os
        from pathlib import Path

        X = 1
        ''') == (0, 2)


def test_import_block_after_docstring_and_comment():
    assert _block('''
        """Module doc."""

        # comment
        from __future__ import annotations

        import os
        import sys


        def f():
            pass
        ''') == (3, 7)


def test_import_block_with_try_fallback_and_type_checking():
    assert _block('''
        import os

        try:
            import ujson as json
        except ImportError:
            json = None

        if TYPE_CHECKING:
            from typing import Any
        import sys

        CONSTANT = 1
        import late
        ''') == (0, 10)


def test_multi_line_import_counts_to_its_last_row():
    assert _block('''
        from os import (
            path,
            sep,
        )
        x = 1
        ''') == (0, 4)


def test_try_with_real_code_ends_the_block():
    assert _block('''
        import os
        try:
            import fast
        except ImportError:
            for x in y:
                pass
        ''') == (0, 1)


def test_no_import_block():
    assert _block('''
        """Doc."""


        def f():
            import os
        ''') is None
    assert _block('''
        X = 1
        import os
        ''') is None  # code before any import: no leading block
    assert _block("") is None


def test_docstring_end():
    assert docstring_end(src('''
        """Doc.

        More.
        """

        x = 1
        ''')) == 4
    assert docstring_end(src("# license\n# more\nx = 1\n")) == 2
    assert docstring_end(src("x = 1\n")) == 0


def test_main_guard():
    assert main_guard(src('''
        def f():
            pass


        if __name__ == "__main__":
            f()
        ''')) == 4
    assert main_guard(src("if __name__ == '__main__':\n    pass\n")) == 0
    assert main_guard(src("if DEBUG:\n    pass\n")) is None


# --- source -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, unit",
    [
        ("class A:\n    def f(self):\n        return 1\n", "    "),
        ("class A:\n  def f(self):\n    return 1\n", "  "),
        ("class A:\n\tdef f(self):\n\t\treturn 1\n", "\t"),
        ('x = """\n        deep string\n"""\nif x:\n  y = 1\n', "  "),  # string rows are not code
        ("x = 1\n", "    "),
    ],
    ids=["spaces4", "spaces2", "tabs", "string-rows-ignored", "default"],
)
def test_indent_unit(text, unit):
    assert Source(text).indent_unit == unit


def test_newline_and_split_lines():
    assert Source("a = 1\r\nb = 2\r\n").newline == "\r\n"
    assert Source("a = 1\nb = 2\n").newline == "\n"
    assert split_lines("a\nb") == ["a\n", "b"]
    assert split_lines("a\n") == ["a\n"]
    assert split_lines("") == []


def test_string_and_comment_rows():
    s = src('''
        # comment
        x = """
        # not a comment
        """
        y = 1  # trailing, not a comment row
        ''')
    assert [r for r in range(5) if s.is_comment_row(r)] == [0]
    assert s.string_rows == {2, 3}
    assert [r for r in range(5) if s.in_string(r)] == [2, 3]
    assert [s.is_code_row(r) for r in range(5)] == [False, True, False, False, True]

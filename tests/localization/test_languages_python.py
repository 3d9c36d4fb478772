"""The tree-sitter parser: code units, qualified names, spans, signatures and docstrings."""

from __future__ import annotations

import textwrap

from localization.languages.python import parse_source
from localization.models import MODULE_UNIT

SOURCE = textwrap.dedent(
    '''\
    """Module doc first line.

    More module prose.
    """
    import os

    LIMIT = 10


    def top(a, b=2) -> int:
        """Top-level function."""
        def inner():
            return a
        return inner() + b


    class Outer:
        """Outer class.

        Second paragraph.
        """

        attr = 3

        class Inner:
            def f(self, x):
                return x

        @staticmethod
        @cached(size=3)
        def deco(y):
            return y

        @property
        def value(self):
            return self._v

        @value.setter
        def value(self, v):
            self._v = v


    try:
        def fast_path():
            return 1
    except ImportError:
        def slow_path():
            return 2

    if os.name == "nt":
        def windows_only():
            pass


    async def fetch(url: str, *, timeout: float = 1.0) -> bytes:
        pass
    '''
).encode()


def _units():
    parsed = parse_source(SOURCE)
    assert not parsed.has_errors
    return parsed.units


def _by_name(units):
    out: dict[str, list] = {}
    for unit in units:
        out.setdefault(unit.name, []).append(unit)
    return out


def _line_of(text: str) -> int:
    """1-based line of the first line of SOURCE containing `text`."""
    for i, line in enumerate(SOURCE.decode().splitlines(), 1):
        if text in line:
            return i
    raise AssertionError(text)


def test_qualified_names_and_kinds():
    by_name = _by_name(_units())
    kinds = {name: [u.kind for u in units] for name, units in by_name.items()}
    assert kinds == {
        MODULE_UNIT: ["module"],
        "top": ["function"],
        "Outer": ["class"],
        "Outer.Inner": ["class"],
        "Outer.Inner.f": ["method"],
        "Outer.deco": ["method"],
        "Outer.value": ["method", "method"],  # property getter and setter: two units, one name
        "fast_path": ["function"],
        "slow_path": ["function"],
        "windows_only": ["function"],
        "fetch": ["function"],
    }


def test_nested_function_is_part_of_its_function():
    units = _units()
    names = [u.name for u in units]
    assert "inner" not in names and "top.inner" not in names
    top = _by_name(units)["top"][0]
    assert (top.start_line, top.end_line) == (_line_of("def top("), _line_of("return inner() + b"))
    assert "inner" in top.tokens  # the nested function's body is indexed with its parent


def test_units_sorted_by_line_with_module_head_first():
    units = _units()
    assert units[0].name == MODULE_UNIT
    starts = [u.start_line for u in units]
    assert starts == sorted(starts)


def test_module_head_unit():
    head = _units()[0]
    assert head.kind == "module" and head.start_line == 1
    # The head spans the top-level statements before the first definition.
    assert head.end_line == _line_of("LIMIT = 10")
    assert head.doc == "Module doc first line."
    assert "limit" in head.tokens
    # Names of the top-level definitions are indexed with the head.
    assert {"top", "outer", "fetch"} <= set(head.tokens)


def test_decorated_definition_span_starts_at_decorator():
    deco = _by_name(_units())["Outer.deco"][0]
    assert deco.start_line == _line_of("@staticmethod")
    assert deco.end_line == _line_of("return y")
    assert deco.signature == "def deco(y)"


def test_property_setter_is_a_second_unit_with_its_own_span():
    getter, setter = _by_name(_units())["Outer.value"]
    assert getter.start_line == _line_of("@property")
    assert getter.end_line == _line_of("return self._v")
    assert setter.start_line == _line_of("@value.setter")
    assert setter.end_line == _line_of("self._v = v")
    assert getter.signature == "def value(self)"
    assert setter.signature == "def value(self, v)"
    assert getter.uid == setter.uid


def test_nested_class_spans():
    by_name = _by_name(_units())
    outer = by_name["Outer"][0]
    inner = by_name["Outer.Inner"][0]
    f = by_name["Outer.Inner.f"][0]
    assert (outer.start_line, outer.end_line) == (_line_of("class Outer:"), _line_of("self._v = v"))
    assert (inner.start_line, inner.end_line) == (_line_of("class Inner:"), _line_of("return x"))
    assert (f.start_line, f.end_line) == (_line_of("def f(self, x):"), _line_of("return x"))
    assert outer.start_line < inner.start_line <= f.start_line <= f.end_line <= inner.end_line <= outer.end_line


def test_definitions_under_try_and_if_count_at_module_level():
    by_name = _by_name(_units())
    assert by_name["fast_path"][0].start_line == _line_of("def fast_path")
    assert by_name["slow_path"][0].start_line == _line_of("def slow_path")
    assert by_name["windows_only"][0].start_line == _line_of("def windows_only")


def test_signatures_and_docstrings():
    by_name = _by_name(_units())
    assert by_name["top"][0].signature == "def top(a, b=2) -> int"
    assert by_name["top"][0].doc == "Top-level function."
    assert by_name["Outer"][0].signature == "class Outer"
    assert by_name["Outer"][0].doc == "Outer class."
    assert by_name["Outer.Inner.f"][0].signature == "def f(self, x)"
    assert by_name["Outer.Inner.f"][0].doc == ""
    assert by_name["fetch"][0].signature == "async def fetch(url: str, *, timeout: float = 1.0) -> bytes"


def test_docstring_variants():
    src = textwrap.dedent(
        '''\
        def raw():
            r"""   Raw doc, padded.   """

        def late():
            x = 1
            """not a docstring: not the first statement"""

        def multi():
            # a comment before the docstring
            \'\'\'
            Found on the second line.
            \'\'\'
        '''
    ).encode()
    docs = {u.name: u.doc for u in parse_source(src).units}
    assert docs == {MODULE_UNIT: "", "raw": "Raw doc, padded.", "late": "", "multi": "Found on the second line."}


def test_class_level_if_and_try_and_class_in_function():
    src = textwrap.dedent(
        """\
        class A:
            if True:
                def f(self): pass
            else:
                def g(self): pass
            try:
                import x
            except ImportError:
                def h(self): pass

        def factory():
            class Local:
                def m(self): pass
            return Local
        """
    ).encode()
    names = [u.name for u in parse_source(src).units]
    assert names == [MODULE_UNIT, "A", "A.f", "A.g", "A.h", "factory"]


def test_class_tokens_include_members_and_attributes():
    outer = _by_name(_units())["Outer"][0]
    assert {"outer", "attr", "deco", "value"} <= set(outer.tokens)


def test_syntax_errors_still_yield_valid_definitions():
    src = textwrap.dedent(
        """\
        print "hello"

        def ok():
            return 1

        class K:
            def m(self):
                return 2

        def broken(:
            pass

        def after():
            return 3
        """
    ).encode()
    parsed = parse_source(src)
    assert parsed.has_errors is True
    names = [u.name for u in parsed.units]
    for expected in ("ok", "K", "K.m", "after"):
        assert expected in names
    ok = next(u for u in parsed.units if u.name == "ok")
    assert (ok.start_line, ok.end_line) == (3, 4)


def test_python2_file_yields_its_definitions():
    # tree-sitter-python accepts Python 2 statements (print, exec, `except E, e`), so such a file
    # parses without errors; what matters is that its definitions are all found.
    src = textwrap.dedent(
        """\
        import sys
        print 'x'

        def f(a):
            print >>sys.stderr, a
            return a

        class Old:
            def m(self):
                try:
                    pass
                except Exception, e:
                    raise ValueError, "m"
        """
    ).encode()
    parsed = parse_source(src)
    assert [u.name for u in parsed.units] == [MODULE_UNIT, "f", "Old", "Old.m"]


def test_python2_print_with_a_real_syntax_error_is_flagged():
    src = b'print "x"\n\ndef good():\n    return 1\n\nclass (:\n'
    parsed = parse_source(src)
    assert parsed.has_errors is True
    assert "good" in [u.name for u in parsed.units]


def test_valid_file_has_no_errors():
    assert parse_source(b"x = 1\n").has_errors is False


def test_empty_file():
    parsed = parse_source(b"")
    assert parsed.units == []
    assert parsed.has_errors is False


def test_module_with_only_statements():
    units = parse_source(b"import os\nX = os.sep\nY = 2\n").units
    assert [(u.name, u.kind, u.start_line, u.end_line) for u in units] == [(MODULE_UNIT, "module", 1, 3)]


def test_body_max_chars_limits_tokens():
    src = b"def f():\n    alpha = 1\n" + b"    zeta_" + b"x" * 50 + b" = 2\n" * 1
    full = parse_source(src).units[1]
    short = parse_source(src, body_max_chars=20).units[1]
    assert "alpha" in full.tokens and "zeta" in full.tokens
    assert "alpha" in short.tokens and "zeta" not in short.tokens

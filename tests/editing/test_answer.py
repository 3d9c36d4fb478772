"""parse_edits and clean_path: reading a model's answer into edits, slips tolerated."""

from __future__ import annotations

import pytest

from editing.answer import AnswerError, clean_path, parse_edits
from editing.models import Edit

CODE = "def f(self):\n    return 2"


def one(answer: str) -> Edit:
    edits = parse_edits(answer)
    assert len(edits) == 1, edits
    return edits[0]


def assert_edit(edit: Edit, path: str = "pkg/mod.py", unit: str = "A.f", code: str = CODE) -> None:
    assert (edit.path, edit.unit) == (path, unit)
    assert edit.code.strip("\n") == code


# --- the asked-for format -------------------------------------------------------------------


def test_plain_block():
    edit = one(f'<edit path="pkg/mod.py" unit="A.f">\n{CODE}\n</edit>')
    assert edit == Edit(path="pkg/mod.py", unit="A.f", code=CODE)


def test_prose_around_blocks_is_ignored():
    answer = f'The cause is the constant.\n\n<edit path="pkg/mod.py" unit="A.f">\n{CODE}\n</edit>\n\nThat fixes it.'
    assert_edit(one(answer))


def test_several_blocks_in_order():
    answer = (
        f'<edit path="pkg/mod.py" unit="A.f">\n{CODE}\n</edit>\n'
        'and\n'
        '<edit path="pkg/util.py" unit="helper">\ndef helper():\n    return 3\n</edit>\n'
    )
    edits = parse_edits(answer)
    assert [(e.path, e.unit) for e in edits] == [("pkg/mod.py", "A.f"), ("pkg/util.py", "helper")]
    assert edits[1].code == "def helper():\n    return 3"


@pytest.mark.parametrize("quote", ['"', "'"])
def test_imports_unit_as_the_prompt_asks(quote):
    """The prompt (edit_generate.j2) asks for unit="<imports>": the `>` inside the quoted value must
    not end the tag (regression: an `_OPEN` of `<edit\\b([^>]*)>` lost the unit and refused the block
    with "lacks its path or unit attribute")."""
    answer = f"<edit path={quote}pkg/mod.py{quote} unit={quote}<imports>{quote}>\nimport os\nimport re\n</edit>"
    assert one(answer) == Edit(path="pkg/mod.py", unit="<imports>", code="import os\nimport re")


def test_imports_unit_next_to_other_blocks():
    """(Regression, as above: an <imports> block among others failed the whole answer.)"""
    answer = (
        '<edit path="pkg/mod.py" unit="<imports>">\nimport os\nimport re\n</edit>\n'
        f'<edit path="pkg/mod.py" unit="A.f">\n{CODE}\n</edit>'
    )
    edits = parse_edits(answer)
    assert [(e.path, e.unit) for e in edits] == [("pkg/mod.py", "<imports>"), ("pkg/mod.py", "A.f")]
    assert edits[0].code == "import os\nimport re"


def test_indentation_of_the_code_is_kept():
    edit = one('<edit path="pkg/mod.py" unit="A.f">\n    def f(self):\n        return 2\n</edit>')
    assert edit.code == "    def f(self):\n        return 2"


def test_tags_and_attributes_are_case_insensitive():
    assert_edit(one(f'<EDIT PATH="pkg/mod.py" UNIT="A.f">\n{CODE}\n</EDIT >'))


# --- tolerated slips --------------------------------------------------------------------------


@pytest.mark.parametrize("fence", ["```python", "```py", "```", "~~~python", "```Python3"])
def test_fence_inside_the_block(fence):
    close = fence[:3]
    assert_edit(one(f'<edit path="pkg/mod.py" unit="A.f">\n{fence}\n{CODE}\n{close}\n</edit>'))


def test_fence_with_prose_before_and_after_inside_the_block():
    answer = f'<edit path="pkg/mod.py" unit="A.f">\nHere is the method:\n```python\n{CODE}\n```\nThis returns 2 now.\n</edit>'
    assert_edit(one(answer))


def test_fence_on_the_tag_lines():
    assert_edit(one(f'<edit path="pkg/mod.py" unit="A.f">```python\n{CODE}\n```</edit>'))


def test_only_the_first_fence_of_a_block_is_the_code():
    answer = f'<edit path="pkg/mod.py" unit="A.f">\n```python\n{CODE}\n```\nUsage:\n```python\nA().f()\n```\n</edit>'
    assert_edit(one(answer))


def test_indented_fence():
    answer = '<edit path="pkg/mod.py" unit="A.f">\n  ```python\n    def f(self):\n        return 2\n  ```\n</edit>'
    assert one(answer).code.rstrip("\n") == "    def f(self):\n        return 2"


def test_missing_closing_tag_at_the_end():
    assert_edit(one(f'<edit path="pkg/mod.py" unit="A.f">\n{CODE}\n'))


def test_missing_closing_tag_with_a_fence_and_prose_after():
    answer = f'<edit path="pkg/mod.py" unit="A.f">\n```python\n{CODE}\n```\nThis should fix the issue.'
    assert_edit(one(answer))


def test_missing_closing_tag_before_the_next_block():
    answer = f'<edit path="pkg/mod.py" unit="A.f">\n{CODE}\n<edit path="pkg/mod.py" unit="g">\ndef g():\n    return 3\n</edit>'
    first, second = parse_edits(answer)
    assert_edit(first)
    assert_edit(second, unit="g", code="def g():\n    return 3")


def test_single_quoted_attributes():
    assert_edit(one(f"<edit path='pkg/mod.py' unit='A.f'>\n{CODE}\n</edit>"))


def test_unquoted_attributes():
    assert_edit(one(f"<edit path=pkg/mod.py unit=A.f>\n{CODE}\n</edit>"))


def test_file_instead_of_path():
    assert_edit(one(f'<edit file="pkg/mod.py" unit="A.f">\n{CODE}\n</edit>'))


def test_name_instead_of_unit():
    assert_edit(one(f'<edit path="pkg/mod.py" name="A.f">\n{CODE}\n</edit>'))


def test_attributes_in_any_order_with_extra_ones():
    assert_edit(one(f'<edit unit="A.f" lang="python" path="pkg/mod.py">\n{CODE}\n</edit>'))


def test_path_and_unit_in_the_unit_attribute():
    assert_edit(one(f'<edit unit="pkg/mod.py::A.f">\n{CODE}\n</edit>'))


def test_path_repeated_in_the_unit_attribute():
    assert_edit(one(f'<edit path="pkg/mod.py" unit="pkg/mod.py::A.f">\n{CODE}\n</edit>'))


def test_backticks_around_the_unit():
    assert_edit(one(f'<edit path="pkg/mod.py" unit="`A.f`">\n{CODE}\n</edit>'))


@pytest.mark.parametrize("path", ["a/pkg/mod.py", "b/pkg/mod.py", "./pkg/mod.py", "/pkg/mod.py", "`pkg/mod.py`", "pkg\\mod.py"])
def test_path_prefixes_and_quotes_are_cleaned(path):
    assert_edit(one(f'<edit path="{path}" unit="A.f">\n{CODE}\n</edit>'))


def test_diff_prefix_on_a_path_in_the_unit_attribute():
    assert_edit(one(f'<edit unit="a/pkg/mod.py::A.f">\n{CODE}\n</edit>'))


@pytest.mark.parametrize(
    "header",
    [
        "### pkg/mod.py::A.f",
        "## pkg/mod.py::A.f",
        "### `pkg/mod.py::A.f`",
        "**pkg/mod.py::A.f**",
        "### pkg/mod.py A.f",
        "### a/pkg/mod.py::A.f",
        "### EDIT pkg/mod.py::A.f",
    ],
)
def test_markdown_header_followed_by_a_fenced_block(header):
    answer = f"The fix:\n\n{header}\n```python\n{CODE}\n```\n\nDone."
    assert_edit(one(answer))


def test_markdown_header_with_a_blank_line_before_the_fence():
    assert_edit(one(f"### pkg/mod.py::A.f\n\n```python\n{CODE}\n```\n"))


def test_several_markdown_headers():
    answer = (
        f"### pkg/mod.py::A.f\n```python\n{CODE}\n```\n\n"
        "### pkg/mod.py::<imports>\n```python\nimport os\n```\n"
    )
    first, second = parse_edits(answer)
    assert_edit(first)
    assert_edit(second, unit="<imports>", code="import os")


def test_edit_blocks_win_over_markdown_headers():
    answer = f'### pkg/other.py::g\n```python\ndef g():\n    pass\n```\n<edit path="pkg/mod.py" unit="A.f">\n{CODE}\n</edit>'
    assert_edit(one(answer))


# --- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "The bug is in A.f: it returns 1 instead of 2.",
        f"```python\n{CODE}\n```",  # a bare fence names neither file nor unit
        "### pkg/mod.py::A.f\nno fence here",
    ],
)
def test_no_block_at_all(answer):
    with pytest.raises(AnswerError, match=r'holds no <edit path="\.\.\." unit="\.\.\."> block'):
        parse_edits(answer)


def test_block_without_a_path():
    with pytest.raises(AnswerError, match="lacks its path or unit") as info:
        parse_edits(f'<edit unit="A.f">\n{CODE}\n</edit>')
    assert 'unit="A.f"' in str(info.value)  # the offending tag is quoted back


def test_block_without_a_unit():
    with pytest.raises(AnswerError, match="lacks its path or unit"):
        parse_edits(f'<edit path="pkg/mod.py">\n{CODE}\n</edit>')


def test_block_with_empty_attributes():
    with pytest.raises(AnswerError, match="lacks its path or unit"):
        parse_edits(f'<edit path="" unit="">\n{CODE}\n</edit>')


@pytest.mark.parametrize("body", ["", "\n\n", "\n```python\n```\n"])
def test_block_without_code(body):
    with pytest.raises(AnswerError, match="the <edit> block for pkg/mod.py A.f holds no code"):
        parse_edits(f'<edit path="pkg/mod.py" unit="A.f">{body}</edit>')


def test_one_bad_block_fails_the_answer():
    answer = f'<edit path="pkg/mod.py" unit="A.f">\n{CODE}\n</edit>\n<edit path="pkg/mod.py" unit="g"></edit>'
    with pytest.raises(AnswerError, match="holds no code"):
        parse_edits(answer)


# --- clean_path ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw, clean",
    [
        ("pkg/mod.py", "pkg/mod.py"),
        ("a/pkg/mod.py", "pkg/mod.py"),
        ("b/pkg/mod.py", "pkg/mod.py"),
        ("./pkg/mod.py", "pkg/mod.py"),
        ("/pkg/mod.py", "pkg/mod.py"),
        ("  pkg/mod.py \n", "pkg/mod.py"),
        ("`pkg/mod.py`", "pkg/mod.py"),
        ("'pkg/mod.py'", "pkg/mod.py"),
        ('"pkg/mod.py"', "pkg/mod.py"),
        ("pkg\\sub\\mod.py", "pkg/sub/mod.py"),
        ("mod.py", "mod.py"),
        ("ab/mod.py", "ab/mod.py"),  # only a whole `a/` component is a diff prefix
    ],
)
def test_clean_path(raw, clean):
    assert clean_path(raw) == clean


def test_an_answer_mixing_units_statements_search_replace_and_files():
    answer = """The format is wrong and the pin too.

<edit path="pkg/log.py" unit="DEFAULT_FORMAT">
DEFAULT_FORMAT = "%(levelname)s %(message)s"
</edit>

<edit path="pkg/log.py" unit="Handler.emit">
```python
def emit(self, record):
    return record
```
</edit>

<edit path="setup.cfg">
```
<<<<<<< SEARCH
    requests>=2.0
=======
    requests>=2.25
>>>>>>> REPLACE
```
<<<<<<< SEARCH
version = 1
=======
>>>>>>> REPLACE
</edit>

<edit path="docs/changes/1.rst" unit="<file>">
Fixed.
</edit>

<edit path="pkg/old.py" unit="<delete>">
</edit>
"""
    edits = parse_edits(answer)
    assert [(e.kind, e.path, e.unit) for e in edits] == [
        ("unit", "pkg/log.py", "DEFAULT_FORMAT"), ("unit", "pkg/log.py", "Handler.emit"),
        ("replace", "setup.cfg", ""), ("replace", "setup.cfg", ""),
        ("file", "docs/changes/1.rst", "<file>"), ("delete", "pkg/old.py", "<delete>"),
    ]
    assert edits[2].search == "    requests>=2.0\n" and edits[2].replace == "    requests>=2.25\n"
    assert edits[3].search == "version = 1\n" and edits[3].replace == ""
    assert edits[4].code == "Fixed.\n" and edits[5].code == ""


def test_an_empty_search_part_is_told_to_the_model():
    with pytest.raises(AnswerError, match="a SEARCH part for setup.cfg is empty"):
        parse_edits('<edit path="setup.cfg">\n<<<<<<< SEARCH\n=======\nx = 1\n>>>>>>> REPLACE\n</edit>')

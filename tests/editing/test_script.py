"""Units of JavaScript and TypeScript files edited by name (editing/script.py), the edits a perfect
model would return for a change to such a file (editing/script_oracle.py), and their replay."""

from __future__ import annotations

import subprocess
import textwrap

import pytest

from editing.engine import apply_edits
from editing.generate import _unit_code
from editing.models import Edit, EditError
from editing.oracle import derive
from editing.script import same_script_tree

SRC = textwrap.dedent(
    """\
    import U from './utils'

    const DEFAULTS = { width: 400 }

    class Dayjs {
      constructor(cfg) {
        this.cfg = cfg
      }

      /** Formats the date. */
      format(str) {
        return U.pad(str)
      }
    }

    export default (option, Cls) => {
      const proto = Cls.prototype
      proto.utc = function (keep) {
        return keep
      }
    }

    module.exports = Dayjs
    """
)


def edit(files: dict[str, str], *edits: Edit) -> str:
    result = apply_edits(files.__getitem__, list(edits), lint=False)
    return result.files.get("src/index.js", files["src/index.js"])


def test_a_method_given_at_column_0_replaces_its_rows_and_comment_at_the_method_s_indent():
    code = "/** Formats the date, padded. */\nformat(str) {\n  return U.pad(str, 2)\n}\n"
    out = edit({"src/index.js": SRC}, Edit(path="src/index.js", unit="Dayjs.format", code=code))
    assert "  /** Formats the date, padded. */\n  format(str) {\n    return U.pad(str, 2)\n  }\n}\n" in out
    assert "Formats the date. */" not in out and out.count("format(str)") == 1


def test_code_without_a_comment_keeps_the_comment_above_the_unit():
    out = edit({"src/index.js": SRC}, Edit(path="src/index.js", unit="Dayjs.format", code="format(str) {\n  return str\n}\n"))
    assert "  /** Formats the date. */\n  format(str) {\n    return str\n  }\n" in out


def test_a_member_function_inside_a_plugin_and_a_top_level_binding_by_name():
    out = edit({"src/index.js": SRC},
               Edit(path="src/index.js", unit="proto.utc", code="proto.utc = function (keep) {\n  return !keep\n}\n"),
               Edit(path="src/index.js", unit="DEFAULTS", code="const DEFAULTS = { width: 500 }\n"))
    assert "  proto.utc = function (keep) {\n    return !keep\n  }\n" in out
    assert "const DEFAULTS = { width: 500 }\n" in out and "400" not in out


def test_new_units_land_in_their_class_or_above_module_exports():
    out = edit({"src/index.js": SRC},
               Edit(path="src/index.js", unit="Dayjs.year", code="year() {\n  return this.$y\n}\n"),
               Edit(path="src/index.js", unit="pad", code="function pad(s) {\n  return s\n}\n"))
    assert "  year() {\n    return this.$y\n  }\n}\n" in out  # before the class's closing brace
    assert out.index("function pad") < out.index("module.exports = Dayjs")
    assert out.index("function pad") > out.index("export default")


def test_template_literal_text_keeps_its_spacing_when_the_unit_is_re_indented():
    src = "class A {\n  m() {\n    return `\nhello\n  world\n`\n  }\n}\n"
    out = edit({"src/index.js": src}, Edit(path="src/index.js", unit="A.m", code="m() {\n  return `\nhello\n  there\n`\n}\n"))
    assert out == src.replace("world", "there")


def test_a_new_function_in_a_file_without_functions_goes_above_its_exports():
    src = "const a = 1\n\nmodule.exports = { a, g }\n"
    out = edit({"src/index.js": src}, Edit(path="src/index.js", unit="g", code="const g = () => a\n"))
    assert out == "const a = 1\n\nconst g = () => a\n\nmodule.exports = { a, g }\n"


def test_a_new_binding_goes_above_the_first_statement_that_names_it():
    """A const is not hoisted: after the last function, `B` would read it before it is set."""
    src = "const A = 1\n// B needs it\nconst B = twice(LIMIT)\n\nfunction twice(x) {\n  return 2 * x\n}\n"
    out = edit({"src/index.js": src}, Edit(path="src/index.js", unit="LIMIT", code="export const LIMIT = A + 1\n"))
    assert out == "const A = 1\n\nexport const LIMIT = A + 1\n\n// B needs it\nconst B = twice(LIMIT)\n\nfunction twice(x) {\n  return 2 * x\n}\n"
    # it reads a name declared from there on: no row serves both, so it goes where it did
    late = src.replace("function twice", "const C = 3\n\nfunction twice")
    out = edit({"src/index.js": late}, Edit(path="src/index.js", unit="LIMIT", code="const LIMIT = C + 1\n"))
    assert out.endswith("}\n\nconst LIMIT = C + 1\n")
    # the comment above goes with the statement, whatever its lines start with
    block = "const A = 1\n/*\n  B needs it\n*/\nconst B = LIMIT\n\nfunction f() {}\n"
    out = edit({"src/index.js": block}, Edit(path="src/index.js", unit="LIMIT", code="const LIMIT = 2\n"))
    assert out == "const A = 1\n\nconst LIMIT = 2\n\n/*\n  B needs it\n*/\nconst B = LIMIT\n\nfunction f() {}\n"
    # where it would move above something it reads (changed, or an enum), or a statement sharing its row, it stays
    for path, src, code in (("src/index.js", "const d = {}\nconst B = LIMIT\nd.limit = 5\nfunction g() {}\n", "const LIMIT = d.limit\n"),
                            ("src/index.ts", "const B = LIMIT\nenum Color { Red }\nfunction g() {}\n", "const LIMIT = Color.Red\n"),
                            ("src/index.js", "const A = 1; const B = LIMIT\nfunction g() {}\n", "const LIMIT = 2\n")):
        result = apply_edits({path: src}.__getitem__, [Edit(path=path, unit="LIMIT", code=code)], lint=False)
        assert result.files[path].endswith("function g() {}\n\n" + code), result.files[path]
    # a use in a function declaration's body is not one: it runs later
    lazy = "function f() {\n  return LIMIT\n}\nconst B = 1\nfunction g() {}\n"
    assert edit({"src/index.js": lazy}, Edit(path="src/index.js", unit="LIMIT", code="const LIMIT = 2\n")).endswith("function g() {}\n\nconst LIMIT = 2\n")
    # the comments heading a file stay first
    head = "/// <reference types=\"node\" />\n// @ts-check\nconst B = LIMIT\n\nfunction f() {}\n"
    assert edit({"src/index.js": head}, Edit(path="src/index.js", unit="LIMIT", code="const LIMIT = 2\n")).startswith(
        "/// <reference types=\"node\" />\n// @ts-check\n\nconst LIMIT = 2\n\nconst B = LIMIT\n")
    # a function is hoisted: it goes after the last function, as before
    out = edit({"src/index.js": src}, Edit(path="src/index.js", unit="LIMIT", code="function LIMIT() {\n  return 1\n}\n"))
    assert out.endswith("}\n\nfunction LIMIT() {\n  return 1\n}\n")


def test_code_that_does_not_parse_or_a_name_defined_twice_is_refused():
    with pytest.raises(EditError, match="the edited file does not parse"):
        edit({"src/index.js": SRC}, Edit(path="src/index.js", unit="Dayjs.format", code="format(str) {\n  return (\n}\n"))
    twice = "function f() { return 1 }\nfunction f() { return 2 }\n"
    with pytest.raises(EditError, match="f is defined 2 times"):
        edit({"src/index.js": twice}, Edit(path="src/index.js", unit="f", code="function f() { return 3 }\n"))


@pytest.mark.parametrize("unit", ["<imports>", "<module>"])
def test_imports_and_module_code_of_a_script_are_search_replace_only(unit):
    with pytest.raises(EditError, match=f"{unit} names no unit of a JavaScript or TypeScript file"):
        edit({"src/index.js": SRC}, Edit(path="src/index.js", unit=unit, code="import V from './v'\n"))
    # A whole file is no unit, and goes as it does anywhere.
    assert edit({"src/index.js": SRC}, Edit(path="src/index.js", unit="<file>", code="export default 1\n")) == "export default 1\n"


def test_the_diff_applies_with_git(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "src").mkdir()
    (tmp_path / "src/index.js").write_text(SRC)
    result = apply_edits({"src/index.js": SRC}.__getitem__, [Edit(path="src/index.js", unit="Dayjs.format", code="format() {\n  return ''\n}\n")],
                         lint=False)
    done = subprocess.run(["git", "apply", "--check", "-"], cwd=tmp_path, input=result.diff.encode(), capture_output=True)
    assert done.returncode == 0, done.stderr


def replay(pre: str, post: str, path: str = "src/index.js"):
    derived = derive(path, pre, post)
    assert derived.problem is None and derived.fallback is None, (derived.problem, derived.fallback)
    out = apply_edits({path: pre}.__getitem__, derived.edits, lint=False).files.get(path, pre)
    return derived, out


def test_a_changed_method_and_an_import_are_a_unit_edit_and_a_hunk():
    post = SRC.replace("U.pad(str)", "U.pad(str, 4)").replace("import U from './utils'", "import U from './utils.js'")
    derived, out = replay(SRC, post)
    assert [(e.kind, e.unit) for e in derived.edits] == [("replace", ""), ("unit", "Dayjs.format")]
    assert out == post


def test_a_unit_added_inside_a_function_goes_as_that_function():
    post = SRC.replace("    return keep\n  }\n", "    return keep\n  }\n  proto.local = function () {\n    return 1\n  }\n")
    assert post != SRC
    derived, out = replay(SRC, post)
    assert [e.unit for e in derived.edits] == ["default"]  # the plugin installer carries its new method
    assert out == post


def test_an_added_method_replays_to_the_same_tree_wherever_it_lands():
    post = SRC.replace("  constructor(cfg) {", "  year() {\n    return 1\n  }\n\n  constructor(cfg) {")
    derived, out = replay(SRC, post)
    assert derived.added == {"Dayjs.year"} and out != post and same_script_tree("src/index.js", out, post, derived.added)
    assert not same_script_tree("src/index.js", out, post)  # without the added name, place counts


def test_a_removed_binding_goes_as_a_hunk():
    post = SRC.replace("const DEFAULTS = { width: 400 }\n\n", "")
    derived, out = replay(SRC, post)
    assert [e.kind for e in derived.edits] == ["replace"] and out == post


def test_same_script_tree_ignores_comments_and_spacing_but_not_code():
    a = "function f(a) {\n  return a + 1 // one\n}\n"
    assert same_script_tree("a.js", a, "function f(a){return a+1}\n")
    # a comment of its own between statements, as one left above a unit an edit moved (ky's deepMerge)
    assert same_script_tree("a.ts", "// todo\nconst f = () => 1\n\n// todo\nconst g = () => 2\n", "const f = () => 1\n// todo\nconst g = () => 2\n")
    assert same_script_tree("a.js", "class A {\n  // lone\n  m() {}\n}\n", "class A {\n  m() {}\n}\n")
    assert not same_script_tree("a.js", a, "function f(a) {\n  return a + 2\n}\n")
    assert not same_script_tree("a.ts", "const x: number = 1\n", "const x: number = (\n")  # what does not parse is never the same


def test_the_model_is_shown_a_javascript_unit_with_its_comment():
    code, _ = _unit_code(SRC, "Dayjs.format", "src/index.js")
    assert code == "  /** Formats the date. */\n  format(str) {\n    return U.pad(str)\n  }"


def test_an_import_added_right_above_a_unit_s_new_first_line_replays_in_either_order():
    # dayjs-668: an import above `export default` and a line at the top of it. The hunk for the
    # import ends where the unit's change starts: neither edit may carry the other's line.
    pre = "export default (option, Dayjs) => {\n  const proto = Dayjs.prototype\n  proto.a = function () {\n    return 1\n  }\n}\n"
    post = ("import { MIN } from './constant'\n\nexport default (option, Dayjs) => {\n  const offset = MIN\n"
            "  const proto = Dayjs.prototype\n  proto.a = function () {\n    return 1\n  }\n}\n")
    derived = derive("src/plugin.js", pre, post)
    assert sorted(e.kind for e in derived.edits) == ["replace", "unit"]
    for edits in (derived.edits, derived.edits[::-1]):
        assert apply_edits({"src/plugin.js": pre}.__getitem__, list(edits), lint=False).files["src/plugin.js"] == post

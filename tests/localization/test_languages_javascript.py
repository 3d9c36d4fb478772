"""JavaScript and TypeScript behind the language seam: units, imports, module names, which files
an index reads in a repository of either language, and the issue signals Node's code gives."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from localization.config import RetrievalConfig
from localization.languages import file_statements, is_package, language_of, module_names, parse_file
from localization.languages.javascript import import_names
from localization.localize import Localizer
from localization.models import MODULE_UNIT
from localization.signals import SignalResolver
from localization.structure import build_edges
from tests.localization.test_index import build, git, settings, write

pytestmark = pytest.mark.usefixtures("clean_env")

PLUGIN = textwrap.dedent(
    """\
    // Keeps the local time when the offset changes.
    import { MS } from '../../constant'
    const { pad } = require('./helpers')

    /** Installs utc() on every instance. */
    export default (option, Dayjs, dayjs) => {
      const proto = Dayjs.prototype
      dayjs.utc = function (date) {
        return dayjs(date, { utc: true })
      }
      proto.utcOffset = function (input, keepLocalTime) {
        return pad(input) + MS
      }
      const local = () => 1
    }

    Layer.prototype.handle = function handle(req, res, next) {
      next()
    }

    const render = async (stats, options = {}) => {
      return card(stats)
    }

    function card(stats) {
      return `<svg>${stats}</svg>`
    }

    module.exports = { parse(x) { return x }, format: function (y) { return y }, name: 'x' }

    export const DEFAULTS = { width: 400 }
    """
)

TS = textwrap.dedent(
    """\
    import type { Options } from './types'
    export abstract class Card<T> extends Base implements Renderable {
      private hide = (names: string[]): void => {}
      render(opts: Options): string { return '' }
      abstract title(): string;
    }
    """
)


def units_of(path: str, src: str) -> dict:
    return {u.name: u for u in parse_file(path, src.encode()).units}


def test_javascript_units_are_named_as_written():
    units = units_of("src/plugin/utc/index.js", PLUGIN)
    assert list(units) == [MODULE_UNIT, "default", "dayjs.utc", "proto.utcOffset", "Layer.prototype.handle", "render", "card",
                           "module.exports.parse", "module.exports.format"]
    assert units["proto.utcOffset"].kind == "method" and (units["proto.utcOffset"].start_line, units["proto.utcOffset"].end_line) == (11, 13)
    assert units["render"].kind == "function" and units["render"].signature == "const render = async (stats, options = {}) =>"
    assert units["default"].doc == "Installs utc() on every instance."
    # The installer keeps its own code (`local`) but not the methods it installs, which are units of their own.
    assert "local" in units["default"].tokens and "keeplocaltime" not in units["default"].tokens
    assert "keeplocaltime" in units["proto.utcOffset"].tokens
    assert units["render"].calls == ["card"]
    assert units[MODULE_UNIT].imports == ["...constant.MS", ".helpers.pad"]  # ../../ from a folder's index: src.constant
    assert "keeps" in units[MODULE_UNIT].tokens  # the file's comments are its words too


def test_typescript_classes_methods_and_bases():
    units = units_of("src/card.ts", TS)
    assert units["Card"].kind == "class" and units["Card"].bases == ["Base", "Renderable"]
    assert units["Card.hide"].kind == "method" and units["Card.render"].kind == "method"
    assert "Card.title" not in units  # a signature without a body is not a unit
    assert units[MODULE_UNIT].imports == [".types.Options"]
    assert parse_file("src/card.ts", TS.encode()).has_errors is False
    assert parse_file("src/view.tsx", b"export const View = () => <div>{1}</div>\n").units[1].name == "View"


def test_a_typescript_method_starts_at_its_decorators():
    units = units_of("src/a.ts", "class A {\n  @dec()\n  @other\n  foo(x: number) { return x }\n  bar() {}\n}\n")
    assert (units["A.foo"].start_line, units["A.foo"].end_line) == (2, 4) and units["A.bar"].start_line == 5


@pytest.mark.parametrize("src, doc", [
    ("// Spanish [es]\nimport dayjs from 'dayjs'\nconst locale = { name: 'es' }\n", "Spanish [es]"),
    ("#!/usr/bin/env node\n/*!\n * express\n * MIT Licensed\n */\n'use strict'\nfunction f() {}\n", "express"),
    ("/**\n * @license MIT\n * Date helpers.\n */\nexport const A = 1\n", "Date helpers."),
    ("export const A = 1 // not a header\n", ""),
])
def test_a_files_leading_comment_is_its_module_doc(src, doc):
    assert units_of("src/m.js", src)[MODULE_UNIT].doc == doc


def test_top_level_bindings_that_are_not_units_are_statements():
    names = [u.name for u in file_statements("src/plugin/utc/index.js", PLUGIN.encode())]
    assert names == ["DEFAULTS"]  # `render` is a function unit; the `require` binding names a module
    assert [u.name for u in file_statements("a.js", b"const { pad } = require('./x')\nconst A = 1\n")] == ["A"]


@pytest.mark.parametrize(("spec", "dotted"), [
    ("import x from './a/b.js'", [".a.b"]),
    ("import { a, b as c } from '../m/index'", ["..m.a", "..m.b"]),
    ("const y = require('../../lib/y')", ["...lib.y"]),
    ("export * from 'pkg/sub'", ["pkg.sub"]),
    ("import './side-effect'", [".side-effect"]),
    ("require('./weird.name/x')", []),
])
def test_imports_read_as_python_relative_names(spec, dotted):
    assert import_names(spec) == dotted


def test_module_names_and_folders():
    assert module_names("src/plugin/utc/index.js") == ["src.plugin.utc", "plugin.utc"]
    assert module_names("lib/router/layer.js") == ["lib.router.layer", "router.layer"]
    assert is_package("src/index.ts") and not is_package("src/indexer.ts")
    assert language_of("a/b.d.ts").name == "typescript" and language_of("a.mjs").name == "javascript"
    assert language_of("a/b.pyc") is None


def test_imports_resolve_to_files_and_calls_cross_them():
    helpers = parse_file("src/helpers.js", b"export function pad(x) { return x }\n").units
    main = parse_file("src/plugin/utc/index.js", b"import { pad } from '../../helpers'\nexport const f = () => pad(1)\n").units
    for u in helpers:
        u.path = "src/helpers.js"
    for u in main:
        u.path = "src/plugin/utc/index.js"
    units = [*helpers, *main]
    calls = build_edges(units, max_defs=4)["calls"]
    assert {(units[a].path, units[a].name, units[b].path, units[b].name) for a, b in calls} == {
        ("src/plugin/utc/index.js", "f", "src/helpers.js", "pad")}


def js_repo(root: Path) -> Path:
    write(root, "package.json", '{"name": "cal", "main": "src/index.js"}\n')
    write(root, "src/index.js", "const { pad } = require('./utils')\nclass Cal {\n  format(fmt) { return pad(fmt) }\n}\nmodule.exports = Cal\n")
    write(root, "src/utils.js", "function pad(s) { return String(s).padStart(2, '0') }\nmodule.exports = { pad }\n")
    write(root, "src/locale/sv.js", "// Swedish [sv]\nconst locale = { name: 'sv', ordinal: n => `${n}e` }\nexport default locale\n")
    write(root, "src/types.d.ts", "export declare function pad(s: string): string\n")
    write(root, "src/utils.test.js", "test('pad', () => {})\n")
    write(root, "__tests__/cal.js", "test('format', () => {})\n")
    write(root, "webpack.config.js", "module.exports = { entry: './src/index.js' }\n")
    write(root, "scripts/release.js", "function release() {}\n")
    write(root, "tools/build.py", "def build():\n    pass\n")
    git(root, "init", "-q")
    return root


def test_a_javascript_repository_is_indexed_without_its_tests_declarations_and_tooling(tmp_path):
    repo = js_repo(tmp_path / "repo")
    index = build(repo, settings(tmp_path))
    assert index.paths == ["src/index.js", "src/locale/sv.js", "src/utils.js"]
    assert index.languages == ["javascript"]  # the family with the most files; the Python tool is not read
    assert {u.name for u in index.units if u.path == "src/index.js"} == {MODULE_UNIT, "Cal", "Cal.format"}
    assert index.reads("src/other.js") and not index.reads("tools/build.py")


def test_a_python_repository_keeps_to_python_beside_its_scripts(tmp_path):
    repo = tmp_path / "repo"
    for i in range(3):
        write(repo, f"pkg/mod{i}.py", f"def f{i}():\n    return {i}\n")
    write(repo, "pkg/static/search.js", "function search(q) { return q }\n")
    write(repo, "pkg/static/app.ts", "export const go = () => 1\n")  # with the JavaScript: two files of one family
    git(repo, "init", "-q")
    index = build(repo, settings(tmp_path))
    assert index.languages == ["python"] and all(p.endswith(".py") for p in index.paths)
    both = build(repo, settings(tmp_path, "index.languages=[python,javascript]"))
    assert both.languages == ["javascript", "python"] and "pkg/static/search.js" in both.paths and "pkg/static/app.ts" not in both.paths
    write(repo, "pkg/static/more.ts", "export const more = () => 2\n")  # now three of each: a tie goes to Python
    assert build(repo, settings(tmp_path)).languages == ["python"]
    write(repo, "pkg/static/last.js", "export const last = 3\n")  # four JavaScript and TypeScript files to three
    assert build(repo, settings(tmp_path)).languages == ["javascript", "typescript"]


def test_retrieval_ranks_javascript_units(tmp_path):
    repo = js_repo(tmp_path / "repo")
    loc = Localizer.open(repo, settings(tmp_path))
    result = loc.retrieve("Ordinal formatting in Swedish is wrong: dayjs().format('Do')")
    assert result.files[0][0] == "src/locale/sv.js"
    result = loc.retrieve("Cal.format pads with the wrong width")
    assert (result.units[0][0].path, result.units[0][0].name) == ("src/index.js", "Cal.format")


CFG = RetrievalConfig(signal_path_weight=3.0, signal_traceback_weight=2.0, signal_dotted_weight=1.5,
                      signal_identifier_weight=0.0, identifier_max_defs=8, signal_message_weight=0.0, signal_code_line_weight=0.0)


def resolver() -> SignalResolver:
    paths = ["lib/router/layer.js", "lib/router/index.js", "src/plugin/utc/index.js", "lib/response.js"]
    units = []
    for path in paths:
        units += [u.model_copy(update={"path": path}) for u in parse_file(path, b"function handle(req) {\n  return req\n}\n\nfunction other() {}\n").units]
    return SignalResolver(units, paths)


def test_node_stack_frames_weigh_innermost_first():
    issue = textwrap.dedent(
        """\
        TypeError: Cannot read properties of undefined (reading 'then')
            at new handle (/app/node_modules/express/lib/router/layer.js:2:10)
            at Function.process_params (/app/node_modules/express/lib/router/index.js:5:3)
            at process.processTicksAndRejections (node:internal/process/task_queues:95:5)
            at /app/node_modules/express/lib/response.js:9:1
        A Python path in prose: at pkg/utils.py:3
        """
    )
    sig = resolver().resolve(issue, CFG)
    # Node prints the innermost frame first: it gets the full weight, the outermost the outer share.
    assert sig.files["lib/router/layer.js"] == pytest.approx(2.0)
    assert sig.files["lib/response.js"] == pytest.approx(2.0 * CFG.traceback_outer_share)
    assert sig.units["lib/router/layer.js::handle"] == pytest.approx(2.0)
    assert any(f.startswith("traceback frame lib/router/index.js:5") for f in sig.found)
    # Node's own frames do not cut the stack in two, and a `.py` path is never one of Node's frames.
    assert sum(f.startswith("traceback frame") for f in sig.found) == 3


def test_import_paths_in_the_issue_name_modules():
    issue = ("import utc from 'dayjs/plugin/utc'\nconst r = require('express/lib/response')\nfrom '/abs/lib/router/index.js'\n"
             "ImportError: cannot import name 'x' from 'utc'")  # a bare name is a package's: Python's error names one
    sig = resolver().resolve(issue, CFG)
    assert sig.files["src/plugin/utc/index.js"] == pytest.approx(CFG.signal_dotted_weight)
    assert sig.files["lib/response.js"] == pytest.approx(CFG.signal_dotted_weight)
    # An absolute path is a file's: the path signal weighs it, not the import signal.
    assert sig.files["lib/router/index.js"] == pytest.approx(CFG.signal_path_weight)
    assert [f for f in sig.found if f.startswith("import")] == ["import dayjs/plugin/utc", "import express/lib/response"]

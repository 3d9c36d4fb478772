"""What the issue text points at (paths, traceback frames, dotted names, identifiers), resolved
against the repository's names into file and unit bonuses with the configured weights."""

from __future__ import annotations

import pytest

from localization.config import RetrievalConfig
from localization.models import MODULE_UNIT, Unit
from localization.signals import SignalResolver


def unit(path: str, name: str, start: int, end: int, kind: str = "function") -> Unit:
    return Unit(path=path, name=name, kind=kind, start_line=start, end_line=end)


UNITS = [
    unit("pkg/mod.py", MODULE_UNIT, 1, 2, "module"),
    unit("pkg/mod.py", "Klass", 4, 12, "class"),
    unit("pkg/mod.py", "Klass.method", 7, 8, "method"),
    unit("pkg/mod.py", "Klass.other", 10, 11, "method"),
    unit("pkg/mod.py", "func", 14, 16),
    unit("pkg/net/session.py", "Session", 1, 6, "class"),
    unit("pkg/net/session.py", "Session.request", 2, 3, "method"),
    unit("pkg/net/session.py", "Session.send", 5, 6, "method"),
    unit("pkg/net/session.py", "getHTTPResponse", 9, 10),
    unit("pkg/text.py", "parse_header", 1, 4),
    unit("src/tool/cli.py", "main", 1, 3),
    unit("pkg/storage.py", "save_record", 1, 3),
]
PATHS = ["pkg/__init__.py", "pkg/mod.py", "pkg/net/__init__.py", "pkg/net/session.py", "pkg/storage.py",
         "pkg/text.py", "src/tool/cli.py"]

# Distinct weights, so that each bonus shows which signal produced it.
CFG = RetrievalConfig(signal_path_weight=3.0, signal_traceback_weight=2.0, signal_dotted_weight=1.5,
                      signal_identifier_weight=0.8, identifier_max_defs=8)


@pytest.fixture(scope="module")
def resolver() -> SignalResolver:
    return SignalResolver(UNITS, PATHS)


def files(sig) -> dict[str, float]:
    return {k: v for k, v in sig.files.items() if v}


def units(sig) -> dict[str, float]:
    return {k: v for k, v in sig.units.items() if v}


def test_traceback_frame_resolves_site_packages_path_and_function(resolver):
    issue = 'Traceback (most recent call last):\n  File "/usr/lib/python3/site-packages/pkg/mod.py", line 12, in func\nZeroDivisionError'
    sig = resolver.resolve(issue, CFG)
    assert sig.files["pkg/mod.py"] == 2.0
    assert sig.units["pkg/mod.py::func"] == 2.0
    assert "traceback frame pkg/mod.py:12" in sig.found
    # The frame's path is not counted a second time as a plain path mention.
    assert not any(f.startswith("path ") for f in sig.found)


def test_traceback_frame_method_matches_by_leaf(resolver):
    issue = 'File "/home/u/venv/lib/site-packages/pkg/mod.py", line 11, in other'
    sig = resolver.resolve(issue, CFG)
    assert sig.units["pkg/mod.py::Klass.other"] == 2.0
    assert sig.units.get("pkg/mod.py::Klass.method", 0) == 0


def test_traceback_frame_outside_repo_is_ignored(resolver):
    sig = resolver.resolve('File "/usr/lib/python3.11/json/decoder.py", line 3, in decode', CFG)
    assert files(sig) == {}
    assert not any(f.startswith("traceback") for f in sig.found)


def test_traceback_weight_comes_from_config(resolver):
    issue = 'File "/x/pkg/mod.py", line 12, in func'
    sig = resolver.resolve(issue, CFG.model_copy(update={"signal_traceback_weight": 5.5}))
    assert sig.files["pkg/mod.py"] == 5.5
    assert sig.units["pkg/mod.py::func"] == 5.5


def test_path_mention(resolver):
    sig = resolver.resolve("The bug is in pkg/text.py somewhere.", CFG)
    assert sig.files["pkg/text.py"] == 3.0
    assert "path pkg/text.py" in sig.found


def test_windows_path_mention(resolver):
    sig = resolver.resolve(r"See C:\work\proj\pkg\net\session.py for details", CFG)
    assert sig.files["pkg/net/session.py"] == 3.0


def test_path_weight_comes_from_config(resolver):
    sig = resolver.resolve("see pkg/text.py", CFG.model_copy(update={"signal_path_weight": 9.0}))
    assert sig.files["pkg/text.py"] == 9.0


def test_bare_file_name_ambiguous_across_many_files_is_ignored():
    paths = [f"p{i}/utils.py" for i in range(5)]
    sig = SignalResolver([], paths).resolve("something in utils.py", CFG)
    assert not any(v >= CFG.signal_path_weight for v in sig.files.values())
    few = SignalResolver([], paths[:2]).resolve("something in utils.py", CFG)
    assert few.files["p0/utils.py"] == few.files["p1/utils.py"] == CFG.signal_path_weight


def test_dotted_name_resolves_module_and_unit(resolver):
    sig = resolver.resolve("Calling pkg.mod.Klass.method returns None", CFG)
    assert sig.units["pkg/mod.py::Klass.method"] == 1.5
    assert sig.files["pkg/mod.py"] >= 1.5
    assert "name pkg.mod.Klass.method" in sig.found
    # The class is not what was named.
    assert sig.units.get("pkg/mod.py::Klass", 0) < 1.5


def test_dotted_module_only(resolver):
    sig = resolver.resolve("importing pkg.net.session is slow", CFG)
    assert sig.files["pkg/net/session.py"] == 1.5
    assert "module pkg.net.session" in sig.found


def test_dotted_package_resolves_to_init(resolver):
    sig = resolver.resolve("importing pkg.net fails", CFG)
    assert sig.files["pkg/net/__init__.py"] == 1.5


def test_dotted_unknown_attribute_still_counts_the_module_half(resolver):
    sig = resolver.resolve("pkg.mod.not_there is missing", CFG)
    assert sig.files["pkg/mod.py"] == pytest.approx(0.75)
    assert units(sig) == {}


def test_dotted_name_in_src_layout(resolver):
    sig = resolver.resolve("tool.cli.main crashes", CFG)
    assert sig.units["src/tool/cli.py::main"] == 1.5


def test_dotted_name_not_rooted_at_a_module(resolver):
    sig = resolver.resolve("self.session.Session.request drops headers", CFG)
    assert sig.units["pkg/net/session.py::Session.request"] == 1.5
    assert "name Session.request" in sig.found


def test_dotted_weight_comes_from_config(resolver):
    sig = resolver.resolve("pkg.mod.Klass.method", CFG.model_copy(update={"signal_dotted_weight": 4.0}))
    assert sig.units["pkg/mod.py::Klass.method"] == 4.0


def test_identifier_naming_a_definition(resolver):
    sig = resolver.resolve("getHTTPResponse returns garbage", CFG)
    assert sig.units["pkg/net/session.py::getHTTPResponse"] == pytest.approx(0.8)
    assert sig.files["pkg/net/session.py"] == pytest.approx(0.4)


def test_identifier_weight_comes_from_config(resolver):
    sig = resolver.resolve("parse_header is wrong", CFG.model_copy(update={"signal_identifier_weight": 2.0}))
    assert sig.units["pkg/text.py::parse_header"] == pytest.approx(2.0)
    zero = resolver.resolve("parse_header is wrong", CFG.model_copy(update={"signal_identifier_weight": 0.0}))
    assert units(zero) == {}


def test_identifier_naming_a_module_stem(resolver):
    sig = resolver.resolve("the storage layer loses data", CFG)
    assert sig.files["pkg/storage.py"] == pytest.approx(0.4)


def test_too_common_identifiers_are_ignored():
    many = [unit(f"m{i}.py", "__init__", 1, 2, "method") for i in range(4)]
    resolver = SignalResolver(many, [f"m{i}.py" for i in range(4)])
    assert units(resolver.resolve("__init__ fails", CFG)) != {}
    assert units(resolver.resolve("__init__ fails", CFG.model_copy(update={"identifier_max_defs": 3}))) == {}


def test_shared_identifier_weight_is_split():
    two = [unit("a.py", "handle", 1, 2), unit("b.py", "handle", 1, 2)]
    sig = SignalResolver(two, ["a.py", "b.py"]).resolve("handle breaks", CFG)
    assert sig.units["a.py::handle"] == pytest.approx(0.8 / 2**0.5)
    assert sig.units["b.py::handle"] == pytest.approx(0.8 / 2**0.5)


def test_strongest_signal_wins_per_file(resolver):
    issue = 'see pkg/mod.py\nFile "/x/pkg/mod.py", line 3, in func\nand pkg.mod'
    sig = resolver.resolve(issue, CFG)
    assert sig.files["pkg/mod.py"] == 3.0  # max, not sum


def test_unrelated_issue_has_no_signals(resolver):
    sig = resolver.resolve("The colour of the button is off by one shade", CFG)
    assert files(sig) == {} and units(sig) == {} and sig.found == []


def test_frame_in_module_code_counts_the_file(resolver):
    sig = resolver.resolve('File "/x/pkg/mod.py", line 1, in <module>', CFG)
    assert sig.files["pkg/mod.py"] == 2.0
    assert not any(uid.endswith("::func") or "Klass" in uid for uid in units(sig))


def test_innermost_traceback_frame_weighs_most(resolver):
    cfg = CFG.model_copy(update={"traceback_outer_share": 0.25})
    issue = (
        "Traceback (most recent call last):\n"
        '  File "/app/src/tool/cli.py", line 2, in main\n'
        '  File "/app/pkg/net/session.py", line 2, in request\n'
        '  File "/app/pkg/mod.py", line 15, in func\n'
        "ValueError: bad"
    )
    sig = resolver.resolve(issue, cfg)
    assert sig.files["pkg/mod.py"] == pytest.approx(2.0)
    assert sig.files["pkg/net/session.py"] == pytest.approx(2.0 * (0.25 + 0.75 * 0.5))
    assert sig.files["src/tool/cli.py"] == pytest.approx(2.0 * 0.25)
    assert sig.units["pkg/mod.py::func"] > sig.units["pkg/net/session.py::Session.request"]


def test_ipython_frames_count_as_a_traceback(resolver):
    cfg = CFG.model_copy(update={"traceback_outer_share": 0.25})
    issue = (
        "ValueError                                Traceback (most recent call last)\n"
        "<ipython-input-3-46dd21e9c95a> in <module>\n"
        "----> 1 main()\n\n"
        "~/envs/py3.9/lib/python3.9/site-packages/src/tool/cli.py in main()\n"
        "      1 def main():\n"
        "----> 2     return request()\n\n"
        "/Users/me/pkg/mod.py in other(self, key)\n"
        "     10     def other(self, key):\n"
        "---> 11         raise ValueError(key)\n"
    )
    sig = resolver.resolve(issue, cfg)
    assert sig.files["pkg/mod.py"] == pytest.approx(2.0)  # innermost
    assert sig.files["src/tool/cli.py"] == pytest.approx(2.0 * 0.25)
    assert sig.units["pkg/mod.py::Klass.other"] == pytest.approx(2.0)
    assert "traceback frame pkg/mod.py:11" in sig.found
    # IPython 8 writes the line after the path.
    sig = resolver.resolve("Traceback (most recent call last)\nFile ~/site-packages/pkg/mod.py:8, in <lambda>(x)\n", cfg)
    assert units(sig) == {"pkg/mod.py::Klass.method": 2.0}
    # ... and a method with its class.
    sig = resolver.resolve("Traceback (most recent call last)\nFile ~/site-packages/pkg/mod.py:11, in Klass.other(self, key)\n", cfg)
    assert sig.units["pkg/mod.py::Klass.other"] == pytest.approx(2.0)
    # A file without a folder, in prose, is no frame.
    found = resolver.resolve("mod.py in other(1) fails when run twice", cfg).found
    assert found and not any(f.startswith("traceback") for f in found)  # the path signal's, not a frame's


def test_frame_name_shared_by_several_units_takes_the_one_at_the_line():
    units_ = [unit("pkg/opts.py", "Gens", 1, 5, "class"), unit("pkg/opts.py", "Gens.preprocess", 3, 5, "method"),
              unit("pkg/opts.py", "Domain", 7, 12, "class"), unit("pkg/opts.py", "Domain.preprocess", 9, 12, "method")]
    resolver_ = SignalResolver(units_, ["pkg/opts.py"])
    cfg = CFG.model_copy(update={"signal_identifier_weight": 0.0})
    sig = resolver_.resolve('File "/x/pkg/opts.py", line 11, in preprocess\n', cfg)
    assert units(sig) == {"pkg/opts.py::Domain.preprocess": 2.0}
    # A line in neither (the issue's version differs): both, as before.
    sig = resolver_.resolve('File "/x/pkg/opts.py", line 40, in preprocess\n', cfg)
    assert set(units(sig)) == {"pkg/opts.py::Gens.preprocess", "pkg/opts.py::Domain.preprocess"}


def test_frame_without_matching_name_falls_back_to_the_line(resolver):
    sig = resolver.resolve('File "pkg/mod.py", line 8, in <lambda>\n', CFG)
    assert units(sig) == {"pkg/mod.py::Klass.method": 2.0}


def message_resolver() -> SignalResolver:
    sources = {
        "pkg/geo.py": "def point(x):\n    if x.imag:\n        raise ValueError('Imaginary coordinates are not permitted.')\n",
        "pkg/other.py": "def other():\n    return 'nothing to see'\n",
    }
    units_ = [unit("pkg/geo.py", "point", 1, 3), unit("pkg/other.py", "other", 1, 2)]
    return SignalResolver(units_, sorted(sources), sources)


def test_error_message_found_in_source_points_at_raising_unit():
    issue = "Calling it fails:\nValueError: Imaginary coordinates are not permitted.\n"
    sig = message_resolver().resolve(issue, CFG.model_copy(update={"signal_message_weight": 1.25}))
    assert sig.files["pkg/geo.py"] == 1.25
    assert sig.units["pkg/geo.py::point"] == 1.25
    assert "pkg/other.py" not in files(sig)


def test_error_message_signal_off_by_config():
    issue = "ValueError: Imaginary coordinates are not permitted.\n"
    sig = message_resolver().resolve(issue, CFG.model_copy(update={"signal_message_weight": 0.0}))
    assert "pkg/geo.py::point" not in units(sig)


def test_short_message_pieces_are_not_searched():
    # 'nothing to see' is 14 characters: below a minimum of 20 it is not looked for.
    sig = message_resolver().resolve("RuntimeError: nothing to see\n", CFG.model_copy(update={"message_min_chars": 20}))
    assert "pkg/other.py" not in files(sig)
    sig = message_resolver().resolve("RuntimeError: nothing to see\n", CFG.model_copy(update={"message_min_chars": 10}))
    assert "pkg/other.py" in files(sig)


def test_class_named_in_issue_points_at_its_dispatch_handlers():
    units_ = [
        unit("printing/pretty.py", "PrettyPrinter", 1, 20, "class"),
        unit("printing/pretty.py", "PrettyPrinter._print_Product", 2, 5, "method"),
        unit("printing/pretty.py", "PrettyPrinter._print_Sum", 6, 9, "method"),
        unit("concrete/products.py", "Product", 1, 30, "class"),
    ]
    resolver_ = SignalResolver(units_, ["concrete/products.py", "printing/pretty.py"])
    cfg = CFG.model_copy(update={"signal_dispatch_weight": 0.7})
    sig = resolver_.resolve("Product pretty print could be improved", cfg)
    assert sig.units["printing/pretty.py::PrettyPrinter._print_Product"] == pytest.approx(0.7)
    assert "printing/pretty.py::PrettyPrinter._print_Sum" not in units(sig)
    sig = resolver_.resolve("Product pretty print could be improved", cfg.model_copy(update={"signal_dispatch_weight": 0.0}))
    assert "printing/pretty.py::PrettyPrinter._print_Product" not in units(sig)


def test_command_line_flag_points_at_where_it_is_defined():
    sources = {
        "tool/main.py": "def options(parser):\n    parser.addoption('--collect-only', action='store_true')\n",
        "tool/other.py": "def run():\n    print('use --collect-only to list')\n",
    }
    units_ = [unit("tool/main.py", "options", 1, 2), unit("tool/other.py", "run", 1, 2)]
    resolver_ = SignalResolver(units_, sorted(sources), sources)
    sig = resolver_.resolve("pytest --collect-only needs a shortcut", CFG.model_copy(update={"signal_message_weight": 1.5}))
    assert sig.units["tool/main.py::options"] == 1.5
    assert "tool/other.py" not in files(sig)  # mentioned in prose there, not defined


def test_subcommand_the_issue_runs_points_at_where_it_is_registered():
    sources = {
        "tool/cli.py": "import click\n\n@click.command('routes')\ndef routes_command():\n    pass\n",
        "tool/app.py": "def add_url_rule(rule):\n    return 'routes'\n",
        "tool/git.py": "def clone():\n    return 'clone'\n",
    }
    units_ = [unit("tool/cli.py", "routes_command", 3, 5), unit("tool/app.py", "add_url_rule", 1, 2), unit("tool/git.py", "clone", 1, 2)]
    resolver_ = SignalResolver(units_, sorted(sources), sources)
    cfg = CFG.model_copy(update={"signal_message_weight": 1.5, "signal_identifier_weight": 0.0})
    sig = resolver_.resolve("Routes should show subdomains\n\n```\n$ tool routes\nEndpoint  Rule\n```", cfg)
    # Two files quote the word: each place gets 1.5 / sqrt(2).
    assert sig.units["tool/cli.py::routes_command"] == pytest.approx(1.5 / 2**0.5)
    # The program must be the repository's own; a path or a file after it is not a subcommand.
    assert not units(resolver_.resolve("$ git clone\n$ tool ./clone\n", cfg))
    # A shell-tagged block needs no prompt; `python -m tool` runs the repository's program too.
    assert "tool/git.py::clone" in units(resolver_.resolve("```shell\npython -m tool clone --verbose\n```", cfg))
    assert "tool/git.py::clone" not in units(resolver_.resolve("```python\ntool clone\n```", cfg))



def test_a_root_index_js_is_no_program_and_a_windows_path_names_its_own():
    sources = {"index.js": "module.exports = require('./lib/app')\n", "lib/router.js": "function route() {\n  return 'router'\n}\n"}
    units_ = [unit("lib/router.js", "route", 1, 3)]
    resolver_ = SignalResolver(units_, sorted(sources), sources)
    assert "" not in resolver_.top_modules
    cfg = CFG.model_copy(update={"signal_message_weight": 1.5, "signal_identifier_weight": 0.0})
    assert not units(resolver_.resolve("$ .\\node_modules\\.bin\\mocha router\n", cfg))
    assert units(resolver_.resolve("$ .\\bin\\lib router\n", cfg)) == {"lib/router.js::route": 1.5}


def code_line_resolver() -> SignalResolver:
    sources = {
        "pkg/sessions.py": "class Session:\n    def request(self, method):\n        method = builtin_str(method)\n        return method\n",
        "pkg/compat.py": "def builtin_str(x):\n    # method = builtin_str(method) would be wrong here\n    return str(x)\n",
        "pkg/entry.py": "def main():\n    method = builtin_str(method)\n",
    }
    units_ = [unit("pkg/sessions.py", "Session", 1, 4, "class"), unit("pkg/sessions.py", "Session.request", 2, 4, "method"),
              unit("pkg/compat.py", "builtin_str", 1, 3), unit("pkg/entry.py", "main", 1, 2)]
    return SignalResolver(units_, sorted(sources), sources)


# The other signals off, so that every bonus is the code line's.
CODE_CFG = CFG.model_copy(update={"signal_code_line_weight": 2.0, "code_line_min_chars": 16, "code_lines_max": 40, "signal_file_share": 0.5,
                                  "signal_identifier_weight": 0.0, "signal_dispatch_weight": 0.0, "signal_message_weight": 0.0})


def test_quoted_code_line_points_at_the_units_holding_it():
    issue = "In the sessions module there is a command:\n\n    >>> method = builtin_str(method)\n\nwhich turns b'GET' into a literal."
    sig = code_line_resolver().resolve(issue, CODE_CFG)
    # Two files hold the line on a line of its own (the comment in compat.py does not count): each gets 2 / sqrt(2).
    assert sig.units["pkg/sessions.py::Session.request"] == pytest.approx(2.0 / 2**0.5)
    assert sig.units["pkg/entry.py::main"] == pytest.approx(2.0 / 2**0.5)
    assert sig.files["pkg/sessions.py"] == pytest.approx(1.0 / 2**0.5)
    assert "pkg/compat.py::builtin_str" not in units(sig)


def test_quoted_code_line_off_by_config_or_too_short():
    issue = "`method = builtin_str(method)` is wrong"
    assert "pkg/entry.py::main" in units(code_line_resolver().resolve(issue, CODE_CFG))
    assert not units(code_line_resolver().resolve(issue, CODE_CFG.model_copy(update={"signal_code_line_weight": 0.0})))
    assert not units(code_line_resolver().resolve(issue, CODE_CFG.model_copy(update={"code_line_min_chars": 40})))
    assert not units(code_line_resolver().resolve(issue, CODE_CFG.model_copy(update={"code_lines_max": 0})))


def test_traceback_source_lines_are_left_to_the_frame_signal():
    issue = ('Traceback (most recent call last):\n  File "pkg/entry.py", line 2, in main\n'
             "    method = builtin_str(method)\nNameError: name 'method' is not defined\n")
    sig = code_line_resolver().resolve(issue, CODE_CFG.model_copy(update={"signal_traceback_weight": 0.5, "signal_message_weight": 0.0}))
    assert sig.units["pkg/entry.py::main"] == pytest.approx(0.5)  # the frame's weight, not the code line's
    assert "pkg/sessions.py::Session.request" not in units(sig)

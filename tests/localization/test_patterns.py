"""The code's regular expressions, read from Python's `re` calls and JavaScript's literals, matched
against the values an issue quotes; and the signal they give the unit or file that holds them."""

from __future__ import annotations

import pytest

from localization.config import RetrievalConfig
from localization.languages import JAVASCRIPT, PYTHON
from localization.models import Unit
from localization.patterns import matching, ordinary_words, quoted_values, repo_patterns
from localization.signals import SignalResolver

CFG = RetrievalConfig(signal_pattern_weight=1.5, pattern_value_min_chars=4, identifier_max_defs=8)

CONSTANT_JS = (
    "export const FORMAT_DEFAULT = 'YYYY-MM-DDTHH:mm:ssZ'\n"
    # dayjs before 1.9.7: `.?` reads the `+` of an offset as the milliseconds' point
    "export const REGEX_PARSE = /^(\\d{4})[-/]?(\\d{1,2})?[-/]?(\\d{0,2})[^0-9]*(\\d{1,2})?:?(\\d{1,2})?:?(\\d{1,2})?.?(\\d+)?$/\n"
    "export const ratio = width / height / 2\n"
)


def test_python_patterns_are_the_string_literals_re_takes():
    src = ('VERSION = re.compile(r"^(\\d+)\\.(\\d+)$", re.I)\n'
           "def split(s):\n    return re.split('\\\\s*,\\\\s*', s)\n"
           "LABEL = 're.compile(not a call)'\n")
    found = PYTHON.patterns(src)
    assert [(p, f) for _, p, f in found] == [("^(\\d+)\\.(\\d+)$", "i"), ("\\s*,\\s*", "")]
    assert src[found[0][0]:].startswith('r"^(')  # the offset is where the pattern is written


def test_javascript_patterns_are_regex_literals_not_divisions():
    src = CONSTANT_JS + "function words(s) {\n  return s.match(/[A-Z][a-z]+/gi)\n}\n"
    found = JAVASCRIPT.patterns(src)
    assert [p for _, p, _ in found] == [
        "^(\\d{4})[-/]?(\\d{1,2})?[-/]?(\\d{0,2})[^0-9]*(\\d{1,2})?:?(\\d{1,2})?:?(\\d{1,2})?.?(\\d+)?$", "[A-Z][a-z]+"]
    assert found[1][2] == "ia"  # ignore-case; no `u` flag, so \\d and \\w are ASCII-only


def test_patterns_that_read_any_text_or_cannot_be_read_are_left_out():
    sources = {"a.js": "const any = /.*/\nconst word = /\\w+/\nconst bad = /(?<=a+)b[/\nconst iso = /^\\d{4}-\\d{2}$/\n"}
    assert [p.compiled.pattern for p in repo_patterns(sources)] == ["^\\d{4}-\\d{2}$"]


def test_a_pattern_matches_a_value_whole_and_a_runaway_one_is_cut_short():
    sources = {"a.py": "A = re.compile(r'\\d{4}-\\d{2}')\nB = re.compile(r'^(a|aa)+$')\n"}
    patterns = repo_patterns(sources)
    assert {v: [p.offset for p in ps] for v, ps in matching(patterns, {"2020-12"}).items()} == {"2020-12": [patterns[0].offset]}
    assert matching(patterns, {"x 2020-12 y"}) == {}  # found inside is not read whole
    assert matching(patterns, {"a" * 60 + "b"}) == {}  # backtracks past the time limit: skipped, not hung


def test_quoted_values_keep_their_length_bounds():
    issue = "dayjs.utc('2020-12-01T09:00:00+0900') gives \"wrong\" and 'en' is fine"
    assert quoted_values(issue, 4) == {"2020-12-01T09:00:00+0900", "wrong"}
    assert quoted_values(issue, 6) == {"2020-12-01T09:00:00+0900"}


def resolver() -> SignalResolver:
    sources = {"src/constant.js": CONSTANT_JS,
               "src/index.js": "const parseDate = (cfg) => {\n  return cfg.date\n}\n"}
    units = [Unit(path="src/index.js", name="parseDate", kind="function", start_line=1, end_line=3)]
    return SignalResolver(units, sorted(sources), sources)


def test_a_quoted_value_the_code_parses_points_at_its_pattern():
    issue = "`dayjs.utc('2020-12-01T09:00:00+0900').toDate()` ignores the offset"
    sig = resolver().resolve(issue, CFG)
    # The pattern is a top-level binding, no unit: its file takes the whole weight, as a message's does.
    assert sig.files == {"src/constant.js": 1.5}
    assert any(f.startswith("pattern '^(\\\\d{4})") for f in sig.found)


@pytest.mark.parametrize("issue, update", [
    ("`dayjs.utc('2020-12-01T09:00:00+0900')` ignores the offset", {"signal_pattern_weight": 0.0}),
    ("`dayjs.utc('12:xx')` is wrong", {}),  # quoted, not one of the issue's words, but no pattern of the code reads it
])
def test_no_pattern_signal_when_off_or_unmatched(issue, update):
    assert resolver().resolve(issue, CFG.model_copy(update=update)).files == {}


def test_a_pattern_inside_a_function_points_at_the_function():
    sources = {"pkg/version.py": "import re\n\ndef parse_version(text):\n    m = re.match(r'^v?(\\d+)\\.(\\d+)(rc\\d+)?$', text)\n    return m\n"}
    units = [Unit(path="pkg/version.py", name="parse_version", kind="function", start_line=3, end_line=5)]
    sig = SignalResolver(units, sorted(sources), sources).resolve('parse_version("v1.2rc3") fails', CFG)
    assert dict(sig.units) == {"pkg/version.py::parse_version": 1.5}
    assert sig.files == {"pkg/version.py": 1.5}


def test_a_pattern_that_reads_the_issues_own_words_says_nothing():
    sources = {"a.py": "C = re.compile(r'c.*')\nISO = re.compile(r'\\d{4}-\\d{2}')\n"}
    patterns = repo_patterns(sources)
    found = matching(patterns, {"cols", "2020-12"}, ordinary_words("cython fails"))
    assert {v: [p.compiled.pattern for p in ps] for v, ps in found.items()} == {"2020-12": ["\\d{4}-\\d{2}"]}
    assert quoted_values("run it on 'sympy/core/basic.py' with '2020-12'", 4) == {"2020-12"}


def test_prose_apostrophes_do_not_open_a_quote_and_values_are_credited_one_by_one():
    issue = "It's wrong: dayjs.utc('2020-12-01T09:00:00+0900') drops the offset, and doesn't read '1000' either"
    assert quoted_values(issue, 4) == {"2020-12-01T09:00:00+0900", "1000"}
    sources = {"src/constant.js": CONSTANT_JS, "src/parse.js": "const four = /\\d{4}/\nconst signed = /[+-]?\\d{2,}/\n"}
    sig = SignalResolver([], sorted(sources), sources).resolve(issue, CFG)
    # '1000' is read by three patterns (parse.js's two and the date's, all of whose parts past the year are
    # optional): each gets 1.5 / sqrt(3); the date's pattern keeps the whole weight the date gives it.
    assert sig.files["src/constant.js"] == 1.5
    assert sig.files["src/parse.js"] == pytest.approx(1.5 / 3 ** 0.5)


def test_pattern_flags_and_whole_literals_only():
    src = ('A = re.compile(r"^(\\d+)" r"\\.(\\d+)$")\n'
           "B = re.compile('[^%s]' % chars)\n"
           'C = re.compile(r"abc", re.M | re.I)\n'
           "D = re.compile(r'x', flags=re.IGNORECASE)\n")
    assert [(p, f) for _, p, f in PYTHON.patterns(src)] == [("abc", "i"), ("x", "i")]
    js = JAVASCRIPT.patterns("const f = s => /^[a-z]+$/.test(s)\nconst g = /\\w+/u\n")
    assert [(p, f) for _, p, f in js] == [("^[a-z]+$", "a"), ("\\w+", "")]


def test_a_pattern_too_deep_to_compile_is_skipped_not_raised():
    deep = "(" * 1000 + "a" + ")" * 1000
    assert repo_patterns({"a.js": f"const deep = /{deep}/\nconst iso = /^\\d{{4}}-\\d{{2}}$/\n"})[-1].compiled.pattern == "^\\d{4}-\\d{2}$"

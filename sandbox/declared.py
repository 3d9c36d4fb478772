"""What a repository declares its tests need beyond its dependencies and test extras: setuptools'
`tests_require`, the unconditional `deps` of tox's test environment, and the pytest plugins its
pytest configuration names (`required_plugins`) or uses (an `addopts` option, a `-p NAME` or a
setting that only a plugin knows: `--cov` is pytest-cov's). Without them pytest stops before any
test (`unrecognized arguments: --cov`)."""

from __future__ import annotations

import ast
import configparser
import re
import shlex

# Where each pytest configuration file keeps its ini-style section.
_INI_SECTIONS = (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest"))


def read_cfg(text: str | None) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text or "")
    except configparser.Error:
        pass
    return parser


def cfg_lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip() and not line.strip().startswith("#")]


def tests_require(setup_py: str | None, setup_cfg: str | None) -> list[str]:
    """setuptools' `tests_require`: the literal list of setup.py, or setup.cfg's `[options]`."""
    found: list[str] = []
    if setup_py:
        match = re.search(r"tests_require\s*=\s*(\[[^\]]*\])", setup_py)
        if match:
            try:
                value = ast.literal_eval(match.group(1))
                found += [v for v in value if isinstance(v, str)]
            except (ValueError, SyntaxError):
                pass  # built from variables: not read
    cfg = read_cfg(setup_cfg)
    if cfg.has_option("options", "tests_require"):
        found += cfg_lines(cfg.get("options", "tests_require"))
    return found


def tox_deps(tox_ini: str | None) -> list[str]:
    """The `deps` of tox's `[testenv]` that hold in every environment and name a release: no
    factor condition (`py38: x`), no substitution (`{[base]deps}`), no option line (`-r`, `-e`),
    no path (`examples/tutorial[test]`) or URL (`git+https://...`)."""
    cfg = read_cfg(tox_ini)
    if not cfg.has_option("testenv", "deps"):
        return []
    deps = [d.split(" #")[0].strip() for d in cfg_lines(cfg.get("testenv", "deps"))]
    return [d for d in deps if d and not d.startswith(("-", ".", "/")) and "{" not in d and "://" not in d
            and "/" not in d.split("[")[0] and not re.match(r"^[\w.,!-]+\s*:\s", d)]


def pytest_settings(texts: dict[str, str | None], pyproject: dict) -> dict[str, str]:
    """The pytest settings of the first file that holds them, as pytest picks: pytest.ini, then
    pyproject.toml's [tool.pytest.ini_options], tox.ini's [pytest], setup.cfg's [tool:pytest]."""
    order = [_INI_SECTIONS[0], ("pyproject.toml", None), *_INI_SECTIONS[1:]]
    for path, section in order:
        if section is None:
            options = pyproject.get("tool", {}).get("pytest", {}).get("ini_options") if isinstance(pyproject.get("tool"), dict) else None
            if isinstance(options, dict):
                return {k: " ".join(map(str, v)) if isinstance(v, list) else str(v) for k, v in options.items()}
            continue
        cfg = read_cfg(texts.get(path))
        if cfg.has_section(section):
            return dict(cfg.items(section))
    return {}


def plugins_used(settings: dict[str, str], plugin_of: dict[str, str]) -> list[str]:
    """The plugins the settings ask for: `required_plugins`, and those `plugin_of` names for an
    option of `addopts` (`--cov`, and `--cov-report` of the same family), a `-p NAME`, or a
    setting of their own."""
    found = list(settings.get("required_plugins", "").split())
    try:
        words = shlex.split(settings.get("addopts", ""))
    except ValueError:
        words = settings.get("addopts", "").split()
    for i, word in enumerate(words):
        if word == "-p" and i + 1 < len(words):
            word = f"-p {words[i + 1]}"
        elif word.startswith("-p") and len(word) > 2 and not word.startswith("--"):
            word = f"-p {word[2:]}"
        option = word.split("=")[0]
        for key, plugin in plugin_of.items():
            if option == key or (key.startswith("--") and option.startswith(key + "-")):
                found.append(plugin)
    found += [plugin for key, plugin in plugin_of.items() if not key.startswith("-") and key in settings]
    return list(dict.fromkeys(found))


def declared_needs(texts: dict[str, str | None], pyproject: dict, plugin_of: dict[str, str]) -> list[str]:
    """Everything above, in order, once each; `texts`: setup.py, setup.cfg, tox.ini, pytest.ini."""
    found = tests_require(texts.get("setup.py"), texts.get("setup.cfg")) + tox_deps(texts.get("tox.ini"))
    found += plugins_used(pytest_settings(texts, pyproject), plugin_of)
    return list(dict.fromkeys(found))

"""What a repository declares its tests need beyond its dependencies and test extras: setuptools'
`tests_require`, the unconditional `deps` of tox's test environment, the test and dev groups of
its build tool (poetry, pdm, hatch, flit), and the pytest plugins its
pytest configuration names (`required_plugins`) or uses (an `addopts` option, a `-p NAME` or a
setting that only a plugin knows: `--cov` is pytest-cov's). Without them pytest stops before any
test (`unrecognized arguments: --cov`)."""

from __future__ import annotations

import ast
import configparser
import re
import shlex

from packaging.requirements import InvalidRequirement, Requirement

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
    try:
        tree = ast.parse(setup_py or "")
    except (SyntaxError, ValueError):
        tree = ast.Module(body=[], type_ignores=[])
    for node in ast.walk(tree):
        for keyword in getattr(node, "keywords", []) if isinstance(node, ast.Call) else []:
            if keyword.arg == "tests_require":
                try:
                    value = ast.literal_eval(keyword.value)
                except ValueError:
                    continue  # built from variables: not read
                found += [v for v in value if isinstance(v, str)] if isinstance(value, (list, tuple)) else []
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


def _poetry_spec(name: str, value: object) -> str | None:
    """A poetry dependency as a requirement (`^1.2` is `>=1.2,<2.0`; `~1.2` is `>=1.2,<1.3`;
    `1.2.*` is `==1.2.*`), its markers kept; the bare name for a version pip cannot read (`^1 ||
    ^2`); None for what names no release (a path, a git repository)."""
    extras, marker = "", ""
    if isinstance(value, dict):
        if not isinstance(value.get("version"), str):
            return None
        extras = f"[{','.join(value['extras'])}]" if isinstance(value.get("extras"), list) and value["extras"] else ""
        marker = f"; {value['markers']}" if isinstance(value.get("markers"), str) else ""
        value = value["version"]
    if not isinstance(value, str):
        return None
    spec = value.strip()
    caret = re.fullmatch(r"\^(\d+)(?:\.(\d+))?(?:\.(\d+))?", spec)
    tilde = re.fullmatch(r"~(\d+)(?:\.(\d+))?(?:\.(\d+))?", spec)
    if caret:
        given = [int(p) for p in caret.groups() if p is not None]
        parts = given + [0] * (3 - len(given))
        # The first part that is not 0 is held (^0.2.3: 0.2.x); if all given are 0, the last given (^0: 0.x, ^0.0: 0.0.x).
        first = next((i for i, p in enumerate(given) if p), len(given) - 1)
        upper = parts[:first] + [parts[first] + 1] + [0] * (len(parts) - first - 1)
        spec = f">={'.'.join(map(str, parts))},<{'.'.join(map(str, upper))}"
    elif tilde:
        parts = [int(p) if p else 0 for p in tilde.groups()]
        given = sum(p is not None for p in tilde.groups())
        upper = [parts[0] + 1, 0] if given == 1 else [parts[0], parts[1] + 1]
        spec = f">={'.'.join(map(str, parts))},<{'.'.join(map(str, upper))}"
    elif spec in ("*", ""):
        spec = ""
    elif re.fullmatch(r"\d[\w.]*(\.\*)?", spec):
        spec = f"=={spec}"
    return _valid(f"{name}{extras}{spec}{marker}") or _valid(f"{name}{extras}{marker}")


def _valid(text: str) -> str | None:
    """`text` if pip can read it as a requirement that names a release (no path, URL or template)."""
    try:
        req = Requirement(text)
    except InvalidRequirement:
        return None
    return None if req.url or "{" in text else text


def tool_groups(pyproject: dict, groups: list[str]) -> list[str]:
    """The requirements of the build tool's groups named `groups` (test, dev, ...): poetry's
    `group.NAME.dependencies` and `dev-dependencies`, pdm's `dev-dependencies`, hatch's default
    and NAME environments, flit's `requires-extra`."""
    tool = pyproject.get("tool") if isinstance(pyproject.get("tool"), dict) else {}
    found: list[str] = []
    poetry = tool.get("poetry") if isinstance(tool.get("poetry"), dict) else {}
    tables = [poetry.get("dev-dependencies")] + [(poetry.get("group") or {}).get(g, {}).get("dependencies") for g in groups]
    for table in tables:
        if isinstance(table, dict):
            found += [r for n, v in table.items() if n != "python" and (r := _poetry_spec(n, v))]
    pdm = (tool.get("pdm") or {}).get("dev-dependencies") if isinstance(tool.get("pdm"), dict) else None
    hatch = (tool.get("hatch") or {}).get("envs") if isinstance(tool.get("hatch"), dict) else None
    flit = ((tool.get("flit") or {}).get("metadata") or {}).get("requires-extra") if isinstance(tool.get("flit"), dict) else None
    for table, keys, field in ((pdm, groups, None), (hatch, ["default", *groups], "dependencies"), (flit, groups, None)):
        if not isinstance(table, dict):
            continue
        for key in keys:
            value = table.get(key)
            value = value.get(field) if field and isinstance(value, dict) else value
            if isinstance(value, list):
                found += [v for v in value if isinstance(v, str) and _valid(v)]
    return found


def pytest_settings(texts: dict[str, str | None], pyproject: dict) -> dict[str, str]:
    """The pytest settings of the first file that holds them, as pytest picks: pytest.ini, then
    pyproject.toml's [tool.pytest.ini_options] (or pytest 9's [tool.pytest] itself), tox.ini's
    [pytest], setup.cfg's [tool:pytest]."""
    order = [_INI_SECTIONS[0], ("pyproject.toml", None), *_INI_SECTIONS[1:]]
    for path, section in order:
        if section is None:
            table = pyproject.get("tool", {}).get("pytest") if isinstance(pyproject.get("tool"), dict) else None
            options = table.get("ini_options", table) if isinstance(table, dict) else None
            if isinstance(options, dict) and options:
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
            family = key.startswith("--") and option.startswith(key + "-")
            attached = len(key) == 2 and key[0] == "-" and key[1] != "-" and option.startswith(key)  # -n4, -nauto
            if option == key or family or attached:
                found.append(plugin)
    present = {k.lower() for k in settings}  # configparser lowercases the names of ini files
    found += [plugin for key, plugin in plugin_of.items() if not key.startswith("-") and key.lower() in present]
    return list(dict.fromkeys(found))


def declared_needs(texts: dict[str, str | None], pyproject: dict, plugin_of: dict[str, str], groups: list[str] = ()) -> list[str]:
    """Everything above, in order, once each; `texts`: setup.py, setup.cfg, tox.ini, pytest.ini;
    `groups`: the names of test and dev groups."""
    found = tests_require(texts.get("setup.py"), texts.get("setup.cfg")) + tox_deps(texts.get("tox.ini"))
    found += tool_groups(pyproject, list(groups))
    found += plugins_used(pytest_settings(texts, pyproject), plugin_of)
    return list(dict.fromkeys(r for r in found if _valid(r)))


def submodules(gitmodules: str | None) -> list[str]:
    """The paths of the git submodules a `.gitmodules` declares."""
    cfg = read_cfg(gitmodules)
    return [cfg.get(section, "path") for section in cfg.sections() if section.startswith("submodule") and cfg.has_option(section, "path")]


# Build requirements that compile native code as the package is built.
_NATIVE_BUILDERS = ("scikit-build", "scikit-build-core", "meson-python", "maturin", "setuptools-rust", "cython", "cffi", "pybind11")


def native_build(setup_py: str | None, pyproject: dict) -> str | None:
    """Why installing the tree compiles native code (C extensions), or None: a setup.py that
    defines extension modules, or a build requirement that compiles."""
    if setup_py and re.search(r"\b(ext_modules|Extension)\s*[=(]", setup_py):
        return "setup.py defines extension modules"
    system = pyproject.get("build-system", {})
    for requirement in system.get("requires", []) if isinstance(system, dict) else []:
        try:
            name = Requirement(str(requirement)).name.lower().replace("_", "-")
        except InvalidRequirement:
            continue
        if name in _NATIVE_BUILDERS:
            return f"its build requires {name}"
    return None

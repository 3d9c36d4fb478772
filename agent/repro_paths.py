"""Where a Node package's reproduction test goes, so that the runs its own scripts make find it,
and how its results are known: by its file for runners whose results name one (jest, vitest,
Node's own, node-tap); for mocha and tape, whose results name no file, by a title its tests'
titles start with (mocha's: the one `describe` block it must hold)."""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Callable

import yaml

from sandbox.recipes import EnvRecipe
from sandbox.selection import SCRIPT_FILE, SCRIPT_TEST, SCRIPT_TEST_FOLDERS

FILE_RUNNERS = ("jest", "vitest", "node", "tap")  # their results name each test's file: a kept test is known by it
FOLDER_RUNNERS = ("node", "tap")  # ... and they run any script in a test folder, whatever its name
TITLE_RUNNERS = ("mocha", "tape")  # their results name no file: a kept test is known by a title its own starts with
# mocha's options that take a value: what follows them is no spec (`--spec`'s value is one)
_MOCHA_VALUED = {"--require", "-r", "--reporter", "-R", "--reporter-option", "--reporter-options", "-O", "--ui", "-u",
                 "--timeout", "-t", "--slow", "-s", "--grep", "-g", "--fgrep", "-f", "--file", "--config", "--package",
                 "--extension", "--ignore", "--exclude", "--retries", "--jobs", "-j", "--node-option", "-n", "--globals",
                 "--compilers", "--opts", "--watch-files", "--watch-ignore", "--global", "--loader"}
_MOCHA_SCRIPT = re.compile(r"\.[cm]?js$")  # what mocha loads without a compiler
_WILD = re.compile(r"[*?[{]")


@dataclass(frozen=True)
class ReproSpot:
    path: str  # where the test is written
    runner: str
    siblings: list[str] = field(default_factory=list)  # the package's own tests beside it, one shown to the model
    suite: str = ""  # mocha's: the describe block its tests are known by ("": by their file)


def _test_suffix(path: str) -> str:
    """`.test.js` of `a.test.js` (jest's naming, sandbox.selection.SCRIPT_TEST); "" for any other file."""
    found = SCRIPT_TEST.search(PurePosixPath(path).name)
    return found.group(0) if found and found.group(1) else ""


def _beside_file_tests(runners: list[str], files: list[str], stem: str) -> ReproSpot | str:
    suffixes = {f: _test_suffix(f) for f in files if "node_modules" not in f}
    tests = [f for f, suffix in suffixes.items() if suffix]
    if not tests and all(r in FOLDER_RUNNERS for r in runners):
        # Node's runner and node-tap take any script in a test folder (`test/parse.js`): named as those are
        tests = [f for f in suffixes if SCRIPT_FILE.search(f) and not f.endswith(".d.ts")
                 and set(PurePosixPath(f).parts[:-1]) & set(SCRIPT_TEST_FOLDERS)]
        suffixes = {f: PurePosixPath(f).suffix for f in tests}
    if not tests:
        return "the package has no .test or .spec file to put a reproduction test beside"
    folder = Counter(str(PurePosixPath(f).parent) for f in tests).most_common(1)[0][0]
    siblings = sorted(f for f in tests if str(PurePosixPath(f).parent) == folder)
    suffix = Counter(suffixes[f] for f in siblings).most_common(1)[0][0]
    return ReproSpot(str(PurePosixPath(folder) / (stem + suffix)), runners[0], siblings)


def _spec_path(spec: str) -> str:
    """A spec as the tree's paths are written (`./test/` -> test); "." is the top."""
    return spec.removeprefix("./").rstrip("/") or "."


def mocha_specs(args: list[str]) -> list[str]:
    """The files, folders and globs a mocha command names (its positional arguments and `--spec`'s);
    "." is the package's top."""
    out, skip = [], False
    for i, arg in enumerate(args):
        if skip:
            skip = False
            if args[i - 1] == "--spec":
                out.append(arg)
        elif arg in _MOCHA_VALUED or arg == "--spec":
            skip = True
        elif arg.startswith("--spec="):
            out.append(arg.split("=", 1)[1])
        elif not arg.startswith("-") and arg != "--":
            out.append(arg)
    return [_spec_path(s) for s in out if s.strip()]


def _spec_spot(spec: str, folders: set[str]) -> tuple[str, str] | None:
    """(folder, ending) of a file mocha's `spec` takes, directly in the folder it starts in: a
    folder's own, or a glob's whose middle is `**` and whose last part starts with `*`
    (`test/**/*.spec.js`: test, `.spec.js`); None where no such file is sure to be taken."""
    parts = spec.split("/")
    wild = next((i for i, part in enumerate(parts) if _WILD.search(part)), None)
    folder = "/".join(parts[:wild]) if wild is not None else spec
    if folder not in folders:
        return None
    if wild is None or parts[wild:] == ["**"]:
        return folder, ""
    ending = parts[-1][1:]
    if any(part != "**" for part in parts[wild:-1]) or not parts[-1].startswith("*") or _WILD.search(ending) \
            or not _MOCHA_SCRIPT.search(ending):
        return None
    return folder, ending


_RC = (".mocharc.cjs", ".mocharc.js", ".mocharc.yaml", ".mocharc.yml", ".mocharc.jsonc", ".mocharc.json")  # mocha's order


def _option(args: list[str], name: str) -> str | None:
    """The last value of `--name v` or `--name=v` (mocha takes the last)."""
    found = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            found = args[i + 1]
        elif arg.startswith(name + "="):
            found = arg.split("=", 1)[1]
    return found


def _specs_of(path: str, text: str, key: str | None = None) -> list[str]:
    """A configuration file's `spec` (under `key`, for package.json); none where it cannot be read."""
    try:
        if path.endswith((".yaml", ".yml")):
            config = yaml.safe_load(text)
        else:  # mocha strips comments from JSON: whole-line ones are dropped here
            config = json.loads("\n".join(line for line in text.splitlines() if not line.lstrip().startswith("//")))
    except (ValueError, yaml.YAMLError):
        return []
    if key is not None:
        config = config.get(key) if isinstance(config, dict) else None
    spec = config.get("spec") if isinstance(config, dict) else None
    specs = [spec] if isinstance(spec, str) else spec if isinstance(spec, list) else []
    return [_spec_path(s) for s in specs if isinstance(s, str) and s.strip()]


def _inside(path: str) -> bool:
    return not path.startswith("/") and ".." not in PurePosixPath(path).parts


def mocha_config_spec(args: list[str], read: Callable[[str], str | None]) -> list[str]:
    """The `spec` of mocha's configuration, as mocha reads it: the file `--config` names, else the
    first `.mocharc.*` in mocha's order, then `package.json`'s `mocha` (or `--package`'s), both
    together. A JavaScript configuration is not run: none is read where it is the one mocha takes."""
    out: list[str] = []
    if "--no-config" not in args:
        named = _option(args, "--config")
        for path in [named] if named else _RC:
            text = read(path.removeprefix("./")) if _inside(path) else None
            if text is None:
                continue
            if path.endswith((".js", ".cjs")):
                return []
            out += _specs_of(path, text)
            break
    package = _option(args, "--package") or "package.json"
    if "--no-package" not in args and _inside(package) and (text := read(package.removeprefix("./"))) is not None:
        out += _specs_of(package, text, "mocha")
    return list(dict.fromkeys(out))


def _in_spec(runner: str, args: list[str], files: list[str], stem: str, configured: list[str]) -> ReproSpot | str:
    """Directly in the first folder mocha is given (or that a glob of its starts in, with the end of
    its pattern: `test/**/*.spec.js` -> `test/supercoder_repro.spec.js`), on its command or in its
    configuration (`configured`), else in `test/`, mocha's own default. ("." is the top.) tape
    takes a folder as a module (its index.js): only its globs place a test."""
    tracked = [f for f in files if "node_modules" not in f]
    folders = {str(p) for f in tracked for p in PurePosixPath(f).parents}
    given = mocha_specs(args)  # (mocha's and tape's arguments alike: files and options)
    specs = [s for s in given if _WILD.search(s)] if runner == "tape" else [*given, *configured] or ["test"]  # mocha runs both
    for spec in specs:
        found = _spec_spot(spec, folders)
        if found is None:
            continue
        folder, ending = found
        scripts = [f for f in tracked if str(PurePosixPath(f).parent) == folder and _MOCHA_SCRIPT.search(f)]
        if not ending:
            ending = Counter(_MOCHA_SCRIPT.search(f).group(0) for f in scripts).most_common(1)[0][0] if scripts else ".js"
        path = str(PurePosixPath(folder) / f"{stem}{ending}")
        return ReproSpot(path, runner, sorted(f for f in scripts if f.endswith(ending)))
    return f"{runner}'s command names no {'folder' if runner == 'mocha' else 'file pattern'} of the package's to put a reproduction test in"


def node_repro_spot(recipe: EnvRecipe, files: list[str], repro_path: str, suite: str,
                    read: Callable[[str], str | None] = lambda path: None) -> ReproSpot | str:
    """Where a Node package's reproduction test goes (`files`: the tests its runners ran on the
    original tree, else its tracked files; `read`: a file of the package's, None if it has none),
    or why it has none. Every run must use one kind of runner: a file of one is no test of the
    other's."""
    runners = sorted({run.runner for run in recipe.node_runs})
    stem = PurePosixPath(repro_path).stem.removeprefix("test_")
    if runners and all(r in FILE_RUNNERS for r in runners):
        return _beside_file_tests(runners, files, stem)
    if len(runners) == 1 and runners[0] in TITLE_RUNNERS and suite:
        # One run that finds it is enough: its tests are known by their title, whichever run reports them.
        spots = [_in_spec(run.runner, run.args, files, stem, mocha_config_spec(run.args, read) if run.runner == "mocha" else [])
                 for run in recipe.node_runs]
        found = next((spot for spot in spots if not isinstance(spot, str)), spots[0])
        return found if isinstance(found, str) else replace(found, suite=suite)
    return ("a reproduction test needs one kind of runner, jest, vitest, node --test, tap, mocha or tape; "
            f"its runs use {', '.join(runners) or 'none'}")

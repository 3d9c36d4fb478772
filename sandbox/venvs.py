"""Environments for the `local` backend: a virtual environment per recipe on the host, built with
an interpreter of the Python the recipe asks for (a clear error when the host has none), kept in
the user cache under a hash of the recipe, and a throwaway child venv per sandbox that sees the
environment's packages through a `.pth` file, so that installing the repository under test
never changes the shared environment."""

from __future__ import annotations

import fcntl
import hashlib
import json
import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

from configs.files import cache_dir
from sandbox.base import SandboxError
from sandbox.config import SandboxConfig
from sandbox.local import LocalSandbox, install_or_raise
from sandbox.recipes import EnvPaths, EnvRecipe, env_script, install_script

VENV_SCHEMA = 1
_DONE = ".supercoder-complete"  # written last: a folder without it is a build that died, rebuilt


def _version_of(python: str) -> str | None:
    try:
        done = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def host_python(version: str, cfg: SandboxConfig) -> tuple[str, str]:
    """(interpreter, its version) for `version`, or its configured substitute; SandboxError if neither."""
    wanted = [version] + ([cfg.python_substitutes[version]] if version in cfg.python_substitutes else [])
    for v in wanted:
        candidate = cfg.local_pythons.get(v) or shutil.which(f"python{v}")
        if candidate and _version_of(candidate) == v:
            return candidate, v
    raise SandboxError(f"the local backend needs Python {' or '.join(wanted)}: none found (python{version} on PATH or "
                       f"sandbox.local_pythons); install it or use the docker backend")


def venv_root(cfg: SandboxConfig) -> Path:
    return cfg.local_venv_dir if cfg.local_venv_dir is not None else cache_dir() / "venvs"


def ensure_venv(recipe: EnvRecipe, cfg: SandboxConfig, rebuild: bool = False,
                progress: Callable[[str], None] = lambda _: None) -> EnvPaths:
    python, version = host_python(recipe.python, cfg)
    key = {"schema": VENV_SCHEMA, "recipe": recipe.model_dump(mode="json"), "python": str(Path(python).resolve()), "version": version}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
    root = venv_root(cfg) / f"{recipe.name}-{digest}"
    paths = EnvPaths(python=python, venv=str(root / "venv"), reqs=str(root / "reqs"), services=str(root / "services"))
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build per environment, whichever run asks first; the others wait
        if (root / _DONE).is_file() and not rebuild:
            return paths
        _build(recipe, root, paths, cfg, progress)
    return paths


def _build(recipe: EnvRecipe, root: Path, paths: EnvPaths, cfg: SandboxConfig, progress: Callable[[str], None]) -> None:
    progress(f"building the virtual environment {root}")
    shutil.rmtree(root, ignore_errors=True)  # venvs hold absolute paths: built in place, never moved
    (root / "reqs").mkdir(parents=True)
    for rel, text in recipe.files.items():
        (root / "reqs" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "reqs" / rel).write_text(text, encoding="utf-8")
    try:
        done = subprocess.run(["bash", "-c", env_script(recipe, paths, cfg.pip_spec, cfg.dated_pip_spec, cfg.pin_relax_years)], capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=cfg.build_timeout_s)
    except subprocess.TimeoutExpired:
        raise SandboxError(f"building the virtual environment {root} took longer than sandbox.build_timeout_s={cfg.build_timeout_s:.0f} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise SandboxError(f"building the virtual environment {root} failed (exit {done.returncode}):\n{tail}")
    (root / _DONE).write_text("complete\n")


def _purelib(python: str) -> str:
    done = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], capture_output=True, text=True)
    if done.returncode != 0:
        raise SandboxError(f"cannot ask {python} for its site-packages: {done.stderr.strip()[-200:]}")
    return done.stdout.strip()


def child_venv(env: EnvPaths, dest: Path) -> Path:
    """A venv at `dest` that sees `env`'s packages (pip included) and installs into itself."""
    made = subprocess.run([env.python, "-m", "venv", "--without-pip", str(dest)], capture_output=True, text=True)
    if made.returncode != 0:
        raise SandboxError(f"cannot make a virtual environment at {dest}: {made.stderr.strip()[-200:]}")
    # addsitedir, not a bare path: the environment's own .pth files (editable installs) count too.
    parent_lib = _purelib(f"{env.venv}/bin/python")
    Path(_purelib(str(dest / "bin" / "python")), "_supercoder_env.pth").write_text(f"import site; site.addsitedir({parent_lib!r})\n")
    # The environment's commands (pytest, ...) run by the child's interpreter, so that they see
    # what is installed into the child.
    parent = Path(env.venv, "bin")
    for script in parent.iterdir():
        target = dest / "bin" / script.name
        if target.exists() or not script.is_file():
            continue
        try:
            text = script.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # a binary
        first, _, rest = text.partition("\n")
        if first.startswith("#!") and str(parent) in first:
            target.write_text(f"#!{dest / 'bin' / 'python'}\n{rest}", encoding="utf-8")
            target.chmod(0o755)
    return dest


@contextmanager
def installed_sandbox(clone: Path, commit: str, cfg: SandboxConfig, recipe: EnvRecipe, install: list[str],
                      variables: dict[str, str] | None = None,
                      progress: Callable[[str], None] = lambda _: None) -> Iterator[tuple[LocalSandbox, EnvPaths]]:
    """A local sandbox of `clone` at `commit` with the repository installed (by `install`) into a
    child of the recipe's environment; with that environment's paths (its services live there)."""
    env = ensure_venv(recipe, cfg, progress=progress)
    with tempfile.TemporaryDirectory(prefix="supercoder-venv-") as scratch:
        venv = child_venv(env, Path(scratch) / "venv")
        with LocalSandbox(clone, commit, cfg, venv=venv) as sb:
            if install:
                install_or_raise(sb, install_script(str(venv), install, variables))
            yield sb, env

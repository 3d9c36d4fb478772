"""The local backend's environments: an interpreter of the wanted Python or a clear error, a
venv per recipe reused by hash (a build that died is rebuilt), and child venvs that see the
environment's packages and commands but install into themselves."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import load_settings
from sandbox.base import SandboxError
from sandbox.recipes import EnvRecipe
from sandbox.venvs import child_venv, ensure_venv, host_python

HOST = "%d.%d" % sys.version_info[:2]


def _cfg(tmp_path, *extra):
    return load_settings(None, [f"sandbox.local_venv_dir={tmp_path / 'venvs'}", *extra]).sandbox


def test_the_wanted_python_its_substitute_or_a_clear_error(tmp_path):
    cfg = _cfg(tmp_path, f'sandbox.local_pythons={{"{HOST}": "{sys.executable}"}}', f'sandbox.python_substitutes={{"2.9": "{HOST}"}}')
    assert host_python(HOST, cfg) == (sys.executable, HOST)
    assert host_python("2.9", cfg) == (sys.executable, HOST)
    with pytest.raises(SandboxError, match="needs Python 2.8"):
        host_python("2.8", cfg)
    lying = _cfg(tmp_path, f'sandbox.local_pythons={{"2.8": "{sys.executable}"}}')  # an interpreter of another version
    with pytest.raises(SandboxError, match="needs Python 2.8"):
        host_python("2.8", lying)


def test_a_venv_is_built_once_per_recipe_and_a_dead_build_is_redone(tmp_path):
    cfg = _cfg(tmp_path, f'sandbox.local_pythons={{"{HOST}": "{sys.executable}"}}')
    recipe = EnvRecipe(name="demo", python=HOST, files={"requirements.txt": "# nothing\n"})
    said = []
    first = ensure_venv(recipe, cfg, progress=said.append)
    assert Path(first.venv, "bin", "python").exists() and Path(first.reqs, "requirements.txt").read_text() == "# nothing\n"
    assert ensure_venv(recipe, cfg, progress=said.append) == first and len(said) == 1
    other = ensure_venv(recipe.model_copy(update={"files": {}}), cfg)
    assert other.venv != first.venv
    (Path(first.venv).parent / ".supercoder-complete").unlink()  # as if the build had been killed
    ensure_venv(recipe, cfg, progress=said.append)
    assert len(said) == 2


def test_a_child_venv_sees_the_environment_and_installs_into_itself(tmp_path):
    cfg = _cfg(tmp_path, f'sandbox.local_pythons={{"{HOST}": "{sys.executable}"}}')
    env = ensure_venv(EnvRecipe(name="demo", python=HOST), cfg)
    purelib = subprocess.run([f"{env.venv}/bin/python", "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "envmod.py").write_text("WHERE = 'env'\n")
    tool = Path(env.venv, "bin", "envtool")
    tool.write_text(f"#!{env.venv}/bin/python\nimport sys, envmod\nprint(envmod.WHERE, sys.prefix)\n")
    tool.chmod(0o755)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "viapth.py").write_text("")
    Path(purelib, "extra.pth").write_text(str(tmp_path / "elsewhere") + "\n")  # as an editable install leaves
    child = child_venv(env, tmp_path / "child")
    assert subprocess.run([str(child / "bin" / "python"), "-c", "import viapth"]).returncode == 0
    done = subprocess.run([str(child / "bin" / "envtool")], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.split() == ["env", str(child)]  # the env's module, run by the child
    subprocess.run([str(child / "bin" / "python"), "-c", "import sysconfig, pathlib; "
                    "pathlib.Path(sysconfig.get_paths()['purelib'], 'mine.py').write_text('')"], check=True)
    assert not Path(purelib, "mine.py").exists()  # what the child installs stays in the child

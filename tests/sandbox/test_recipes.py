"""Recipes as shell: the environment script (run here with a stand-in for pip), the tree's
install, and the check that the test runner runs."""

from __future__ import annotations

import subprocess
from pathlib import Path

from sandbox.config import ServiceConfig
from sandbox.recipes import EnvPaths, EnvRecipe, env_script, install_script


def test_env_script_installs_in_order_and_gives_services_their_own_venv():
    recipe = EnvRecipe(name="r", python="3.11", pip=[["-r reqs.txt"], ["numpy==1.23.0"]],
                       services={"web": ServiceConfig(wanted_by="X", packages=["httpbin==0.10.4"], start="x")})
    script = env_script(recipe, EnvPaths(python="python3", venv="/opt/venv", reqs="/opt/reqs", services="/opt/services"))
    lines = script.splitlines()
    assert lines.index("python -m pip install -q -r reqs.txt") < lines.index("python -m pip install -q numpy==1.23.0")
    assert "python3 -m venv /opt/services/web" in lines
    assert "/opt/services/web/bin/python -m pip install -q httpbin==0.10.4 || echo 'supercoder: service web could not be installed'" in lines
    assert "pip install" not in env_script(EnvRecipe(name="r", python="3.11"), EnvPaths(python="p", venv="v", reqs="q", services="s"))


def test_optional_packages_are_installed_as_far_as_pip_can(tmp_path):
    # A stand-in for `python -m pip` that logs what it installs and cannot install "nosuch".
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python").write_text("#!/bin/bash\ncase \"$*\" in *nosuch*) exit 1;; esac\necho \"$*\" >> \"$LOG\"\n")
    (bindir / "python").chmod(0o755)
    recipe = EnvRecipe(name="r", python="3", optional=["aaa", "nosuch", "bbb"], constraints=["numpy==1.23.0"], pip=[["numpy==1.23.0"]])
    script = env_script(recipe, EnvPaths(python="true", venv=str(tmp_path / "venv"), reqs=str(tmp_path / "reqs"), services="s"))
    script = script.replace(f". {tmp_path / 'venv'}/bin/activate", "true")  # no venv: the stand-in is on PATH
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env={"PATH": f"{bindir}:/usr/bin:/bin", "LOG": str(tmp_path / "log")})
    assert done.returncode == 0, done.stderr
    assert "supercoder: left out nosuch" in done.stdout
    log = (tmp_path / "log").read_text().splitlines()
    held = "-m pip install -q -c supercoder-constraints.txt"
    assert log[1:] == [f"{held} aaa", f"{held} bbb", "-m pip install -q numpy==1.23.0"]  # one by one once together failed; pins last
    assert (tmp_path / "reqs" / "supercoder-constraints.txt").read_text() == "numpy==1.23.0\n"


def test_install_script_exports_before_installing():
    script = install_script("/opt/venv", ["pip install -e ."], {"SETUPTOOLS_SCM_PRETEND_VERSION": "1.0"})
    assert script.index(". /opt/venv/bin/activate") < script.index("export SETUPTOOLS_SCM_PRETEND_VERSION=1.0") < script.index("pip install -e .")


def _stand_in(tmp_path, body: str) -> tuple[Path, dict[str, str]]:
    """A stand-in `python` on PATH (logging its arguments to $LOG) and the environment to run with."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "python").write_text("#!/bin/bash\n" + body)
    (bindir / "python").chmod(0o755)
    return bindir, {"PATH": f"{bindir}:/usr/bin:/bin", "LOG": str(tmp_path / "log")}


def _run(script: str, tmp_path, env: dict[str, str]) -> subprocess.CompletedProcess:
    script = script.replace(f". {tmp_path / 'venv'}/bin/activate", "true")  # no venv: the stand-in is on PATH
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env)


PATHS = "venv reqs services".split()


def _paths(tmp_path) -> EnvPaths:
    return EnvPaths(python="true", venv=str(tmp_path / "venv"), reqs=str(tmp_path / "reqs"), services="s")


def test_a_test_runner_that_cannot_run_here_is_installed_anew_as_of_the_recipes_date(tmp_path):
    # pytest fails until pip has installed it anew; a plugin (an entry point in pytest11) goes with it.
    _, env = _stand_in(tmp_path, 'echo "$*" >> "$LOG"\n'
                       'case "$*" in "-m pytest"*) grep -q -- "--upgrade pytest" "$LOG";; *importlib.metadata*) echo pytest-cov;; esac\n')
    recipe = EnvRecipe(name="r", python="3.9", pip=[["pytest==2.3.4"]], uploaded_prior_to="2020-10-05T00:00:00Z", runner="pytest")
    done = _run(env_script(recipe, _paths(tmp_path), relax_years=1), tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert "the installed pytest cannot run a test on Python 3.9" in done.stdout
    log = (tmp_path / "log").read_text().splitlines()
    upgrades = [line for line in log if "--upgrade pytest" in line]
    assert upgrades[0] == "-m pip install -q --uploaded-prior-to=2020-10-05T00:00:00Z --no-build-isolation --upgrade pytest pytest-cov"
    assert log[-1] == "-m pytest -q test_probe.py" and "still cannot" not in done.stdout  # checked again, and it runs


def test_a_test_runner_that_runs_is_left_alone(tmp_path):
    _, env = _stand_in(tmp_path, 'echo "$*" >> "$LOG"\n')
    recipe = EnvRecipe(name="r", python="3.11", pip=[["pytest"]], runner="pytest")
    done = _run(env_script(recipe, _paths(tmp_path)), tmp_path, env)
    assert done.returncode == 0, done.stderr
    assert not any("--upgrade pytest" in line for line in (tmp_path / "log").read_text().splitlines())
    assert "probe" not in env_script(EnvRecipe(name="r", python="3.11", pip=[["pytest"]]), _paths(tmp_path))  # no runner: no check


def test_a_dated_group_that_cannot_be_had_whole_goes_one_by_one_each_as_late_as_it_must(tmp_path):
    # "gone" exists only as of a year after the cutoff; "nowhere" never; "old" as of the cutoff.
    _, env = _stand_in(tmp_path, 'echo "$*" >> "$LOG"\n'
                       'case "$*" in *reqs.txt) exit 1;; *nowhere*) exit 1;; *2020-10-05*gone*) exit 1;; esac\n')
    (tmp_path / "reqs").mkdir()
    recipe = EnvRecipe(name="r", python="3.9", files={"reqs.txt": "old\ngone\nnowhere  # a comment\n"}, pip=[["-r reqs.txt"]],
                       uploaded_prior_to="2020-10-05T00:00:00Z")
    done = _run(env_script(recipe, _paths(tmp_path), relax_years=2), tmp_path, env)
    assert done.returncode == 0, done.stderr
    log = [line for line in (tmp_path / "log").read_text().splitlines() if "--upgrade" not in line]
    installed = [line for line in log if not line.endswith("reqs.txt")]
    assert installed[0] == "-m pip install -q --uploaded-prior-to=2020-10-05T00:00:00Z --no-build-isolation old"  # of then
    assert "-m pip install -q --uploaded-prior-to=2021-10-05T00:00:00Z --prefer-binary gone" in installed  # a year later, alone
    assert "-m pip install -q nowhere" in installed  # as of now, saying so ...
    assert "not installable as uploaded before 2020-10-05T00:00:00Z, installing the newest releases: nowhere" in done.stdout
    assert "supercoder: left out nowhere" in done.stdout  # ... and when even that fails, leaving it out


def test_a_test_runner_that_cannot_be_mended_is_said_and_the_build_goes_on(tmp_path):
    # pytest never runs, nor can it be installed anew, nor its plugins listed: the tests will say
    # why; the build must not stop here.
    _, env = _stand_in(tmp_path, 'echo "$*" >> "$LOG"\ncase "$*" in "-m pytest"*|*"--upgrade pytest"*|*importlib*) exit 1;; esac\n')
    recipe = EnvRecipe(name="r", python="3.9", pip=[["pytest==2.3.4"]], runner="pytest", uploaded_prior_to="2020-10-05T00:00:00Z")
    done = _run(env_script(recipe, _paths(tmp_path), relax_years=1) + "\necho built", tmp_path, env)
    assert "supercoder: pytest still cannot run a test here" in done.stdout and done.stdout.strip().endswith("built")


def test_a_declared_group_pip_cannot_install_whole_goes_one_by_one(tmp_path):
    _, env = _stand_in(tmp_path, 'echo "$*" >> "$LOG"\ncase "$*" in *badreq*) exit 1;; esac\n')
    recipe = EnvRecipe(name="r", python="3.11", pip=[["good", "badreq", "other"]], each_alone=True)
    done = _run(env_script(recipe, _paths(tmp_path)), tmp_path, env)
    assert done.returncode == 0 and "supercoder: left out badreq" in done.stdout
    assert "-m pip install -q other" in (tmp_path / "log").read_text().splitlines()
    strict = _run(env_script(recipe.model_copy(update={"each_alone": False}), _paths(tmp_path)), tmp_path, env)
    assert strict.returncode != 0  # a swebench spec's group fails as its harness would

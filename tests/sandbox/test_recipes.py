"""Recipes as shell: the environment script, and services started beside the tests (run here
for real: a small HTTP server on loopback)."""

from __future__ import annotations

import socket
import subprocess
import sys

from sandbox.config import ServiceConfig
from sandbox.recipes import EnvPaths, EnvRecipe, env_script, install_script, service_prelude


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_env_script_installs_in_order_and_gives_services_their_own_venv():
    recipe = EnvRecipe(name="r", python="3.11", pip=[["-r reqs.txt"], ["numpy==1.23.0"]],
                       services={"web": ServiceConfig(packages=["httpbin==0.10.4"], start="x")})
    script = env_script(recipe, EnvPaths(python="python3", venv="/opt/venv", reqs="/opt/reqs", services="/opt/services"))
    lines = script.splitlines()
    assert lines.index("python -m pip install -q -r reqs.txt") < lines.index("python -m pip install -q numpy==1.23.0")
    assert "python3 -m venv /opt/services/web" in lines
    assert "/opt/services/web/bin/python -m pip install -q httpbin==0.10.4" in lines
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


def test_a_service_answers_before_the_tests_run(tmp_path):
    port = _free_port()
    (tmp_path / "web" / "bin").mkdir(parents=True)
    (tmp_path / "web" / "bin" / "python").symlink_to(sys.executable)  # the service's venv, as far as PATH goes
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "hello").write_text("hi")
    service = ServiceConfig(packages=["-"], start=f"exec python -m http.server {port} --bind 127.0.0.1 --directory {tmp_path / 'root'}",
                            ready=f"python -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:{port}/\", timeout=1)'",
                            env={"WEB_URL": f"http://127.0.0.1:{port}/"})
    tests = "python -c 'import os, urllib.request as u; print(u.urlopen(os.environ[\"WEB_URL\"] + \"hello\").read().decode())'"
    script = service_prelude({"web": service}, str(tmp_path)) + f"\nPATH={tmp_path / 'web' / 'bin'}:$PATH {tests}"
    done = subprocess.run(["bash", "-c", script + "\nkill %1 2>/dev/null; true"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().endswith("hi"), done.stdout + done.stderr


def test_a_service_that_never_answers_is_reported(tmp_path):
    service = ServiceConfig(packages=["-"], start="echo cannot bind; exit 1", ready="false", ready_timeout_s=0.4)
    done = subprocess.run(["bash", "-c", service_prelude({"web": service}, str(tmp_path)) + "\necho tests ran"],
                          capture_output=True, text=True, timeout=60)
    assert "service web did not answer" in done.stdout and "cannot bind" in done.stdout
    assert done.stdout.strip().endswith("tests ran")  # the tests still run, and fail on their own terms

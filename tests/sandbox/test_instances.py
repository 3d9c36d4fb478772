"""SWE-bench instances: environment specs adapted to pip, and validation end to end in Docker
on a synthetic instance (a repository made here, a spec that needs no network)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.config import load_settings
from sandbox import instances
from sandbox import swebench_adapter as swe
from sandbox.docker_backend import docker_client
from sandbox.instances import _env_yml_packages, _pip_name, env_layer, instance_layer, validate


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def clone(tmp_path) -> tuple[Path, str]:
    root = tmp_path / "pytest-dev__pytest"  # the repo whose log parser reads the output
    root.mkdir()
    (root / "requirements-dev.txt").write_text("mpmath==1.3.0\n")
    (root / "requirements").mkdir()
    (root / "requirements" / "dev.txt").write_text("-r tests.txt\n-c constraints.txt\n-e .\n-e .[testutils,spelling]\n.[docs]\nflake8\n-r dev.txt\n")
    (root / "requirements" / "tests.txt").write_text("pytest==7.0\ngit+https://github.com/x/y.git\n")
    (root / "calc.py").write_text("def add(a, b):\n    return a - b\n")
    (root / "run_tests.py").write_text(
        # Prints what `pytest -rA` prints, so that swebench's pytest log parser reads it.
        "import traceback, test_calc\n"
        "for name in sorted(n for n in dir(test_calc) if n.startswith('test_')):\n"
        "    try:\n        getattr(test_calc, name)()\n        print(f'PASSED test_calc.py::{name}')\n"
        "    except Exception:\n        print(f'FAILED test_calc.py::{name} - boom')\n"
    )
    (root / "test_calc.py").write_text("from calc import add\n\n\ndef test_zero():\n    assert add(0, 0) == 0\n")
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "base")
    return root, _git(root, "rev-parse", "HEAD")


def _row(commit: str) -> dict:
    return {
        "instance_id": "owner__name-1", "repo": "pytest-dev/pytest", "version": "0.1", "base_commit": commit,
        "patch": "diff --git a/calc.py b/calc.py\n--- a/calc.py\n+++ b/calc.py\n@@ -1,2 +1,2 @@\n def add(a, b):\n-    return a - b\n+    return a + b\n",
        "test_patch": (
            "diff --git a/test_calc.py b/test_calc.py\n--- a/test_calc.py\n+++ b/test_calc.py\n@@ -3,3 +3,7 @@ from calc import add\n"
            " \n def test_zero():\n     assert add(0, 0) == 0\n+\n+\n+def test_add():\n+    assert add(1, 2) == 3\n"
        ),
        "FAIL_TO_PASS": '["test_calc.py::test_add"]', "PASS_TO_PASS": ["test_calc.py::test_zero"],
    }


SPEC = {"python": "3.11", "install": "echo installed > .installed", "test_cmd": "python run_tests.py"}


def test_conda_requirements_read_as_pip():
    assert _pip_name("numpy=1.20") == "numpy==1.20"
    assert _pip_name("scipy>=1.5") == "scipy>=1.5" and _pip_name("six==1.16") == "six==1.16"
    yml = "dependencies:\n  - python=3.10\n  - numpy=1.21\n  - pip\n  - pip:\n    - pint==0.19\n"
    assert _env_yml_packages(yml) == ["numpy==1.21", "pint==0.19"]


def test_requirements_from_version_control_are_left_out():
    from sandbox.instances import _offline_requirements

    text = "pytest\ngit+https://github.com/sphinx-doc/sphinx.git\n-e git+https://x/y.git#egg=y\nz @ git+https://x/z\nmpmath==1.3\n"
    assert _offline_requirements(text) == "pytest\nmpmath==1.3\n"


def test_requirements_includes_are_inlined(clone):
    from sandbox.instances import read_requirements

    text = read_requirements(clone[0], clone[1], "requirements/dev.txt")
    assert text == "pytest==7.0\nflake8\n"  # included file inlined once; constraints, the package itself, VCS lines left out
    assert read_requirements(clone[0], clone[1], "requirements/missing.txt") is None


def test_env_layer_from_a_requirements_spec(clone, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {"python": "3.9", "packages": "requirements.txt", "pip_packages": ["flake8"]})
    monkeypatch.setattr(swe, "requirements_paths", lambda repo: ["requirements-dev.txt", "missing.txt"])
    layer = env_layer(_row(clone[1]), clone[0], "base:tag")
    assert layer.files == {"/opt/reqs/requirements-dev.txt": "mpmath==1.3.0\n"}  # read at the base commit; a missing file is skipped
    assert "pip install -q -r requirements-dev.txt\n" in layer.script + "\n"
    assert layer.script.endswith("pip install -q flake8")  # the pins after the requirements
    assert layer.env["PATH"].startswith("/opt/venv/bin:")


def test_env_layer_without_packages_needs_no_network(clone, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {"python": "3.11", "packages": "python=3.11 pip"})
    assert "pip install" not in env_layer(_row(clone[1]), clone[0], "base:tag").script


def test_instance_layer_gives_setuptools_scm_the_version(clone, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "pre_install": ["echo pre"]})
    script = instance_layer({**_row(clone[1]), "version": "5.4"}, clone[0], "env:tag").script
    assert "export SETUPTOOLS_SCM_PRETEND_VERSION=5.4.0" in script
    assert script.index("echo pre") < script.index("echo installed")


@pytest.fixture
def synthetic(clone, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: SPEC)
    monkeypatch.setattr(swe, "test_directives", lambda row: [])
    return clone


def test_validate_gold_resolves_and_none_does_not(synthetic):
    root, commit = synthetic
    cfg, client, row = load_settings().sandbox, docker_client(), _row(commit)
    gold = validate(row, root.parent, cfg, row["patch"], client=client)
    assert gold.error is None and gold.resolved
    assert gold.fail_to_pass.passed == ["test_calc.py::test_add"] and gold.pass_to_pass.passed == ["test_calc.py::test_zero"]
    none = validate(row, root.parent, cfg, None, client=client)
    assert none.error is None and not none.resolved
    assert none.fail_to_pass.failed == ["test_calc.py::test_add"]
    bad = validate(row, root.parent, cfg, row["patch"].replace("a - b", "a * b"), client=client)
    assert bad.error and bad.error.startswith("the patch does not apply")


def test_validate_reports_a_missing_clone_and_an_unknown_python(synthetic, tmp_path, monkeypatch):
    cfg, row = load_settings().sandbox, _row(synthetic[1])
    assert "no clone of pytest-dev/pytest" in validate(row, tmp_path / "empty", cfg, None).error
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "python": "2.7"})
    assert "no Debian suite has Python 2.7" in validate(row, synthetic[0].parent, cfg, None).error


def test_instance_images_are_reused(synthetic):
    root, commit = synthetic
    cfg, client = load_settings().sandbox, docker_client()
    first = instances.ensure_instance(_row(commit), root.parent, cfg, client=client)
    assert instances.ensure_instance(_row(commit), root.parent, cfg, client=client) == first

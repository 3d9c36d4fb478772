"""Requirements read from a clone at a commit: includes inlined, constraints, the package
itself and version-control lines left out; conda's environment.yml read as pip's."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from agent.settings import load_settings
from sandbox.requirements import _offline_requirements, env_yml_packages, pip_name, read_requirements


@pytest.fixture
def clone(tmp_path) -> tuple[Path, str]:
    root = tmp_path / "repo"
    (root / "requirements").mkdir(parents=True)
    (root / "requirements" / "dev.txt").write_text("-r tests.txt\n-c constraints.txt\n-e .\n-e .[testutils,spelling]\n.[docs]\nflake8\n-r dev.txt\n")
    (root / "requirements" / "tests.txt").write_text("pytest==7.0\ngit+https://github.com/x/y.git\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], cwd=root, check=True)
    return root, subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def test_conda_requirements_read_as_pip():
    assert pip_name("numpy=1.20") == "numpy==1.20"
    assert pip_name("scipy>=1.5") == "scipy>=1.5" and pip_name("six==1.16") == "six==1.16"
    yml = "dependencies:\n  - python=3.10\n  - numpy=1.21\n  - pip\n  - pip:\n    - pint==0.19\n"
    assert env_yml_packages(yml) == ["numpy==1.21", "pint==0.19"]
    yml = "dependencies:\n  - matplotlib-base>=3.3\n  - cdms2\n  - iris\n"
    assert env_yml_packages(yml, load_settings().sandbox.conda_pip_names) == ["matplotlib>=3.3", "scitools-iris"]


def test_requirements_from_version_control_are_left_out():
    text = "pytest\ngit+https://github.com/sphinx-doc/sphinx.git\n-e git+https://x/y.git#egg=y\nz @ git+https://x/z\nmpmath==1.3\n"
    assert _offline_requirements(text) == "pytest\nmpmath==1.3\n"


def test_requirements_includes_are_inlined(clone):
    text = read_requirements(clone[0], clone[1], "requirements/dev.txt")
    assert text == "pytest==7.0\nflake8\n"  # included file inlined once; constraints, the package itself, VCS lines left out
    assert read_requirements(clone[0], clone[1], "requirements/missing.txt") is None


def test_an_include_that_climbs_a_folder_and_a_broken_environment_file(tmp_path):
    root = tmp_path / "r"
    (root / "requirements").mkdir(parents=True)
    (root / "base.txt").write_text("six\n")
    (root / "requirements" / "test.txt").write_text("-r ../base.txt\n-r ../../outside.txt\nmock\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "base"]):
        subprocess.run([*git, *args], cwd=root, check=True)
    assert read_requirements(root, "HEAD", "requirements/test.txt") == "six\nmock\n"
    for text in ("dependencies: [a\n", "- just a list\n", "dependencies:\n", "dependencies:\n  - pip:\n"):
        assert env_yml_packages(text) == []

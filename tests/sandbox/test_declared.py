"""What a repository declares its tests need, each way real projects declare it, read from small
repositories the tests build (and the packages the derived environment gets from them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from agent.settings import load_settings
from sandbox.declared import declared_needs, plugins_used, pytest_settings, tox_deps
from sandbox.declared import tests_require as setuptools_tests_require  # a name pytest would collect
from sandbox.project import derive

PLUGINS = load_settings().sandbox.project.pytest_plugins


def test_setuptools_tests_require_from_setup_py_and_setup_cfg():
    setup_py = "from setuptools import setup\nsetup(name='x', tests_require=['pytest-mock>=3', \"freezegun\"], install_requires=[])\n"
    assert setuptools_tests_require(setup_py, None) == ["pytest-mock>=3", "freezegun"]
    assert setuptools_tests_require("setup(tests_require=TEST_DEPS)", "[options]\ntests_require =\n    responses\n    # a comment\n") == ["responses"]


def test_tox_deps_that_hold_in_every_environment():
    tox = ("[tox]\nenvlist = py38,py311\n[testenv]\ndeps =\n    pytest-cov\n    -r requirements/test.txt\n    py38: mock\n"
           "    {[base]deps}\n    .\n    coverage[toml]>=5  # for the toml config\n    examples/tutorial[test]\n"
           "    git+https://github.com/o/n  # refs: an issue\ncommands = pytest\n")
    assert tox_deps(tox) == ["pytest-cov", "coverage[toml]>=5"]
    assert tox_deps("[tox]\nenvlist = py\n") == []


def test_pytest_settings_come_from_the_first_file_pytest_would_read():
    pyproject = {"tool": {"pytest": {"ini_options": {"addopts": ["-n", "auto"], "asyncio_mode": "auto"}}}}
    texts = {"setup.cfg": "[tool:pytest]\naddopts = --cov=pkg\n", "tox.ini": "[pytest]\naddopts = --timeout 30\n"}
    assert pytest_settings(texts, pyproject) == {"addopts": "-n auto", "asyncio_mode": "auto"}
    assert pytest_settings(texts, {}) == {"addopts": "--timeout 30"}  # tox.ini before setup.cfg
    assert pytest_settings({**texts, "pytest.ini": "[pytest]\nminversion = 6\n"}, pyproject) == {"minversion": "6"}


def test_plugins_by_option_family_p_name_setting_and_required_plugins():
    settings = {"addopts": "--cov=pkg --cov-report=term -p xdist -pno:cacheprovider --strict-markers\n  --reruns=2",
                "required_plugins": "pytest-freezer>=0.4 pytest-httpx", "DJANGO_SETTINGS_MODULE": "site.settings"}
    assert plugins_used(settings, PLUGINS) == ["pytest-freezer>=0.4", "pytest-httpx", "pytest-cov", "pytest-xdist",
                                                 "pytest-rerunfailures", "pytest-django"]
    assert plugins_used({"addopts": "--covfefe -ra"}, PLUGINS) == []  # a family is the option and `-`, not any prefix


def _repo(root: Path, files: dict[str, str]) -> tuple[Path, str]:
    root.mkdir()
    for rel, text in files.items():
        (root / rel).write_text(text)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=root, check=True)
    return root, subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def test_the_derived_environment_installs_what_the_tests_declare(tmp_path):
    clone, commit = _repo(tmp_path / "r", {
        "setup.py": "from setuptools import setup\nsetup(name='calc', tests_require=['freezegun'])\n",
        "tox.ini": "[testenv]\ndeps =\n    responses\ncommands = pytest\n[pytest]\naddopts = --cov=calc -n 2\n"})
    pip = derive(clone, commit, load_settings().sandbox).recipe.pip
    assert pip[-1] == ["freezegun", "responses", "pytest-cov", "pytest-xdist", "pytest"]
    assert declared_needs({}, {}, PLUGINS) == []

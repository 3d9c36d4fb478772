"""Environments of repositories that are no SWE-bench instance: what is derived from
pyproject.toml, setup.cfg, setup.py and requirements files, what config overrides, and a
sandbox of such a repository on both backends."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import load_settings
from sandbox.base import SandboxError
from sandbox.project import derive, project_sandbox

HOST = "%d.%d" % sys.version_info[:2]


def _repo(root: Path, files: dict[str, str], date: str | None = None) -> tuple[Path, str]:
    root.mkdir(parents=True)
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    dated = {**os.environ, "GIT_COMMITTER_DATE": date, "GIT_AUTHOR_DATE": date} if date else None
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True, env=dated)
    return root, subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()


def _cfg(*overrides: str):
    return load_settings(None, list(overrides)).sandbox


PYPROJECT = """
[build-system]
requires = ["setuptools"]
[project]
name = "calc"
requires-python = ">=3.9"
dependencies = ["attrs>=22"]
[project.optional-dependencies]
test = ["hypothesis", "calc[extra]", "calc-tools"]
docs = ["sphinx"]
[dependency-groups]
dev = ["coverage", {include-group = "lint"}]
"""


def test_derived_from_pyproject_and_requirements(tmp_path):
    clone, commit = _repo(tmp_path / "calc", {"pyproject.toml": PYPROJECT, "requirements-dev.txt": "-r requirements.txt\nmock\n",
                                              "requirements.txt": "six\n"})
    project = derive(clone, commit, _cfg())
    recipe = project.recipe
    assert recipe.python == "3.13" and recipe.name == "calc-env"  # names none: the newest released before the commit
    assert recipe.uploaded_prior_to is None  # a commit of today: the newest releases
    assert recipe.files == {"requirements.txt": "six\n", "requirements-dev.txt": "six\nmock\n"}
    assert recipe.pip[0] == ["-r requirements.txt", "-r requirements-dev.txt"]
    assert recipe.pip[1] == ["coverage", "'attrs>=22'", "hypothesis", "calc-tools", "pytest", "pytest-timeout"]  # docs left out; calc[extra] is the install's
    assert project.install[0] == "python -m pip install -e '.[test]'"
    assert "runner_runs" in project.install[-2]  # then pytest checked again: what the tree requires may pin it


def test_extras_of_the_tree_a_requirements_file_asks_for_go_to_its_install(tmp_path):
    # httpx's requirements.txt: `-e .[brotli,zstd]`; the line itself is the tree's install
    clone, commit = _repo(tmp_path / "calc", {"pyproject.toml": PYPROJECT, "requirements-test.txt": "-e .[docs,undeclared]\nmock\n"})
    project = derive(clone, commit, _cfg())
    assert project.install[0] == "python -m pip install -e '.[test,docs]'"
    assert "sphinx" in project.recipe.pip[-1] and project.recipe.files == {"requirements-test.txt": "mock\n"}


def test_derived_from_setup_cfg_and_setup_py(tmp_path):
    cfg_text = "[options]\npython_requires = >=3.6\ninstall_requires =\n    requests\n    # a comment\n[options.extras_require]\ntesting =\n    pytest-mock\n"
    clone, commit = _repo(tmp_path / "a", {"setup.cfg": cfg_text, "setup.py": "from setuptools import setup\nsetup()\n"})
    project = derive(clone, commit, _cfg())
    assert project.recipe.pip == [["requests", "pytest-mock", "pytest", "pytest-timeout"]]
    assert project.install[0] == "python -m pip install -e '.[testing]'" and "runner_runs" in project.install[-2]
    setup_py = "setup(name='b', python_requires='>=3.12', extras_require={'tests': ['nose'], 'docs': ['x']})\n"
    clone, commit = _repo(tmp_path / "b", {"setup.py": setup_py})
    project = derive(clone, commit, _cfg())
    assert project.recipe.python == "3.13"  # the newest suite requires-python allows, the host's being too old
    assert project.install[0] == "python -m pip install -e '.[tests]'"


def test_the_python_a_backend_offers_that_requires_python_allows():
    from datetime import datetime

    from packaging.specifiers import SpecifierSet

    from sandbox.pythons import choose

    docker, now = _cfg(), datetime(2026, 1, 1)
    assert choose(SpecifierSet("<3.9.5"), set(), now, docker)[0] == "3.9"  # some patch release of 3.9 will do
    assert choose(SpecifierSet(">=3.12"), set(), now, docker)[0] == "3.13"
    assert choose(SpecifierSet(""), {"3.10", "3.11", "3.12"}, now, docker)[0] == "3.11"  # the newest named and offered
    assert choose(SpecifierSet(""), {"3.6", "3.7", "3.10"}, now, docker)[0] == "3.9"  # the newest offered below the newest named
    assert choose(SpecifierSet(""), {"3.5"}, now, docker)[0] == "3.9"  # older than every offered one: the oldest
    assert choose(SpecifierSet(""), set(), datetime(2023, 5, 1), docker)[0] == "3.11"  # released before the commit
    assert choose(SpecifierSet(""), set(), datetime(2017, 5, 1), docker)[0] == "3.9"
    local = _cfg("sandbox.backend=local")
    with pytest.raises(SandboxError, match="requires-python >=3.99"):
        choose(SpecifierSet(">=3.99"), set(), now, local)


def test_the_python_an_old_commit_names_and_its_dependencies_date(tmp_path):
    setup_py = ("setup(name='old', classifiers=['Programming Language :: Python :: 2.7',\n"
                "      'Programming Language :: Python :: 3.5', 'Programming Language :: Python :: 3.6'])\n")
    travis = 'language: python\npython:\n  - "2.7"\n  - "3.6"\nmatrix:\n  include:\n    - python: 3.7\n'
    clone, commit = _repo(tmp_path / "old", {"setup.py": setup_py, ".travis.yml": travis, "tox.ini": "[tox]\nenvlist = py27, py36, py38\n"},
                          date="2017-10-02T17:10:19+02:00")
    from sandbox.pythons import declared

    assert declared(clone, commit, [setup_py]) == {"3.5", "3.6", "3.7", "3.8"}
    project = derive(clone, commit, _cfg())
    assert project.recipe.python == "3.9" and "3.8" in project.about["python"]  # nothing offered that old: the oldest
    assert project.recipe.uploaded_prior_to == "2020-10-05T00:00:00Z"  # not before Python 3.9 came out: the commit is older
    assert "came out then" in project.about["dependencies"]
    assert derive(clone, commit, _cfg('sandbox.python_released={"3.9": "2016-01-01"}')).recipe.uploaded_prior_to == "2017-10-02T15:10:19Z"
    # the tree with today's tools (isolated, else the environment's own), then its dependencies of then
    assert project.install[0] == "python -m pip install -q --no-deps -e . || python -m pip install -q --no-deps --no-build-isolation -e ."
    # What the tree declares, as of then, the tree held as it is.
    assert "--uploaded-prior-to=2020-10-05T00:00:00Z -c \"$tree_held\" --no-build-isolation -r \"$tree_requires\"" in project.install[3]
    assert derive(clone, commit, _cfg("sandbox.pin_by_date_days=null")).recipe.uploaded_prior_to is None
    workflow = "jobs:\n  test:\n    strategy:\n      matrix:\n        python-version: ['3.10', '3.11']\n"
    clone, commit = _repo(tmp_path / "new", {"setup.py": "setup(name='n')\n", ".github/workflows/ci.yml": workflow})
    assert derive(clone, commit, _cfg()).recipe.python == "3.11"


def test_setuptools_scm_is_given_the_version_of_the_last_tag(tmp_path):
    from sandbox.project import project_environment

    clone, commit = _repo(tmp_path / "tagged", {"setup.py": "setup(name='t')\n"})
    assert project_environment(clone, commit, _cfg()).variables == {}
    subprocess.run(["git", "tag", "release-2.1.0"], cwd=clone, check=True)
    assert project_environment(clone, commit, _cfg()).variables == {"SETUPTOOLS_SCM_PRETEND_VERSION": "2.1.0"}


def test_a_setup_cfg_of_tool_settings_only_is_not_installable(tmp_path):
    clone, commit = _repo(tmp_path / "tools", {"setup.cfg": "[flake8]\nmax-line-length = 100\n", "m.py": "x = 1\n"})
    assert derive(clone, commit, _cfg()).install == []


def test_a_plain_folder_and_a_broken_pyproject(tmp_path):
    clone, commit = _repo(tmp_path / "plain", {"m.py": "x = 1\n"})
    project = derive(clone, commit, _cfg())
    assert project.install == [] and project.recipe.pip == [["pytest", "pytest-timeout"]] and project.recipe.python == "3.13"
    clone, commit = _repo(tmp_path / "broken", {"pyproject.toml": "[project\nname = \n"})
    assert derive(clone, commit, _cfg()).recipe.pip == [["pytest", "pytest-timeout"]]
    clone, commit = _repo(tmp_path / "odd", {"pyproject.toml": "project = 3\n"})
    assert derive(clone, commit, _cfg()).recipe.pip == [["pytest", "pytest-timeout"]]


def test_config_overrides_and_an_impossible_python(tmp_path):
    clone, commit = _repo(tmp_path / "calc", {"pyproject.toml": PYPROJECT})
    project = derive(clone, commit, _cfg('sandbox.project.packages=["numpy==1.26"]', "sandbox.project.install=make dev",
                                         "sandbox.project.python=3.9"))
    assert project.recipe.pip == [["numpy==1.26"]] and project.install[0] == "make dev" and project.recipe.python == "3.9"
    with pytest.raises(Exception, match='as text, e.g. "3.10"'):
        _cfg("sandbox.project.python=3.10")
    clone, commit = _repo(tmp_path / "old", {"pyproject.toml": "[project]\nname='old'\nrequires-python='<3.0'\n"})
    with pytest.raises(SandboxError, match="requires-python <3.0"):
        derive(clone, commit, _cfg())


TINY = {
    "calc.py": "def add(a, b):\n    return a + b\n",
    "test_calc.py": "from calc import add\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    "run_tests.py": "import os, test_calc\ntest_calc.test_add()\nprint('ok', os.path.exists('.installed'))\n",
}
OFFLINE = ["sandbox.project.packages=[]", "sandbox.project.install=echo yes > .installed"]  # no package index needed


def test_a_project_sandbox_locally(tmp_path):
    clone, commit = _repo(tmp_path / "tiny", TINY)
    cfg = _cfg(*OFFLINE, "sandbox.backend=local", f"sandbox.local_venv_dir={tmp_path / 'venvs'}",
               f'sandbox.local_pythons={{"{HOST}": "{sys.executable}"}}')
    with project_sandbox(clone, commit, cfg) as sb:
        done = sb.run("python run_tests.py && python -c 'import sys; print(sys.prefix)'")
    assert done.exit_code == 0 and done.output.splitlines()[0] == "ok True"
    assert "supercoder-venv-" in done.output  # the child venv of the sandbox, not the host's


def test_a_project_sandbox_in_docker(tmp_path):
    clone, commit = _repo(tmp_path / "tiny", TINY)
    cfg = _cfg(*OFFLINE, "sandbox.project.python=3.11")
    with project_sandbox(clone, commit, cfg) as sb:
        done = sb.run("python run_tests.py && python -c 'import sys; print(sys.version_info[:2])'")
    assert done.exit_code == 0 and done.output.splitlines() == ["ok True", "(3, 11)"]


def test_an_old_commit_installs_its_dependencies_as_they_were_at_its_date(tmp_path, monkeypatch):
    from fakes.package_index import PackageIndex, make_wheel

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    old, new = make_wheel(wheels, "scfixture", "1.0"), make_wheel(wheels, "scfixture", "2.0")
    other_old, other_new = make_wheel(wheels, "scother", "1.0"), make_wheel(wheels, "scother", "2.0")
    times = {"scfixture": [(old, "2017-06-01T00:00:00Z"), (new, "2024-06-01T00:00:00Z")],
             "scother": [(other_old, "2017-06-01T00:00:00Z"), (other_new, "2024-06-01T00:00:00Z")]}
    # scfixture from a requirements file (the environment), scother from what setup.py declares (the install)
    files = {"requirements.txt": "scfixture\n", "setup.py": "from setuptools import setup\nsetup(name='calc', install_requires=['scother'])\n"}
    check = "python -c 'import scfixture, scother; print(scfixture.__version__, scother.__version__)'"
    with PackageIndex(times) as index:
        monkeypatch.setenv("PIP_INDEX_URL", index.url)
        monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://pypi.org/simple")  # pip and setuptools: the test's index holds the fixtures only
        cfg = _cfg("sandbox.backend=local", f"sandbox.local_venv_dir={tmp_path / 'venvs'}", f"sandbox.project.python={HOST}")
        versions = {}
        for name, date in (("then", "2018-03-01T12:00:00+00:00"), ("now", None)):
            # Of then, one requirement is nowhere to be had: the others are installed one by one.
            wanted = {**files, "requirements.txt": "scfixture\nscnowhere  # gone\n"} if date else files
            clone, commit = _repo(tmp_path / name, wanted, date=date)
            with project_sandbox(clone, commit, cfg) as sb:
                versions[name] = (derive(clone, commit, cfg).recipe.uploaded_prior_to, sb.run(check).output.strip().splitlines()[-1])
    # Of 2018 on Python 3.11 (out in October 2022): as uploaded before 3.11 came out; 2.0 came later still.
    assert versions == {"then": ("2022-10-24T00:00:00Z", "1.0 1.0"), "now": (None, "2.0 2.0")}


def test_an_old_tree_whose_name_the_index_also_has_stays_the_tree(tmp_path, monkeypatch):
    # pytest's own tree of 2019 needs atomicwrites, whose releases of then are gone from the index:
    # asked for the tree's name as of then, pip took another release of that name instead.
    from fakes.package_index import PackageIndex, make_wheel

    wheels = tmp_path / "wheels"
    wheels.mkdir()
    then, later = "2017-06-01T00:00:00Z", "2024-06-01T00:00:00Z"
    times = {"scself": [(make_wheel(wheels, "scself", "9.0"), then)],
             "scplugin": [(make_wheel(wheels, "scplugin", "1.0", ["scself>=1"]), then)],
             "scother": [(make_wheel(wheels, "scother", "1.0"), then), (make_wheel(wheels, "scother", "2.0"), later)],
             "scgone": [(make_wheel(wheels, "scgone", "1.1"), later)]}  # re-uploaded long after
    files = {"setup.py": "from setuptools import setup\nsetup(name='scself', version='1.5', py_modules=['scself'], "
                         "install_requires=['scother', 'scgone'], extras_require={'test': ['scplugin']})\n",
             "scself.py": "__version__ = 'tree'\n"}
    check = "python -c 'import scself, scother, scplugin, scgone; print(scself.__version__, scother.__version__, scgone.__version__)'"
    with PackageIndex(times) as index:
        monkeypatch.setenv("PIP_INDEX_URL", index.url)
        monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://pypi.org/simple")
        cfg = _cfg("sandbox.backend=local", f"sandbox.local_venv_dir={tmp_path / 'venvs'}", f"sandbox.project.python={HOST}")
        clone, commit = _repo(tmp_path / "repo", files, date="2018-03-01T12:00:00+00:00")
        with project_sandbox(clone, commit, cfg) as sb:
            # The tree; what it needs as of then where that can be had, and as late as it must be where not.
            assert sb.run(check).output.strip().splitlines()[-1] == "tree 1.0 1.1"


NATIVE = {
    "setup.py": "from setuptools import Extension, setup\nsetup(name='spam', ext_modules=[Extension('spam', ['spam.c'])])\n",
    "spam.c": """#include <Python.h>
static PyObject *twice(PyObject *self, PyObject *arg) { return PyLong_FromLong(2 * PyLong_AsLong(arg)); }
static PyMethodDef methods[] = {{"twice", twice, METH_O, NULL}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "spam", NULL, -1, methods};
PyMODINIT_FUNC PyInit_spam(void) { return PyModule_Create(&module); }
""",
}


def test_a_tree_with_a_c_extension_is_said_so_and_builds_in_docker(tmp_path):
    clone, commit = _repo(tmp_path / "native", NATIVE)
    # setuptools comes with the venv of 3.11: no package index needed
    cfg = _cfg("sandbox.project.packages=[]", "sandbox.project.install=python setup.py -q build_ext --inplace", "sandbox.project.python=3.11")
    assert "setup.py defines extension modules" in derive(clone, commit, cfg).about["native code"]
    with project_sandbox(clone, commit, cfg) as sb:
        done = sb.run("python -c 'import spam; print(spam.twice(21))'")
    assert done.exit_code == 0 and done.output.strip() == "42", done.output

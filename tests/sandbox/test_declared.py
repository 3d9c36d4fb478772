"""What a repository declares its tests need, each way real projects declare it, read from small
repositories the tests build (and the packages the derived environment gets from them)."""

from __future__ import annotations

from fakes.repos import commit_files

from agent.settings import load_settings
from sandbox.declared import declared_needs, native_build, plugins_used, pytest_settings, tox_deps
from sandbox.declared import tests_require as setuptools_tests_require  # a name pytest would collect
from sandbox.project import derive

PLUGINS = load_settings().sandbox.project.pytest_plugins


def test_setuptools_tests_require_from_setup_py_and_setup_cfg():
    setup_py = "from setuptools import setup\nsetup(name='x', tests_require=['pytest-mock>=3', \"freezegun\"], install_requires=[])\n"
    assert setuptools_tests_require(setup_py, None) == ["pytest-mock>=3", "freezegun"]
    assert setuptools_tests_require("setup(tests_require=['pytest-cov[toml]', 'x'])", None) == ["pytest-cov[toml]", "x"]
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
    django = pytest_settings({"pytest.ini": "[pytest]\nDJANGO_SETTINGS_MODULE = site.settings\naddopts = -n4\n"}, {})
    assert plugins_used(django, PLUGINS) == ["pytest-xdist", "pytest-django"]  # ini names come lowercased; -n4 is -n
    assert pytest_settings({**texts, "pytest.ini": "[pytest]\nminversion = 6\n"}, pyproject) == {"minversion": "6"}
    native = {"tool": {"pytest": {"addopts": ["--color=yes", "--cov"], "minversion": "9.0"}}}  # pytest 9's own table
    assert pytest_settings(texts, native) == {"addopts": "--color=yes --cov", "minversion": "9.0"}


def test_plugins_by_option_family_p_name_setting_and_required_plugins():
    settings = {"addopts": "--cov=pkg --cov-report=term -p xdist -pno:cacheprovider --strict-markers\n  --reruns=2",
                "required_plugins": "pytest-freezer>=0.4 pytest-httpx", "DJANGO_SETTINGS_MODULE": "site.settings"}
    assert plugins_used(settings, PLUGINS) == ["pytest-freezer>=0.4", "pytest-httpx", "pytest-cov", "pytest-xdist",
                                                 "pytest-rerunfailures", "pytest-django"]
    assert plugins_used({"addopts": "--covfefe -ra"}, PLUGINS) == []  # a family is the option and `-`, not any prefix


def test_the_derived_environment_installs_what_the_tests_declare(tmp_path):
    clone, commit = commit_files(tmp_path / "r", {
        "setup.py": "from setuptools import setup\nsetup(name='calc', tests_require=['freezegun'])\n",
        "tox.ini": "[testenv]\ndeps =\n    responses\ncommands = pytest\n[pytest]\naddopts = --cov=calc -n 2\n"})
    data, data_commit = commit_files(tmp_path / "d", {".gitmodules": '[submodule "fixtures"]\n\tpath = tests/fixtures\n\turl = https://x/y\n'})
    assert "not included: tests/fixtures" in derive(data, data_commit, load_settings().sandbox).about["submodules"]
    project = derive(clone, commit, load_settings().sandbox)
    assert project.recipe.pip[-1] == ["freezegun", "responses", "pytest-cov", "pytest-xdist", "pytest", "pytest-timeout"]
    assert "submodules" not in project.about
    assert declared_needs({}, {}, PLUGINS) == []


def test_test_and_dev_groups_of_poetry_pdm_hatch_and_flit():
    from sandbox.declared import tool_groups

    poetry = {"tool": {"poetry": {"dependencies": {"python": "^3.8", "attrs": "*"},
                                  "dev-dependencies": {"pytest": "^7.2", "mock": "~4.0", "zest": "^0.2.3", "zero": "^0",
                                                       "tiny": "^0.0", "star": "1.2.*", "either": "^1.0 || ^2.0",
                                                       "pywin32": {"version": "*", "markers": "sys_platform == 'win32'"}},
                                  "group": {"test": {"dependencies": {"pytest-cov": {"version": "^4", "extras": ["toml"]},
                                                                      "local": {"path": "../local"}, "exact": "1.2.3"}},
                                            "docs": {"dependencies": {"sphinx": "*"}}}}}}
    assert tool_groups(poetry, ["test", "dev"]) == ["pytest>=7.2.0,<8.0.0", "mock>=4.0.0,<4.1", "zest>=0.2.3,<0.3.0",
                                                    "zero>=0.0.0,<1.0.0", "tiny>=0.0.0,<0.1.0", "star==1.2.*", "either",
                                                    "pywin32; sys_platform == 'win32'", "pytest-cov[toml]>=4.0.0,<5.0.0", "exact==1.2.3"]
    pdm = {"tool": {"pdm": {"dev-dependencies": {"test": ["pytest>=7", "-e file:///${PROJECT_ROOT}/sub"], "lint": ["ruff"]}}}}
    hatch = {"tool": {"hatch": {"envs": {"default": {"dependencies": ["coverage[toml]", "sub @ {root:uri}/sub"]},
                                         "test": {"dependencies": ["pytest-mock"]},
                                         "docs": {"dependencies": ["mkdocs"]}}}}}
    flit = {"tool": {"flit": {"metadata": {"requires-extra": {"test": ["pytest", "testpath"], "doc": ["sphinx"]}}}}}
    assert tool_groups(pdm, ["test"]) == ["pytest>=7"]
    assert tool_groups(hatch, ["test"]) == ["coverage[toml]", "pytest-mock"]
    assert tool_groups(flit, ["test"]) == ["pytest", "testpath"]
    assert tool_groups({"tool": "broken"}, ["test"]) == [] and tool_groups({}, ["test"]) == []


def test_native_code_from_setup_py_or_the_build_requirements():
    assert native_build("setup(ext_modules=cythonize('x.pyx'))", {}) == "setup.py defines extension modules"
    assert native_build("from setuptools import setup\nsetup(name='x')\n", {}) is None
    assert native_build(None, {"build-system": {"requires": ["setuptools", "Cython>=3"]}}) == "its build requires cython"
    assert native_build(None, {"build-system": {"requires": ["hatchling", "not a requirement!"]}}) is None

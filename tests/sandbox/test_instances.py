"""SWE-bench instances: environment specs adapted to pip, and validation end to end in Docker
on a synthetic instance (a repository made here, a spec that needs no network)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from agent.settings import load_settings
from sandbox import instances
from sandbox import swebench_adapter as swe
from sandbox.base import SandboxError
from sandbox.docker_engine import docker_client
from sandbox.instances import eval_command, instance_environment, swebench_recipe, validate
from sandbox.layers import env_layer, suite_for, tree_layer


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


def test_env_layer_from_a_requirements_spec(clone, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {"python": "3.9", "packages": "requirements.txt", "pip_packages": ["flake8"]})
    monkeypatch.setattr(swe, "requirements_paths", lambda repo: ["requirements-dev.txt", "missing.txt"])
    undated = load_settings(overrides=["sandbox.swebench_uploaded_prior_to=null"]).sandbox
    layer = env_layer(swebench_recipe(_row(clone[1]), clone[0], undated), "base:tag")
    assert layer.files == {"/opt/reqs/requirements-dev.txt": "mpmath==1.3.0\n"}  # read at the base commit; a missing file is skipped
    assert "pip install -q -r requirements-dev.txt\n" in layer.script + "\n"
    assert layer.script.endswith("pip install -q flake8")  # the pins after the requirements
    assert layer.env["PATH"].startswith("/opt/venv/bin:")


def test_what_a_spec_leaves_unpinned_installs_as_of_the_harness_date(clone, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "pip_packages": ["tox==4.16.0"]})
    cfg = load_settings(overrides=["sandbox.swebench_uploaded_prior_to=2025-01-15T00:00:00Z"]).sandbox
    env = instance_environment(_row(clone[1]), clone[0].parent, cfg)
    assert env.recipe.uploaded_prior_to == "2025-01-15T00:00:00Z"
    script = env_layer(env.recipe, "base:tag").script
    assert "--uploaded-prior-to=2025-01-15T00:00:00Z" in script and "'pip>=26.0'" in script  # the pip that knows it
    assert env.variables["PIP_UPLOADED_PRIOR_TO"] == "2025-01-15T00:00:00Z"  # the tree's install, too
    assert "export PIP_UPLOADED_PRIOR_TO=2025-01-15T00:00:00Z" in tree_layer(env, "env:tag").script
    # an install today's pip cannot do (a backend without the editable hook) is tried with the old one
    assert env.install[-1] == ("{ echo installed > .installed; } || { echo 'supercoder: today'\"'\"'s pip cannot install the tree; "
                               "again with pip<24.1'; python -m pip install -q 'pip<24.1' && { echo installed > .installed; }; }")


def test_requirements_are_read_at_the_environment_setup_commit(clone, monkeypatch):
    root, base = clone
    monkeypatch.setattr(swe, "spec", lambda repo, version: {"python": "3.9", "packages": "requirements.txt"})
    monkeypatch.setattr(swe, "requirements_paths", lambda repo: ["requirements-dev.txt"])
    (root / "requirements-dev.txt").write_text("mpmath==1.2.0\n")
    _git(root, "commit", "-qam", "setup")
    row = {**_row(base), "environment_setup_commit": _git(root, "rev-parse", "HEAD")}
    assert swebench_recipe(row, root, load_settings().sandbox).files == {"requirements-dev.txt": "mpmath==1.2.0\n"}
    assert swebench_recipe(_row(base), root, load_settings().sandbox).files == {"requirements-dev.txt": "mpmath==1.3.0\n"}


def test_an_environment_file_is_installed_as_far_as_pip_can_held_to_the_pins(clone, monkeypatch):
    root, base = clone
    (root / "environment.yml").write_text("dependencies:\n  - numbagg\n  - iris\n  - hdf5\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "env")
    monkeypatch.setattr(swe, "spec", lambda repo, version: {"python": "3.10", "packages": "environment.yml", "pip_packages": ["numpy==1.23.0"]})
    monkeypatch.setattr(swe, "env_yml_paths", lambda repo: ["environment.yml"])
    cfg = load_settings(None, ['sandbox.extra_pins={"pytest-dev/pytest": ["numbagg<0.9"]}']).sandbox
    recipe = swebench_recipe({**_row(base), "environment_setup_commit": _git(root, "rev-parse", "HEAD")}, root, cfg)
    assert recipe.optional == ["numbagg", "scitools-iris"] and recipe.constraints == ["numpy==1.23.0", "numbagg<0.9"]
    assert recipe.pip == [["numpy==1.23.0", "'numbagg<0.9'"]]


def test_env_layer_without_packages_needs_no_network(clone, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {"python": "3.11", "packages": "python=3.11 pip"})
    assert "pip install" not in env_layer(swebench_recipe(_row(clone[1]), clone[0], load_settings().sandbox), "base:tag").script


def test_a_python_no_suite_has_takes_its_substitute():
    cfg = load_settings().sandbox
    said = []
    assert suite_for("3.10", cfg, said.append) == "bullseye" and "using 3.9" in said[0]
    assert suite_for("3.11", cfg) == "bookworm"
    with pytest.raises(SandboxError, match="no Debian suite has Python 2.7"):
        suite_for("2.7", cfg)


def test_services_a_tree_asks_for_start_before_its_tests(clone, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: SPEC)
    monkeypatch.setattr(swe, "test_directives", lambda row: ["test_calc.py"])
    def services(wanted_by: str):
        echo = {"wanted_by": wanted_by, "packages": ["x"], "start": "serve", "env": {"ECHO_URL": "http://127.0.0.1:1/"}}
        return load_settings(None, [f"sandbox.services={json.dumps({'echo': echo})}"]).sandbox

    # The tree's test file imports `add`; nothing in it reads LOG_URL.
    wanted, unwanted = services("import add"), services("LOG_URL")
    env = instance_environment(_row(clone[1]), clone[0].parent, wanted)
    command = eval_command(_row(clone[1]), env, "/opt/services")
    assert command.index("serve") < command.index("export ECHO_URL=http://127.0.0.1:1/") < command.index("python run_tests.py test_calc.py")
    assert "/opt/services/echo/bin" in command
    assert "/opt/services/echo/bin/python -m pip install -q x" in env_layer(env.recipe, "base:tag").script
    bare = instance_environment(_row(clone[1]), clone[0].parent, unwanted)
    assert bare.recipe.services == {}
    assert eval_command(_row(clone[1]), bare, "/opt/services") == "python run_tests.py test_calc.py"
    # django's spec sets the locale in the test command's shell first
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "eval_commands": ["export LANG=en_US.UTF-8"]})
    assert eval_command(_row(clone[1]), bare, "/opt/services") == "export LANG=en_US.UTF-8\npython run_tests.py test_calc.py"


def test_instance_layer_gives_setuptools_scm_the_version(clone, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "pre_install": ["echo pre"]})
    env = instance_environment({**_row(clone[1]), "version": "5.4"}, clone[0].parent, load_settings().sandbox)
    layer = tree_layer(env, "env:tag")
    assert (layer.name, layer.commit, layer.clone) == ("owner__name-1", clone[1], str(clone[0]))
    script = layer.script
    assert "export SETUPTOOLS_SCM_PRETEND_VERSION=5.4.0" in script
    assert script.index("echo pre") < script.index("echo installed")
    assert instances.TREE_ON_PATH not in script


def test_an_editable_install_puts_the_tree_on_sys_path(tmp_path, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "install": "python -m pip install -e ."})
    commands, _ = instances.install_commands({"repo": "r", "version": "1.0"})
    assert commands[-1] == instances.TREE_ON_PATH
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "install": "python -m pip install ."})
    assert instances.TREE_ON_PATH not in instances.install_commands({"repo": "r", "version": "1.0"})[0]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    (tmp_path / "tree").mkdir()
    subprocess.run(["bash", "-c", f". {venv}/bin/activate && {instances.TREE_ON_PATH}"], cwd=tmp_path / "tree", check=True)
    path = subprocess.run([str(venv / "bin" / "python"), "-c", "import sys; print(sys.path)"], cwd="/", capture_output=True, text=True).stdout
    assert repr(str(tmp_path / "tree")) in path


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
    cfg = load_settings(None, [f"sandbox.clone_url={tmp_path}/remotes/{{repo}}"]).sandbox
    row = _row(synthetic[1])
    error = validate(row, tmp_path / "empty", cfg, None).error
    assert "no clone of pytest-dev/pytest" in error and f"cloning {tmp_path}/remotes/pytest-dev/pytest failed" in error
    assert not (tmp_path / "empty" / "pytest-dev__pytest").exists() and not list((tmp_path / "empty").glob(".*partial"))
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "python": "2.7"})
    assert "no Debian suite has Python 2.7" in validate(row, synthetic[0].parent, cfg, None).error


def test_a_missing_clone_is_cloned_bare_from_the_configured_url(synthetic, tmp_path):
    root, commit = synthetic
    cfg = load_settings(None, [f"sandbox.clone_url={root.parent}/{{repo}}", "sandbox.backend=local",
                               f"sandbox.local_venv_dir={tmp_path / 'venvs'}", f'sandbox.local_pythons={{"3.11": "{sys.executable}"}}']).sandbox
    (root.parent / "pytest-dev").mkdir()
    (root.parent / "pytest-dev" / "pytest").symlink_to(root)  # the "remote", at {repo}
    said = []
    clone = instances.clone_for(tmp_path / "cache", "pytest-dev/pytest", cfg, said.append)
    assert clone == tmp_path / "cache" / "pytest-dev__pytest" and (clone / "HEAD").is_file() and said[0].startswith("cloning ")
    assert instances.clone_for(tmp_path / "cache", "pytest-dev/pytest", cfg, said.append) == clone and len(said) == 1
    row = _row(commit)
    assert validate(row, tmp_path / "cache", cfg, row["patch"]).resolved


def test_validate_on_the_local_backend(synthetic, tmp_path):
    root, commit = synthetic
    cfg = load_settings(None, ["sandbox.backend=local", f"sandbox.local_venv_dir={tmp_path / 'venvs'}",
                               f'sandbox.local_pythons={{"3.11": "{sys.executable}"}}']).sandbox
    row = _row(commit)
    gold = validate(row, root.parent, cfg, row["patch"])
    assert gold.error is None and gold.resolved
    none = validate(row, root.parent, cfg, None)
    assert none.error is None and not none.resolved and none.fail_to_pass.failed == ["test_calc.py::test_add"]
    assert subprocess.run(["git", "status", "--porcelain"], cwd=root, capture_output=True, text=True).stdout == ""  # the clone only read
    assert len([p for p in (tmp_path / "venvs").iterdir() if p.is_dir()]) == 1  # one environment, reused


def test_the_local_backend_refuses_a_setup_that_changes_the_system(synthetic, tmp_path, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "pre_install": ["apt-get update && apt-get install -y locales"]})
    cfg = load_settings(None, ["sandbox.backend=local", f"sandbox.local_venv_dir={tmp_path}"]).sandbox
    error = validate(_row(synthetic[1]), synthetic[0].parent, cfg, None).error
    assert "needs the docker backend" in error and "apt-get" in error


def test_validate_locally_without_the_python_it_needs(synthetic, tmp_path, monkeypatch):
    monkeypatch.setattr(swe, "spec", lambda repo, version: {**SPEC, "python": "3.4"})
    cfg = load_settings(None, ["sandbox.backend=local", f"sandbox.local_venv_dir={tmp_path}"]).sandbox
    error = validate(_row(synthetic[1]), synthetic[0].parent, cfg, None).error
    assert "the local backend needs Python 3.4" in error


def test_instance_images_are_reused(synthetic):
    root, commit = synthetic
    cfg, client = load_settings().sandbox, docker_client()
    first = instances.ensure_instance(_row(commit), root.parent, cfg, client=client)
    assert instances.ensure_instance(_row(commit), root.parent, cfg, client=client) == first


def test_an_environment_no_backend_here_can_give_is_known_before_anything_is_built():
    from sandbox.instances import unsupported

    docker = load_settings().sandbox
    old = {"instance_id": "astropy__astropy-1", "repo": "astropy/astropy", "version": "1.3"}  # its spec asks for Python 3.6
    assert "unsupported environment" in unsupported(old, docker) and "Python 3.6" in unsupported(old, docker)
    assert unsupported({**old, "repo": "pallets/flask", "version": "2.3"}, docker) is None  # 3.11: bookworm
    assert unsupported({**old, "repo": "acme/calc", "version": "0.1"}, docker) is None  # no spec: derived, always has a Python
    with_36 = load_settings(None, ['sandbox.python_suites={"3.6": "buster"}']).sandbox
    assert unsupported(old, with_36) is None

"""The backend registry and trials: each backend says what it offers and whether trials get a
fresh sandbox, and `trials` follows what it says."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from agent.settings import load_settings
from sandbox import backends
from sandbox.backends import BACKENDS, DockerBackend, LocalBackend, backend_of
from sandbox.base import SandboxError
from sandbox.models import TestPlan
from sandbox.recipes import Environment, EnvRecipe
from sandbox.trials import COMMAND_TEST, trials

HOST = "%d.%d" % sys.version_info[:2]


def _env(tmp_path: Path, install: list[str] | None = None) -> Environment:
    return Environment(clone=tmp_path, commit="0" * 40, recipe=EnvRecipe(name="r-env", python=HOST), install=install or [],
                       name="owner__repo-1")


def test_each_name_has_a_backend_that_says_what_it_offers():
    assert set(BACKENDS) == {"docker", "local"}
    docker = load_settings(None, ["sandbox.backend=docker"]).sandbox
    local = load_settings(None, ["sandbox.backend=local", 'sandbox.local_pythons={"3.8": "/opt/py38/bin/python"}']).sandbox
    assert isinstance(backend_of(docker), DockerBackend) and backend_of(docker).fresh_per_trial
    assert isinstance(backend_of(local), LocalBackend) and not backend_of(local).fresh_per_trial
    assert backend_of(docker).pythons(docker) == list(docker.python_suites)
    assert backend_of(local).pythons(local) == ["3.8", HOST]
    assert backend_of(local).prune() == 0


def test_the_local_backend_refuses_a_setup_that_changes_the_host(tmp_path):
    cfg = load_settings(None, ["sandbox.backend=local"]).sandbox
    env = _env(tmp_path, ["sudo make install"])
    with pytest.raises(SandboxError, match="owner__repo-1 needs the docker backend: its setup changes the system"):
        with LocalBackend().open(env, cfg):
            pass


class _Tree:
    """A sandbox that only counts: how often it was reset, and what ran in it."""

    workdir = "/repo"

    def __init__(self):
        self.resets, self.ran, self.applied = 0, [], []

    def run(self, command, timeout_s=None):
        from sandbox.models import ExecResult

        self.ran.append(command)
        return ExecResult(command=command, exit_code=0 if "ok" in command else 1, output="", duration_s=0.0)

    def apply_diff(self, diff):
        if diff == "bad":
            raise SandboxError("the patch does not apply")
        self.applied.append(diff)

    def reset(self):
        self.resets += 1

    def write_file(self, path, text):
        pass


@pytest.fixture
def counting(monkeypatch):
    """Both backends made to hand out counting trees instead of real sandboxes."""
    opened: list[_Tree] = []

    @contextmanager
    def fake_open(self, env, cfg, progress=lambda _: None, client=None):
        opened.append(_Tree())
        yield opened[-1], ""

    monkeypatch.setattr(DockerBackend, "open", fake_open)
    monkeypatch.setattr(LocalBackend, "open", fake_open)
    return opened


@pytest.mark.parametrize("name, sandboxes, resets", [("docker", 3, 0), ("local", 1, 3)])
def test_trials_get_a_fresh_sandbox_or_share_one_reset_between_them(counting, tmp_path, name, sandboxes, resets):
    cfg = load_settings(None, [f"sandbox.backend={name}"]).sandbox
    with trials(_env(tmp_path), cfg, output_chars=1000) as trial:
        assert trial(None, TestPlan(command="fail")).statuses == {COMMAND_TEST: "failed"}
        assert trial("diff", TestPlan(command="ok")).statuses == {COMMAND_TEST: "passed"}
        assert trial("bad", TestPlan(command="ok")).problem == "the patch does not apply"  # a trial, not a crash
    assert len(counting) == sandboxes and sum(t.resets for t in counting) == resets
    assert [d for t in counting for d in t.applied] == ["diff"]


def test_no_backend_is_named_outside_the_registry():
    """The backend is chosen in one place: no other module of the sandbox (or of the agent) asks
    which one is configured."""
    root = Path(backends.__file__).resolve().parents[1]
    asking = [str(p.relative_to(root)) for package in ("sandbox", "agent", "localization", "editing")
              for p in (root / package).rglob("*.py") if "backend ==" in p.read_text() or "backend !=" in p.read_text()]
    assert asking == []

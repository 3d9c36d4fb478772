"""Shared fixtures: a hermetic environment, a fake OpenAI-compatible server and the small
repositories of fakes/repos.py."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

# tests/ has no __init__.py, so pytest puts this directory on sys.path for its conftest.
from fakes import repos
from fakes.openai_server import FakeOpenAIServer

# Variables that would let a test reach (or be configured by) something outside the test.
_CLEARED_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENAI_LOG",
    # A proxy would intercept requests to the fake server on 127.0.0.1.
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Remove OPENAI_* (key, base URL), proxy and every SUPERCODER_* variable for one test."""
    for name in _CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    for name in list(os.environ):
        if name.upper().startswith("SUPERCODER_"):
            monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def fake_openai(clean_env: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeOpenAIServer]:
    """A fake OpenAI-compatible server on 127.0.0.1, started for one test and stopped after it.
    The user cache (where model answers are kept) is the test's own, so no answer outlives it."""
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("cache")))
    with FakeOpenAIServer() as server:
        yield server


@pytest.fixture(scope="session")
def venvs(tmp_path_factory: pytest.TempPathFactory):
    """One folder of the local backend's environments for the session: each is built once."""
    return tmp_path_factory.mktemp("venvs")


@pytest.fixture
def toy_repo(tmp_path) -> Path:
    """The toy package (fakes.repos.TOY) at tmp_path/repo, not a git repository."""
    return repos.toy_repo(tmp_path / "repo")


@pytest.fixture
def calc_repo(tmp_path) -> Path:
    """The calc module whose add subtracts (fakes.repos.CALC) at tmp_path/calc, committed."""
    return repos.calc_repo(tmp_path / "calc")

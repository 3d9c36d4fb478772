"""Fixtures shared by the localization tests that talk to a model."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.llm import make_llm
from agent.settings import load_settings
from localization.localize import Localizer


@pytest.fixture
def localizer_with_model(tmp_path, fake_openai, monkeypatch):
    """localizer_with_model(repo, *overrides) -> (localizer, llm) talking to the fake server."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    def _open(repo: Path, *overrides: str):
        s = load_settings(overrides=[
            f"index.cache_dir={tmp_path / 'cache'}", "embeddings.provider=none",
            "llm.model=fake", f"llm.base_url={fake_openai.base_url}", "llm.max_retries=0", "llm.timeout_s=10",
            *overrides,
        ])
        return Localizer.open(repo, s), make_llm(s.llm)

    return _open

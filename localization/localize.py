"""The localization pipeline: index -> retrieval ranking -> (with a model) three LLM stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agent.config import Settings
from agent.errors import UserError
from localization.dense import make_embedder
from localization.index import CodeIndex, Progress, build_index
from localization.localize_result import ranking_to_localization
from localization.models import Localization
from localization.retrieval import HybridRetriever, Ranking

if TYPE_CHECKING:  # the openai SDK costs a second to import; retrieval-only runs never need it
    from agent.llm import LLM


@dataclass
class Localizer:
    index: CodeIndex
    retriever: HybridRetriever
    settings: Settings

    @classmethod
    def open(cls, repo: Path, settings: Settings, progress: Progress | None = None) -> "Localizer":
        index = build_index(repo, settings.index, settings.retrieval.body_max_chars, progress)
        embedder = make_embedder(settings.embeddings, settings.llm, settings.index.cache_dir)
        return cls(index=index, retriever=HybridRetriever(index, settings, embedder), settings=settings)

    def retrieve(self, issue: str) -> Ranking:
        return self.retriever.rank(clean_issue(issue, self.settings.localization.issue_max_chars))

    def localize(self, issue: str, llm: "LLM | None" = None) -> Localization:
        cfg = self.settings.localization
        issue = clean_issue(issue, cfg.issue_max_chars)
        ranking = self.retriever.rank(issue)
        if llm is None:
            return ranking_to_localization(ranking, cfg.top_files, cfg.top_units, mode="retrieval")
        from localization.stages import run_stages

        return run_stages(issue, ranking, self.index, self.settings, llm)


def clean_issue(issue: str, max_chars: int) -> str:
    text = issue.strip()
    if not text:
        raise UserError("the issue text is empty")
    return text[:max_chars]

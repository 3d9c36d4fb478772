"""The localization pipeline: index -> retrieval ranking -> (with a model) three LLM stages."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from configs.errors import UserError
from localization.config import LocalizationSettings
from localization.dense import Embedder, make_embedder
from localization.index import CodeIndex, Progress, build_index
from localization.localize_result import ranking_to_localization
from localization.models import Localization
from localization.retrieval import HybridRetriever, Ranking

if TYPE_CHECKING:  # the stages are imported only when a model takes part
    from localization.stages import ChatModel


@dataclass
class Localizer:
    index: CodeIndex
    retriever: HybridRetriever
    settings: LocalizationSettings

    @classmethod
    def open(cls, repo: Path, settings: LocalizationSettings, progress: Progress | None = None,
             remote: Callable[[], Embedder] | None = None) -> "Localizer":
        """`remote` makes the endpoint's embedder, for embeddings.provider=openai."""
        index = build_index(repo, settings.index, settings.retrieval.body_max_chars, progress)
        embedder = make_embedder(settings.embeddings, settings.index.cache_dir, remote)
        return cls(index=index, retriever=HybridRetriever(index, settings, embedder), settings=settings)

    def retrieve(self, issue: str) -> Ranking:
        return self.retriever.rank(clean_issue(issue, self.settings.localization.issue_max_chars))

    def localize(self, issue: str, llm: "ChatModel | None" = None) -> Localization:
        cfg = self.settings.localization
        issue = clean_issue(issue, cfg.issue_max_chars)
        ranking = self.retriever.rank(issue)
        if llm is None:
            return ranking_to_localization(ranking, cfg.top_files, cfg.top_units, mode="retrieval")
        from localization.stages import run_stages

        return run_stages(issue, ranking, self.index, cfg, llm, self.retriever.rank, lambda: self.retriever.graph)


def clean_issue(issue: str, max_chars: int) -> str:
    text = issue.strip()
    if not text:
        raise UserError("the issue text is empty")
    return text[:max_chars]

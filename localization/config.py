"""The config sections localization owns (their values are in configs/default.yaml), and the
settings it is given: any object carrying them, as the agent's Settings does."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Protocol

from pydantic import Field

from configs.defaults import Section


class IndexConfig(Section):
    defaults_at = "index"

    cache_dir: Path | None
    max_file_bytes: int = Field(gt=0)
    bm25_cache_entries: int = Field(ge=1)
    workers: int = Field(ge=1)
    exclude: list[str]
    include: list[str]
    languages: list[Literal["python", "javascript", "typescript"]]


class EmbeddingsConfig(Section):
    defaults_at = "embeddings"

    provider: Literal["auto", "local", "openai", "none"]
    openai_model: str
    local_model: str | None
    batch_size: int = Field(gt=0)
    max_chars: int = Field(gt=0)
    lazy_top_k: int = Field(ge=0)
    file_top_k: int = Field(ge=0)


class RetrievalConfig(Section):
    defaults_at = "retrieval"

    lexical_weight: float = Field(ge=0)
    dense_weight: float = Field(ge=0)
    dense_file_weight: float = Field(ge=0)
    file_summary_weight: float = Field(ge=0)
    name_tokens_boost: int = Field(ge=1)
    path_tokens_boost: int = Field(ge=0)
    body_max_chars: int = Field(gt=0)
    query_title_repeat: int = Field(ge=1)
    query_prefix_min_chars: int = Field(ge=0)
    query_prefix_weight: float = Field(ge=0)
    bm25_k1: float = Field(gt=0)
    bm25_b: float = Field(ge=0, le=1)
    signal_message_weight: float = Field(ge=0)
    signal_dispatch_weight: float = Field(ge=0)
    dispatch_max_defs: int = Field(ge=1)
    message_min_chars: int = Field(ge=4)
    signal_pattern_weight: float = Field(ge=0)
    pattern_value_min_chars: int = Field(ge=1)
    pattern_values_max: int = Field(ge=0)
    signal_code_line_weight: float = Field(ge=0)
    code_line_min_chars: int = Field(ge=4)
    code_lines_max: int = Field(ge=0)
    signal_path_weight: float = Field(ge=0)
    signal_traceback_weight: float = Field(ge=0)
    traceback_outer_share: float = Field(ge=0, le=1)
    signal_dotted_weight: float = Field(ge=0)
    signal_identifier_weight: float = Field(ge=0)
    title_identifier_factor: float = Field(ge=0)
    identifier_max_defs: int = Field(ge=1)
    signal_file_share: float = Field(ge=0)
    bare_name_max_files: int = Field(ge=1)
    file_unit_decay: float = Field(ge=0, le=1)
    file_units_counted: int = Field(ge=1)
    file_lexical_weight: float = Field(ge=0)
    unit_file_weight: float = Field(ge=0)
    file_best_unit_weight: float = Field(ge=0)
    structure_weight: float = Field(ge=0)
    structure_seeds: int = Field(ge=0)
    structure_decay: float = Field(ge=0, le=1)
    structure_max_hops: int = Field(ge=1)
    import_seed_files: int = Field(ge=0)
    import_file_slots: int = Field(ge=0)
    import_file_min_share: float = Field(ge=0)


class LocalizationConfig(Section):
    defaults_at = "localization"

    top_files: int = Field(ge=1)
    top_units: int = Field(ge=1)
    llm_map_files: int = Field(ge=1)
    llm_map_import_files: int = Field(ge=0)
    llm_text_files: int = Field(ge=0)
    llm_retrieved_units: int = Field(ge=0)
    llm_candidate_files: int = Field(ge=1)
    llm_schematic_files: int = Field(ge=1)
    llm_max_units: int = Field(ge=1)
    llm_reask: int = Field(ge=0)
    search_steps: int = Field(ge=0)
    search_results: int = Field(ge=1)
    open_max_lines: int = Field(ge=1)
    issue_max_chars: int = Field(gt=0)


class LocalizationSettings(Protocol):
    """The sections localization reads."""

    index: IndexConfig
    embeddings: EmbeddingsConfig
    retrieval: RetrievalConfig
    localization: LocalizationConfig

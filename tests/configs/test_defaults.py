"""The packaged defaults: each section's model takes its values from configs/default.yaml."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.settings import BatchConfig, BotConfig, LLMConfig, RepairConfig
from configs.defaults import Section, deep_merge, packaged
from editing.config import EditingConfig
from localization.config import EmbeddingsConfig, IndexConfig, LocalizationConfig, RetrievalConfig
from sandbox.config import ProjectConfig, SandboxConfig

SECTIONS = [LLMConfig, IndexConfig, EmbeddingsConfig, RetrievalConfig, LocalizationConfig, EditingConfig, SandboxConfig,
            ProjectConfig, RepairConfig, BatchConfig, BotConfig]


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.__name__)
def test_every_section_is_whole_from_the_packaged_defaults_alone(section):
    made = section()  # a field that default.yaml does not set would be missing here
    assert made.model_dump(exclude={"api_key"}) == section.model_validate(packaged(section.defaults_at)).model_dump(exclude={"api_key"})


def test_what_is_given_wins_field_by_field_and_mapping_by_mapping():
    cfg = SandboxConfig(memory_mb=512, project={"python": "3.9"})
    assert cfg.memory_mb == 512 and cfg.cpus == packaged("sandbox")["cpus"]
    assert cfg.project.python == "3.9" and cfg.project.always == packaged("sandbox.project")["always"]
    assert "gpt-4o" in LLMConfig(prices={"mine": {"input_per_mtok": 1, "output_per_mtok": 2}}).prices  # merged, not replaced


def test_a_section_refuses_unknown_fields_and_checks_assignments():
    with pytest.raises(ValidationError, match="extra"):
        EditingConfig(temperaturez=[0.0])
    cfg = EditingConfig()
    cfg.max_retries = 5
    assert cfg.max_retries == 5 and cfg.temperatures == packaged("editing")["temperatures"]
    with pytest.raises(ValidationError):
        cfg.max_retries = -1


def test_a_section_without_packaged_defaults_needs_its_fields():
    class Entry(Section):
        name: str

    assert Entry(name="x").name == "x"
    with pytest.raises(ValidationError, match="name"):
        Entry()
    with pytest.raises(KeyError, match="no section 'nowhere'"):
        packaged("nowhere")


def test_packaged_returns_a_copy_nobody_can_change():
    packaged("sandbox")["base_packages"].append("vim")
    assert "vim" not in packaged("sandbox")["base_packages"]


def test_deep_merge():
    base = {"a": {"b": 1, "c": [1]}, "d": 1}
    assert deep_merge(base, {"a": {"c": [2]}, "e": {"f": 1}}) == {"a": {"b": 1, "c": [2]}, "d": 1, "e": {"f": 1}}
    assert base == {"a": {"b": 1, "c": [1]}, "d": 1}  # untouched

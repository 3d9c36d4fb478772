"""agent/config.py: layering, --set parsing, validation, secrets and the packaged defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

import configs.defaults
from agent.settings import load_settings, parse_override
from configs.errors import ConfigError

pytestmark = pytest.mark.usefixtures("clean_env")

SECRET = "sk-very-secret-value-42"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


# -- precedence ---------------------------------------------------------------------------


def test_precedence_default_file_env_set(tmp_path, monkeypatch):
    assert load_settings().llm.timeout_s == 120

    config = write(tmp_path / "c.yaml", "llm:\n  timeout_s: 7\n")
    assert load_settings(config).llm.timeout_s == 7

    monkeypatch.setenv("SUPERCODER_LLM__TIMEOUT_S", "8")
    assert load_settings(config).llm.timeout_s == 8

    assert load_settings(config, ["llm.timeout_s=9"]).llm.timeout_s == 9


def test_layers_merge_field_by_field_not_section_by_section(tmp_path, monkeypatch):
    config = write(tmp_path / "c.yaml", "llm:\n  max_tokens: 100\nlocalization:\n  top_files: 9\n")
    monkeypatch.setenv("SUPERCODER_LLM__TIMEOUT_S", "8")

    s = load_settings(config, ["llm.model=set-model"])

    assert s.llm.model == "set-model"  # --set
    assert s.llm.timeout_s == 8  # environment
    assert s.llm.max_tokens == 100  # file
    assert s.llm.max_retries == 3  # packaged default
    assert s.localization.top_files == 9
    assert s.localization.top_units == 10


def test_set_beats_env_and_env_beats_file_for_the_same_field(tmp_path, monkeypatch):
    config = write(tmp_path / "c.yaml", "llm:\n  model: file-model\n")
    monkeypatch.setenv("SUPERCODER_LLM__MODEL", "env-model")

    assert load_settings(config).llm.model == "env-model"
    assert load_settings(config, ["llm.model=set-model"]).llm.model == "set-model"


def test_later_set_wins_over_earlier_set():
    s = load_settings(overrides=["localization.top_files=2", "localization.top_files=4"])
    assert s.localization.top_files == 4


def test_empty_config_file_keeps_defaults(tmp_path):
    s = load_settings(write(tmp_path / "empty.yaml", "# nothing\n"))
    assert s.localization.top_files == 5


# -- --set values -------------------------------------------------------------------------


def test_set_values_parse_as_yaml(tmp_path):
    config = write(tmp_path / "c.yaml", "llm:\n  model: file-model\n")
    s = load_settings(
        config,
        [
            "localization.top_files=8",
            "retrieval.lexical_weight=2",
            "index.exclude=[a/**, '**/b.py']",
            "llm.model=null",
            "llm.base_url=http://host:8000/v1?x=y",
        ],
    )
    assert s.localization.top_files == 8 and isinstance(s.localization.top_files, int)
    assert s.retrieval.lexical_weight == 2.0
    assert s.index.exclude == ["a/**", "**/b.py"]
    assert s.llm.model is None  # null overrides the file's value
    assert s.llm.base_url == "http://host:8000/v1?x=y"  # only the first '=' splits


@pytest.mark.parametrize(
    ("item", "expected"),
    [
        ("a.b=[0, 0.7]", {"a": {"b": [0, 0.7]}}),
        ("a.b=8", {"a": {"b": 8}}),
        ("a.b=null", {"a": {"b": None}}),
        ("a.b=true", {"a": {"b": True}}),
        ("a.b=gpt-4o", {"a": {"b": "gpt-4o"}}),
        ("a.b=", {"a": {"b": ""}}),
        ("a.b.c={x: 1}", {"a": {"b": {"c": {"x": 1}}}}),
    ],
)
def test_parse_override(item, expected):
    assert parse_override(item) == expected


@pytest.mark.parametrize("item", ["localization.top_files", "=3", ".x=1", "a..b=1", "a.=1"])
def test_malformed_set_is_a_config_error(item):
    with pytest.raises(ConfigError, match="section.field=value"):
        load_settings(overrides=[item])


# -- validation ---------------------------------------------------------------------------


def test_unknown_section_is_rejected_by_name():
    with pytest.raises(ConfigError, match=r"nosuchsection: unknown setting"):
        load_settings(overrides=["nosuchsection.x=1"])


def test_unknown_field_is_rejected_by_name():
    with pytest.raises(ConfigError, match=r"llm\.nosuchfield: unknown setting"):
        load_settings(overrides=["llm.nosuchfield=1"])


def test_unknown_field_in_config_file_is_rejected_by_name(tmp_path):
    config = write(tmp_path / "c.yaml", "localization:\n  top_filez: 3\n")
    with pytest.raises(ConfigError, match=r"localization\.top_filez"):
        load_settings(config)


def test_out_of_range_value_is_rejected_by_name():
    with pytest.raises(ConfigError, match=r"llm\.temperature"):
        load_settings(overrides=["llm.temperature=5"])


def test_invalid_env_value_is_rejected_by_name(monkeypatch):
    monkeypatch.setenv("SUPERCODER_LOCALIZATION__TOP_FILES", "many")
    with pytest.raises(ConfigError, match=r"localization\.top_files"):
        load_settings()


# -- config files -------------------------------------------------------------------------


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.yaml")


def test_invalid_yaml_is_a_config_error_with_the_line(tmp_path):
    config = write(tmp_path / "bad.yaml", "llm:\n  model: [unclosed\n  timeout_s: 3\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: not valid YAML at line"):
        load_settings(config)


def test_non_mapping_yaml_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="mapping"):
        load_settings(write(tmp_path / "list.yaml", "- llm\n- index\n"))


# -- secrets ------------------------------------------------------------------------------


def test_api_key_in_config_file_is_refused_without_echoing_it(tmp_path):
    config = write(tmp_path / "c.yaml", f"llm:\n  model: m\n  api_key: {SECRET}\n")
    with pytest.raises(ConfigError, match=r"llm\.api_key is a secret") as info:
        load_settings(config)
    assert "SUPERCODER_LLM__API_KEY" in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("item", [f"llm.api_key={SECRET}", f"llm={{api_key: {SECRET}}}"])
def test_api_key_in_set_is_refused_without_echoing_it(item):
    with pytest.raises(ConfigError, match=r"llm\.api_key is a secret") as info:
        load_settings(overrides=[item])
    assert SECRET not in str(info.value)


def test_api_key_in_set_is_refused_whatever_the_case():
    with pytest.raises(ConfigError):
        load_settings(overrides=[f"LLM.api_key={SECRET}"])


def test_api_key_from_env_is_used_but_never_dumped(monkeypatch):
    monkeypatch.setenv("SUPERCODER_LLM__API_KEY", SECRET)
    s = load_settings()

    assert s.llm.resolved_api_key() == SECRET
    dump = s.public_dump()
    text = json.dumps(dump)
    assert SECRET not in text
    assert dump["llm"]["api_key"] not in (None, "")  # present, but masked
    assert SECRET not in repr(s)
    assert SECRET not in str(s)


def test_public_dump_is_json_safe_and_complete(tmp_path):
    s = load_settings(overrides=[f"index.cache_dir={tmp_path}"])
    dump = json.loads(json.dumps(s.public_dump()))
    assert set(dump) == {"llm", "index", "embeddings", "retrieval", "localization", "editing", "sandbox", "repair", "batch", "bot"}
    assert dump["index"]["cache_dir"] == str(tmp_path)
    assert dump["llm"]["api_key"] is None


# -- packaged defaults --------------------------------------------------------------------


def test_default_config_text_is_the_packaged_yaml():
    text = configs.defaults.default_config_text()
    assert "localization:" in text
    assert isinstance(yaml.safe_load(text), dict)


def test_defaults_come_from_the_packaged_yaml():
    s = load_settings()
    assert s.localization.top_files == 5
    assert "**/tests/**" in s.index.exclude


def _within(packaged, dumped, where: str) -> None:
    """Every packaged value is the resolved one (an entry of a mapping, a service say, may add the
    defaults of its own schema)."""
    if isinstance(packaged, dict):
        assert isinstance(dumped, dict) and set(packaged) <= set(dumped), where
        for key, value in packaged.items():
            _within(value, dumped[key], f"{where}.{key}")
    else:
        assert dumped == packaged, where


def test_every_packaged_default_is_applied_and_every_setting_has_one():
    packaged = yaml.safe_load(configs.defaults.default_config_text())
    dump = load_settings().public_dump()
    assert set(packaged) == set(dump)
    for section, fields in packaged.items():
        assert set(fields) == set(dump[section]) - {"api_key"}, section  # a secret has no default
        _within(fields, dump[section], section)


# -- editing section -------------------------------------------------------------------------


def test_editing_temperatures_from_set_and_their_range():
    assert load_settings(overrides=["editing.temperatures=[0, 0.7]"]).editing.temperatures == [0.0, 0.7]
    with pytest.raises(ConfigError, match="editing.temperatures"):
        load_settings(overrides=["editing.temperatures=[0, 2.5]"])
    with pytest.raises(ConfigError, match="editing.temperatures"):
        load_settings(overrides=["editing.temperatures=[]"])


def test_editing_defaults_are_the_packaged_ones():
    e = load_settings().editing
    assert e.temperatures == [0.0, 0.4, 0.8]
    assert e.editor == "ast"
    assert "UndefinedName" in e.lint_blocking
    with pytest.raises(ConfigError, match="editing.diff_context"):
        load_settings(overrides=["editing.diff_context=0"])  # git apply needs context


@pytest.mark.parametrize("override, fragment", [
    ("sandbox.clone_url=https://x/{owner}/{name}", "one placeholder"),
    ('sandbox.services={"bad name": {"wanted_by": "X", "packages": ["x"], "start": "s"}}', "letters, digits and _ only"),
    ('sandbox.services={"web": {"wanted_by": "(", "packages": ["x"], "start": "s"}}', "no regular expression"),
    ("repair.offline_failure=(", "no regular expression"),
])
def test_sandbox_settings_that_would_break_a_command(override, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_settings(None, [override])


# -- environment and dumps, as an attacker or a typo would try them ---------------------------


def test_a_misspelt_section_in_the_environment_is_refused_by_name(monkeypatch):
    monkeypatch.setenv("SUPERCODER_EDITNG__MAX_RETRIES", "5")
    with pytest.raises(ConfigError, match="SUPERCODER_EDITNG__MAX_RETRIES: no settings section 'editng'"):
        load_settings()
    monkeypatch.delenv("SUPERCODER_EDITNG__MAX_RETRIES")
    monkeypatch.setenv("SUPERCODER_EDITING__MAX_RETRIEZ", "5")
    with pytest.raises(ConfigError, match=r"editing\.max_retriez: unknown setting"):
        load_settings()
    monkeypatch.delenv("SUPERCODER_EDITING__MAX_RETRIEZ")
    monkeypatch.setenv("SUPERCODER_DEBUG", "1")  # not a setting: left alone
    assert load_settings().editing.max_retries == 2


def test_every_configured_secret_is_masked_in_dumps():
    s = load_settings(overrides=['sandbox.build_env={PIP_INDEX_URL: "https://me:s3cr3t-pw@pypi.corp/simple", '
                                 'NPM_TOKEN: tok-123456, PIP_RETRIES: "3"}',
                                 "sandbox.clone_url=https://me:s3cr3t-pw@git.corp/{repo}.git"])
    text = json.dumps(s.public_dump())
    assert "s3cr3t-pw" not in text and "tok-123456" not in text
    dump = s.public_dump()["sandbox"]
    assert dump["build_env"] == {"PIP_INDEX_URL": "https://***@pypi.corp/simple", "NPM_TOKEN": "***", "PIP_RETRIES": "3"}
    assert dump["clone_url"] == "https://***@git.corp/{repo}.git"
    assert s.sandbox.build_env["NPM_TOKEN"] == "tok-123456"  # masked in the dump only

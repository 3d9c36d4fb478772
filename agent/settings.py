"""Settings: the sections of every package, composed; filled from the packaged defaults, then a
YAML file, then SUPERCODER_<SECTION>__<FIELD> variables, then --set overrides.

Secrets (API keys) come from the environment only: a config file or an override that sets one
is refused, and dumps show them masked.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import EnvSettingsSource, SettingsError

from configs.defaults import Section, deep_merge
from configs.errors import ConfigError
from editing.config import EditingConfig
from localization.config import EmbeddingsConfig, IndexConfig, LocalizationConfig, RetrievalConfig
from sandbox.config import SandboxConfig

SECRET_FIELDS = {("llm", "api_key")}
ENV_PREFIX = "SUPERCODER_"
# A variable whose name says it holds a secret (sandbox.build_env may carry an index's token).
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSW|CREDENTIAL|AUTH", re.I)
_URL_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


class Price(Section):
    input_per_mtok: float = Field(ge=0)  # USD per million prompt tokens
    output_per_mtok: float = Field(ge=0)  # USD per million completion tokens


class LLMConfig(Section):
    defaults_at = "llm"

    model: str | None
    base_url: str | None
    api_key: SecretStr | None = Field(default=None, repr=False)  # a secret: from the environment only, never in default.yaml
    timeout_s: float = Field(gt=0)
    max_retries: int = Field(ge=0)
    backoff_initial_s: float = Field(ge=0)
    backoff_multiplier: float = Field(ge=1)
    backoff_max_s: float = Field(ge=0)
    backoff_jitter: float = Field(ge=0, le=1)
    retry_after_max_s: float = Field(ge=0)
    max_tokens: int = Field(gt=0)
    temperature: float = Field(ge=0, le=2)
    prices: dict[str, Price]  # by model name (or its prefix before a dated suffix)
    max_cost_usd: float | None = Field(gt=0)
    max_calls: int | None = Field(ge=1)
    cache: bool
    cache_dir: Path | None

    def resolved_api_key(self) -> str | None:
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY") or None

    def resolved_base_url(self) -> str | None:
        return self.base_url or os.environ.get("OPENAI_BASE_URL")

    @property
    def configured(self) -> bool:
        return bool(self.model)


class RepairConfig(Section):
    defaults_at = "repair"

    rounds: int = Field(ge=1)
    candidates_per_round: int = Field(ge=1)
    reproduction_test: bool
    repro_path: str
    repro_suite: str = Field(min_length=1)
    repro_temperature: float = Field(ge=0, le=2)
    repro_rejected: list[str]
    repro_example_chars: int = Field(ge=0)
    offline_failure: str
    rerun_failures: bool
    related_tests: bool
    related_tests_max: int = Field(ge=1)
    feedback_output_chars: int = Field(ge=200)
    runs_dir: Path | None
    preflight: bool

    @field_validator("offline_failure")
    @classmethod
    def _pattern(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"{value!r} is no regular expression ({exc})") from None
        return value


class BatchConfig(Section):
    defaults_at = "batch"

    workers: int = Field(ge=1)
    executor: Literal["local", "ray"]
    ray_address: str | None
    ray_cpus_per_task: float = Field(gt=0)
    hints: bool
    max_cost_per_instance_usd: float | None = Field(gt=0)
    max_total_cost_usd: float | None = Field(gt=0)
    model_name: str | None
    poll_interval_s: float = Field(gt=0)


class BotConfig(Section):
    defaults_at = "bot"

    label: str = Field(min_length=1)
    command: str = Field(min_length=1)
    login: str | None
    allowed_repos: list[str]
    host: str
    port: int = Field(ge=0, le=65535)
    workers: int = Field(ge=0)
    queue_path: Path | None
    poll_interval_s: float = Field(gt=0)
    rate_limit_jobs: int = Field(ge=1)
    rate_limit_window_s: float = Field(gt=0)
    refusal_cache_s: float = Field(ge=0)
    lease_s: float = Field(ge=10)
    max_attempts: int = Field(ge=1)
    job_timeout_s: float = Field(gt=0)
    max_payload_bytes: int = Field(gt=0)
    request_timeout_s: float = Field(gt=0)
    max_connections: int = Field(ge=1)
    max_connections_per_client: int = Field(ge=1)
    shutdown_timeout_s: float = Field(gt=0)
    accept_error_interval_s: float = Field(ge=0)
    api_url: str
    api_timeout_s: float = Field(gt=0)
    clone_url: str | None
    clone_depth: int | None = Field(ge=1)
    branch_prefix: str = Field(min_length=1)
    open_unvalidated: bool
    reaction: Literal["+1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"]
    git_name: str
    git_email: str

    @field_validator("clone_url")
    @classmethod
    def _repo_placeholder(cls, value: str | None) -> str | None:
        if value is not None and "{repo}" not in value:
            raise ValueError('must contain "{repo}"')
        return value


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    llm: LLMConfig = Field(default_factory=LLMConfig)
    index: IndexConfig = Field(default_factory=IndexConfig)
    embeddings: EmbeddingsConfig = Field(default_factory=EmbeddingsConfig)
    retrieval: RetrievalConfig = Field(default_factory=RetrievalConfig)
    localization: LocalizationConfig = Field(default_factory=LocalizationConfig)
    editing: EditingConfig = Field(default_factory=EditingConfig)
    sandbox: SandboxConfig = Field(default_factory=SandboxConfig)
    repair: RepairConfig = Field(default_factory=RepairConfig)
    batch: BatchConfig = Field(default_factory=BatchConfig)
    bot: BotConfig = Field(default_factory=BotConfig)

    def public_dump(self) -> dict[str, Any]:
        """The resolved configuration as JSON-safe data, secrets masked: a key, credentials in any
        URL, the values of build variables whose names say they are secret."""
        data = _masked(self.model_dump(mode="json"))
        data["llm"]["base_url"] = without_credentials(data["llm"]["base_url"])
        data["sandbox"]["build_env"] = {k: "***" if _SECRET_NAME.search(k) else v for k, v in data["sandbox"]["build_env"].items()}
        return data


def _masked(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _masked(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_masked(v) for v in data]
    return _URL_CREDENTIALS.sub("***@", data) if isinstance(data, str) else data


def without_credentials(url: str | None) -> str | None:
    """A URL without the user:password part or query a proxy URL may carry."""
    if not url:
        return url
    parts = urlsplit(url)
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _parse_yaml(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{origin}: not valid YAML{where}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping of sections at the top level")
    return data


def parse_override(item: str) -> dict[str, Any]:
    """`a.b.c=value` -> {"a": {"b": {"c": value}}}, the value read as YAML (so 8, [0, 0.7], null work)."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key or any(not part for part in key.split(".")):
        raise ConfigError(f"--set {item!r}: expected section.field=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    node: Any = value
    for part in reversed(key.split(".")):
        node = {part: node}
    return node


def _refuse_secrets(data: dict[str, Any], origin: str) -> None:
    # Sections and fields match case-insensitively (as the environment's do), so this check must too.
    sections = {str(k).lower(): v for k, v in data.items()}
    for section, field in SECRET_FIELDS:
        values = sections.get(section)
        if isinstance(values, dict) and field in {str(k).lower() for k in values}:
            env = f"{ENV_PREFIX}{section.upper()}__{field.upper()}"
            raise ConfigError(f"{origin}: {section}.{field} is a secret; set it in the environment ({env} or OPENAI_API_KEY)")


def _describe(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"])
    msg = err["msg"]
    if err["type"] == "extra_forbidden":
        msg = "unknown setting"
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"invalid configuration: {loc}: {msg}{more}"


def _from_environment() -> dict[str, Any]:
    for name in os.environ:  # a misspelt section would be silently ignored; a field is refused by its section
        section = name[len(ENV_PREFIX):].partition("__")[0].lower() if name.upper().startswith(ENV_PREFIX) and "__" in name else None
        if section is not None and section not in Settings.model_fields:
            raise ConfigError(f"{name}: no settings section {section!r} (sections: {', '.join(Settings.model_fields)})")
    try:
        return EnvSettingsSource(Settings, env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False)()
    except SettingsError as exc:  # a SUPERCODER_* variable that does not parse
        raise ConfigError(f"invalid environment setting: {exc}") from None


def _read_config_file(config_file: str | Path) -> dict[str, Any]:
    path = Path(config_file)
    if not path.exists():
        raise ConfigError(f"config file not found: {path}")
    if not path.is_file():
        raise ConfigError(f"config file is not a file: {path}")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read config file {path}: {exc}") from None
    data = _parse_yaml(text, str(path))
    _refuse_secrets(data, str(path))
    return data


def load_settings(config_file: str | Path | None = None, overrides: list[str] | None = None) -> Settings:
    """The packaged defaults (each section fills in what is not given), then `config_file`, then
    the environment, then `overrides` (`section.field=value`)."""
    data = _read_config_file(config_file) if config_file is not None else {}
    data = deep_merge(data, _from_environment())
    for item in overrides or []:
        parsed = parse_override(item)
        _refuse_secrets(parsed, f"--set {item.partition('=')[0]}")
        data = deep_merge(data, parsed)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None

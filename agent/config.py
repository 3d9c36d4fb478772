"""Configuration: packaged defaults, then a YAML file, then SUPERCODER_* variables, then --set.

Secrets (API keys) come from the environment only: a config file or an override that
sets one is refused, and dumps show them masked.
"""

from __future__ import annotations

import copy
import re
import os
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from agent.errors import ConfigError
from agent.resources import default_config_text

SECRET_FIELDS = {("llm", "api_key")}
ENV_PREFIX = "SUPERCODER_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Price(_Section):
    input_per_mtok: float = Field(ge=0)  # USD per million prompt tokens
    output_per_mtok: float = Field(ge=0)  # USD per million completion tokens


def _default_prices() -> dict[str, Price]:
    # List prices (USD per million tokens) as published in 2025; set llm.prices for others.
    table = {"gpt-4o": (2.50, 10.00), "gpt-4o-mini": (0.15, 0.60), "gpt-4.1": (2.00, 8.00), "gpt-4.1-mini": (0.40, 1.60),
             "gpt-4.1-nano": (0.10, 0.40), "o3-mini": (1.10, 4.40), "o4-mini": (1.10, 4.40)}
    return {name: Price(input_per_mtok=i, output_per_mtok=o) for name, (i, o) in table.items()}


class LLMConfig(_Section):
    model: str | None = None
    base_url: str | None = None
    api_key: SecretStr | None = Field(default=None, repr=False)
    timeout_s: float = Field(120, gt=0)
    max_retries: int = Field(3, ge=0)  # on 429, 5xx, timeouts and dropped connections
    backoff_initial_s: float = Field(1.0, ge=0)
    backoff_multiplier: float = Field(2.0, ge=1)
    backoff_max_s: float = Field(60.0, ge=0)
    backoff_jitter: float = Field(0.5, ge=0, le=1)  # each wait is cut by up to this fraction, at random
    retry_after_max_s: float = Field(300.0, ge=0)  # a longer Retry-After is capped to this
    max_tokens: int = Field(4096, gt=0)
    temperature: float = Field(0.0, ge=0, le=2)
    prices: dict[str, Price] = Field(default_factory=_default_prices)  # by model name (or its prefix before a dated suffix)
    max_cost_usd: float | None = Field(None, gt=0)  # per run; None: no limit
    max_calls: int | None = Field(None, ge=1)  # endpoint calls per run; None: no limit
    cache: bool = True  # answers kept on disk by request: a rerun replays them and costs nothing
    cache_dir: Path | None = None  # None: the user cache directory

    def resolved_api_key(self) -> str | None:
        if self.api_key is not None and self.api_key.get_secret_value():
            return self.api_key.get_secret_value()
        return os.environ.get("OPENAI_API_KEY") or None

    def resolved_base_url(self) -> str | None:
        return self.base_url or os.environ.get("OPENAI_BASE_URL")

    @property
    def configured(self) -> bool:
        return bool(self.model)


class IndexConfig(_Section):
    cache_dir: Path | None = None
    max_file_bytes: int = Field(1_000_000, gt=0)
    bm25_cache_entries: int = Field(32, ge=1)
    workers: int = Field(2, ge=1)
    exclude: list[str] = Field(default_factory=list)
    include: list[str] = Field(default_factory=list)


class EmbeddingsConfig(_Section):
    provider: Literal["auto", "local", "openai", "none"] = "auto"
    openai_model: str = "text-embedding-3-small"
    local_model: str | None = None
    batch_size: int = Field(32, gt=0)
    max_chars: int = Field(1500, gt=0)
    lazy_top_k: int = Field(200, ge=0)
    file_top_k: int = Field(30, ge=0)


class RetrievalConfig(_Section):
    lexical_weight: float = Field(1.0, ge=0)
    dense_weight: float = Field(3.0, ge=0)
    dense_file_weight: float = Field(1.0, ge=0)
    file_summary_weight: float = Field(0.75, ge=0)
    name_tokens_boost: int = Field(3, ge=1)
    path_tokens_boost: int = Field(2, ge=0)
    body_max_chars: int = Field(4000, gt=0)
    query_title_repeat: int = Field(2, ge=1)
    bm25_k1: float = Field(1.5, gt=0)
    bm25_b: float = Field(0.75, ge=0, le=1)
    signal_message_weight: float = Field(1.5, ge=0)
    signal_dispatch_weight: float = Field(0.4, ge=0)
    dispatch_max_defs: int = Field(16, ge=1)
    message_min_chars: int = Field(12, ge=4)
    signal_path_weight: float = Field(3.0, ge=0)
    signal_traceback_weight: float = Field(2.0, ge=0)
    traceback_outer_share: float = Field(0.4, ge=0, le=1)
    signal_dotted_weight: float = Field(1.5, ge=0)
    signal_identifier_weight: float = Field(0.4, ge=0)
    title_identifier_factor: float = Field(1.0, ge=0)
    identifier_max_defs: int = Field(8, ge=1)
    signal_file_share: float = Field(0.5, ge=0)
    bare_name_max_files: int = Field(3, ge=1)
    file_unit_decay: float = Field(0.5, ge=0, le=1)
    file_units_counted: int = Field(3, ge=1)
    file_lexical_weight: float = Field(1.0, ge=0)
    unit_file_weight: float = Field(0.5, ge=0)


class LocalizationConfig(_Section):
    top_files: int = Field(5, ge=1)
    top_units: int = Field(10, ge=1)
    llm_map_files: int = Field(60, ge=1)
    llm_retrieved_units: int = Field(20, ge=0)
    llm_candidate_files: int = Field(8, ge=1)
    llm_schematic_files: int = Field(5, ge=1)
    llm_max_units: int = Field(10, ge=1)
    llm_reask: int = Field(1, ge=0)
    issue_max_chars: int = Field(12000, gt=0)


PYFLAKES_BLOCKING = [
    "UndefinedName", "UndefinedLocal", "UndefinedExport", "UnusedImport", "RedefinedWhileUnused",
    "DuplicateArgument", "ReturnOutsideFunction", "YieldOutsideFunction", "ContinueOutsideLoop", "BreakOutsideLoop",
]


class EditingConfig(_Section):
    editor: Literal["ast"] = "ast"
    temperatures: list[float] = Field(default_factory=lambda: [0.0, 0.4, 0.8], min_length=1)
    samples_per_temperature: int = Field(2, ge=1)
    use_n: bool = True
    max_retries: int = Field(2, ge=0)
    concurrency: int = Field(4, ge=1)
    lint: bool = True
    lint_blocking: list[str] = Field(default_factory=lambda: list(PYFLAKES_BLOCKING))
    context_units: int = Field(10, ge=1)
    schematic_files: int = Field(5, ge=0)
    prompt_max_chars: int = Field(60000, gt=0)
    diff_context: int = Field(3, ge=1)  # git apply needs context to place hunks

    @field_validator("temperatures")
    @classmethod
    def _temperatures_in_range(cls, value: list[float]) -> list[float]:
        for t in value:
            if not 0 <= t <= 2:
                raise ValueError(f"temperature {t} is outside 0..2")
        return value


class ServiceConfig(_Section):
    """A server the tests of a repository expect (httpbin for requests), run on loopback
    beside them: the sandbox has no network."""

    packages: list[str] = Field(min_length=1)  # installed into a venv of their own in the environment image
    start: str  # run in the background before the tests, with the service's venv first on PATH
    ready: str = "true"  # succeeds once the service answers
    ready_timeout_s: float = Field(30, gt=0)
    ready_interval_s: float = Field(0.2, gt=0)  # between two readiness probes
    env: dict[str, str] = Field(default_factory=dict)  # exported to the tests


# HTTP/1.1 (werkzeug's default is 1.0) keeps connections alive, as httpbin.org does.
_HTTPBIN_START = ("python -c 'from werkzeug.serving import WSGIRequestHandler as H; H.protocol_version = \"HTTP/1.1\"; "
                  "from httpbin import app; app.run(host=\"127.0.0.1\", port=8765, threaded=True)'")


def _default_services() -> dict[str, dict[str, ServiceConfig]]:
    # requests' tests before 2.10 call HTTPBIN_URL, httpbin.org by default; later ones use pytest-httpbin.
    probe = "python -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:8765/get\", timeout=1)'"
    return {"psf/requests": {"httpbin": ServiceConfig(
        packages=["httpbin==0.10.4"], start=_HTTPBIN_START, ready=probe,
        env={"HTTPBIN_URL": "http://127.0.0.1:8765/"})}}


class ProjectConfig(_Section):
    """The environment of a repository that is not a SWE-bench instance: derived from its
    pyproject.toml, setup.cfg, setup.py and requirements files; each field overrides."""

    python: str | None = None  # None: the host's, if requires-python allows it, else the newest suite that does
    packages: list[str] | None = None  # None: requirements files, dependency groups, declared dependencies, pytest
    install: str | None = None  # None: `pip install -e .[extras]` when the repository is installable
    test_extras: list[str] = Field(default_factory=lambda: ["test", "tests", "testing"])
    requirements: list[str] = Field(default_factory=lambda: [
        "requirements.txt", "requirements-dev.txt", "requirements-test.txt", "requirements-tests.txt", "requirements_test.txt",
        "requirements_dev.txt", "test-requirements.txt", "test_requirements.txt", "dev-requirements.txt",
        "requirements/test.txt", "requirements/tests.txt", "requirements/dev.txt", "requirements/testing.txt"])
    always: list[str] = Field(default_factory=lambda: ["pytest"])  # what the sandbox's test runner needs

    @field_validator("python", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML and --set read 3.9 as a number, and 3.10 as 3.1: take the first, refuse the second.
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if str(value) in ("3.1", "3.2") or not isinstance(value, float):
                raise ValueError(f'write the version as text, e.g. "3.10" (the number {value} is ambiguous)')
            return str(value)
        return value


class SandboxConfig(_Section):
    backend: Literal["docker", "local"] = "docker"
    command_timeout_s: float = Field(1800, gt=0)
    kill_grace_s: float = Field(2, gt=0)
    output_max_chars: int = Field(200_000, ge=1000)
    workdir: str = "/repo"
    pytest_command: str = "python3 -m pytest -rA -p no:cacheprovider"
    ca_bundle: str | None = None
    python_suites: dict[str, str] = Field(default_factory=lambda: {"3.9": "bullseye", "3.11": "bookworm", "3.13": "trixie"})
    # A spec's Python that no suite (or, locally, no interpreter) has -> the one used instead.
    python_substitutes: dict[str, str] = Field(default_factory=lambda: {"3.8": "3.9", "3.10": "3.9", "3.12": "3.11"})
    local_pythons: dict[str, str] = Field(default_factory=dict)  # version -> interpreter for the local backend; else pythonX.Y on PATH
    pip_spec: str = "pip<24.1"  # pip of every environment: before 24.1 it still reads the loose versions of old pins
    build_timeout_s: float = Field(3600, gt=0)  # a local environment's build
    local_venv_dir: Path | None = None  # where the local backend keeps its environments; None: the user cache
    services: dict[str, dict[str, ServiceConfig]] = Field(default_factory=_default_services)
    project: ProjectConfig = Field(default_factory=ProjectConfig)
    # conda package names that pip spells otherwise ("" where pip has none), for environment.yml specs
    conda_pip_names: dict[str, str] = Field(default_factory=lambda: {
        "matplotlib-base": "matplotlib", "iris": "scitools-iris", "hdf5": "", "cdms2": "", "pynio": ""})
    # Pins added to a swebench spec's own: later releases that claim to fit its environment but
    # do not (numbagg 0.9 needs Python 3.10, which the 3.9 substitute lacks).
    extra_pins: dict[str, list[str]] = Field(default_factory=lambda: {"pydata/xarray": ["numbagg<0.9"]})
    clone_url: str = "https://github.com/{repo}.git"  # where a clone missing from --repo-cache comes from
    clone_timeout_s: float = Field(900, gt=0)

    @field_validator("clone_url")
    @classmethod
    def _one_placeholder(cls, value: str) -> str:
        try:
            value.format(repo="owner/name")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may hold one placeholder, {repo}, and no other braces") from None
        return value

    @field_validator("services")
    @classmethod
    def _plain_names(cls, value: dict[str, dict[str, ServiceConfig]]) -> dict[str, dict[str, ServiceConfig]]:
        for services in value.values():
            for name in services:
                if not re.fullmatch(r"[A-Za-z0-9_]+", name):
                    raise ValueError(f"service name {name!r}: letters, digits and _ only (it names a folder and a variable)")
        return value
    network_repos: list[str] = Field(default_factory=list)  # repositories whose tests run with the network (SWE-bench's do)
    build_env: dict[str, str] = Field(default_factory=dict)
    related_tests_max: int = Field(20, ge=1)
    cpus: float = Field(2.0, gt=0)
    memory_mb: int = Field(4096, ge=64)
    pids_limit: int = Field(1024, ge=16)
    tmpfs_mb: int = Field(1024, ge=1)
    file_size_mb: int = Field(1024, ge=1)
    base_suite: str = "bookworm"
    debian_mirror: str = "http://deb.debian.org/debian"
    base_packages: list[str] = Field(default_factory=lambda: ["python3", "python3-venv", "python3-pip", "git", "ca-certificates", "procps"])


class _DictSource(PydanticBaseSettingsSource):
    """Feeds already-merged YAML data to pydantic-settings below the environment."""

    def __init__(self, settings_cls: type[BaseSettings], data: dict[str, Any]):
        super().__init__(settings_cls)
        self._data = data

    def get_field_value(self, field, field_name):  # pragma: no cover - unused by __call__
        return self._data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)


class RepairConfig(_Section):
    rounds: int = Field(2, ge=1)  # generation rounds; each after the first is told why the best candidate failed
    candidates_per_round: int = Field(4, ge=1)  # distinct candidates tested per round, most often proposed first
    reproduction_test: bool = True  # when no chosen test fails on the original tree, ask the model for one that does
    repro_path: str = "test_supercoder_repro.py"  # where that test is written in the sandbox (never in the patch)
    repro_temperature: float = Field(0.0, ge=0, le=2)
    related_tests: bool = True  # also run the test files of the located modules
    related_tests_max: int = Field(5, ge=1)  # of them, at most this many files (naming conventions first): each trial runs them
    feedback_output_chars: int = Field(4000, ge=200)  # test output shown to the model in a feedback round
    runs_dir: Path | None = None  # run records; None: the user data directory
    preflight: bool = True  # ask the endpoint for its models before starting, so a bad key or URL stops at once


class BatchConfig(_Section):
    workers: int = Field(2, ge=1)  # instances solved (or graded) at once
    executor: Literal["local", "ray"] = "local"  # local: a process pool; ray: tasks on a Ray cluster
    ray_address: str | None = None  # None: start a local Ray instance for the run
    ray_cpus_per_task: float = Field(1.0, gt=0)  # CPUs Ray reserves for each instance
    hints: bool = False  # show the solver the instance's hints_text
    max_cost_per_instance_usd: float | None = Field(None, gt=0)  # becomes llm.max_cost_usd in each worker
    max_total_cost_usd: float | None = Field(None, gt=0)  # no new instance starts once the batch has spent this
    model_name: str | None = None  # model_name_or_path in preds.jsonl; None: llm.model
    poll_interval_s: float = Field(0.5, gt=0)  # how often the driver looks for finished instances


class BotConfig(_Section):
    label: str = Field("supercoder", min_length=1)  # an issue given this label is repaired
    command: str = Field("/supercoder fix", min_length=1)  # ... and so is one with a comment starting with this
    login: str | None = None  # the bot's own account, never obeyed; None: asked of the API when a job needs it
    allowed_repos: list[str] = Field(default_factory=list)  # owner/name; empty: every repository that sends events
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    workers: int = Field(1, ge=0)  # jobs run at once, each in its own process; 0: queue only (another server works)
    queue_path: Path | None = None  # the SQLite job queue; None: bot.sqlite3 in the user data directory
    poll_interval_s: float = Field(1.0, gt=0)  # how often an idle worker looks for a job
    rate_limit_jobs: int = Field(5, ge=1)  # per repository, at most this many jobs start in any window...
    rate_limit_window_s: float = Field(3600, gt=0)  # ... of this many seconds; the rest wait their turn
    refusal_cache_s: float = Field(300, ge=0)  # a sender found without write permission is not asked again for this long
    lease_s: float = Field(120, ge=10)  # a running job whose server stopped renewing its claim this long is queued again
    max_attempts: int = Field(2, ge=1)  # a job interrupted (by a restart) this many times is reported failed
    job_timeout_s: float = Field(3600, gt=0)  # a job running longer is stopped and reported failed
    max_payload_bytes: int = Field(1_048_576, gt=0)  # a larger webhook body is refused
    api_url: str = "https://api.github.com"  # a GitHub Enterprise server: https://HOST/api/v3
    api_timeout_s: float = Field(30, gt=0)
    clone_url: str | None = None  # "{repo}" is replaced by owner/name; None: the event's repository.clone_url
    clone_depth: int | None = Field(1, ge=1)  # commits fetched; None: the whole history
    branch_prefix: str = Field("supercoder/issue-", min_length=1)  # + the issue number
    open_unvalidated: bool = False  # also open a draft pull request for a patch no test validated
    reaction: Literal["+1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"] = "eyes"
    git_name: str = "SuperCoder"  # author of the commits it pushes
    git_email: str = "supercoder@users.noreply.github.com"

    @field_validator("clone_url")
    @classmethod
    def _repo_placeholder(cls, value: str | None) -> str | None:
        if value is not None and "{repo}" not in value:
            raise ValueError('must contain "{repo}"')
        return value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
    )

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

    _file_data: dict[str, Any] = {}

    @classmethod
    def settings_customise_sources(cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings):
        # Highest first: --set overrides (passed as init kwargs), environment, YAML files.
        return (init_settings, env_settings, _DictSource(settings_cls, cls._file_data))

    def public_dump(self) -> dict[str, Any]:
        """The resolved configuration as JSON-safe data, secrets masked (a key, credentials in a URL)."""
        data = self.model_dump(mode="json")
        data["llm"]["base_url"] = without_credentials(data["llm"]["base_url"])
        return data


def without_credentials(url: str | None) -> str | None:
    """A URL without the user:password part or query a proxy URL may carry."""
    if not url:
        return url
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = (parts.hostname or "") + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


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
    # Settings match section and field names case-insensitively, so this check must too.
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


def load_settings(config_file: str | Path | None = None, overrides: list[str] | None = None) -> Settings:
    data = _parse_yaml(default_config_text(), "default config")
    if config_file is not None:
        path = Path(config_file)
        if not path.exists():
            raise ConfigError(f"config file not found: {path}")
        if not path.is_file():
            raise ConfigError(f"config file is not a file: {path}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read config file {path}: {exc}") from None
        user = _parse_yaml(text, str(path))
        _refuse_secrets(user, str(path))
        data = deep_merge(data, user)
    merged_overrides: dict[str, Any] = {}
    for item in overrides or []:
        parsed = parse_override(item)
        _refuse_secrets(parsed, f"--set {item.partition('=')[0]}")
        merged_overrides = deep_merge(merged_overrides, parsed)
    Settings._file_data = data
    try:
        return Settings(**merged_overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from None
    except SettingsError as exc:  # a SUPERCODER_* variable that does not parse
        raise ConfigError(f"invalid environment setting: {exc}") from None
    finally:
        Settings._file_data = {}

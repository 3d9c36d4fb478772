"""The LLM client: any OpenAI-compatible endpoint through the `openai` SDK. It is the model the
stages ask for (their ChatModel: `complete`), and the endpoint's embeddings are localization's
`openai` embedder.

Model, base URL and key come from the config or the usual OPENAI_* variables. The key is
never logged; errors are reported without it.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Callable, Protocol

import numpy as np
import openai

from agent.llm_cache import ResponseCache, request_key
from agent.settings import LLMConfig, Price, without_credentials
from configs.errors import ConfigError, LLMError, UserError
from configs.files import cache_dir
from localization.config import EmbeddingsConfig
from localization.dense import EmbeddingError

# Endpoints such as Ollama or vLLM accept any key; the SDK insists on one.
_PLACEHOLDER_KEY = "not-needed"


class LLMUnavailable(LLMError):
    """Retries ran out on rate limits, server errors or timeouts."""

    stop = "unavailable"


class LLMRefused(LLMError):
    """The endpoint refused the key, the model or the request; retrying will not help."""

    stop = "refused"


class LLMLimitReached(LLMError):
    """The run's cost or call limit stops the next call."""

    stop = "limit"


@dataclass
class Usage:
    calls: int = 0  # answered by the endpoint
    cached_calls: int = 0  # answered from the cache, at no cost
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0  # of the calls whose model has a price
    unpriced_calls: int = 0  # calls whose cost is unknown

    @property
    def cost(self) -> float | None:
        """What the calls cost in USD, or None when some had no price."""
        return None if self.unpriced_calls else round(self.cost_usd, 6)


@dataclass
class CallRecord:
    """One answered request, for run records."""

    request: dict[str, Any]
    texts: list[str]
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float | None
    cached: bool
    duration_s: float
    attempts: int


class LLM(Protocol):
    usage: Usage

    def complete(self, messages: list[dict[str, str]], temperature: float | None = None, n: int = 1) -> list[str]: ...


def _redact(message: str, cfg: LLMConfig) -> str:
    """An endpoint may echo the key in its error text: never pass it on."""
    key = cfg.resolved_api_key()
    return message.replace(key, "***") if key else message


def sdk_client(cfg: LLMConfig, max_retries: int | None = None) -> openai.OpenAI:
    base_url = cfg.resolved_base_url()
    key = cfg.resolved_api_key()
    if not key and not base_url:
        raise ConfigError("no API key for the model endpoint: set OPENAI_API_KEY (or SUPERCODER_LLM__API_KEY)")
    retries = cfg.max_retries if max_retries is None else max_retries
    return openai.OpenAI(api_key=key or _PLACEHOLDER_KEY, base_url=base_url, timeout=cfg.timeout_s, max_retries=retries)


def price_of(model: str, prices: dict[str, Price]) -> Price | None:
    """The price of `model`, or of the longest name it extends (`gpt-4o-2024-08-06` -> `gpt-4o`)."""
    if model in prices:
        return prices[model]
    extended = [name for name in prices if model.startswith(name + "-")]
    return prices[max(extended, key=len)] if extended else None


def _retry_after(exc: openai.APIStatusError, cap: float) -> float | None:
    headers = exc.response.headers
    try:
        if headers.get("retry-after-ms") is not None:
            return min(cap, max(0.0, float(headers["retry-after-ms"]) / 1000))
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return min(cap, max(0.0, float(value)))
        except ValueError:  # an HTTP date
            return min(cap, max(0.0, parsedate_to_datetime(value).timestamp() - time.time()))
    except (TypeError, ValueError):
        return None


def _endpoint(base_url: str | None) -> str:
    """The endpoint as the cache and messages know it: without credentials a URL may carry."""
    return without_credentials(base_url) or "openai"


class _Malformed(Exception):
    pass


def _read(resp: Any) -> tuple[list[str], int, int]:
    """The texts and token counts of a chat completion; _Malformed if it is not one."""
    try:
        texts = [c.message.content or "" for c in resp.choices]
        prompt = (resp.usage.prompt_tokens or 0) if resp.usage is not None else 0
        completion = (resp.usage.completion_tokens or 0) if resp.usage is not None else 0
    except (AttributeError, TypeError):
        raise _Malformed from None
    return texts, prompt, completion


def print_warning(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class OpenAIClient:
    """Chat completions with retries (exponential backoff with jitter, Retry-After honoured),
    token and cost accounting, per-run limits and the response cache."""

    def __init__(self, cfg: LLMConfig, *, on_call: Callable[[CallRecord], None] | None = None,
                 warn: Callable[[str], None] = print_warning, sleep: Callable[[float], None] = time.sleep,
                 rng: Callable[[], float] = random.random):
        if not cfg.model:
            raise ConfigError("no model configured: set llm.model (--set llm.model=NAME) or run without a model")
        self.cfg = cfg
        self.usage = Usage()
        self._client = sdk_client(cfg, max_retries=0)  # retries are ours: backoff, Retry-After, accounting
        self._lock = threading.Lock()
        self._on_call, self._warn, self._sleep, self._rng = on_call, warn, sleep, rng
        self._seen: dict[str, int] = {}
        self._in_flight = 0
        self._warned_price = False
        self._cache = None
        if cfg.cache:
            self._cache = ResponseCache(cfg.cache_dir or cache_dir())

    def preflight(self) -> None:
        """Ask the endpoint for its models: a bad key or an unreachable URL shows here, before any
        work (an endpoint without that route passes)."""
        endpoint = _endpoint(self.cfg.resolved_base_url())
        for attempt in range(self.cfg.max_retries + 1):  # an endpoint that is away for a moment is waited for, as calls do
            try:
                listed = [m.id for m in self._client.models.list()]
                break
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise LLMRefused(_redact(f"{endpoint} refused the key: HTTP {exc.status_code}", self.cfg)) from None
            except (openai.APITimeoutError, openai.APIConnectionError):
                if attempt == self.cfg.max_retries:
                    raise LLMUnavailable(f"cannot reach the model endpoint {endpoint} ({attempt + 1} attempt(s))") from None
                self._sleep(self._backoff(attempt))
            except openai.APIError:
                return  # no /models route, or a passing failure: the calls themselves will tell
        if listed and self.cfg.model not in listed:  # proxies and deployments may alias names: a warning, not a stop
            self._warn(f"{endpoint} does not list model {self.cfg.model!r} (it lists {', '.join(listed[:5])}"
                       f"{', ...' if len(listed) > 5 else ''})")

    def complete(self, messages: list[dict[str, str]], temperature: float | None = None, n: int = 1) -> list[str]:
        request = {"model": self.cfg.model, "messages": messages, "n": n, "max_tokens": self.cfg.max_tokens,
                   "temperature": self.cfg.temperature if temperature is None else temperature}
        keyed = {**request, "endpoint": _endpoint(self.cfg.resolved_base_url())}
        with self._lock:
            key = request_key(keyed)
            occurrence = self._seen.get(key, 0)
            self._seen[key] = occurrence + 1
        start = time.monotonic()
        if self._cache is not None:
            entry = self._cache.get(keyed, occurrence)
            if entry is not None:
                with self._lock:
                    self.usage.cached_calls += 1
                self._record(CallRecord(request, entry["texts"], entry.get("prompt_tokens", 0), entry.get("completion_tokens", 0),
                                        0.0, True, time.monotonic() - start, 0))
                return list(entry["texts"])
        self._reserve()
        try:
            (texts, prompt, completion), attempts = self._create(request)
        finally:
            with self._lock:
                self._in_flight -= 1
        cost = self._cost(prompt, completion)
        with self._lock:  # generation calls from several threads
            self.usage.calls += 1
            self.usage.prompt_tokens += prompt
            self.usage.completion_tokens += completion
            if cost is None:
                self.usage.unpriced_calls += 1
            else:
                self.usage.cost_usd += cost
        if not texts:
            raise LLMError("model returned no choices")
        if self._cache is not None:
            self._cache.put(keyed, occurrence, {"texts": texts, "prompt_tokens": prompt, "completion_tokens": completion})
        self._record(CallRecord(request, texts, prompt, completion, cost, False, time.monotonic() - start, attempts))
        return texts

    def _record(self, record: CallRecord) -> None:
        if self._on_call is not None:
            self._on_call(record)

    def _reserve(self) -> None:
        """Count a call as started, unless a limit forbids it (calls under way count too, so that
        concurrent samples cannot overrun the call limit)."""
        with self._lock:
            if self.cfg.max_calls is not None and self.usage.calls + self._in_flight >= self.cfg.max_calls:
                raise LLMLimitReached(f"call limit reached: {self.usage.calls} of llm.max_calls={self.cfg.max_calls}")
            if self.cfg.max_cost_usd is not None and self.usage.cost_usd >= self.cfg.max_cost_usd:
                raise LLMLimitReached(f"cost limit reached: ${self.usage.cost_usd:.4f} of llm.max_cost_usd=${self.cfg.max_cost_usd}")
            self._in_flight += 1

    def _cost(self, prompt: int, completion: int) -> float | None:
        price = price_of(self.cfg.model or "", self.cfg.prices)
        if price is None:
            with self._lock:
                first, self._warned_price = not self._warned_price, True
            if first:
                self._warn(f"no price for model {self.cfg.model!r} (llm.prices): its cost is counted as unknown")
            return None
        return (prompt * price.input_per_mtok + completion * price.output_per_mtok) / 1_000_000

    def _create(self, request: dict[str, Any]):
        cfg = self.cfg
        for attempt in range(cfg.max_retries + 1):
            try:
                return _read(self._client.chat.completions.create(**request)), attempt + 1
            except _Malformed:  # a 200 with something else (a proxy's page, a cut body): passing, like a 502
                failure, wait = "malformed response from the model endpoint", None
            except (openai.APITimeoutError, openai.APIConnectionError) as exc:
                failure, wait = f"{type(exc).__name__}", None
            except openai.APIStatusError as exc:
                status = exc.status_code
                message = _redact(f"HTTP {status}: {getattr(exc, 'message', exc)}", cfg)
                advice = exc.response.headers.get("x-should-retry")  # the endpoint's own word wins, as in the SDK
                retryable = advice == "true" or (advice != "false" and (status in (408, 409, 429) or status >= 500))
                if not retryable:
                    kind = LLMRefused if status in (400, 401, 403, 404, 422) else LLMError
                    raise kind(f"model call failed: {message}") from None
                failure, wait = message, _retry_after(exc, cfg.retry_after_max_s)
            except openai.APIError as exc:
                raise LLMError(_redact(f"model call failed: {type(exc).__name__}: {getattr(exc, 'message', exc)}", cfg)) from None
            if attempt == cfg.max_retries:
                raise LLMUnavailable(f"model call failed after {attempt + 1} attempt(s): {failure}")
            with self._lock:
                self.usage.retries += 1
            self._sleep(self._backoff(attempt) if wait is None else wait)
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        cfg = self.cfg
        wait = min(cfg.backoff_max_s, cfg.backoff_initial_s * cfg.backoff_multiplier ** attempt)
        return wait * (1 - cfg.backoff_jitter * self._rng())


class OpenAIEmbedder:
    """The endpoint's embeddings (embeddings.openai_model), in batches of embeddings.batch_size."""

    def __init__(self, cfg: EmbeddingsConfig, llm_cfg: LLMConfig):
        self.cfg, self._llm_cfg = cfg, llm_cfg
        self._client = sdk_client(llm_cfg)
        self.name = f"openai:{cfg.openai_model}"

    def embed(self, texts: list[str]) -> np.ndarray:
        out: list[list[float]] = []
        for i in range(0, len(texts), self.cfg.batch_size):
            out.extend(self._batch(texts[i : i + self.cfg.batch_size]))
        try:
            return np.asarray(out, dtype=np.float32)
        except ValueError:
            raise EmbeddingError("embedding vectors of differing dimensions") from None

    def _batch(self, texts: list[str]) -> list[list[float]]:
        try:
            resp = self._client.embeddings.create(model=self.cfg.openai_model, input=texts)
        except openai.APIError as exc:
            raise EmbeddingError(_redact(f"embedding call failed: {type(exc).__name__}: {getattr(exc, 'message', exc)}",
                                         self._llm_cfg)) from None
        try:
            return [d.embedding for d in sorted(resp.data, key=lambda d: d.index)]
        except (AttributeError, TypeError):
            raise EmbeddingError("malformed response from the embeddings endpoint") from None


def check_endpoint(cfg: LLMConfig, warn: Callable[[str], None] = print_warning) -> None:
    """Ask the endpoint for its models before any work: a refused key or an endpoint that cannot
    be reached stops the command there, as bad input (a UserError)."""
    try:
        OpenAIClient(cfg, warn=warn).preflight()
    except LLMError as exc:
        raise UserError(str(exc)) from None


def make_llm(cfg: LLMConfig) -> LLM | None:
    """The configured client, or None when no model is configured."""
    return OpenAIClient(cfg) if cfg.configured else None

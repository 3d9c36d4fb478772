"""The LLM client: any OpenAI-compatible endpoint through the `openai` SDK.

Model, base URL and key come from the config or the usual OPENAI_* variables. The key is
never logged; errors are reported without it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Protocol

import openai

from agent.config import LLMConfig
from agent.errors import ConfigError

# Endpoints such as Ollama or vLLM accept any key; the SDK insists on one.
_PLACEHOLDER_KEY = "not-needed"


class LLMError(Exception):
    """A model call failed (network, HTTP status, malformed answer)."""


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LLM(Protocol):
    usage: Usage

    def complete(self, messages: list[dict[str, str]], temperature: float | None = None, n: int = 1) -> list[str]: ...


def _redact(message: str, cfg: LLMConfig) -> str:
    """An endpoint may echo the key in its error text: never pass it on."""
    key = cfg.resolved_api_key()
    return message.replace(key, "***") if key else message


def sdk_client(cfg: LLMConfig) -> openai.OpenAI:
    base_url = cfg.resolved_base_url()
    key = cfg.resolved_api_key()
    if not key and not base_url:
        raise ConfigError("no API key for the model endpoint: set OPENAI_API_KEY (or SUPERCODER_LLM__API_KEY)")
    return openai.OpenAI(api_key=key or _PLACEHOLDER_KEY, base_url=base_url, timeout=cfg.timeout_s, max_retries=cfg.max_retries)


@dataclass
class OpenAIClient:
    cfg: LLMConfig
    usage: Usage = field(default_factory=Usage)

    def __post_init__(self) -> None:
        if not self.cfg.model:
            raise ConfigError("no model configured: set llm.model (--set llm.model=NAME) or run without a model")
        self._client = sdk_client(self.cfg)
        self._lock = threading.Lock()

    def complete(self, messages: list[dict[str, str]], temperature: float | None = None, n: int = 1) -> list[str]:
        temp = self.cfg.temperature if temperature is None else temperature
        try:
            resp = self._client.chat.completions.create(
                model=self.cfg.model,
                messages=messages,
                temperature=temp,
                n=n,
                max_tokens=self.cfg.max_tokens,
            )
        except openai.APIError as exc:
            raise LLMError(_redact(f"model call failed: {type(exc).__name__}: {getattr(exc, 'message', exc)}", self.cfg)) from None
        try:
            with self._lock:  # generation calls from several threads
                self.usage.calls += 1
                if resp.usage is not None:
                    self.usage.prompt_tokens += resp.usage.prompt_tokens or 0
                    self.usage.completion_tokens += resp.usage.completion_tokens or 0
            texts = [c.message.content or "" for c in resp.choices]
        except (AttributeError, TypeError):  # an endpoint that answered 200 with something else
            raise LLMError("malformed response from the model endpoint") from None
        if not texts:
            raise LLMError("model returned no choices")
        return texts



def embed_with(client: openai.OpenAI, texts: list[str], model: str, cfg: LLMConfig) -> list[list[float]]:
    try:
        resp = client.embeddings.create(model=model, input=texts)
    except openai.APIError as exc:
        raise LLMError(_redact(f"embedding call failed: {type(exc).__name__}: {getattr(exc, 'message', exc)}", cfg)) from None
    try:
        return [d.embedding for d in sorted(resp.data, key=lambda d: d.index)]
    except (AttributeError, TypeError):
        raise LLMError("malformed response from the embeddings endpoint") from None


def make_llm(cfg: LLMConfig) -> LLM | None:
    """The configured client, or None when no model is configured."""
    return OpenAIClient(cfg) if cfg.configured else None

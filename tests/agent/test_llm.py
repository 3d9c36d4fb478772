"""agent/llm.py against a real HTTP server speaking the OpenAI API (tests/fakes/openai_server.py)."""

from __future__ import annotations

import pytest
from fakes.openai_server import FakeOpenAIServer, count_tokens

from agent.llm import LLMError, LLMUnavailable, OpenAIClient, make_llm
from agent.settings import LLMConfig, load_settings
from configs.errors import ConfigError

KEY = "sk-test-0123456789abcdef"
MESSAGES = [
    {"role": "system", "content": "You locate bugs."},
    {"role": "user", "content": "Which file parses the config?"},
]


def llm_cfg(server: FakeOpenAIServer, **overrides) -> LLMConfig:
    values = {"model": "gpt-test", "base_url": server.base_url, "api_key": KEY, "max_retries": 0, "timeout_s": 5}
    values.update(overrides)
    return LLMConfig(**values)


def test_complete_returns_scripted_answers_in_order(fake_openai):
    fake_openai.script_chat(["first answer", "second answer"])
    client = OpenAIClient(llm_cfg(fake_openai))

    assert client.complete(MESSAGES) == ["first answer"]
    assert client.complete(MESSAGES) == ["second answer"]
    assert fake_openai.script_remaining == 0


def test_complete_sends_model_temperature_n_and_messages(fake_openai):
    fake_openai.script_chat([["one", "two", "three"]])
    client = OpenAIClient(llm_cfg(fake_openai, max_tokens=321))

    assert client.complete(MESSAGES, temperature=0.7, n=3) == ["one", "two", "three"]

    [(path, body, headers)] = fake_openai.requests
    assert path == "/v1/chat/completions"
    assert body["model"] == "gpt-test"
    assert body["temperature"] == 0.7
    assert body["n"] == 3
    assert body["max_tokens"] == 321
    assert body["messages"] == MESSAGES
    assert headers["Content-Type"].startswith("application/json")


def test_temperature_defaults_to_config_and_explicit_zero_overrides_it(fake_openai):
    fake_openai.script_chat(["a", "b"])
    client = OpenAIClient(llm_cfg(fake_openai, temperature=0.4))

    client.complete(MESSAGES)
    client.complete(MESSAGES, temperature=0.0)

    first, second = fake_openai.chat_requests()
    assert first.json["temperature"] == 0.4
    assert second.json["temperature"] == 0.0


def test_n_choices_are_all_returned(fake_openai):
    fake_openai.script_chat(["same"])
    client = OpenAIClient(llm_cfg(fake_openai))

    assert client.complete(MESSAGES, n=2) == ["same", "same"]


def test_no_choices_is_an_llm_error(fake_openai):
    fake_openai.script_chat([[]])
    client = OpenAIClient(llm_cfg(fake_openai))

    with pytest.raises(LLMError, match="no choices"):
        client.complete(MESSAGES)


def test_usage_is_accounted_across_calls(fake_openai):
    answers = ["def f(): pass", "the bug is in config.py line 3"]
    fake_openai.script_chat(answers)
    client = OpenAIClient(llm_cfg(fake_openai))
    assert (client.usage.calls, client.usage.prompt_tokens, client.usage.completion_tokens) == (0, 0, 0)

    client.complete(MESSAGES)
    client.complete(MESSAGES)

    prompt_tokens = count_tokens(" ".join(m["content"] for m in MESSAGES))
    assert client.usage.calls == 2
    assert client.usage.prompt_tokens == 2 * prompt_tokens
    assert client.usage.completion_tokens == sum(count_tokens(a) for a in answers)


def test_failed_call_is_not_counted(fake_openai):
    fake_openai.fail_next(status=500)
    client = OpenAIClient(llm_cfg(fake_openai))

    with pytest.raises(LLMError):
        client.complete(MESSAGES)
    assert client.usage.calls == 0


def test_api_key_from_supercoder_env_reaches_authorization_header(fake_openai, monkeypatch):
    monkeypatch.setenv("SUPERCODER_LLM__API_KEY", "sk-from-supercoder-env")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")  # the config's own key wins
    settings = load_settings(overrides=["llm.model=gpt-test", f"llm.base_url={fake_openai.base_url}", "llm.max_retries=0"])
    fake_openai.script_chat(["ok"])

    assert OpenAIClient(settings.llm).complete(MESSAGES) == ["ok"]
    assert fake_openai.requests[0].headers["Authorization"] == "Bearer sk-from-supercoder-env"


def test_openai_api_key_env_reaches_authorization_header(fake_openai, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-openai-env")
    fake_openai.script_chat(["ok"])

    OpenAIClient(llm_cfg(fake_openai, api_key=None)).complete(MESSAGES)

    assert fake_openai.requests[0].headers["authorization"] == "Bearer sk-from-openai-env"


def test_base_url_alone_is_enough_and_sends_a_placeholder_key(fake_openai):
    fake_openai.script_chat(["local model answer"])

    assert OpenAIClient(llm_cfg(fake_openai, api_key=None)).complete(MESSAGES) == ["local model answer"]
    assert fake_openai.requests[0].headers["Authorization"] == "Bearer not-needed"


def test_openai_base_url_env_is_used_when_config_has_none(fake_openai, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fake_openai.script_chat(["via env"])

    assert OpenAIClient(LLMConfig(model="gpt-test", max_retries=0, timeout_s=5)).complete(MESSAGES) == ["via env"]
    assert len(fake_openai.chat_requests()) == 1


def test_configured_base_url_beats_openai_base_url_env(fake_openai, monkeypatch):
    with FakeOpenAIServer() as other:
        monkeypatch.setenv("OPENAI_BASE_URL", other.base_url)
        fake_openai.script_chat(["configured"])

        assert OpenAIClient(llm_cfg(fake_openai)).complete(MESSAGES) == ["configured"]
        assert other.requests == []
    assert len(fake_openai.requests) == 1


def test_model_without_key_or_base_url_is_a_config_error(clean_env):
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIClient(LLMConfig(model="gpt-test"))
    with pytest.raises(ConfigError):
        make_llm(LLMConfig(model="gpt-test"))


def test_client_without_model_is_a_config_error(fake_openai):
    with pytest.raises(ConfigError, match="model"):
        OpenAIClient(llm_cfg(fake_openai, model=None))


def test_make_llm_returns_none_without_a_model(fake_openai):
    assert make_llm(LLMConfig()) is None
    assert make_llm(llm_cfg(fake_openai, model=None)) is None
    assert make_llm(llm_cfg(fake_openai, model="")) is None
    assert fake_openai.requests == []


def test_make_llm_returns_a_working_client_with_a_model(fake_openai):
    fake_openai.script_chat(["hello"])
    llm = make_llm(llm_cfg(fake_openai))

    assert isinstance(llm, OpenAIClient)
    assert llm.complete(MESSAGES) == ["hello"]


def test_persistent_http_500_raises_llm_error_without_the_key(fake_openai):
    fake_openai.fail_next(status=500, times=5)
    client = OpenAIClient(llm_cfg(fake_openai))

    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES)

    message = str(info.value)
    assert "500" in message
    assert KEY not in message
    assert KEY not in repr(info.value)
    assert len(fake_openai.requests) == 1  # max_retries=0: no retry
    assert fake_openai.requests[0].headers["Authorization"] == f"Bearer {KEY}"


def test_retries_stop_after_max_retries(fake_openai):
    fake_openai.fail_next(status=503, times=10, retry_after_ms=1)
    client = OpenAIClient(llm_cfg(fake_openai, max_retries=2))

    with pytest.raises(LLMError, match="503"):
        client.complete(MESSAGES)
    assert len(fake_openai.requests) == 3


def test_rate_limit_is_retried_after_retry_after(fake_openai):
    fake_openai.fail_next(status=429, times=1, retry_after_ms=5)
    fake_openai.script_chat(["after the rate limit"])
    client = OpenAIClient(llm_cfg(fake_openai, max_retries=1))

    assert client.complete(MESSAGES) == ["after the rate limit"]
    assert len(fake_openai.requests) == 2
    assert client.usage.calls == 1


def test_unreachable_endpoint_raises_llm_error_without_the_key(clean_env):
    server = FakeOpenAIServer().start()
    base_url = server.base_url
    server.stop()  # nothing listens on that port now
    client = OpenAIClient(LLMConfig(model="gpt-test", base_url=base_url, api_key=KEY, max_retries=0, timeout_s=2))

    with pytest.raises(LLMError) as info:
        client.complete(MESSAGES)
    assert KEY not in str(info.value)


def test_exhausted_script_fails_loudly(fake_openai):
    fake_openai.script_chat(["only one"])
    client = OpenAIClient(llm_cfg(fake_openai, max_retries=3))

    client.complete(MESSAGES)
    with pytest.raises(LLMError, match="script exhausted"):
        client.complete(MESSAGES)
    assert fake_openai.exhausted == 1
    assert len(fake_openai.requests) == 2  # x-should-retry: false, so no retries


def test_responder_answers_from_the_prompt(fake_openai):
    fake_openai.responder = lambda body: body["messages"][-1]["content"].upper()
    client = OpenAIClient(llm_cfg(fake_openai))

    assert client.complete([{"role": "user", "content": "echo me"}]) == ["ECHO ME"]


@pytest.mark.parametrize("payload", [{}, {"choices": None}, "<html>hello</html>"])
def test_a_malformed_200_response_is_retried_and_once_retries_run_out_the_endpoint_is_unavailable(fake_openai, payload):
    """A proxy's page or a cut body is the endpoint's passing failure, not the model's answer."""
    fake_openai.raw_answers.append(payload)
    fake_openai.script_chat(["fine"])
    sleeps: list[float] = []
    client = OpenAIClient(llm_cfg(fake_openai, max_retries=1, cache=False), sleep=sleeps.append)
    assert client.complete(MESSAGES) == ["fine"] and len(sleeps) == 1 and client.usage.retries == 1
    fake_openai.raw_answers.extend([payload, payload])
    with pytest.raises(LLMUnavailable, match=r"after 2 attempt\(s\): malformed response") as exc:
        client.complete([{"role": "user", "content": "hi"}])
    assert exc.value.stop == "unavailable"

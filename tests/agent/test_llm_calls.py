"""The LLM client's retries, costs, limits and response cache, against the fake OpenAI server
(a real HTTP server): waits are recorded by an injected sleep, not slept."""

from __future__ import annotations

import socket

import pytest
from fakes.openai_server import count_tokens

from agent.llm import LLMLimitReached, LLMRefused, LLMUnavailable, OpenAIClient, price_of
from agent.settings import LLMConfig

KEY = "sk-test-0123456789abcdef"
MESSAGES = [{"role": "user", "content": "Which file parses the config?"}]


def make(server, tmp_path, warnings=None, records=None, **overrides):
    values = {"model": "gpt-test", "base_url": server.base_url, "api_key": KEY, "max_retries": 2, "timeout_s": 5,
              "cache_dir": tmp_path / "cache"}
    values.update(overrides)
    sleeps: list[float] = []
    client = OpenAIClient(LLMConfig(**values), sleep=sleeps.append, rng=lambda: 0.5,
                          warn=(warnings.append if warnings is not None else lambda m: None),
                          on_call=(records.append if records is not None else None))
    return client, sleeps


def test_rate_limits_are_retried_after_what_the_endpoint_asks(fake_openai, tmp_path):
    fake_openai.fail_next(status=429, times=1, retry_after_ms=10)
    fake_openai.fail_next(status=429, times=1, retry_after=2)
    fake_openai.script_chat(["ok"])
    client, sleeps = make(fake_openai, tmp_path)
    assert client.complete(MESSAGES) == ["ok"]
    assert sleeps == [0.01, 2.0] and client.usage.retries == 2 and client.usage.calls == 1
    assert len(fake_openai.chat_requests()) == 3


def test_a_long_retry_after_is_capped(fake_openai, tmp_path):
    fake_openai.fail_next(status=503, retry_after=3600)
    fake_openai.script_chat(["ok"])
    client, sleeps = make(fake_openai, tmp_path, retry_after_max_s=30)
    client.complete(MESSAGES)
    assert sleeps == [30.0]


def test_server_errors_back_off_exponentially_with_jitter_then_give_up(fake_openai, tmp_path):
    fake_openai.fail_next(status=500, times=4)
    client, sleeps = make(fake_openai, tmp_path, max_retries=3, backoff_initial_s=1, backoff_multiplier=2, backoff_max_s=3,
                          backoff_jitter=0.5)
    with pytest.raises(LLMUnavailable, match=r"after 4 attempt\(s\): HTTP 500"):
        client.complete(MESSAGES)
    assert sleeps == [0.75, 1.5, 2.25]  # 1, 2, then 4 capped at 3; each cut by half the jitter (rng 0.5)
    assert len(fake_openai.chat_requests()) == 4 and client.usage.calls == 0


def test_refusals_are_not_retried_and_never_show_the_key(fake_openai, tmp_path):
    fake_openai.fail_next(status=401, message=f"invalid key {KEY}")
    client, sleeps = make(fake_openai, tmp_path)
    with pytest.raises(LLMRefused) as exc:
        client.complete(MESSAGES)
    assert "HTTP 401" in str(exc.value) and KEY not in str(exc.value)
    assert sleeps == [] and len(fake_openai.chat_requests()) == 1


def test_an_unreachable_endpoint_is_retried_then_reported(clean_env, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    cfg = LLMConfig(model="m", base_url=f"http://127.0.0.1:{port}/v1", api_key=KEY, max_retries=1, cache=False)
    sleeps: list[float] = []
    with pytest.raises(LLMUnavailable, match="APIConnectionError"):
        OpenAIClient(cfg, sleep=sleeps.append, rng=lambda: 0.0).complete(MESSAGES)
    assert sleeps == [1.0]


def test_preflight_waits_for_an_endpoint_away_for_a_moment_then_says_it_cannot_reach_it(fake_openai, tmp_path):
    client, sleeps = make(fake_openai, tmp_path, model=fake_openai.model, max_retries=3)
    client._sleep = lambda s: (sleeps.append(s), fake_openai.start() if len(sleeps) == 2 else None)
    fake_openai.stop()  # away for the first two attempts, back for the third
    client.preflight()
    assert sleeps == [0.75, 1.5]  # the calls' backoff: 1 s, then 2 s, each cut by jitter 0.5 at rng 0.5
    gone, gone_sleeps = make(fake_openai, tmp_path, max_retries=1)
    fake_openai.stop()
    with pytest.raises(LLMUnavailable, match=r"cannot reach the model endpoint .* \(2 attempt\(s\)\)"):
        gone.preflight()
    assert gone_sleeps == [0.75]


def test_costs_from_the_price_table_and_a_model_without_price(fake_openai, tmp_path):
    fake_openai.script_chat(["one answer", "two answers", "x", "y"])
    client, _ = make(fake_openai, tmp_path, model="gpt-4o-2024-08-06")  # priced as gpt-4o
    client.complete(MESSAGES)
    prompt, completion = count_tokens(MESSAGES[0]["content"]), count_tokens("one answer")
    assert client.usage.cost_usd == pytest.approx((prompt * 2.50 + completion * 10.00) / 1e6)
    warnings: list[str] = []
    unknown, _ = make(fake_openai, tmp_path, warnings=warnings, model="my-local-llama")
    unknown.complete(MESSAGES)
    unknown.complete(MESSAGES)
    assert len(warnings) == 1 and "my-local-llama" in warnings[0]
    assert unknown.usage.unpriced_calls == 2 and unknown.usage.cost_usd == 0.0
    assert price_of("gpt-4o-mini", LLMConfig().prices).input_per_mtok == 0.15  # the longest name wins


def test_call_and_cost_limits_stop_the_next_call(fake_openai, tmp_path):
    fake_openai.script_chat(["a", "b", "c"])
    client, _ = make(fake_openai, tmp_path, max_calls=1)
    client.complete(MESSAGES)
    with pytest.raises(LLMLimitReached, match="llm.max_calls=1"):
        client.complete(MESSAGES)
    costly, _ = make(fake_openai, tmp_path, model="gpt-4o", max_cost_usd=1e-9)
    costly.complete([{"role": "user", "content": "another question"}])
    with pytest.raises(LLMLimitReached, match="cost limit"):
        costly.complete(MESSAGES)
    assert len(fake_openai.chat_requests()) == 2


def test_a_rerun_replays_answers_from_the_cache_in_order_at_no_cost(fake_openai, tmp_path):
    fake_openai.script_chat(["first", "second"])
    records: list = []
    first, _ = make(fake_openai, tmp_path, records=records, model="gpt-4o")
    assert [first.complete(MESSAGES, temperature=0.8), first.complete(MESSAGES, temperature=0.8)] == [["first"], ["second"]]
    assert [r.cached for r in records] == [False, False] and records[0].texts == ["first"] and records[0].cost_usd > 0
    rerun, _ = make(fake_openai, tmp_path, records=records, model="gpt-4o")
    assert [rerun.complete(MESSAGES, temperature=0.8), rerun.complete(MESSAGES, temperature=0.8)] == [["first"], ["second"]]
    assert rerun.usage.cached_calls == 2 and rerun.usage.calls == 0 and rerun.usage.cost_usd == 0
    assert [r.cached for r in records[2:]] == [True, True]
    assert len(fake_openai.chat_requests()) == 2  # nothing asked again


def test_a_broken_cache_entry_or_another_request_is_a_miss(fake_openai, tmp_path):
    fake_openai.script_chat(["a", "b", "c"])
    client, _ = make(fake_openai, tmp_path)
    client.complete(MESSAGES)
    [entry] = list((tmp_path / "cache").rglob("*.json"))
    entry.write_text("{not json")
    again, _ = make(fake_openai, tmp_path)
    assert again.complete(MESSAGES) == ["b"]  # asked again, and the entry rewritten
    assert again.complete(MESSAGES, temperature=0.3) == ["c"]  # another temperature, another request
    off, _ = make(fake_openai, tmp_path / "off", cache=False)
    fake_openai.script_chat(["d"])
    off.complete(MESSAGES)
    assert not (tmp_path / "off").exists()


def test_calls_under_way_count_against_the_call_limit(fake_openai, tmp_path):
    import threading

    release = threading.Event()
    fake_openai.responder = lambda body: (release.wait(10), "slow")[1]
    client, _ = make(fake_openai, tmp_path, max_calls=1)
    first = threading.Thread(target=client.complete, args=(MESSAGES,))
    first.start()
    while not fake_openai.chat_requests():  # the first call is at the endpoint
        threading.Event().wait(0.01)
    with pytest.raises(LLMLimitReached):
        client.complete([{"role": "user", "content": "a second question"}])
    release.set()
    first.join(10)
    assert client.usage.calls == 1 and len(fake_openai.chat_requests()) == 1


def test_credentials_in_the_endpoint_url_stay_out_of_the_cache(fake_openai, tmp_path):
    fake_openai.script_chat(["ok"])
    url = fake_openai.base_url.replace("http://", "http://user:hunter2@")
    client, _ = make(fake_openai, tmp_path, base_url=url)
    client.complete(MESSAGES)
    [entry] = list((tmp_path / "cache").rglob("*.json"))
    assert "hunter2" not in entry.read_text() and "hunter2" not in entry.name


def test_preflight_warns_about_a_model_the_endpoint_does_not_list(fake_openai, tmp_path):
    warnings: list[str] = []
    client, _ = make(fake_openai, tmp_path, warnings=warnings, model="not-served")
    client.preflight()
    assert len(warnings) == 1 and "does not list model 'not-served'" in warnings[0]
    listed, _ = make(fake_openai, tmp_path, warnings=warnings, model=fake_openai.model)
    listed.preflight()
    assert len(warnings) == 1

"""The endpoint's embeddings (agent.llm.OpenAIEmbedder, localization's `openai` embedder)
against the fake server."""

from __future__ import annotations

import numpy as np
import pytest
from fakes.openai_server import hashed_embedding

from agent.llm import OpenAIEmbedder
from agent.settings import LLMConfig
from localization.config import EmbeddingsConfig
from localization.dense import EmbeddingError, check_vectors

KEY = "sk-embed-key-987"
DIM = 64


def make_embedder(server, batch_size: int = 32, model: str = "emb-test") -> OpenAIEmbedder:
    cfg = EmbeddingsConfig(provider="openai", openai_model=model, batch_size=batch_size)
    return OpenAIEmbedder(cfg, LLMConfig(base_url=server.base_url, api_key=KEY, max_retries=0, timeout_s=5))


# -- the embedder -----------------------------------------------------------------------


def test_openai_embedder_returns_the_served_vectors(fake_openai):
    embedder = make_embedder(fake_openai)
    texts = ["alpha beta", "gamma", "alpha delta"]

    vectors = embedder.embed(texts)

    assert embedder.name == "openai:emb-test"
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, DIM)
    expected = np.asarray([hashed_embedding(t, DIM) for t in texts], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)
    [(path, body, headers)] = fake_openai.requests
    assert path == "/v1/embeddings"
    assert body["model"] == "emb-test"
    assert body["input"] == texts
    assert headers["Authorization"] == f"Bearer {KEY}"


def test_openai_embedder_batches_and_keeps_order(fake_openai):
    embedder = make_embedder(fake_openai, batch_size=2)
    texts = [f"text number {i}" for i in range(5)]

    vectors = embedder.embed(texts)

    assert [r.json["input"] for r in fake_openai.embedding_requests()] == [texts[0:2], texts[2:4], texts[4:5]]
    expected = np.asarray([hashed_embedding(t, DIM) for t in texts], dtype=np.float32)
    np.testing.assert_allclose(vectors, expected, rtol=1e-6)


def test_openai_embedder_orders_by_index_not_by_position(fake_openai):
    # A server may list the vectors out of order; `index` says which input each belongs to.
    fake_openai.embedder = lambda texts, model: [hashed_embedding(t, DIM) for t in texts]
    embedder = make_embedder(fake_openai)
    original = fake_openai._embeddings

    def reversed_answer(body):
        status, headers, payload = original(body)
        payload["data"].reverse()
        return status, headers, payload

    fake_openai._embeddings = reversed_answer
    vectors = embedder.embed(["one", "two", "three"])

    np.testing.assert_allclose(vectors[0], hashed_embedding("one", DIM), rtol=1e-6)
    np.testing.assert_allclose(vectors[2], hashed_embedding("three", DIM), rtol=1e-6)


def test_openai_embedder_http_error_is_an_embedding_error(fake_openai):
    fake_openai.fail_next(status=500, path="/embeddings")
    embedder = make_embedder(fake_openai)

    with pytest.raises(EmbeddingError) as info:
        embedder.embed(["anything"])
    assert KEY not in str(info.value)


def test_openai_embedder_differing_dimensions_is_an_embedding_error(fake_openai):
    fake_openai.embedding_mode = "wrong_dim"
    embedder = make_embedder(fake_openai)

    with pytest.raises(EmbeddingError, match="dimension"):
        embedder.embed(["first text", "second text"])


def test_openai_embedder_needs_a_key_or_base_url(clean_env):
    from configs.errors import ConfigError

    with pytest.raises(ConfigError):
        OpenAIEmbedder(EmbeddingsConfig(provider="openai"), LLMConfig())




# -- what check_vectors makes of a misbehaving endpoint ------------------------------


@pytest.mark.parametrize(
    ("mode", "match"),
    [("wrong_count", "expected 2 vectors"), ("zeros", "all zeros")],
)
def test_check_vectors_catches_bad_server_answers(fake_openai, mode, match):
    fake_openai.embedding_mode = mode
    vectors = make_embedder(fake_openai).embed(["first text", "second text"])

    with pytest.raises(EmbeddingError, match=match):
        check_vectors(vectors, 2, DIM)


def test_check_vectors_catches_wrong_dimension_from_server(fake_openai):
    fake_openai.embedding_mode = "wrong_dim"
    vectors = make_embedder(fake_openai).embed(["only text"])

    with pytest.raises(EmbeddingError, match=f"expected dimension {DIM}"):
        check_vectors(vectors, 1, DIM)



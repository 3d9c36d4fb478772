"""A fake OpenAI-compatible HTTP server for tests.

A real HTTP server (stdlib `ThreadingHTTPServer`) on 127.0.0.1 with an ephemeral port, run
in a background thread, so the real `openai` SDK (and its HTTP stack, retries and parsing)
is exercised end to end. Use it as a context manager or through the `fake_openai` fixture
in tests/conftest.py:

    with FakeOpenAIServer() as server:
        server.script_chat(["answer 1", ["choice a", "choice b"]])
        cfg = LLMConfig(model="m", base_url=server.base_url, api_key="sk-test")
        ...
        path, body, headers = server.requests[0]

Endpoints
---------
POST /v1/chat/completions
    Answered from, in order of priority:
    1. `server.responder`, if set: a callable `responder(request_json) -> str | list[str]`
       that answers every chat request (the script is then ignored);
    2. the script: items given to the constructor (`chat=[...]`) or `script_chat([...])`,
       consumed one per request, first in first out.
    An answer that is a `str` becomes one choice, repeated `n` times when the request asks
    for `n` > 1 (one script item per request, whatever `n`). An answer that is a `list[str]`
    is used as the choices exactly as given (even when its length differs from `n`, so a
    test can check how the client copes with too few choices).
    When neither a responder nor a script item is available the server answers HTTP 500
    with a JSON error saying the chat script is exhausted (and `x-should-retry: false`, so
    the SDK fails at once instead of retrying); `server.exhausted` counts these.

POST /v1/embeddings
    Vectors come from `server.embedder(texts, model) -> list[list[float]]` if set, else
    from `hashed_embedding` (a normalised hashed bag of words of `server.embedding_dim`
    dimensions: texts sharing words have a positive cosine). `server.embedding_mode`
    corrupts the answer on purpose:
      "ok"          as computed (the default)
      "wrong_count" one vector fewer than asked (two vectors when one was asked)
      "wrong_dim"   the last vector of each answer has `embedding_dim + 1` dimensions
                    (for a single input: the only vector)
      "zeros"       every vector is all zeros
    `encoding_format: "base64"` (what the SDK sends by default) is honoured.

GET /v1/models
    A one-model list, for clients that probe it.

Failures
--------
`server.fail_next(status=500, times=1, retry_after=None, retry_after_ms=None,
message=None, path=None)` queues `times` failures answered before any normal handling
(optionally only for request paths ending with `path`, e.g. "/embeddings"). A 429 with
`retry_after_ms=10` makes the SDK retry after 10 ms, which keeps retry tests fast.

Misbehaving
-----------
`server.chaos`, if set, is called as `chaos(path, body)` for every request and may return a
`Misbehaviour` instead of None (normal handling): `drop` closes the connection without an
answer; `truncate` sends the normal answer's headers and half its body, then closes; `raw`
answers `status`, `headers` and `body` bytes as given (an HTML error page, say); `slow` waits
`seconds`, then answers normally. `server.outage(seconds)` stops listening for that long (the
port refuses connections), then listens on the same port again.

Recording
---------
`server.requests` holds one `RecordedRequest(path, json, headers)` per request received
(including failed ones), in order. It unpacks as a 3-tuple; `headers` is a dict whose
lookups ignore case (`headers["Authorization"]`). `chat_requests()` and
`embedding_requests()` filter by endpoint.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import socket
import struct
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterable, NamedTuple, Union

import numpy as np

ChatAnswer = Union[str, list[str]]
Responder = Callable[[dict[str, Any]], ChatAnswer]
EmbedFn = Callable[[list[str], str], list[list[float]]]

EMBEDDING_MODES = ("ok", "wrong_count", "wrong_dim", "zeros")
_WORD = re.compile(r"\w+")


class CaseInsensitiveDict(dict):
    """A dict of HTTP headers stored with lower-case keys; lookups ignore case."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()):
        super().__init__()
        for key, value in items:
            self[key] = value

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(key.lower(), value)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


class RecordedRequest(NamedTuple):
    path: str
    json: Any
    headers: CaseInsensitiveDict

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The chat messages of a chat request (empty for other requests)."""
        return list((self.json or {}).get("messages", [])) if isinstance(self.json, dict) else []


@dataclass
class _Failure:
    status: int
    retry_after: str | None
    retry_after_ms: str | None
    message: str
    path: str | None


def count_tokens(text: str) -> int:
    """A crude token count: words and punctuation marks."""
    return len(re.findall(r"\w+|[^\w\s]", text))


def hashed_embedding(text: str, dim: int = 64) -> list[float]:
    """A deterministic, normalised hashed bag of words; never all zeros."""
    vec = np.zeros(dim, dtype=np.float64)
    words = [w.lower() for w in _WORD.findall(text)] or ["<empty>"]
    for word in words:
        digest = hashlib.sha256(word.encode("utf-8")).digest()
        bucket = int.from_bytes(digest[:4], "little") % dim
        sign = 1.0 if digest[4] & 1 else -1.0
        vec[bucket] += sign
    norm = float(np.linalg.norm(vec))
    if norm == 0.0:  # every word cancelled out: still return a usable vector
        vec[0] = 1.0
        norm = 1.0
    return (vec / norm).tolist()


def corrupted(vectors: list[list[float]], texts: list[str], mode: str, dim: int) -> list[list[float]]:
    """The vectors as an embedding_mode spoils them (see the module's docstring)."""
    if mode == "wrong_count":
        return vectors[:-1] if len(vectors) > 1 else vectors + [hashed_embedding("extra", dim)]
    if mode == "wrong_dim" and vectors:
        return vectors[:-1] + [hashed_embedding(texts[-1] if texts else "", len(vectors[-1]) + 1)]
    if mode == "zeros":
        return [[0.0] * len(v) for v in vectors]
    return vectors


class HashEmbedder:
    """The fake server's embeddings in process, for code that takes an embedder: the same vectors,
    the same `embedding_mode`s (`mode`), and each call's texts kept in `calls`."""

    def __init__(self, dim: int = 64, name: str = "hash"):
        self.dim, self.name, self.mode = dim, name, "ok"
        self.calls: list[list[str]] = []

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls.append(list(texts))
        vectors = corrupted([hashed_embedding(t, self.dim) for t in texts], texts, self.mode, self.dim)
        try:
            return np.asarray(vectors, dtype=np.float32)
        except ValueError:  # rows of differing lengths, as a real embedder must refuse them
            from localization.dense import EmbeddingError

            raise EmbeddingError("embedding vectors of differing dimensions") from None


@dataclass
class Misbehaviour:
    """How `server.chaos` makes one answer go wrong (see the module's docstring)."""

    kind: str  # drop | truncate | raw | slow
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class FakeOpenAIServer:
    def __init__(
        self,
        chat: Iterable[ChatAnswer] | None = None,
        *,
        responder: Responder | None = None,
        embedder: EmbedFn | None = None,
        embedding_dim: int = 64,
        model: str = "fake-model",
    ):
        self.responder: Responder | None = responder
        self.embedder: EmbedFn | None = embedder
        self.embedding_dim = embedding_dim
        self.embedding_mode = "ok"
        self.model = model
        self.requests: list[RecordedRequest] = []
        self.raw_answers: list[Any] = []  # JSON bodies returned as-is with 200, before anything else
        self.exhausted = 0
        self.chat_answered = 0
        self.chaos: Callable[[str, Any], Misbehaviour | None] | None = None
        self._port = 0  # kept across an outage
        self._script: deque[ChatAnswer] = deque(chat or [])
        self._failures: deque[_Failure] = deque()
        self._lock = threading.RLock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> FakeOpenAIServer:
        if self._httpd is not None:
            return self
        httpd = _QuietServer(("127.0.0.1", self._port), _make_handler(self))
        self._port = httpd.server_address[1]
        httpd.daemon_threads = True
        # Keep-alive connections of the SDK's pool would otherwise make server_close() wait.
        httpd.block_on_close = False
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def outage(self, seconds: float) -> None:
        """Refuse connections for `seconds`, then listen on the same port again."""
        self.stop()
        time.sleep(seconds)
        self.start()

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("fake OpenAI server is not running")
        return self._httpd.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    # -- scripting ---------------------------------------------------------------------

    def script_chat(self, answers: Iterable[ChatAnswer]) -> None:
        """Append chat answers (each a str, or a list[str] of choices) to the script."""
        if isinstance(answers, str):
            raise TypeError("script_chat takes a list of answers, not a single string")
        items = list(answers)
        for item in items:
            if not isinstance(item, str) and not (isinstance(item, list) and all(isinstance(c, str) for c in item)):
                raise TypeError(f"a chat answer must be a str or a list of str, got {item!r}")
        with self._lock:
            self._script.extend(items)

    @property
    def script_remaining(self) -> int:
        with self._lock:
            return len(self._script)

    def fail_next(
        self,
        status: int = 500,
        times: int = 1,
        *,
        retry_after: float | str | None = None,
        retry_after_ms: float | str | None = None,
        message: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next `times` requests (to paths ending with `path`, if given) with `status`."""
        if times < 1:
            raise ValueError("times must be at least 1")
        failure = _Failure(
            status=status,
            retry_after=None if retry_after is None else str(retry_after),
            retry_after_ms=None if retry_after_ms is None else str(retry_after_ms),
            message=message or f"fake OpenAI server: injected failure (HTTP {status})",
            path=path,
        )
        with self._lock:
            self._failures.extend([failure] * times)

    def clear_failures(self) -> None:
        """Forget failures queued by fail_next that have not happened yet."""
        with self._lock:
            self._failures.clear()

    # -- inspection --------------------------------------------------------------------

    def chat_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def embedding_requests(self) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/embeddings")]

    # -- request handling (called from the server's threads) ------------------------------

    def _take_failure(self, path: str) -> _Failure | None:
        with self._lock:
            for i, failure in enumerate(self._failures):
                if failure.path is None or path.endswith(failure.path):
                    del self._failures[i]
                    return failure
        return None

    def _handle(self, method: str, path: str, body: Any, headers: CaseInsensitiveDict) -> tuple[int, dict[str, str], Any]:
        with self._lock:
            self.requests.append(RecordedRequest(path, body, headers))
        failure = self._take_failure(path)
        if failure is not None:
            extra: dict[str, str] = {}
            if failure.retry_after is not None:
                extra["Retry-After"] = failure.retry_after
            if failure.retry_after_ms is not None:
                extra["retry-after-ms"] = failure.retry_after_ms
            return failure.status, extra, _error(failure.message, "injected_failure")
        route = path.split("?", 1)[0].rstrip("/")
        with self._lock:
            raw = self.raw_answers.pop(0) if self.raw_answers else None
        if raw is not None:  # a malformed 200 answer, queued by a test
            return 200, {}, raw
        if method == "GET" and route == "/v1/models":
            return 200, {}, {"object": "list", "data": [{"id": self.model, "object": "model", "created": 0, "owned_by": "fake"}]}
        if method != "POST" or route not in ("/v1/chat/completions", "/v1/embeddings"):
            return 404, {"x-should-retry": "false"}, _error(f"fake OpenAI server: no route for {method} {path}", "not_found")
        if not isinstance(body, dict):
            return 400, {"x-should-retry": "false"}, _error("fake OpenAI server: request body is not a JSON object", "invalid_request_error")
        if route == "/v1/chat/completions":
            return self._chat(body)
        return self._embeddings(body)

    def _chat(self, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        n = body.get("n") or 1
        if self.responder is not None:
            try:
                answer = self.responder(body)
            except Exception as exc:  # a broken responder must fail the test, not hang it
                return 500, {"x-should-retry": "false"}, _error(f"fake OpenAI server: responder raised {exc!r}", "fake_server_error")
        else:
            with self._lock:
                if not self._script:
                    self.exhausted += 1
                    return (
                        500,
                        {"x-should-retry": "false"},
                        _error(
                            f"fake OpenAI server: chat script exhausted after {self.chat_answered} answered request(s); "
                            "script more answers with server.script_chat([...]) or set server.responder",
                            "script_exhausted",
                        ),
                    )
                answer = self._script.popleft()
        if not isinstance(answer, (str, list)):
            return 500, {"x-should-retry": "false"}, _error(f"fake OpenAI server: responder returned {answer!r}", "fake_server_error")
        with self._lock:
            self.chat_answered += 1
        choices = list(answer) if isinstance(answer, list) else [answer] * int(n)
        prompt_text = " ".join(str(m.get("content") or "") for m in body.get("messages", []) if isinstance(m, dict))
        prompt_tokens = count_tokens(prompt_text)
        completion_tokens = sum(count_tokens(c) for c in choices)
        return 200, {}, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or self.model,
            "choices": [
                {"index": i, "message": {"role": "assistant", "content": text}, "finish_reason": "stop", "logprobs": None}
                for i, text in enumerate(choices)
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def _embeddings(self, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        raw = body.get("input")
        texts = [raw] if isinstance(raw, str) else list(raw or [])
        texts = [t if isinstance(t, str) else " ".join(map(str, t)) for t in texts]  # token arrays
        model = str(body.get("model") or "")
        dim = self.embedding_dim
        if self.embedder is not None:
            try:
                vectors = [list(map(float, v)) for v in self.embedder(texts, model)]
            except Exception as exc:
                return 500, {"x-should-retry": "false"}, _error(f"fake OpenAI server: embedder raised {exc!r}", "fake_server_error")
        else:
            vectors = [hashed_embedding(t, dim) for t in texts]
        mode = self.embedding_mode
        if mode not in EMBEDDING_MODES:
            return 500, {"x-should-retry": "false"}, _error(f"fake OpenAI server: unknown embedding_mode {mode!r}", "fake_server_error")
        vectors = corrupted(vectors, texts, mode, dim)
        base64_out = body.get("encoding_format") == "base64"
        data = [
            {
                "object": "embedding",
                "index": i,
                "embedding": base64.b64encode(struct.pack(f"<{len(v)}f", *v)).decode("ascii") if base64_out else v,
            }
            for i, v in enumerate(vectors)
        ]
        tokens = sum(count_tokens(t) for t in texts)
        return 200, {}, {
            "object": "list",
            "data": data,
            "model": model or self.model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that gave up (a timeout it set) is no error of the server's
        super().handle_error(request, client_address)


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": kind}}


def _make_handler(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's connection pool expects
        timeout = 10  # an idle keep-alive connection frees its thread after this

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def _serve(self, method: str) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            headers = CaseInsensitiveDict(self.headers.items())
            act = server.chaos(self.path, body) if server.chaos is not None else None
            if act is not None and act.kind == "drop":
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if act is not None and act.kind == "slow":
                time.sleep(act.seconds)
            if act is not None and act.kind == "raw":
                status, extra, out = act.status, {"Content-Type": "text/html", **act.headers}, act.body
            else:
                try:
                    status, extra, payload = server._handle(method, self.path, body, headers)
                except Exception as exc:  # never leave the client waiting
                    status, extra, payload = 500, {"x-should-retry": "false"}, _error(f"fake OpenAI server crashed: {exc!r}", "fake_server_error")
                out, extra = json.dumps(payload).encode("utf-8"), {"Content-Type": "application/json", **extra}
            self.send_response(status)
            self.send_header("Content-Length", str(len(out)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            if act is not None and act.kind == "truncate":
                self.wfile.write(out[: len(out) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            self.wfile.write(out)

        def do_POST(self) -> None:
            self._serve("POST")

        def do_GET(self) -> None:
            self._serve("GET")

    return Handler


class Hostile:
    """An endpoint on a bad day, for `server.chaos` and `server.responder` together: chat requests
    are answered in rotation by `kinds`, "ok" ones by `answer(body)`. The kinds: garbage (an HTML
    page with 200), prose (no edit in it), rate_limit (429, Retry-After: 1), server_error (500),
    truncate (half a JSON body), huge (3 MB of text), bad_code (the right edit, made not to parse),
    drop (the connection closed unanswered), slow (an answer after `slow_s`)."""

    KINDS = ("garbage", "prose", "rate_limit", "server_error", "truncate", "huge", "bad_code", "drop", "slow")

    def __init__(self, answer: Callable[[dict], str] = lambda body: "No idea.", kinds: Iterable[str] = KINDS,
                 slow_s: float = 3.0):
        self.answer, self.kinds, self.slow_s = answer, list(kinds), slow_s
        self.counts: dict[str, int] = {}
        self._next, self._lock, self._current = 0, threading.Lock(), threading.local()

    def install(self, server: "FakeOpenAIServer") -> "Hostile":
        server.chaos, server.responder = self.chaos, self.respond
        return self

    def chaos(self, path: str, body: Any) -> Misbehaviour | None:
        if not path.endswith("/chat/completions") or not self.kinds:
            return None
        with self._lock:
            kind = self.kinds[self._next % len(self.kinds)]
            self._next += 1
            self.counts[kind] = self.counts.get(kind, 0) + 1
        self._current.kind = kind
        error = lambda status, text: Misbehaviour("raw", status, json.dumps(_error(text, "hostile")).encode(),  # noqa: E731
                                                  {"Content-Type": "application/json", **({"Retry-After": "1"} if status == 429 else {})})
        return {"garbage": Misbehaviour("raw", 200, b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
                "rate_limit": error(429, "Rate limit reached; try again in 1s"), "server_error": error(500, "The server had an error"),
                "truncate": Misbehaviour("truncate"), "drop": Misbehaviour("drop"),
                "slow": Misbehaviour("slow", seconds=self.slow_s)}.get(kind)

    def respond(self, body: dict) -> str:
        kind = getattr(self._current, "kind", "ok")
        if kind == "prose":
            return "Looking at the issue, I believe the bug is in the arithmetic. You should check the function and fix it."
        if kind == "huge":
            return "x" * 3_000_000
        answer = self.answer(body)
        return answer.replace("def ", "def (", 1) if kind == "bad_code" else answer

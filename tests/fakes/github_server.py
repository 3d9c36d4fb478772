"""A fake GitHub REST API for the bot's tests: a real HTTP server on 127.0.0.1 (stdlib
`ThreadingHTTPServer` in a thread) serving the endpoints the bot calls, checking credentials
as GitHub does, and recording every call.

    with FakeGitHub(token="ghp_x", permissions={"alice": "write"}) as gh:
        ... bot.api_url = gh.url ...
        gh.calls          # [Call(method, path, query, json, auth)]
        gh.comments, gh.reactions, gh.pulls

Credentials: a request must carry `token T` or `Bearer T` for a T in `accepted` (the personal
token, and every installation token minted), else 401.

Git: with `git_root`, `/git/<owner>/<name>.git` serves the bare repositories under it over
smart HTTP (`git http-backend`), as github.com does: only with `Authorization: Basic`
`x-access-token:T` for an accepted T (anything else gets 401); `git_calls` records
(service, user, token) for each. With `app_id` and `public_key`,
POST /app/installations/{id}/access_tokens takes a JWT (RS256, `iss` = app id) checked
against the key and mints `installation_token`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit


@dataclass
class Call:
    method: str
    path: str
    query: dict
    json: object
    auth: str


@dataclass
class FakeGitHub:
    token: str | None = None
    app_id: str | None = None
    public_key: str | None = None
    installation_token: str = "ghs_fakeinstallation0123456789abcdef"
    permissions: dict[str, str] = field(default_factory=dict)
    user_login: str = "supercoder-bot"
    git_root: Path | None = None
    git_calls: list[tuple[str, str, str]] = field(default_factory=list)
    drafts: bool = True  # False: a repository whose plan has no draft pull requests (422 to draft=true)
    calls: list[Call] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)
    reactions: list[dict] = field(default_factory=list)
    pulls: list[dict] = field(default_factory=list)
    jwt_errors: list[str] = field(default_factory=list)

    def __post_init__(self):
        self.accepted = {self.token} if self.token else set()
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def __enter__(self) -> "FakeGitHub":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, status: int, data=None):
                body = json.dumps(data).encode() if data is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _handle(self):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                if parts.path.startswith("/git/"):
                    return fake.git_http(self, parts, raw)
                body = json.loads(raw) if raw else None
                auth = self.headers.get("Authorization", "")
                with fake.lock:
                    fake.calls.append(Call(self.command, parts.path, parse_qs(parts.query), body, auth))
                status, data = fake.route(self.command, parts.path, parse_qs(parts.query), body, auth)
                self._send(status, data)

            do_GET = do_POST = do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    # -- git over smart HTTP --------------------------------------------------------------

    def git_http(self, handler, parts, raw: bytes) -> None:
        auth = handler.headers.get("Authorization", "")
        user, token = "", ""
        if auth.startswith("Basic "):
            user, _, token = base64.b64decode(auth[6:]).decode().partition(":")
        service = (parse_qs(parts.query).get("service") or [parts.path.rsplit("/", 1)[-1]])[0]
        with self.lock:
            self.git_calls.append((service, user, token))
        if self.git_root is None or user != "x-access-token" or token not in self.accepted:
            handler.send_response(401)
            handler.send_header("WWW-Authenticate", 'Basic realm="fake GitHub"')
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        env = {"PATH": os.environ["PATH"], "GIT_PROJECT_ROOT": str(self.git_root), "GIT_HTTP_EXPORT_ALL": "1",
               "PATH_INFO": parts.path[len("/git"):], "REQUEST_METHOD": handler.command, "QUERY_STRING": parts.query,
               "CONTENT_TYPE": handler.headers.get("Content-Type", ""), "CONTENT_LENGTH": str(len(raw)),
               "REMOTE_USER": user, "REMOTE_ADDR": "127.0.0.1",  # a user: http-backend then allows pushes
               "HTTP_CONTENT_ENCODING": handler.headers.get("Content-Encoding", ""),
               "HTTP_GIT_PROTOCOL": handler.headers.get("Git-Protocol", "")}
        out = subprocess.run(["git", "http-backend"], input=raw, env=env, capture_output=True).stdout
        head, _, body = out.partition(b"\r\n\r\n")
        headers = [line.split(": ", 1) for line in head.decode().split("\r\n") if ": " in line]
        status = next((int(v.split()[0]) for k, v in headers if k.lower() == "status"), 200)
        handler.send_response(status)
        for key, value in headers:
            if key.lower() != "status":
                handler.send_header(key, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    # -- the API ---------------------------------------------------------------------------

    def _jwt_ok(self, auth: str) -> bool:
        import jwt

        if not auth.startswith("Bearer ") or not self.public_key:
            return False
        try:
            claims = jwt.decode(auth[7:], self.public_key, algorithms=["RS256"], options={"require": ["iss", "exp", "iat"]})
        except jwt.PyJWTError as exc:
            self.jwt_errors.append(str(exc))
            return False
        return str(claims["iss"]) == str(self.app_id)

    def route(self, method: str, path: str, query: dict, body, auth: str):
        m = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if m and method == "POST":
            if not self._jwt_ok(auth):
                return 401, {"message": "A JSON web token could not be decoded"}
            self.accepted.add(self.installation_token)
            return 201, {"token": self.installation_token, "expires_at": "2099-01-01T00:00:00Z",
                         "permissions": {"issues": "write"}, "repository_selection": "all"}
        token = auth.split(" ", 1)[1] if " " in auth else ""
        if token not in self.accepted:
            return 401, {"message": "Bad credentials"}
        if path == "/user" and method == "GET":
            return 200, {"login": self.user_login, "id": 1, "type": "User"}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/collaborators/([^/]+)/permission", path)
        if m and method == "GET":
            return 200, {"permission": self.permissions.get(m[3], "none"), "role_name": "x", "user": {"login": m[3]}}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/reactions", path) or \
            re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/comments/(\d+)/reactions", path)
        if m and method == "POST":
            with self.lock:
                self.reactions.append({"path": path, **body})
            return 201, {"id": len(self.reactions), "content": body["content"]}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/issues/(\d+)/comments", path)
        if m and method == "POST":
            with self.lock:
                self.comments.append({"issue": int(m[3]), "body": body["body"]})
                n = len(self.comments)
            return 201, {"id": 1000 + n, "body": body["body"], "html_url": f"https://github.test/{m[1]}/{m[2]}/issues/{m[3]}#c{n}"}
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/pulls", path)
        if m and method == "GET":
            head = (query.get("head") or [""])[0]
            return 200, [p for p in self.pulls if p["state"] == "open" and f"{m[1]}:{p['head']['ref']}" == head]
        if m and method == "POST":
            if body.get("draft") and not self.drafts:
                return 422, {"message": "Draft pull requests are not supported in this repository."}
            with self.lock:
                pr = {"number": 100 + len(self.pulls), "state": "open", "title": body["title"], "body": body.get("body", ""),
                      "draft": body.get("draft", False), "head": {"ref": body["head"]}, "base": {"ref": body["base"]}}
                pr["html_url"] = f"https://github.test/{m[1]}/{m[2]}/pull/{pr['number']}"
                self.pulls.append(pr)
            return 201, pr
        m = re.fullmatch(r"/repos/([^/]+)/([^/]+)/pulls/(\d+)", path)
        if m and method == "PATCH":
            pr = next((p for p in self.pulls if p["number"] == int(m[3])), None)
            if pr is None:
                return 404, {"message": "Not Found"}
            pr.update({k: v for k, v in body.items() if k in ("title", "body")})
            return 200, pr
        return 404, {"message": "Not Found"}

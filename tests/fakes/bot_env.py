"""What the bot's tests need besides the fake GitHub API: a bare git repository standing for
the GitHub remote (acme/calc from swe_dataset, whose test of `add` fails), signed webhook
deliveries, and `supercoder bot serve` run as a real process on a free port."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from fakes.swe_dataset import ISSUES, REPOS

SECRET = "whsec-test-0123456789"


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, capture_output=True,
                          text=True, check=True).stdout


def make_remote(root: Path, repo: str = "acme/calc") -> Path:
    """A bare repository holding `repo` on branch main (the bot's 'GitHub' remote)."""
    work = root / "upstream"
    work.mkdir(parents=True)
    for path, text in REPOS[repo].items():
        (work / path).parent.mkdir(parents=True, exist_ok=True)
        (work / path).write_text(text)
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-qm", "init")
    bare = root / "remote" / f"{repo}.git"
    bare.parent.mkdir(parents=True)
    git(root, "clone", "-q", "--bare", str(work), str(bare))
    return bare


def issue_event(remote: Path | str, *, number: int = 1, sender: str = "alice", label: str = "supercoder",
                installation: int | None = None, repo: str = "acme/calc") -> dict:
    """`remote`: the clone URL (a path, or the fake GitHub's git URL)."""
    payload = {"action": "labeled", "label": {"name": label},
               "issue": {"number": number, "title": f"{repo} is wrong", "body": ISSUES[repo], "state": "open"},
               "repository": {"full_name": repo, "clone_url": str(remote), "default_branch": "main"},
               "sender": {"login": sender, "type": "User"}}
    if installation is not None:
        payload["installation"] = {"id": installation}
    return payload


def comment_event(remote: Path | str, body: str, *, number: int = 1, sender: str = "alice", comment_id: int = 77,
                  installation: int | None = None) -> dict:
    payload = issue_event(remote, number=number, sender=sender, installation=installation)
    del payload["label"]
    payload.update(action="created", comment={"id": comment_id, "body": body})
    return payload


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class BotServer:
    """`supercoder bot serve --port 0` in its own process group; stderr goes to a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path):
        self.args, self.env, self.log = args, env, log
        self.proc: subprocess.Popen | None = None
        self.url = ""

    def start(self, *extra: str, timeout: float = 60) -> "BotServer":
        self.err = open(self.log, "a")
        cmd = [sys.executable, "-c", "from agent.cli import main; main()", "bot", "serve", "--port", "0", *self.args, *extra]
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=self.err, stderr=self.err, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.findall(r"listening on (http://\S+/webhook)", self.log.read_text())
            if found and self.proc.poll() is None:
                self.url = found[-1]
                if self._up():
                    return self
            if self.proc.poll() is not None:
                raise AssertionError(f"bot serve exited {self.proc.returncode}:\n{self.log.read_text()}")
            time.sleep(0.1)
        raise AssertionError(f"bot serve did not start:\n{self.log.read_text()}")

    def _up(self) -> bool:
        try:
            urllib.request.urlopen(self.url.replace("/webhook", "/healthz"), timeout=2).read()
            return True
        except OSError:
            return False

    def post(self, event: str, payload: dict, *, delivery: str | None = None, signature: str | None = "sign",
             raw: bytes | None = None) -> tuple[int, dict]:
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "X-GitHub-Event": event,
                   "X-GitHub-Delivery": delivery or str(uuid.uuid4())}
        if signature is not None:
            headers["X-Hub-Signature-256"] = sign(body) if signature == "sign" else signature
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.proc is None:
            return 0
        self.proc.send_signal(sig)  # the server only: its job processes must notice on their own
        try:
            code = self.proc.wait(timeout)
        finally:
            self.err.close()
        self.proc = None
        return code


def wait_for(predicate, timeout: float = 180, what: str = "the condition", interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")

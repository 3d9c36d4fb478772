"""Services a tree's tests expect: which ones a tree asks for (read from its code), and the shell
that starts them beside the tests, run here for real (a small HTTP server on loopback)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from fakes.repos import commit_files

from sandbox.config import ServiceConfig
from sandbox.services import service_prelude, wanted_services


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_tree_gets_the_services_its_python_code_asks_for(tmp_path):
    clone, commit = commit_files(tmp_path / "tree", {"test_api.py": "import os\nURL = os.environ.get('HTTPBIN_URL', 'http://httpbin.org/')\n",
                                     "README.md": "set MAILHOG_URL to ...\n"})
    services = {"httpbin": ServiceConfig(wanted_by="HTTPBIN_URL", packages=["x"], start="s"),
                "mail": ServiceConfig(wanted_by="MAILHOG_URL", packages=["x"], start="s")}  # named only outside Python files
    assert list(wanted_services(clone, commit, services)) == ["httpbin"]


def test_a_service_answers_before_the_tests_run(tmp_path):
    port = _free_port()
    (tmp_path / "web" / "bin").mkdir(parents=True)
    (tmp_path / "web" / "bin" / "python").symlink_to(sys.executable)  # the service's venv, as far as PATH goes
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "hello").write_text("hi")
    service = ServiceConfig(wanted_by="X", packages=["-"], start=f"exec python -m http.server {port} --bind 127.0.0.1 --directory {tmp_path / 'root'}",
                            ready=f"python -c 'import urllib.request as u; u.urlopen(\"http://127.0.0.1:{port}/\", timeout=1)'",
                            env={"WEB_URL": f"http://127.0.0.1:{port}/"})
    tests = "python -c 'import os, urllib.request as u; print(u.urlopen(os.environ[\"WEB_URL\"] + \"hello\").read().decode())'"
    script = service_prelude({"web": service}, str(tmp_path)) + f"\nPATH={tmp_path / 'web' / 'bin'}:$PATH {tests}"
    done = subprocess.run(["bash", "-c", script + "\nkill %1 2>/dev/null; true"], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip().endswith("hi"), done.stdout + done.stderr


def test_a_service_that_never_answers_is_reported(tmp_path):
    service = ServiceConfig(wanted_by="X", packages=["-"], start="echo cannot bind; exit 1", ready="false", ready_timeout_s=0.4)
    done = subprocess.run(["bash", "-c", service_prelude({"web": service}, str(tmp_path)) + "\necho tests ran"],
                          capture_output=True, text=True, timeout=60)
    assert "service web did not answer" in done.stdout and "cannot bind" in done.stdout
    assert done.stdout.strip().endswith("tests ran")  # the tests still run, and fail on their own terms


def test_services_stop_when_the_tests_end(tmp_path):
    # On a shared tree (the local backend) a service left running would hold its port for the next run.
    service = ServiceConfig(wanted_by="X", packages=["-"], start="exec sleep 300", ready="true")
    done = subprocess.run(["bash", "-c", service_prelude({"web": service}, str(tmp_path)) + '\necho "$svc_pid_web"'],
                          capture_output=True, text=True, timeout=60)
    pid = int(done.stdout.split()[-1])

    def running() -> bool:  # a killed child nobody has reaped yet (no init in a container) is no longer running
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, IndexError):
            return False

    deadline = time.monotonic() + 5
    while running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running()  # gone with the shell

"""The docker backend against the real engine (.ci/run starts dockerd and builds the base image;
the fixture builds it too when it is missing)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from agent.settings import load_settings
from sandbox.base import SandboxError
from sandbox.docker_backend import DockerSandbox
from sandbox.docker_engine import EPHEMERAL_LABEL, LABEL, OWNER_LABEL, docker_client, owner, prune, prune_images
from sandbox.images import base_tag, ensure_base

DIFF = "diff --git a/m.py b/m.py\n--- a/m.py\n+++ b/m.py\n@@ -1 +1 @@\n-x = 1\n+x = 2\n"


@pytest.fixture(scope="session")
def client():
    return docker_client()


@pytest.fixture(scope="session")
def image(client):
    return ensure_base(client, load_settings().sandbox)


@pytest.fixture
def cfg():
    # Small limits so that each can be reached quickly.
    return load_settings(overrides=[
        "sandbox.memory_mb=256", "sandbox.pids_limit=64", "sandbox.file_size_mb=4", "sandbox.tmpfs_mb=8",
        "sandbox.kill_grace_s=1", "sandbox.output_max_chars=2000",
    ]).sandbox


@pytest.fixture
def repo(tmp_path) -> tuple[Path, str]:
    root = tmp_path / "src"
    root.mkdir()
    (root / "m.py").write_text("x = 1\n")
    (root / "pkg").mkdir()
    (root / "pkg" / "util.py").write_text("def f():\n    return 1\n")
    git = ["git", "-c", "user.email=t@t", "-c", "user.name=t"]
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run(["git", "add", "-A"], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True).stdout.strip()
    return root, commit


@pytest.fixture
def sandbox(image, cfg, repo, client):
    with DockerSandbox(image, cfg, *repo, client=client) as sb:
        yield sb


def _ours(client, anyone: bool = False) -> set[str]:
    """Ids of this process's sandbox containers (`anyone`: every process's), as the engine lists
    them: no inspection of each, which another process may remove meanwhile."""
    labels = [LABEL] if anyone else [LABEL, f"{OWNER_LABEL}={owner()}"]
    return {c["Id"] for c in client.api.containers(all=True, filters={"label": labels})}


def test_the_base_image_is_reused_and_named_by_its_spec(client, image):
    assert image == base_tag(load_settings().sandbox)
    t0 = time.monotonic()
    assert ensure_base(client, load_settings().sandbox) == image
    assert time.monotonic() - t0 < 5  # nothing built
    other = load_settings(overrides=["sandbox.base_suite=trixie"]).sandbox
    assert base_tag(other) != image


def test_run_in_the_tree(sandbox):
    r = sandbox.run("pwd; cat m.py; echo err >&2; exit 3")
    assert r.exit_code == 3 and not r.timed_out
    assert r.output == "/repo\nx = 1\nerr\n"
    sandbox.run("cd pkg; export X=1; echo y > made.txt")
    assert sandbox.run("pwd; echo ${X:-unset}; cat pkg/made.txt").output == "/repo\nunset\ny\n"


def test_timeout_kills_the_whole_tree(sandbox):
    t0 = time.monotonic()
    r = sandbox.run("sleep 61 & sleep 62 & wait", timeout_s=1)
    assert r.timed_out and r.exit_code is None
    assert time.monotonic() - t0 < 10
    assert "sleep 6" not in sandbox.run("ps -e -o cmd").output


def test_a_process_that_leaves_its_session_does_not_hold_the_run(sandbox):
    t0 = time.monotonic()
    r = sandbox.run("setsid sleep 63 & echo started", timeout_s=60)
    assert r.output == "started\n" and r.exit_code == 0
    assert time.monotonic() - t0 < 10  # the grace period, not the 60 s limit
    assert "sleep 63" not in sandbox.run("ps -e -o cmd").output


def test_no_network(sandbox):
    r = sandbox.run("python3 -c \"import socket; socket.create_connection(('1.1.1.1', 53), timeout=3)\"")
    assert r.exit_code != 0 and "unreachable" in r.output.lower()


def test_loopback_answers_on_both_families_without_a_network(sandbox, image, cfg, client):
    bind = "python3 -c \"import socket; s = socket.socket(socket.AF_INET6); s.bind(('::1', 0)); print(s.getsockname()[0])\""
    assert sandbox.run(bind).output.strip() == "::1"
    with DockerSandbox(image, cfg.model_copy(update={"loopback_ipv6": False}), client=client) as sb:
        assert "Cannot assign requested address" in sb.run(bind).output  # Docker's default


def test_network_only_when_asked(image, cfg, client):
    interfaces = "python3 -c \"import socket; print(sorted(n for _, n in socket.if_nameindex()))\""
    with DockerSandbox(image, cfg, client=client) as sb:
        assert sb.run(interfaces).output.strip() == "['lo']"
    with DockerSandbox(image, cfg, client=client, network=True) as sb:
        assert "eth0" in sb.run(interfaces).output


def test_memory_limit(sandbox):
    r = sandbox.run("python3 -c 'x = bytearray(600 * 1024 * 1024); print(\"allocated\")'")
    assert r.exit_code == 137 and "allocated" not in r.output


def test_file_size_and_tmpfs_limits(sandbox):
    r = sandbox.run("head -c 20000000 /dev/zero > big.bin; echo rc=$?; stat -c %s big.bin")
    assert "rc=153" in r.output and "4194304" in r.output  # SIGXFSZ at 4 MiB
    r = sandbox.run("for i in 1 2 3; do head -c 3000000 /dev/zero > /tmp/f$i || echo full; done; df -k /tmp | tail -1")
    assert "full" in r.output or "No space" in r.output


def test_tests_run_as_an_unprivileged_user_without_capabilities(sandbox, cfg):
    r = sandbox.run("id -u; id -un; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs):' /proc/self/status; echo $HOME; touch owned && stat -c %u owned")
    lines = r.output.split()
    assert lines[:2] == [str(cfg.uid), "sandbox"]
    assert r.output.count("0000000000000000") == 3 and "NoNewPrivs:\t1" in r.output
    assert lines[-2:] == ["/home/sandbox", str(cfg.uid)]  # a home, and the tree is its own to write
    assert sandbox.run("touch /etc/x || echo denied").output.strip().endswith("denied")


def test_a_command_that_writes_past_the_disk_quota_is_stopped(image, repo, client):
    cfg = load_settings(overrides=["sandbox.disk_mb=40", "sandbox.disk_check_s=0.3", "sandbox.file_size_mb=64"]).sandbox
    with DockerSandbox(image, cfg, *repo, client=client) as sb:
        r = sb.run("for i in $(seq 20); do head -c 10000000 /dev/zero > f$i; sleep 0.2; done; echo finished", timeout_s=60)
        assert r.stopped and "past sandbox.disk_mb=40" in r.stopped and "finished" not in r.output
        assert not r.ok and r.exit_code is None and not r.timed_out
        assert int(sb.run("ls f* | wc -l").output) < 20


def test_process_limit(sandbox):
    r = sandbox.run("for i in $(seq 200); do sleep 5 & done; echo end", timeout_s=20)
    assert "Resource temporarily unavailable" in r.output


def test_output_keeps_head_and_tail(sandbox):
    r = sandbox.run("echo FIRST; seq 100000; echo LAST")
    assert r.truncated and r.output.startswith("FIRST") and r.output.rstrip().endswith("LAST")
    assert len(r.output) < 2200


def test_diff_reset_and_files(sandbox):
    sandbox.apply_diff(DIFF)
    assert sandbox.read_file("m.py") == "x = 2\n"
    with pytest.raises(SandboxError, match="^the patch does not apply"):
        sandbox.apply_diff(DIFF)
    sandbox.write_file("new/dir/n.py", "y = 1\n")
    assert sandbox.read_file("new/dir/n.py") == "y = 1\n"
    sandbox.reset()
    assert sandbox.read_file("m.py") == "x = 1\n"
    with pytest.raises(SandboxError):
        sandbox.read_file("new/dir/n.py")
    with pytest.raises(SandboxError):
        sandbox.write_file("../escape.py", "")


def test_container_removed_after_an_exception(image, cfg, repo, client):
    before = _ours(client)
    with pytest.raises(RuntimeError):
        with DockerSandbox(image, cfg, *repo, client=client) as sb:
            cid = sb.container.id
            raise RuntimeError("boom")
    assert cid not in _ours(client) | before


_HOLDER = """
import signal, sys
from agent.settings import load_settings
from sandbox.base import terminate_as_interrupt
from sandbox.docker_backend import DockerSandbox
signal.signal(signal.SIGINT, signal.default_int_handler)  # a shell's background job inherits SIGINT ignored
terminate_as_interrupt()
with DockerSandbox(sys.argv[1], load_settings().sandbox) as sb:
    print(sb.container.id, flush=True)
    sb.run("sleep 600")
"""


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_container_removed_when_the_run_is_interrupted_or_terminated(image, client, sig):
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, image], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    cid = ""
    try:
        cid = proc.stdout.readline().strip()
        assert cid, proc.stderr.read()
        time.sleep(1)  # the command is running
        proc.send_signal(sig)
        assert proc.wait(timeout=60) != 0
        assert not client.api.containers(all=True, filters={"id": cid})
    finally:
        if proc.poll() is None:  # the test failed: leave no process or container behind
            proc.kill()
            for c in client.api.containers(all=True, filters={"id": cid}) if cid else []:
                client.api.remove_container(c["Id"], force=True)


def test_missing_commit_or_image_is_a_clear_error_and_leaves_nothing(image, cfg, repo, client):
    before = _ours(client)
    with pytest.raises(SandboxError, match="cannot take the tree of 0{40} .*fatal:"):  # git's own words
        DockerSandbox(image, cfg, repo[0], "0" * 40, client=client)
    with pytest.raises(SandboxError, match="not found"):
        DockerSandbox("supercoder-no-such-image:x", cfg, client=client)
    assert _ours(client) == before


def test_prune_removes_leftovers_of_ended_runs_only(image, cfg, repo, client):
    ended = subprocess.Popen(["true"])
    ended.wait()  # a process id that no longer runs
    leftover = client.containers.run(image, ["sleep", "infinity"], detach=True,
                                     labels={LABEL: "1", OWNER_LABEL: f"{socket.gethostname()}:{ended.pid}"})
    with DockerSandbox(image, cfg, *repo, client=client) as live:  # this process's: still running
        assert prune(client) >= 1
        ids = _ours(client, anyone=True)
        assert leftover.id not in ids and live.container.id in ids


def test_prune_images_removes_per_run_images_of_ended_runs_only(image, client):
    ended = subprocess.Popen(["true"])
    ended.wait()
    made = []
    for run_owner in (f"{socket.gethostname()}:{ended.pid}", owner()):
        container = client.containers.run(image, ["true"], detach=True)
        container.wait()
        made.append(client.api.commit(container.id, repository="supercoder-test-run", tag=f"t{len(made)}-{time.time_ns()}",
                                      changes=[f"LABEL {EPHEMERAL_LABEL}={run_owner}"])["Id"])
        container.remove()
    try:
        assert prune_images(client) >= 1
        left = {i["Id"] for i in client.api.images(filters={"label": EPHEMERAL_LABEL})}
        assert made[0] not in left and made[1] in left  # the ended run's image went; this live run's stays
    finally:
        for image_id in made:
            try:
                client.api.remove_image(image_id, force=True)
            except docker.errors.NotFound:
                pass


def test_prune_all_removes_live_ones_too():
    # A stand-in engine: the real `--all` would remove other runs' containers on this machine.
    class Engine:
        def __init__(self, *owners):
            self.found = [{"Id": f"c{n}", "Labels": {OWNER_LABEL: o}} for n, o in enumerate(owners)]
            self.removed: list[str] = []

        def containers(self, **kw):
            return self.found

        def remove_container(self, cid, force):
            if cid == "c2":  # another process removed it meanwhile
                raise docker.errors.NotFound("gone")
            self.removed.append(cid)

    engine = Engine(f"{socket.gethostname()}:{os.getpid()}", "another-host:1", "another-host:2")
    client = type("Client", (), {"api": engine})()
    assert prune(client) == 0 and engine.removed == []  # alive here; unknown elsewhere
    assert prune(client, everything=True) == 2 and engine.removed == ["c0", "c1"]

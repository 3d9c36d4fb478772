"""Image layers above the base, against the real engine: built once per spec, the CA bundle
mounted and the pip settings passed during the build only, failures reported and cleaned up."""

from __future__ import annotations

import subprocess
import threading
import time

import docker
import pytest

from agent.settings import load_settings
from sandbox.base import SandboxError
from sandbox.docker_backend import DockerSandbox
from sandbox.docker_engine import LABEL, OWNER_LABEL, docker_client, owner
from sandbox.images import ensure_base
from sandbox.layers import CA_IN_CONTAINER, DOCKER_PATHS, LayerSpec, build_env, ensure_layer, host_ca_bundle
from sandbox.recipes import EnvRecipe, env_script

SCRIPT = (
    "mkdir -p /opt/layer && echo built > /opt/layer/marker && "
    f"test -s {CA_IN_CONTAINER} && echo \"$PIP_CERT $PIP_INDEX_URL\" > /opt/layer/seen"
)


@pytest.fixture(scope="module")
def client():
    return docker_client()


@pytest.fixture
def cfg(tmp_path, monkeypatch):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\nnot a real one\n-----END CERTIFICATE-----\n")
    monkeypatch.setenv("PIP_INDEX_URL", "https://index.example/simple")
    monkeypatch.setenv("PIP_FIND_LINKS", "/host/only/path")
    return load_settings(overrides=[f"sandbox.ca_bundle={ca}", "sandbox.build_env={PIP_RETRIES: '7'}"]).sandbox


@pytest.fixture(scope="module")
def base(client):
    return ensure_base(client, load_settings().sandbox)


def _spec(base: str, script: str = SCRIPT, name: str = "test-layer") -> LayerSpec:
    # A unique name per run keeps a previous run's image from being reused by accident.
    return LayerSpec(kind="env", name=name, parent=base, script=script, files={"/opt/layer/req.txt": "pytest\n"})


def test_build_env_passes_pip_and_proxy_settings_only(cfg):
    env = build_env(cfg)
    assert env["PIP_INDEX_URL"] == "https://index.example/simple"
    assert env["PIP_CERT"] == CA_IN_CONTAINER and env["PIP_RETRIES"] == "7"
    assert "PIP_FIND_LINKS" not in env  # a host path means nothing in a container
    assert str(host_ca_bundle(cfg)).endswith("ca.pem")


def test_layer_is_built_once_and_bakes_nothing_of_the_build(client, cfg, base):
    # (Docker leaves an empty file where the CA bundle was mounted; its content is never committed.)
    spec = _spec(base, SCRIPT + f" && echo {time.time_ns()} > /opt/layer/stamp")
    tag = ensure_layer(client, cfg, spec)
    try:
        t0 = time.monotonic()
        assert ensure_layer(client, cfg, spec) == tag and time.monotonic() - t0 < 3  # reused
        with DockerSandbox(tag, load_settings().sandbox, client=client) as sb:
            r = sb.run("cat /opt/layer/marker /opt/layer/seen /opt/layer/req.txt; test -s " + CA_IN_CONTAINER + " || echo no-ca; echo ${PIP_CERT:-no-env}")
            assert r.output == f"built\n{CA_IN_CONTAINER} https://index.example/simple\npytest\nno-ca\nno-env\n"
            with pytest.raises(SandboxError, match="no repository to reset"):
                sb.reset()
        assert ensure_layer(client, cfg, _spec(base, SCRIPT + " && true")) != tag  # another script, another image
    finally:
        for image in client.api.images(name="supercoder-env"):  # the engine's list: no inspection of each
            if any(t.startswith("supercoder-env:test-layer-") for t in image.get("RepoTags") or []):
                try:
                    client.api.remove_image(image["Id"], force=True)
                except docker.errors.NotFound:  # another process removed it meanwhile
                    pass


def test_a_failing_build_says_why_and_leaves_no_container(client, cfg, base):
    ours = {"label": [LABEL, f"{OWNER_LABEL}={owner()}"]}
    before = {c["Id"] for c in client.api.containers(all=True, filters=ours)}
    with pytest.raises(SandboxError, match=r"failed \(exit 3\):\ncannot find it"):
        ensure_layer(client, cfg, _spec(base, "echo cannot find it; exit 3", name="test-layer-fail"))
    assert {c["Id"] for c in client.api.containers(all=True, filters=ours)} == before


def test_an_instance_layer_holds_the_repository_at_its_commit(client, cfg, base, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "m.py").write_text("x = 1\n")
    subprocess.run("git init -q && git add -A && git -c user.email=t@t -c user.name=t commit -qm i", shell=True, cwd=src, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=src, capture_output=True, text=True).stdout.strip()
    spec = LayerSpec(kind="instance", name=f"test-layer-{time.time_ns()}", parent=base, script="echo installed > .installed",
                     clone=str(src), commit=commit)
    tag = ensure_layer(client, cfg, spec)
    try:
        with DockerSandbox(tag, load_settings().sandbox, client=client) as sb:
            assert sb.run("cat m.py .installed").output == "x = 1\ninstalled\n"
            sb.write_file("m.py", "x = 2\n")
            sb.reset()  # back to the tree as unpacked; the install's output is untracked, so it goes too
            assert sb.run("cat m.py; ls -a").output.startswith("x = 1\n")
    finally:
        client.images.remove(tag, force=True)


def test_a_build_runs_with_limits_and_a_deadline(client, cfg, base):
    cfg = cfg.model_copy(update={"build_cpus": 1.5, "build_memory_mb": 700, "build_pids_limit": 300, "build_timeout_s": 2})
    seen: list[dict] = []

    def watch():  # the build container, as the engine describes it while it runs
        deadline = time.monotonic() + 20
        while not seen and time.monotonic() < deadline:
            for found in client.api.containers(filters={"label": [f"{LABEL}=build", f"{OWNER_LABEL}={owner()}"]}):
                seen.append(client.api.inspect_container(found["Id"])["HostConfig"])
            time.sleep(0.1)

    watcher = threading.Thread(target=watch)
    watcher.start()
    with pytest.raises(SandboxError, match="took longer than sandbox.build_timeout_s=2 s"):
        ensure_layer(client, cfg, _spec(base, "sleep 30", name=f"test-layer-slow-{time.time_ns()}"))
    watcher.join()
    assert seen and seen[0]["NanoCpus"] == 1_500_000_000 and seen[0]["Memory"] == 700 * 2**20
    assert seen[0]["PidsLimit"] == 300 and seen[0]["MemorySwap"] == 700 * 2**20


def test_missing_parent_is_a_clear_error(client, cfg):
    with pytest.raises(SandboxError, match="parent image .* not found"):
        ensure_layer(client, cfg, _spec("supercoder-nothing:here"))


def test_the_environment_is_the_image_interpreters_site_too(client, cfg, base):
    # tox --current-env runs tests through a link to the interpreter from a folder of its own,
    # where no pyvenv.cfg is found: the environment's packages must still be there, as in the
    # official images' conda environment. A venv made apart (a service's) stays apart.
    purelib = "$(python -c 'import sysconfig; print(sysconfig.get_path(\"purelib\"))')"
    script = "\n".join([env_script(EnvRecipe(name="site", python="3"), DOCKER_PATHS),
                        f"echo 'X = 1' > {purelib}/only_in_env.py",
                        f"mkdir -p /opt/extra && echo 'Y = 2' > /opt/extra/extra_mod.py && echo /opt/extra > {purelib}/extra.pth"])
    tag = ensure_layer(client, cfg, LayerSpec(kind="env", name=f"test-layer-site-{time.time_ns()}", parent=base, script=script))
    try:
        with DockerSandbox(tag, load_settings().sandbox, client=client) as sb:
            linked = sb.run("mkdir -p /tmp/tox/bin && ln -s /opt/venv/bin/python /tmp/tox/bin/python && "
                            "/tmp/tox/bin/python -c 'import only_in_env, extra_mod; print(only_in_env.X + extra_mod.Y)'")
            assert linked.output.strip() == "3", linked.output
            apart = sb.run("python3 -m venv --without-pip /tmp/apart && /tmp/apart/bin/python -c 'import only_in_env'")
            assert apart.exit_code != 0 and "No module named 'only_in_env'" in apart.output
    finally:
        client.images.remove(tag, force=True)

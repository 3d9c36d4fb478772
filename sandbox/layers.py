"""Image layers above the base (an environment: a repository's dependencies; an instance: the
repository at its commit, installed), each built by running a script in a container of its
parent and committing it, and tagged by a hash of everything that went in: an unchanged spec
reuses its image, a changed one builds anew. `ensure_image` makes the three of an Environment.

A build may reach the package index: it runs with the network, the host's CA bundle mounted
read-only and the pip and proxy settings passed in. None of that is baked into the layer: the
mount is not part of a commit, and the variables are given to the build command only. It runs
the repository's own install code, so its container has CPU, memory and process limits
(`sandbox.build_*`) and is stopped after `sandbox.build_timeout_s`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import time
from pathlib import Path, PurePosixPath
from typing import Callable

from pydantic import BaseModel, Field

from sandbox.base import SandboxError
from sandbox.config import SandboxConfig
from sandbox.docker_backend import BASELINE_SCRIPT
from sandbox.docker_engine import EPHEMERAL_LABEL, LABEL, OWNER_LABEL, git_archive, owner, single_file_tar
from sandbox.images import LAYER_LABEL, build_once, ensure_base
from sandbox.recipes import Environment, EnvPaths, EnvRecipe, env_script, index_env, install_script

LAYER_SCHEMA = 2  # bump when the build itself changes (2: a tree is handed to the tests' user)
VENV = "/opt/venv"
DOCKER_PATHS = EnvPaths(python="python3", venv=VENV, reqs="/opt/reqs", services="/opt/services", owned=True)
CA_IN_CONTAINER = "/etc/ssl/certs/supercoder-host-ca.pem"


class LayerSpec(BaseModel):
    kind: str  # "env" | "instance"
    name: str  # readable part of the tag, e.g. "sympy__sympy-1.1"
    parent: str  # image tag
    script: str  # bash, run as root in the parent's filesystem
    files: dict[str, str] = Field(default_factory=dict)  # absolute path -> text, written before the script
    clone: str | None = None  # a clone whose commit is unpacked at sandbox.workdir first
    commit: str | None = None
    env: dict[str, str] = Field(default_factory=dict)  # baked into the image (PATH to a virtual environment)
    labels: dict[str, str] = Field(default_factory=dict)  # put on the image; not part of its tag


def host_ca_bundle(cfg: SandboxConfig) -> Path | None:
    for candidate in (cfg.ca_bundle, os.environ.get("PIP_CERT"), os.environ.get("SSL_CERT_FILE"),
                      os.environ.get("REQUESTS_CA_BUNDLE"), "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def build_env(cfg: SandboxConfig) -> dict[str, str]:
    """What a build command sees: the host's pip and proxy settings, the CA bundle, config extras."""
    ca = {"PIP_CERT": CA_IN_CONTAINER, "SSL_CERT_FILE": CA_IN_CONTAINER, "REQUESTS_CA_BUNDLE": CA_IN_CONTAINER,
          "NODE_EXTRA_CA_CERTS": CA_IN_CONTAINER}
    return {**(ca if host_ca_bundle(cfg) is not None else {}), **index_env(cfg)}


def layer_tag(client, spec: LayerSpec) -> str:
    parent_id = client.images.get(spec.parent).id  # a rebuilt parent changes every layer above it
    payload = {"schema": LAYER_SCHEMA, **spec.model_dump(exclude={"parent", "clone", "labels"}), "parent": parent_id}
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:12]
    safe = re.sub(r"[^a-z0-9_.-]", "-", spec.name.lower())[:80]
    return f"supercoder-{spec.kind}:{safe}-{digest}"


def ensure_layer(client, cfg: SandboxConfig, spec: LayerSpec, rebuild: bool = False,
                 progress: Callable[[str], None] = lambda _: None) -> str:
    import docker

    try:
        tag = layer_tag(client, spec)
    except docker.errors.ImageNotFound:
        raise SandboxError(f"parent image {spec.parent} not found; build it first") from None
    return build_once(client, tag, rebuild, lambda: _build(client, cfg, spec, tag, progress))


def _build(client, cfg: SandboxConfig, spec: LayerSpec, tag: str, progress: Callable[[str], None]) -> str:
    import docker

    progress(f"building {tag}")
    ca = host_ca_bundle(cfg)
    mounts = [docker.types.Mount(CA_IN_CONTAINER, str(ca), type="bind", read_only=True)] if ca else []
    container = client.containers.run(spec.parent, ["sleep", "infinity"], detach=True, mounts=mounts,
                                      labels={LABEL: "build", OWNER_LABEL: owner()}, nano_cpus=int(cfg.build_cpus * 1e9),
                                      mem_limit=f"{cfg.build_memory_mb}m", memswap_limit=f"{cfg.build_memory_mb}m",
                                      pids_limit=cfg.build_pids_limit)
    try:
        for path, text in spec.files.items():
            _put(container, path, text)
        if spec.clone is not None and spec.commit is not None:
            # root's while it builds (git refuses a repository another user owns), the tests' user's after
            container.exec_run(["bash", "-c", f"mkdir -p {shlex.quote(cfg.workdir)} && chown 0:0 {shlex.quote(cfg.workdir)}"])
            if not container.put_archive(cfg.workdir, git_archive(Path(spec.clone), spec.commit)):
                raise SandboxError("cannot copy the repository into the build container")
            code, out = container.exec_run(["bash", "-c", BASELINE_SCRIPT], workdir=cfg.workdir)
            if code != 0:
                raise SandboxError(f"cannot commit the baseline tree: {out.decode('utf-8', 'replace').strip()[-300:]}")
        limited = f"exec timeout -s KILL {cfg.build_timeout_s:.0f} bash -c {shlex.quote(spec.script)}"
        start = time.monotonic()
        code, out = container.exec_run(["bash", "-c", limited], environment=build_env(cfg), workdir=cfg.workdir if spec.clone else "/")
        if code == 137 and time.monotonic() - start >= cfg.build_timeout_s:
            raise SandboxError(f"building {tag} took longer than sandbox.build_timeout_s={cfg.build_timeout_s:.0f} s")
        if code != 0:
            tail = "\n".join(out.decode("utf-8", "replace").strip().splitlines()[-15:])
            raise SandboxError(f"building {tag} failed (exit {code}):\n{tail}")
        if spec.clone is not None:  # the tree (and what its install wrote there) goes to the tests' user
            code, out = container.exec_run(["chown", "-R", f"{cfg.uid}:{cfg.uid}", cfg.workdir])
            if code != 0:
                raise SandboxError(f"cannot hand the tree to the tests' user: {out.decode('utf-8', 'replace').strip()[-300:]}")
        repository, _, version = tag.partition(":")
        changes = [f"LABEL {LAYER_LABEL}={spec.kind}", 'CMD ["bash"]', *(f"ENV {k}={v}" for k, v in spec.env.items()),
                   *(f"LABEL {k}={v}" for k, v in spec.labels.items())]
        container.commit(repository=repository, tag=version, changes=changes)
    finally:
        container.remove(force=True)
    return tag


def _put(container, path: str, text: str) -> None:
    target = PurePosixPath(path)
    container.exec_run(["mkdir", "-p", str(target.parent)])
    if not container.put_archive(str(target.parent), single_file_tar(target.name, text.encode("utf-8"))):
        raise SandboxError(f"cannot write {path} into the build container")


def suite_for(python: str, cfg: SandboxConfig, progress: Callable[[str], None] = lambda _: None) -> str:
    """The Debian suite whose Python is `python` (or its configured substitute)."""
    if python in cfg.python_suites:
        return cfg.python_suites[python]
    substitute = cfg.python_substitutes.get(python)
    if substitute in cfg.python_suites:
        progress(f"Python {python}: no Debian suite has it; using {substitute} (sandbox.python_substitutes)")
        return cfg.python_suites[substitute]
    raise SandboxError(f"no Debian suite has Python {python} (sandbox.python_suites: {cfg.python_suites})")


def env_layer(recipe: EnvRecipe, base: str, pip_spec: str = "pip<24.1", dated_pip_spec: str = "pip>=26.0",
              relax_years: int = 0) -> LayerSpec:
    return LayerSpec(kind="env", name=recipe.name, parent=base, script=env_script(recipe, DOCKER_PATHS, pip_spec, dated_pip_spec, relax_years),
                     files={f"{DOCKER_PATHS.reqs}/{p}": text for p, text in recipe.files.items()},
                     env={"PATH": f"{VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "VIRTUAL_ENV": VENV})


def node_layer(cfg: SandboxConfig, base: str) -> LayerSpec:
    """Node and npm from the base's Debian suite, for every Node package alike (what a package
    depends on is installed with its tree)."""
    packages = " ".join(shlex.quote(p) for p in cfg.node_packages)
    script = "\n".join(["set -eux", "export DEBIAN_FRONTEND=noninteractive", "apt-get update -q",
                        f"apt-get install -y -q --no-install-recommends {packages}", "rm -rf /var/lib/apt/lists/*"])
    return LayerSpec(kind="env", name=f"node-{cfg.node_suite}", parent=base, script=script)


def tree_layer(env: Environment, parent: str) -> LayerSpec:
    """The tree at its commit, installed into the environment image `parent` (then handed to the
    tests' user, as every tree is). An image made for one run only carries its owner, so that
    `sandbox prune --images` can tell when that run is gone."""
    labels = {EPHEMERAL_LABEL: owner()} if env.ephemeral else {}
    venv = VENV if env.recipe.runtime == "python" else None
    return LayerSpec(kind="instance", name=env.name, parent=parent, script=install_script(venv, env.install, env.variables),
                     clone=str(env.clone), commit=env.commit, labels=labels)


def ensure_image(client, env: Environment, cfg: SandboxConfig, rebuild: bool = False,
                 progress: Callable[[str], None] = lambda _: None) -> str:
    """The image of `env`: base (the suite of its Python, or `sandbox.node_suite`), environment
    (its Python's venv, or Node), tree; each built once."""
    if env.recipe.runtime == "node":
        base = ensure_base(client, cfg.model_copy(update={"base_suite": cfg.node_suite}), progress=progress)
        parent = ensure_layer(client, cfg, node_layer(cfg, base), rebuild=rebuild, progress=progress)
        return ensure_layer(client, cfg, tree_layer(env, parent), rebuild=rebuild, progress=progress)
    base = ensure_base(client, cfg.model_copy(update={"base_suite": suite_for(env.recipe.python, cfg, progress)}), progress=progress)
    parent = ensure_layer(client, cfg, env_layer(env.recipe, base, cfg.pip_spec, cfg.dated_pip_spec, cfg.pin_relax_years), rebuild=rebuild, progress=progress)
    return ensure_layer(client, cfg, tree_layer(env, parent), rebuild=rebuild, progress=progress)

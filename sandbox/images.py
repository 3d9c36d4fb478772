"""The base image, built where no registry is reachable: a `debootstrap` root filesystem
loaded with `docker import`, tagged by a hash of what went into it (so an unchanged spec
reuses its image and a changed one builds anew)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

from sandbox.base import SandboxError, build_lock
from sandbox.config import SandboxConfig

BASE_REPOSITORY = "supercoder-base"
BASE_SCHEMA = 2  # bump when the build itself changes (2: the tests' user and the tree's folder)
SANDBOX_USER = "sandbox"
LAYER_LABEL = "supercoder.layer"


def base_spec(cfg: SandboxConfig) -> dict:
    return {"schema": BASE_SCHEMA, "suite": cfg.base_suite, "mirror": cfg.debian_mirror, "packages": sorted(cfg.base_packages),
            "uid": cfg.uid, "workdir": cfg.workdir}


def base_tag(cfg: SandboxConfig) -> str:
    digest = hashlib.sha256(json.dumps(base_spec(cfg), sort_keys=True).encode()).hexdigest()[:12]
    return f"{BASE_REPOSITORY}:{cfg.base_suite}-{digest}"


def image_exists(client, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def build_once(client, tag: str, rebuild: bool, build: Callable[[], str]) -> str:
    """`tag`, made by `build()` when missing (or when `rebuild`): one build per tag, whichever
    worker asks first; the others wait for it, then reuse it."""
    if not rebuild and image_exists(client, tag):
        return tag
    with build_lock(tag):
        if not rebuild and image_exists(client, tag):
            return tag
        return build()


def ensure_base(client, cfg: SandboxConfig, rebuild: bool = False, progress: Callable[[str], None] = lambda _: None) -> str:
    """The base image's tag, built first when missing (or when `rebuild`)."""
    tag = base_tag(cfg)
    return build_once(client, tag, rebuild, lambda: _build_base(client, cfg, tag, progress))


def _build_base(client, cfg: SandboxConfig, tag: str, progress: Callable[[str], None]) -> str:
    if shutil.which("debootstrap") is None:
        raise SandboxError("building the base image needs debootstrap (apt-get install debootstrap)")
    with tempfile.TemporaryDirectory(prefix="supercoder-base-") as tmp:
        root = Path(tmp) / "root"
        progress(f"debootstrap {cfg.base_suite} (a few minutes, once)")
        cmd = ["debootstrap", "--variant=minbase", f"--include={','.join(cfg.base_packages)}", cfg.base_suite, str(root), cfg.debian_mirror]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0:
            tail = " ".join(done.stdout.strip().splitlines()[-2:] + done.stderr.strip().splitlines()[-2:])
            raise SandboxError(f"debootstrap failed: {tail}")
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        _add_user(root, cfg)
        tarball = Path(tmp) / "root.tar"
        subprocess.run(["tar", "-C", str(root), "-cf", str(tarball), "."], check=True)
        progress(f"docker import {tag}")
        repository, _, version = tag.partition(":")
        changes = [f"LABEL {LAYER_LABEL}=base", "ENV LANG=C.UTF-8", 'CMD ["bash"]']
        client.api.import_image(src=str(tarball), repository=repository, tag=version, changes=changes)
    return tag


def _add_user(root: Path, cfg: SandboxConfig) -> None:
    """The unprivileged user tests run as (sandbox.uid), with a home, owning the tree's folder."""
    uid = cfg.uid
    with open(root / "etc/passwd", "a", encoding="utf-8") as fh:
        fh.write(f"{SANDBOX_USER}:x:{uid}:{uid}:SuperCoder sandbox:/home/{SANDBOX_USER}:/bin/bash\n")
    with open(root / "etc/group", "a", encoding="utf-8") as fh:
        fh.write(f"{SANDBOX_USER}:x:{uid}:\n")
    for folder in (root / "home" / SANDBOX_USER, root / cfg.workdir.lstrip("/")):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, uid, uid)

"""The Docker engine as the sandbox uses it: the client, the labels that mark what the sandbox
made and which process made it, archives of a tree to put into a container, and pruning what
runs that ended left behind. Listings come from the engine's plain lists (no inspection of each
item), so another process removing one meanwhile is no error."""

from __future__ import annotations

import io
import os
import socket
import tarfile
import time
from pathlib import Path

from sandbox.base import SandboxError, git, git_said

LABEL = "supercoder.sandbox"
OWNER_LABEL = "supercoder.owner"  # "<host>:<pid>" of the process that made the container
EPHEMERAL_LABEL = "supercoder.run"  # on an image made for one run: "<host>:<pid>" of that run


def docker_client():
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        raise SandboxError(f"cannot reach the Docker engine ({exc}); start it, or use --set sandbox.backend=local") from None
    return client


def git_archive(clone: Path, commit: str) -> bytes:
    done = git(clone, "archive", "--format=tar", commit)
    if done.returncode != 0:  # git says which: an unknown commit, a missing object, a shallow clone
        raise SandboxError(f"cannot take the tree of {commit} from {clone}: {git_said(done.stderr)}")
    return done.stdout


def single_file_tar(name: str, data: bytes, uid: int = 0) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.size, info.mtime, info.mode, info.uid, info.gid = len(data), int(time.time()), 0o644, uid, uid
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def owned_tar(tar: bytes, uid: int) -> bytes:
    """The same archive with every entry owned by `uid` (Docker unpacks it with its owners)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(tar)) as src, tarfile.open(fileobj=out, mode="w") as dst:
        for member in src:
            member.uid = member.gid = uid
            member.uname = member.gname = ""
            dst.addfile(member, src.extractfile(member) if member.isfile() else None)
    return out.getvalue()


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive(owner_label: str | None) -> bool:
    """Whether the process that made a container still runs (on this host; elsewhere: assume so)."""
    host, _, pid = (owner_label or "").rpartition(":")
    if not host or not pid.isdigit():
        return False  # no owner recorded: a leftover
    if host != socket.gethostname():
        return True  # another machine's run (a shared engine): it cannot be told from here
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_of_ended_runs(found: list[dict], label: str, remove, everything: bool) -> int:
    """Remove each listed thing whose `label` names a process that has ended (each, with
    `everything`); how many. One that another process removes meanwhile, or that a live run
    still uses, is left."""
    import docker

    removed = 0
    for item in found:
        if everything or not _alive((item.get("Labels") or {}).get(label)):
            try:
                remove(item["Id"], force=True)
                removed += 1
            except docker.errors.APIError:
                pass
    return removed


def prune(client=None, everything: bool = False) -> int:
    """Remove sandbox containers whose process is gone (all of them with `everything`); how many.
    Read with the engine's plain listing: a container another process removes meanwhile is skipped."""
    client = client or docker_client()
    return _remove_of_ended_runs(client.api.containers(all=True, filters={"label": LABEL}), OWNER_LABEL,
                                 client.api.remove_container, everything)


def prune_images(client=None, everything: bool = False) -> int:
    """Remove images made for one run (a workspace's tree) whose run is gone (all of them with
    `everything`); how many."""
    client = client or docker_client()
    return _remove_of_ended_runs(client.api.images(filters={"label": EPHEMERAL_LABEL}), EPHEMERAL_LABEL,
                                 client.api.remove_image, everything)

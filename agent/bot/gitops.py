"""Clone and push with GitPython. The token reaches git as an HTTP header through GIT_CONFIG_*
variables of that one command, so it is never in a URL, an argument list or a config file."""

from __future__ import annotations

import base64
from pathlib import Path

from agent.settings import BotConfig
from agent.workspace import git_failure


class GitError(Exception):
    pass


def _env(url: str, token: str | None) -> dict[str, str]:
    env = {"GIT_TERMINAL_PROMPT": "0"}
    if token and url.startswith(("https://", "http://")):
        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        env.update({"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "http.extraHeader",
                    "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}"})
    return env


def _fail(what: str, exc: Exception) -> GitError:
    from git import GitCommandError

    if isinstance(exc, GitCommandError):
        return GitError(f"{what}: {git_failure(str(exc.stderr or ''), f'git exited {exc.status}')}")
    return GitError(f"{what}: {exc}")


def clone(url: str, branch: str, dest: Path, token: str | None, cfg: BotConfig):
    """The repository's `branch`, cloned into `dest`; its remote URL carries no credential."""
    from git import GitError as GitPythonError
    from git import Repo

    options = {"branch": branch, "single_branch": True}
    if cfg.clone_depth:
        options["depth"] = cfg.clone_depth
    env = _env(url, token)
    try:
        repo = Repo.clone_from(url, dest, env=env, **options)
    except GitPythonError as exc:
        raise _fail(f"cannot clone {url}", exc) from None
    repo.git.update_environment(**{k: None for k in env})  # GitPython keeps a clone's env for later commands
    return repo


def push_fix(repo, url: str, branch: str, patch: str, message: str, token: str | None, cfg: BotConfig) -> str:
    """Commit `patch` on `branch` (made afresh from the cloned head, so a second run replaces the
    first) and force-push it; the commit's id."""
    from git import GitError as GitPythonError

    identity = {"GIT_AUTHOR_NAME": cfg.git_name, "GIT_AUTHOR_EMAIL": cfg.git_email,
                "GIT_COMMITTER_NAME": cfg.git_name, "GIT_COMMITTER_EMAIL": cfg.git_email}
    patch_file = Path(repo.git_dir) / "supercoder.patch"
    patch_file.write_text(patch, encoding="utf-8")
    try:
        repo.git.checkout("-q", "-B", branch)
        repo.git.apply("--whitespace=nowarn", "--index", str(patch_file))
        with repo.git.custom_environment(**identity):
            repo.git.commit("-q", "--no-verify", "-m", message)
        with repo.git.custom_environment(**_env(url, token)):
            repo.git.push("--force", "--quiet", url, f"HEAD:refs/heads/{branch}")
    except GitPythonError as exc:
        raise _fail(f"cannot push {branch}", exc) from None
    finally:
        patch_file.unlink(missing_ok=True)
    return repo.head.commit.hexsha

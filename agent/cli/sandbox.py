"""`supercoder sandbox base | build | validate | test | prune`: the sandbox's images and containers,
the validation of SWE-bench instances in it, and a repository's own tests run in it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli.common import BackendOpt, ConfigOpt, DatasetOpt, JsonOpt, RepoCacheOpt, RepoOpt, SetOpt, SplitOpt, group, notice, settings_of
from configs.errors import UserError

app = group("Sandbox images and containers.")
InstanceOpt = Annotated[Optional[list[str]], typer.Option("--instance", help="Instance id (repeatable; default: all).")]


def _rows(dataset: str, split: str, instances: list[str] | None) -> list[dict]:
    """The dataset's instances (all, or those named), each with what validating it needs."""
    from agent.batch import dataset as ds

    return ds.select(ds.load(dataset, split, needs=ds.VALIDATION_FIELDS), instances, flag="--instance")


@app.command("base")
def sandbox_base(
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Build even when an image of this spec exists.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Build the base image (debootstrap + docker import) unless one of the same spec exists; print its tag."""
    settings = settings_of(config, set_)
    from sandbox.base import SandboxError
    from sandbox.docker_engine import docker_client
    from sandbox.images import ensure_base

    try:
        tag = ensure_base(docker_client(), settings.sandbox, rebuild=rebuild, progress=notice)
    except SandboxError as exc:
        raise UserError(str(exc)) from None
    print(tag)


@app.command("build")
def sandbox_build(
    dataset: DatasetOpt,
    repo_cache: RepoCacheOpt,
    instance: Annotated[list[str], typer.Option("--instance", help="Instance id (repeatable).")],
    split: SplitOpt = "test",
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the environment and instance layers.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Build (or reuse) the layered images of instances; print their tags."""
    settings = settings_of(config, set_)
    rows = _rows(dataset, split, instance)
    from sandbox.base import SandboxError
    from sandbox.instances import ensure_instance

    for row in rows:
        try:
            tag = ensure_instance(row, repo_cache, settings.sandbox, rebuild=rebuild, progress=notice)
        except SandboxError as exc:
            raise UserError(f"{row['instance_id']}: {exc}") from None
        print(json.dumps({"instance_id": row["instance_id"], "image": tag}))


@app.command("validate")
def sandbox_validate(
    dataset: DatasetOpt,
    repo_cache: RepoCacheOpt,
    instance: InstanceOpt = None,
    split: SplitOpt = "test",
    patch: Annotated[str, typer.Option("--patch", help="gold, none, or a diff file applied to every instance.")] = "gold",
    backend: BackendOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON array, an object per instance.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Apply a patch and the test patch, run FAIL_TO_PASS and PASS_TO_PASS, grade as SWE-bench does."""
    settings = settings_of(config, set_, {"sandbox.backend": backend})
    patch_text: str | None = None
    if patch not in ("gold", "none"):
        path = Path(patch)
        if not path.is_file():
            raise UserError(f"--patch: expected gold, none or a diff file; not found: {patch}")
        patch_text = path.read_text(encoding="utf-8")
    rows = _rows(dataset, split, instance)
    if not repo_cache.is_dir():
        raise UserError(f"repo cache not found: {repo_cache}")
    from sandbox.instances import validate

    results = []
    for n, row in enumerate(rows, 1):
        notice(f"[{n}/{len(rows)}] {row['instance_id']}")
        chosen = row.get("patch") if patch == "gold" else patch_text
        v = validate(row, repo_cache, settings.sandbox, chosen, progress=notice)
        results.append(v)
        if not as_json:
            state = ("error: " + v.error.splitlines()[0] if v.error else f"not resolved (refused: {v.refused})" if v.refused
                     else "RESOLVED" if v.resolved else "not resolved")
            print(f"{v.instance_id}  {state}  FAIL_TO_PASS {len(v.fail_to_pass.passed)}/{len(v.fail_to_pass.passed) + len(v.fail_to_pass.failed)}"
                  f"  PASS_TO_PASS {len(v.pass_to_pass.passed)}/{len(v.pass_to_pass.passed) + len(v.pass_to_pass.failed)}  {v.duration_s:.0f} s")
    if as_json:
        print(json.dumps([v.model_dump() for v in results]))
    if any(v.error for v in results):
        raise typer.Exit(1)


@app.command("test")
def sandbox_test(
    repo: RepoOpt,
    tests: Annotated[Optional[list[str]], typer.Option("--tests", help="A test id, file or folder to run (repeatable; default: the suite).")] = None,
    backend: BackendOpt = None,
    as_json: JsonOpt = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Can SuperCoder run my tests? Build the environment derived from the repository's files, run
    its suite (or --tests) in it, say what was chosen and what happened. Exit 0 when the tests ran
    (failing ones included), 1 when they did not (the environment did not build, or they could
    not be collected: the reason is printed)."""
    import tempfile

    settings = settings_of(config, set_, {"sandbox.backend": backend})
    from agent.workspace import check_repo, make_workspace
    from localization.index import source_files
    from sandbox.base import SandboxError
    from sandbox.project import project_environment
    from sandbox.suite import SuiteReport, run_suite

    repo = check_repo(repo)
    languages = sorted(source_files(repo, settings.index))
    with tempfile.TemporaryDirectory(prefix="supercoder-test-") as scratch:
        notice("copying the repository")
        ws = make_workspace(repo, Path(scratch) / "repo")
        try:
            env = project_environment(ws.path, ws.commit, settings.sandbox, ephemeral=True)
            if env.recipe.runtime == "python" and languages and "python" not in languages:  # said before a Python environment is built for nothing
                raise SandboxError(f"the repository is written in {' and '.join(languages)}, and it has no package.json with a test "
                                   f"script: SuperCoder cannot tell how its tests run (give `supercoder repair` a --test-cmd)")
        except SandboxError as exc:  # no Python here that the project allows, a tree git cannot read, no runner it can read
            report = SuiteReport(stage="build", problem=str(exc))
        else:
            report = run_suite(env, settings.sandbox, list(tests or []), progress=notice)
    if as_json:
        print(json.dumps({**report.model_dump(), "ran": report.ran}))
    else:
        _print_suite(report)
    if not report.ran:
        raise typer.Exit(1)


def _print_suite(report) -> None:
    env = report.environment
    about = env.get("about", {})
    if env.get("runtime", "python") == "python":
        print(f"python        {env.get('python')}  ({about.get('python', '')})")
    print(f"dependencies  {about.get('dependencies', '')}")
    for key, text in about.items():
        if key not in ("python", "dependencies"):
            print(f"{key:<13} {text}")
    sources = [*env.get("requirements_files", []), *env.get("pip", [])]
    nothing = "its dependencies, as below" if env.get("runtime") == "node" else "nothing besides the tree"
    label = "installed" if report.built else "to install"  # not built: what it would have installed
    print(f"{label:<13} {'; '.join(sources) or nothing}")
    for line in env.get("install", []):
        print(f"              {line[:160]}")
    if env.get("services"):
        print(f"services      {', '.join(env['services'])}")
    if report.stage == "build":
        print(f"environment   did not build: {report.problem}")
        return
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts.items())) or "none"
    print(f"tests         {counts}  ({report.duration_s:.0f} s)")
    if report.problem:
        print(f"problem       {report.problem}")
    for test in report.failing[:50]:
        print(f"failing       {test}")
    if len(report.failing) > 50:
        print(f"              ... and {len(report.failing) - 50} more")


@app.command("prune")
def sandbox_prune(
    everything: Annotated[bool, typer.Option("--all", help="Also remove those of runs still going.")] = False,
    images: Annotated[bool, typer.Option("--images", help="Also remove the images made for one run (a repair's tree).")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Remove sandbox containers (and with --images, per-run images) whose run has ended; print how many."""
    settings_of(config, set_)
    from sandbox.base import SandboxError
    from sandbox.docker_engine import prune, prune_images

    try:
        removed = {"removed": prune(everything=everything)}
        if images:
            removed["images_removed"] = prune_images(everything=everything)
    except SandboxError as exc:
        raise UserError(str(exc)) from None
    print(json.dumps(removed))

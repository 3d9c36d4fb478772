"""`supercoder swebench run | eval | report`: the batch runner over SWE-bench-style datasets."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Annotated, Optional

import typer

from agent.cli.common import ConfigOpt, DatasetOpt, RepoCacheOpt, SetOpt, SplitOpt, WorkersOpt, err, group, notice, settings_of, warn
from configs.errors import UserError

app = group("Batch runs over SWE-bench-style datasets: run, eval, report.")
InstancesOpt = Annotated[Optional[list[str]], typer.Option("--instances", help="Only these instance ids (repeatable).")]


@app.command("run")
def run_cmd(
    dataset: DatasetOpt,
    repo_cache: RepoCacheOpt,
    output: Annotated[Path, typer.Option("--output", help="Output folder (resumed when it exists).")],
    split: SplitOpt = "test",
    instances: InstancesOpt = None,
    slice_: Annotated[Optional[str], typer.Option("--slice", help="A:B of the selected instances.")] = None,
    filter_: Annotated[Optional[str], typer.Option("--filter", help="Regex on instance ids.")] = None,
    workers: WorkersOpt = None,
    model: Annotated[Optional[str], typer.Option("--model", help="Model name (llm.model).")] = None,
    base_url: Annotated[Optional[str], typer.Option("--base-url", help="OpenAI-compatible endpoint.")] = None,
    max_cost_per_instance: Annotated[Optional[float], typer.Option("--max-cost-per-instance", help="USD per instance.")] = None,
    max_total_cost: Annotated[Optional[float], typer.Option("--max-total-cost", help="No new instance past this many USD.")] = None,
    redo_existing: Annotated[bool, typer.Option("--redo-existing", help="Run finished instances again.")] = False,
    retry_errors: Annotated[bool, typer.Option("--retry-errors", help="Run again those that ended in infrastructure or rate-limit errors.")] = False,
    executor: Annotated[Optional[str], typer.Option("--executor", help="local (a process pool) or ray.")] = None,
    ray_address: Annotated[Optional[str], typer.Option("--ray-address", help="Ray cluster address (default: a local Ray).")] = None,
    hints: Annotated[bool, typer.Option("--hints", help="Show the solver the instances' hints_text.")] = False,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Solve each instance with the repair agent; write preds.jsonl, exit_statuses.json and records."""
    settings = settings_of(config, set_, {
        "llm.model": model, "llm.base_url": base_url, "batch.workers": workers,
        "batch.max_cost_per_instance_usd": max_cost_per_instance, "batch.max_total_cost_usd": max_total_cost,
        "batch.executor": executor, "batch.ray_address": ray_address, "batch.hints": "true" if hints else None})
    from agent.batch import dataset as ds

    rows = ds.select(ds.load(dataset, split), instances, slice_, filter_)
    if not rows:
        raise UserError("no instance selected (check --instances, --filter and --slice)")
    if not settings.llm.configured:
        raise UserError("no model configured: pass --model NAME (with --base-url URL for a local endpoint, "
                        "OPENAI_API_KEY for a hosted one) or set llm.model")
    if output.exists() and not output.is_dir():
        raise UserError(f"--output {output}: not a folder")
    _check_cache(repo_cache)
    if settings.repair.preflight:
        from agent.llm import check_endpoint

        check_endpoint(settings.llm, warn)
    from agent.batch.executors import make_executor
    from agent.batch.progress import BatchDisplay
    from agent.batch.runner import exit_code, run_batch

    _prune_leftovers(settings)
    b = settings.batch
    summary = run_batch(rows, output, settings, make_executor(b.executor, b.workers, b.ray_address, b.ray_cpus_per_task),
                        repo_cache.resolve(), BatchDisplay(err), redo=redo_existing, retry_errors=retry_errors)
    if summary.stopped:
        notice(f"stopped early: {summary.stopped}")
    counts = ", ".join(f"{n} {s}" for s, n in sorted(summary.by_status.items(), key=lambda kv: -kv[1]))
    notice(f"{summary.ran} run now, {summary.skipped} done before; {counts or 'nothing finished'}; "
           f"cost {'unknown' if summary.cost_usd is None else f'${summary.cost_usd:.2f}'}; predictions in {output / 'preds.jsonl'}")
    print(json.dumps(summary.model_dump()))
    raise typer.Exit(exit_code(summary))


@app.command("eval")
def eval_cmd(
    predictions: Annotated[Path, typer.Option("--predictions", help="preds.jsonl (or .json) as the official harness reads it, or 'gold' for the dataset's patches.")],
    dataset: DatasetOpt,
    repo_cache: RepoCacheOpt,
    split: SplitOpt = "test",
    workers: WorkersOpt = None,
    instances: InstancesOpt = None,
    run_id: Annotated[Optional[str], typer.Option("--run-id", help="Names the report and log folder (default: a timestamp).")] = None,
    config: ConfigOpt = None,
    set_: SetOpt = None,
) -> None:
    """Grade predictions with FAIL_TO_PASS and PASS_TO_PASS; write <model>.<run_id>.json and logs."""
    settings = settings_of(config, set_, {"batch.workers": workers})
    from agent.batch import dataset as ds
    from agent.batch.evaluate import evaluate, load_predictions, official_command, write_report

    run_id = run_id or datetime.now().strftime("%Y%m%d-%H%M%S")
    if not re.fullmatch(r"[\w.-]+", run_id):
        raise UserError(f"--run-id {run_id!r}: use letters, digits, '.', '_' and '-'")
    rows = {r["instance_id"]: r for r in ds.load(dataset, split)}
    if str(predictions) == "gold":  # as the official harness: the dataset's own patches
        preds = [{"instance_id": i, "model_name_or_path": "gold", "model_patch": r.get("patch") or ""} for i, r in rows.items()]
    else:
        preds = load_predictions(predictions)
    if instances:
        preds = [p for p in preds if p["instance_id"] in set(instances)]
    if not preds:
        raise UserError(f"--predictions {predictions}: no prediction to grade")
    _check_cache(repo_cache)
    total, done = len(preds), 0

    def on_done(iid: str, outcome: str) -> None:
        nonlocal done
        done += 1
        notice(f"[{done}/{total}] {iid}: {outcome}")

    report = evaluate(preds, rows, repo_cache.resolve(), settings.sandbox, settings.batch.workers, run_id,
                      Path("logs") / "run_evaluation", on_done)
    model = str(preds[0].get("model_name_or_path") or "model")
    path = write_report(report, model, run_id, Path.cwd())
    notice(f"{report['resolved_instances']}/{report['submitted_instances']} resolved, "
           f"{report['error_instances']} error(s), {report['empty_patch_instances']} empty; report {path}")
    notice("the official harness, with its own images: "
           + official_command(dataset, predictions, settings.batch.workers, run_id))
    print(json.dumps({k: v for k, v in report.items() if not k.endswith("_ids")} | {"report": str(path)}))
    raise typer.Exit(1 if report["error_instances"] else 0)


@app.command("report")
def report_cmd(
    output: Annotated[Path, typer.Argument(help="A `swebench run` output folder.")],
    eval_report: Annotated[Optional[Path], typer.Option("--eval", help="A `swebench eval` report to show graded results.")] = None,
    html: Annotated[Optional[Path], typer.Option("--html", help="Where to write it (default: OUTPUT/report.html).")] = None,
) -> None:
    """One self-contained HTML page: totals, charts, a sortable table of instances with their patches."""
    from agent.batch.report import build
    from configs.files import write_atomic

    page = build(output, eval_report)
    target = html or output / "report.html"
    write_atomic(target, page)
    print(str(target))


def _prune_leftovers(settings) -> None:
    """Sandboxes of runs killed outright (kill -9, a lost machine) keep running: remove those
    whose process is gone before starting, as `supercoder sandbox prune` does. (On a cluster
    their processes are on other machines: that is for each machine's own prune.)"""
    if settings.batch.executor != "local":
        return
    from sandbox.backends import backend_of

    try:
        removed = backend_of(settings.sandbox).prune()
    except Exception:  # no engine: the instances will say so, one by one
        return
    if removed:
        notice(f"removed {removed} leftover sandbox container(s) of runs that are gone")


def _check_cache(repo_cache: Path) -> None:
    if repo_cache.exists() and not repo_cache.is_dir():
        raise UserError(f"--repo-cache {repo_cache}: not a folder")
    repo_cache.mkdir(parents=True, exist_ok=True)

"""`swebench report OUTPUT`: one self-contained HTML file (inline CSS, SVG charts and a few lines
of script for sorting; nothing fetched) from a batch's output folder, and, when given, the
report of `swebench eval`."""

from __future__ import annotations

import json
from pathlib import Path

from agent.batch.store import Output
from configs.errors import UserError


def histogram(values: list[float], bins: int, width: int = 360, height: int = 140, unit: str = "") -> str:
    """An SVG bar chart of how `values` spread over `bins` equal bins."""
    if not values:
        return '<p class="muted">no data</p>'
    lo, hi = min(values), max(values)
    step = (hi - lo) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    top, bar = max(counts), width / bins
    rects = []
    for i, c in enumerate(counts):
        h = (height - 30) * c / top
        label = f"{lo + i * step:.3g}-{lo + (i + 1) * step:.3g}{unit}: {c}"
        rects.append(f'<rect x="{i * bar + 1:.1f}" y="{height - 20 - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}">'
                     f'<title>{label}</title></rect>')
    axis = (f'<text x="0" y="{height - 5}">{lo:.3g}{unit}</text>'
            f'<text x="{width}" y="{height - 5}" text-anchor="end">{hi:.3g}{unit}</text>')
    return f'<svg class="chart" width="{width}" height="{height}" role="img">{"".join(rects)}{axis}</svg>'


def bars(items: list[tuple[str, int, int]], width: int = 360) -> str:
    """Horizontal bars: label, part, whole (resolved of attempted, per repository)."""
    if not items:
        return '<p class="muted">no data</p>'
    rows = []
    for n, (label, part, whole) in enumerate(items):
        y = n * 24
        w = (width - 170) * part / max(whole, 1)
        rows.append(f'<text x="0" y="{y + 15}">{label}</text>'
                    f'<rect class="whole" x="150" y="{y + 4}" width="{width - 170}" height="14"></rect>'
                    f'<rect x="150" y="{y + 4}" width="{w:.1f}" height="14"><title>{part}/{whole}</title></rect>'
                    f'<text x="{width}" y="{y + 15}" text-anchor="end">{part}/{whole}</text>')
    return f'<svg class="chart" width="{width}" height="{24 * len(items)}" role="img">{"".join(rows)}</svg>'


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def build(output: Path, eval_report: Path | None = None) -> str:
    from configs.rendering import render_template

    if not output.is_dir():
        raise UserError(f"{output}: not a batch output folder")
    out = Output(output)
    results = out.results()
    if not results:
        raise UserError(f"{output}: no finished instance to report (run `supercoder swebench run` first)")
    graded: dict[str, str] = {}
    if eval_report is not None:
        try:
            data = json.loads(eval_report.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UserError(f"--eval {eval_report}: cannot read it: {exc}") from None
        for key, verdict in (("resolved_ids", "resolved"), ("unresolved_ids", "unresolved"), ("error_ids", "error"),
                             ("empty_patch_ids", "empty patch")):
            for iid in data.get(key) or []:
                graded[iid] = verdict
    rows, repos = [], {}
    for r in sorted(results, key=lambda r: r["instance_id"]):
        repo = r["instance_id"].rsplit("-", 1)[0]
        good = graded.get(r["instance_id"]) == "resolved" if graded else r["status"] == "resolved_by_own_tests"
        part, whole = repos.get(repo, (0, 0))
        repos[repo] = (part + good, whole + 1)
        located, gold = set(r.get("located_files") or []), set(r.get("gold_files") or [])
        rows.append({**r, "repo": repo, "graded": graded.get(r["instance_id"], ""),
                     "located_gold": f"{len(located & gold)}/{len(gold)}" if gold else "",
                     "located_all": bool(gold) and gold <= located})
    costs = [r["cost_usd"] for r in results if r.get("cost_usd") is not None]
    times = [r["duration_s"] for r in results if r.get("duration_s") is not None]
    statuses: dict[str, int] = {}
    for r in results:
        statuses[r["status"]] = statuses.get(r["status"], 0) + 1
    totals = {"instances": len(results), "statuses": sorted(statuses.items(), key=lambda kv: -kv[1]),
              "cost": sum(costs) if len(costs) == len(results) else None, "time": _hours(sum(times)),
              "graded": bool(graded), "resolved": sum(1 for v in graded.values() if v == "resolved")}
    return render_template("report.html.j2", title=f"SuperCoder batch: {output.name}", totals=totals, rows=rows,
                           by_repo=bars([(k, *v) for k, v in sorted(repos.items())]),
                           cost_chart=histogram(costs, 12, unit="$") if costs and max(costs) > 0 else '<p class="muted">no cost recorded</p>',
                           time_chart=histogram(times, 12, unit=" s"))

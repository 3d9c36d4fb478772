"""Turning rankings (and the model's picks) into the `Localization` answer."""

from __future__ import annotations

from localization.models import FileScore, Localization, Unit, UnitScore
from localization.retrieval import Ranking


def _unit_score(unit: Unit, score: float) -> UnitScore:
    return UnitScore(path=unit.path, name=unit.name, start_line=unit.start_line, end_line=unit.end_line, score=round(score, 6))


def ranking_to_localization(ranking: Ranking, top_files: int, top_units: int, mode: str,
                            notes: list[str] | None = None, llm_calls: list[dict] | None = None) -> Localization:
    seen: set[str] = set()
    units: list[UnitScore] = []
    for unit, score in ranking.units:
        if unit.uid in seen:  # a name defined twice in one scope (property setter): keep the best
            continue
        seen.add(unit.uid)
        units.append(_unit_score(unit, score))
        if len(units) >= top_units:
            break
    files = [FileScore(path=p, score=round(s, 6)) for p, s in ranking.files[:top_files]]
    return Localization(files=files, units=units, mode=mode, notes=(notes or []) + ranking.notes, llm_calls=llm_calls or [])


def merge_ranked(ranking: Ranking, files: list[str], units: list[Unit], top_files: int, top_units: int,
                 notes: list[str], llm_calls: list[dict]) -> Localization:
    """The model's picks first (scored above every retrieval score, in the model's order), then retrieval fills up."""
    base = ranking_to_localization(ranking, top_files + len(files), top_units + len(units), "llm", notes, llm_calls)
    top_file = max((f.score for f in base.files), default=0.0)
    top_unit = max((u.score for u in base.units), default=0.0)
    picked_files = [FileScore(path=p, score=round(top_file + len(files) - i, 6)) for i, p in enumerate(files)]
    picked_units = [_unit_score(u, top_unit + len(units) - i) for i, u in enumerate(units)]
    base.files = (picked_files + [f for f in base.files if f.path not in files])[:top_files]
    chosen = {(u.path, u.name) for u in units}
    base.units = (picked_units + [u for u in base.units if (u.path, u.name) not in chosen])[:top_units]
    return base

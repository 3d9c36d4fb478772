"""The code's structure as edges between units: a class and its bases, a unit and what it calls,
a module and what it imports. Names are resolved the way Python would find them, as far as a
name alone allows: first in the unit's own file, then in the files that file imports, and only
then anywhere, when few definitions share the name. (JavaScript's imports arrive in the same
form: `require('../m')` as `..m`.)

Retrieval spreads a share of its best units' scores along these edges (`spread`), so that the
base class, helper or caller holding a fix rises with the public API an issue names; and the
files its best files import fill part of the model's map (`Ranking.map`).
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from localization.languages import is_package, module_names
from localization.models import MODULE_UNIT, Unit


def _absolute(path: str, imported: str) -> str:
    """`..m.x` imported in pkg/sub/a.py -> pkg.m.x."""
    dots = len(imported) - len(imported.lstrip("."))
    if not dots:
        return imported
    package = module_names(path)[0].split(".")
    if not is_package(path):
        package = package[:-1]
    base = package[: len(package) - (dots - 1)] if dots > 1 else package
    rest = imported[dots:]
    return ".".join([*base, rest] if rest else base)


@dataclass
class Relation:
    """Why a unit was raised: `kind` is base, subclass, calls, called-by or override."""

    kind: str
    other: int  # the unit the relation starts from


class _Edges:
    """Directed edges between units in compressed rows: the targets of unit i are
    `dst[start[i]:start[i + 1]]`."""

    def __init__(self, n: int, src: np.ndarray, dst: np.ndarray):
        order = np.argsort(src, kind="stable")
        self.dst = dst[order].astype(np.int32)
        self.start = np.searchsorted(src[order], np.arange(n + 1)).astype(np.int64)

    def __getitem__(self, i: int) -> np.ndarray:
        return self.dst[self.start[i] : self.start[i + 1]]


def build_edges(units: list[Unit], max_defs: int) -> dict[str, np.ndarray]:
    """(source, target) unit positions of every base, call and import edge, as arrays (an import
    edge joins the module units of two files)."""
    by_leaf: dict[str, list[int]] = defaultdict(list)
    in_file: dict[tuple[str, str], list[int]] = defaultdict(list)  # (leaf, path) -> definitions
    modules: dict[str, str] = {}
    for i, u in enumerate(units):
        if u.name == MODULE_UNIT:
            modules.update((m, u.path) for m in module_names(u.path))
        else:
            leaf = u.leaf
            by_leaf[leaf].append(i)
            in_file[(leaf, u.path)].append(i)
    file_imports = {u.path: {p for imp in u.imports if (p := _module_file(_absolute(u.path, imp), modules))}
                    for u in units if u.name == MODULE_UNIT}

    def resolve(name: str, path: str) -> list[int]:
        # Python's own order, as far as a name alone tells: this file, the files it imports, then anywhere.
        defs = by_leaf.get(name)
        if not defs or len(defs) == 1:
            return defs or []
        local = in_file.get((name, path))
        if local:
            return local
        near = [j for f in file_imports.get(path, ()) for j in in_file.get((name, f), ())]
        if near:
            return near
        return defs if len(defs) <= max_defs else []

    base_edges: list[tuple[int, int]] = []
    call_edges: list[tuple[int, int]] = []
    module_of = {u.path: i for i, u in enumerate(units) if u.name == MODULE_UNIT}
    import_edges = [(module_of[path], module_of[f]) for path, found in file_imports.items() for f in sorted(found) if f != path]
    for i, u in enumerate(units):
        for base in u.bases:
            base_edges += [(i, j) for j in resolve(base.rsplit(".", 1)[-1], u.path) if j != i and units[j].kind == "class"]
        for name in u.calls:
            call_edges += [(i, j) for j in resolve(name, u.path) if j != i]
    as_array = lambda edges: np.asarray(edges, dtype=np.int32).reshape(-1, 2)  # noqa: E731
    return {"bases": as_array(base_edges), "calls": as_array(call_edges), "imports": as_array(import_edges)}


class CodeGraph:
    def __init__(self, units: list[Unit], edges: dict[str, np.ndarray]):
        self.units = units
        n = len(units)
        bases, calls = edges["bases"], edges["calls"]
        self.bases, self.subclasses = _Edges(n, bases[:, 0], bases[:, 1]), _Edges(n, bases[:, 1], bases[:, 0])
        self.callees, self.callers = _Edges(n, calls[:, 0], calls[:, 1]), _Edges(n, calls[:, 1], calls[:, 0])
        imports = edges["imports"]
        self.imports = _Edges(n, imports[:, 0], imports[:, 1])  # a module unit -> the module units of the files it imports
        self._by_uid = {u.uid: i for i, u in enumerate(units)}

    def index_of(self, uid: str) -> int | None:
        return self._by_uid.get(uid)

    def ancestors(self, i: int, max_hops: int) -> list[tuple[int, int]]:
        """(unit, hops) for a class's bases, their bases and so on, nearest first."""
        seen = {i}
        out: list[tuple[int, int]] = []
        frontier = [i]
        for hop in range(1, max_hops + 1):
            frontier = [b for c in frontier for b in self.bases[c].tolist() if b not in seen and not seen.add(b)]
            out += [(b, hop) for b in frontier]
        return out

    def spread(self, seeds: list[tuple[int, float]], decay: float, max_hops: int) -> tuple[np.ndarray, dict[int, Relation]]:
        """Each seed (unit, share of its score) passes `share * decay**hops` to its neighbours: a class
        to its bases (transitively) and subclasses, a function to what it calls and what calls it,
        a method to the methods of the same name in its class's bases and to its class (whose body holds
        what the methods share). The strongest wins."""
        bonus = np.zeros(len(self.units), dtype=np.float32)
        why: dict[int, Relation] = {}

        def give(j: int, value: float, kind: str, seed: int) -> None:
            if value > bonus[j]:
                bonus[j] = value
                why[j] = Relation(kind, seed)

        for i, share in seeds:
            unit = self.units[i]
            if unit.kind == "class":
                for j, hops in self.ancestors(i, max_hops):
                    give(j, share * decay**hops, "base", i)
                self._fan(self.subclasses[i], share * decay, "subclass", i, give)
            elif unit.name != MODULE_UNIT:
                self._fan(self.callees[i], share * decay, "calls", i, give)
                self._fan(self.callers[i], share * decay, "called-by", i, give)
                owner, _, leaf = unit.name.rpartition(".")
                k = self._by_uid.get(f"{unit.path}::{owner}") if owner else None
                if k is not None:
                    # The class body holds what its methods share (attributes, patterns, nested helpers).
                    give(k, share * decay, "member", i)
                    for j, hops in self.ancestors(k, max_hops):
                        m = self._by_uid.get(f"{self.units[j].path}::{self.units[j].name}.{leaf}")
                        if m is not None:
                            give(m, share * decay**hops, "override", i)
        return bonus, why

    @staticmethod
    def _fan(targets: np.ndarray, value: float, kind: str, seed: int, give) -> None:
        """A relation shared by n units is worth 1/sqrt(n) to each, as a name defined n times is in signals."""
        if len(targets):
            each = value / math.sqrt(len(targets))
            for j in targets.tolist():
                give(j, each, kind, seed)

    def describe(self, j: int, relation: Relation) -> str:
        """The relation in words, as the model is shown it: "`Basic` is a base of `Symbol`"."""
        a, b = self.units[j].name, self.units[relation.other].name
        return {
            "base": f"`{a}` is a base of `{b}`",
            "subclass": f"`{a}` subclasses `{b}`",
            "calls": f"`{b}` calls `{a}`",
            "called-by": f"`{a}` calls `{b}`",
            "override": f"`{a}` is overridden by `{b}`",
            "member": f"`{a}` holds `{b}`",
        }[relation.kind]


def _module_file(dotted: str, modules: dict[str, str]) -> str | None:
    """The file of the longest module prefix of an imported name (`pkg.mod.name` -> pkg/mod.py)."""
    parts = dotted.split(".")
    for k in range(len(parts), 0, -1):
        path = modules.get(".".join(parts[:k]))
        if path is not None:
            return path
    return None

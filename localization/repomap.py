"""Text maps for the model: the repository's file tree and a file's schematic
(classes, signatures, first docstring lines, line spans)."""

from __future__ import annotations

from localization.models import MODULE_UNIT, Unit


def file_tree(paths: list[str]) -> str:
    """Paths grouped by directory, one directory header per group."""
    lines: list[str] = []
    current = None
    for path in sorted(paths):
        directory, _, name = path.rpartition("/")
        if directory != current:
            lines.append(f"{directory or '.'}/")
            current = directory
        lines.append(f"  {name}")
    return "\n".join(lines)


def schematic(path: str, units: list[Unit]) -> str:
    lines = [path]
    for unit in units:
        if unit.name == MODULE_UNIT:
            if unit.doc:
                lines.append(f'  "{unit.doc}"')
            continue
        depth = unit.name.count(".") + 1
        doc = f'  "{unit.doc[:100]}"' if unit.doc else ""
        lines.append(f"{'  ' * depth}{unit.signature or unit.name}  [L{unit.start_line}-{unit.end_line}]{doc}")
    return "\n".join(lines)

"""Text maps for the model: the repository's file tree and a file's schematic
(classes, signatures, first docstring lines, line spans)."""

from __future__ import annotations

from localization.models import MODULE_UNIT, Unit


def text_file_map(path: str, text: str) -> str:
    """A file that is not Python, as the model sees it among schematics: its path and length."""
    return f"{path}  (a text file, {len(text.splitlines())} lines; name it as {path}::<file> or {path}::<module>:START-END)"


def file_tree(paths: list[str], notes: dict[str, str] | None = None) -> str:
    """Paths grouped by directory, one directory header per group; a file's note after its name."""
    lines: list[str] = []
    current = None
    for path in sorted(paths):
        directory, _, name = path.rpartition("/")
        if directory != current:
            lines.append(f"{directory or '.'}/")
            current = directory
        note = (notes or {}).get(path)
        lines.append(f"  {name}  ({note})" if note else f"  {name}")
    return "\n".join(lines)


def schematic(path: str, units: list[Unit], statements: list[Unit] | None = None) -> str:
    """The file's units (and named module-level statements, when given) with their line spans."""
    lines = [path]
    for unit in sorted([*units, *(statements or [])], key=lambda u: (u.start_line, u.kind != "module")):
        if unit.kind == "statement":
            lines.append(f"  {unit.signature}  [L{unit.start_line}-{unit.end_line}]")
            continue
        if unit.name == MODULE_UNIT:
            if unit.doc:
                lines.append(f'  "{unit.doc}"')
            continue
        depth = unit.name.count(".") + 1
        doc = f'  "{unit.doc[:100]}"' if unit.doc else ""
        lines.append(f"{'  ' * depth}{unit.signature or unit.name}  [L{unit.start_line}-{unit.end_line}]{doc}")
    return "\n".join(lines)

"""The house's layers, as pyproject.toml's import-linter contracts state them: configs (the
ground) under localization and sandbox, under editing, under agent; inside agent the CLI over the
batch runner and the bot, over the core; and no import cycle between modules. The contracts hold
for the code as it is, and an arrow back up (or a cycle) added to a copy of it breaks them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("configs", "localization", "editing", "sandbox", "agent")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint(root: Path) -> subprocess.CompletedProcess:
    """`lint-imports` on the packages under `root` (which come first on the import path)."""
    return subprocess.run([str(LINT_IMPORTS), "--config", str(root / "pyproject.toml"), "--no-cache"], cwd=root,
                          capture_output=True, text=True, timeout=300, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def copy(tmp_path) -> Path:
    for name in PACKAGES:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_layers_hold():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 kept, 0 broken" in done.stdout


def test_a_copy_of_the_tree_is_what_is_checked(copy):
    done = lint(copy)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("importer, line, contract", [
    ("localization/tokens.py", "import agent.records", "Layers:"),  # a stage reaching up into agent
    ("configs/files.py", "import sandbox.models", "Layers:"),  # the ground standing on a stage
    ("editing/diff.py", "import sandbox.models", "never imports the sandbox"),
    ("agent/pipeline.py", "import agent.cli.common", "Inside agent:"),  # the core reaching up to a front-end
])
def test_an_arrow_back_up_breaks_them(copy, importer, line, contract):
    with open(copy / importer, "a", encoding="utf-8") as fh:
        fh.write(f"\n{line}  # added by the test\n")
    done = lint(copy)
    assert done.returncode != 0
    broken = [row for row in done.stdout.splitlines() if row.rstrip().endswith("BROKEN")]
    assert any(contract in row for row in broken), done.stdout
    assert importer.removesuffix(".py").replace("/", ".") in done.stdout  # the report names the import


def test_an_import_cycle_breaks_them(copy):
    with open(copy / "sandbox/models.py", "a", encoding="utf-8") as fh:
        fh.write("\nimport sandbox.grading  # added by the test: grading imports models\n")
    done = lint(copy)
    assert done.returncode != 0 and "No import cycle between modules BROKEN" in done.stdout, done.stdout

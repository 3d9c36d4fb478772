"""The wheel carries the configs and prompts, and they are read from the installed package
(importlib.resources), not from the source tree."""

from __future__ import annotations

import json
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(ROOT)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    (path,) = out.glob("supercoder-*.whl")
    return path


def test_wheel_ships_configs_and_prompts(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "configs/default.yaml" in names
    assert {"configs/prompts/localize_files.j2", "configs/prompts/localize_units.j2", "configs/templates/report.html.j2"} <= names
    # Only the design card's packages at the top level of the wheel (configs/ is its ground floor).
    tops = {n.split("/")[0] for n in names if not n.startswith("supercoder-")}
    assert tops == {"agent", "localization", "editing", "sandbox", "configs"}
    assert "agent/cli/__main__.py" in names  # how the bot's server starts a job


def test_non_editable_install_reads_packaged_resources(wheel: Path, tmp_path: Path):
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    # Dependencies come from the test's own environment, placed after the venv's site-packages.
    site = Path(subprocess.check_output([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], text=True).strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    proc = subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    probe = (
        "import json, configs, configs.defaults as d, configs.rendering as t;"
        "print(json.dumps({'agent': configs.__file__, 'default': d.default_config_text(),"
        " 'prompt': t.render('localize_reask.j2', unknown=['x'], choices=['a.py::f'])}))"
    )
    out = subprocess.run([py, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert str(site) in data["agent"], "configs imported from the source tree, not the installed wheel"
    assert "localization:" in data["default"]
    assert "a.py::f" in data["prompt"]
    cli = subprocess.run([env_dir / "bin" / "supercoder", "config", "show"], capture_output=True, text=True, cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout)["localization"]["top_files"] == 5

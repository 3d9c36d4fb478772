"""`swebench run --executor ray` against a Ray instance the test starts (`ray start --head`), as
a user would point it at an existing cluster: instances run as Ray tasks, results land in the
driver's output folder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from fakes.swe_dataset import answer, make_dataset, settings_args

from agent import cli

pytest.importorskip("ray", reason="the 'ray' extra is not installed")
pytestmark = pytest.mark.slow


@pytest.fixture
def ray_cluster(fake_openai):
    """A one-node Ray cluster on loopback; its workers inherit this test's environment."""
    ray = str(Path(sys.executable).parent / "ray")
    temp = Path(tempfile.mkdtemp(prefix="ray-", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    port = 6300 + os.getpid() % 500
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    log = temp / "start.log"
    with open(log, "w") as fh:  # not a pipe: Ray's daemons keep their output open, and a pipe would never end
        started = subprocess.run([ray, "start", "--head", f"--port={port}", "--num-cpus=2", "--include-dashboard=false",
                                  "--disable-usage-stats", f"--temp-dir={temp}"], env=env, stdout=fh, stderr=fh, timeout=180)
    assert started.returncode == 0, log.read_text()[-2000:]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        import ray as ray_module

        ray_module.shutdown()
        subprocess.run([ray, "stop", "--force"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
        shutil.rmtree(temp, ignore_errors=True)


def test_instances_run_as_ray_tasks_and_land_on_the_driver(fake_openai, ray_cluster, tmp_path, capsys):
    dataset, cache, _ = make_dataset(tmp_path)
    fake_openai.responder = answer
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exc:
        cli.main(["swebench", "run", "--dataset", str(dataset), "--repo-cache", str(cache), "--output", str(out),
                  "--executor", "ray", "--ray-address", ray_cluster, *settings_args(tmp_path / "venvs", fake_openai)])
    _, err = capsys.readouterr()
    assert exc.value.code in (0, None), err
    statuses = {i: v["status"] for i, v in json.loads((out / "exit_statuses.json").read_text())["instances"].items()}
    assert statuses == {"acme__calc-1": "resolved_by_own_tests", "acme__words-1": "unvalidated_patch"}
    preds = [json.loads(line) for line in (out / "preds.jsonl").read_text().splitlines()]
    assert len(preds) == 2 and all(p["model_patch"] for p in preds)
    assert (out / "acme__calc-1" / "run" / "summary.json").exists()  # the record came back from the task


def test_an_unreachable_cluster_is_a_clear_error(fake_openai, tmp_path, capsys):
    dataset, cache, _ = make_dataset(tmp_path)
    with pytest.raises(SystemExit) as exc:
        cli.main(["swebench", "run", "--dataset", str(dataset), "--repo-cache", str(cache), "--output", str(tmp_path / "out"),
                  "--executor", "ray", "--ray-address", "127.0.0.1:1", *settings_args(tmp_path / "venvs", fake_openai)])
    _, err = capsys.readouterr()
    assert exc.value.code == 2 and "cannot reach the Ray cluster" in err and "Traceback" not in err

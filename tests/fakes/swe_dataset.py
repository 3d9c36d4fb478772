"""A small SWE-bench-style dataset over repositories the tests make, and a scripted model that
fixes them through the documented prompt formats (docs/prompts.md).

Two repositories, one instance each:
- acme/calc: `add` subtracts. The issue names the repository's own test of it, which fails, so
  the agent can validate its patch with its own tests (resolved_by_own_tests).
- acme/words: `shout` lowers instead of upper-casing; no test of the repository fails, and the
  model writes no reproduction test, so the patch stays unvalidated.
Each gold patch, test patch and test id carries a SECRET marker: none may reach the model.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SECRET = "zq7secret"

REPOS = {
    "acme/calc": {
        "calc.py": 'def add(a, b):\n    """The sum of a and b."""\n    return a - b\n\n\ndef sub(a, b):\n    return a - b\n',
        "tests/test_calc.py": "from calc import add, sub\n\n\ndef test_sub():\n    assert sub(3, 1) == 2\n\n\ndef test_add():\n    assert add(1, 2) == 3\n",
    },
    "acme/words": {
        "words.py": 'def shout(text):\n    """The text in capitals."""\n    return text.lower()\n\n\ndef whisper(text):\n    return text.lower()\n',
        "tests/test_words.py": "from words import whisper\n\n\ndef test_whisper():\n    assert whisper('Hi') == 'hi'\n",
    },
}
FIX = {"calc.py::add": "def add(a, b):\n    return a + b\n", "words.py::shout": "def shout(text):\n    return text.upper()\n"}
ISSUES = {"acme/calc": "tests/test_calc.py::test_add fails: add() subtracts, add(1, 2) gives -1 instead of 3", "acme/words": "shout('hi') returns 'hi', it should return 'HI'"}
HIDDEN_TESTS = {
    "acme/calc": ("tests/test_hidden_calc.py", f"from calc import add\n\n\ndef test_{SECRET}_add():\n    assert add(2, 2) == 4\n"),
    "acme/words": ("tests/test_hidden_words.py", f"from words import shout\n\n\ndef test_{SECRET}_shout():\n    assert shout('a') == 'A'\n"),
}


def _git(cwd: Path, *args: str, input: str | None = None) -> str:
    return subprocess.run(["git", "-c", "user.email=t@t", "-c", "user.name=t", *args], cwd=cwd, capture_output=True,
                          text=True, check=True, input=input).stdout


def _diff(root: Path, path: str, new_text: str) -> str:
    """The patch that turns the committed tree's `path` into `new_text`; the tree is left as it was."""
    target = root / path
    existed = target.exists()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(new_text)
    if not existed:
        _git(root, "add", "-N", path)
    diff = _git(root, "diff", "--", path)
    if existed:
        _git(root, "checkout", "-q", "--", path)
    else:
        _git(root, "rm", "-q", "--cached", path)
        target.unlink()
    return diff


def make_dataset(root: Path, copies: int = 1) -> tuple[Path, Path, list[dict]]:
    """(dataset.jsonl, repo cache, rows). `copies` instances per repository (ids -1, -2, ...)."""
    cache = root / "clones"
    rows = []
    for repo, files in REPOS.items():
        clone = cache / repo.replace("/", "__")
        clone.mkdir(parents=True)
        for path, text in files.items():
            (clone / path).parent.mkdir(parents=True, exist_ok=True)
            (clone / path).write_text(text)
        _git(clone, "init", "-q")
        _git(clone, "add", "-A")
        _git(clone, "commit", "-qm", "init")
        commit = _git(clone, "rev-parse", "HEAD").strip()
        [(unit, code)] = [(u, c) for u, c in FIX.items() if u.split("::")[0] in files]
        path = unit.split("::")[0]
        fixed = files[path].replace(files[path].split("\n\n\n")[0] + "\n", f"{code}    # {SECRET} gold\n", 1)
        gold = _diff(clone, path, fixed)
        test_path, test_text = HIDDEN_TESTS[repo]
        test_patch = _diff(clone, test_path, test_text)
        test_name = test_text.split("def ")[1].split("(")[0]
        own = [f"{p}::{n.split('(')[0]}" for p, t in files.items() if p.startswith("tests/") for n in t.split("def ")[1:]]
        for n in range(1, copies + 1):
            rows.append({"instance_id": f"{repo.replace('/', '__')}-{n}", "repo": repo, "base_commit": commit,
                         "problem_statement": ISSUES[repo], "version": "0.1", "environment_setup_commit": commit,
                         "hints_text": "", "created_at": "2026-01-01T00:00:00Z", "patch": gold, "test_patch": test_patch,
                         "FAIL_TO_PASS": json.dumps([f"{test_path}::{test_name}"]),
                         "PASS_TO_PASS": json.dumps([t for t in own if "test_add" not in t])})
    dataset = root / "dataset.jsonl"
    dataset.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return dataset, cache, rows


def answer(body: dict) -> str:
    """The scripted model: picks the buggy file and unit of whichever repository it is shown."""
    prompt = body["messages"][-1]["content"]
    path = "calc.py" if "calc.py" in prompt else "words.py"
    unit = next(u for u in FIX if u.startswith(path))
    if "Which files most likely need to be edited" in prompt or "Which of these files need to be edited" in prompt:
        return json.dumps({"files": [path]})
    if "Name the functions, methods or classes" in prompt:
        return json.dumps({"units": [unit]})
    if "You are fixing an issue" in prompt:
        return f'<edit path="{path}" unit="{unit.split("::")[1]}">\n{FIX[unit]}</edit>'
    return "No reproduction test from me."


def settings_args(venvs: Path, server, workers: int = 2) -> list[str]:
    """`--set` options for a quick, hermetic batch on the local backend (`venvs`: where its
    environments are built; share one across tests)."""
    sets = [f"llm.base_url={server.base_url}", "llm.model=fake-model", "embeddings.provider=none",
            f"sandbox.local_venv_dir={venvs}", f'sandbox.local_pythons={{"3.11": "{sys.executable}"}}',
            "sandbox.backend=local", "sandbox.project.packages=[\"pytest\"]",
            "sandbox.project.python=3.11", "editing.temperatures=[0.0]", "editing.samples_per_temperature=1",
            "repair.rounds=1", f"batch.workers={workers}", "batch.poll_interval_s=0.1", "llm.backoff_initial_s=0.01",
            "llm.backoff_max_s=0.05"]
    return [a for s in sets for a in ("--set", s)]

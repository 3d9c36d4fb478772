"""Diffs must apply with `git apply` and give back the new text exactly."""

from __future__ import annotations

import random
import subprocess

import pytest

from editing.diff import file_diff


def _git_apply(tmp_path, old: str, diff: str) -> str:
    target = tmp_path / "f.py"
    target.write_bytes(old.encode())
    subprocess.run(["git", "apply", "-"], cwd=tmp_path, input=diff.encode(), check=True, capture_output=True)
    return target.read_bytes().decode()


def _variant(rng: random.Random, lines: list[str]) -> list[str]:
    out = list(lines)
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.4 and out:
            out[rng.randrange(len(out))] = rng.choice("xyz")
        elif op < 0.7:
            out.insert(rng.randint(0, len(out)), rng.choice("xyz"))
        elif out:
            del out[rng.randrange(len(out))]
    return out


@pytest.mark.parametrize("seed", range(6))
def test_random_changes_round_trip_through_git_apply(tmp_path, seed):
    # Repeated short lines make alignments ambiguous, which is where hunk placement breaks.
    rng = random.Random(seed)
    for case in range(25):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 15))]
        b = _variant(rng, a)
        old = "\n".join(a) + ("\n" if a and rng.random() < 0.7 else "")
        new = "\n".join(b) + ("\n" if b and rng.random() < 0.7 else "")
        if old == new:
            continue
        context = rng.randint(1, 4)
        sub = tmp_path / f"{seed}-{case}"
        sub.mkdir()
        assert _git_apply(sub, old, file_diff("f.py", old, new, context)) == new


def test_long_file_with_changes_far_apart(tmp_path):
    old = "".join(f"line {i}\n" for i in range(3000))
    new = old.replace("line 5\n", "line five\n").replace("line 2990\n", "")
    diff = file_diff("f.py", old, new, 3)
    assert diff.count("@@ -") == 2
    assert "@@ -3,7 +3,7 @@" in diff
    assert _git_apply(tmp_path, old, diff) == new


def test_headers_and_missing_final_newline():
    diff = file_diff("pkg/m.py", "a\nb", "a\nc")
    assert diff.startswith("diff --git a/pkg/m.py b/pkg/m.py\n--- a/pkg/m.py\n+++ b/pkg/m.py\n")
    assert diff.endswith("-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n")
    assert file_diff("m.py", "same\n", "same\n") == ""

"""Command output kept within a budget: the head and the tail, and a line saying what was dropped."""

from __future__ import annotations

from sandbox.output import Capped


def test_output_under_the_budget_is_kept_whole():
    capped = Capped(100)
    for chunk in ("abc", "def", "\n" * 10):
        capped.add(chunk)
    assert capped.text() == ("abcdef" + "\n" * 10, False)


def test_output_over_the_budget_keeps_its_head_and_tail():
    capped = Capped(40)  # a quarter (10) for the head, the rest (30) for the tail
    text = "".join(f"{i:03d}," for i in range(200))
    for i in range(0, len(text), 7):  # in chunks that straddle the boundaries
        capped.add(text[i:i + 7])
    kept, truncated = capped.text()
    assert truncated
    assert kept.startswith(text[:10]) and kept.endswith(text[-30:])
    assert f"[... {len(text) - 40} characters dropped ...]" in kept

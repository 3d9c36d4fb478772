"""Multi-SWE-bench's instance format, read as SWE-bench's, and its submission format written.

A Multi-SWE-bench row names its repository by `org` and `repo`, its commit by `base.sha`, its
issue by `resolved_issues` (title and body of each), its gold patch `fix_patch`, and its tests
by transition: `f2p_tests`, `s2p_tests` (skipped, then passing), `n2p_tests` (new, then
passing) must pass after the fix; `p2p_tests` must keep passing. Published copies hold some of
these as Python literals in strings rather than as JSON: both are read. Predictions are
submitted as `{org, repo, number, fix_patch}` lines.
"""

from __future__ import annotations

import ast
import json

from configs.errors import UserError

PREDS = "preds.multi_swe.jsonl"  # beside preds.jsonl in a batch's output folder
MUST_PASS = ("f2p_tests", "s2p_tests", "n2p_tests")
MUST_KEEP = ("p2p_tests",)


def is_multi_swe(row: dict) -> bool:
    """Its own fields, and none of SWE-bench's commit field."""
    return "base_commit" not in row and all(k in row for k in ("org", "repo", "number", "base"))


def _value(row: dict, key: str, kind: type, where: str):
    """A dict or list field as JSON gives it, or as a Python literal in a string; `kind()` when absent."""
    value = row.get(key)
    if value is None:
        return kind()
    if isinstance(value, str):
        try:
            value = ast.literal_eval(value)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            try:
                value = json.loads(value)
            except ValueError:
                raise UserError(f"{where}: {key} is neither JSON nor a Python literal") from None
    if not isinstance(value, kind):
        raise UserError(f"{where}: {key} should be a {kind.__name__}, not a {type(value).__name__}")
    return value


def issue_text(issues: list) -> str:
    """The issues the pull request resolves, each as its title and body."""
    parts = []
    for issue in issues:
        if isinstance(issue, dict):
            parts.append("\n".join(str(issue.get(k) or "").strip() for k in ("title", "body")).strip())
    return "\n\n".join(p for p in parts if p)


def to_swebench(row: dict, where: str = "--dataset") -> dict:
    """The row with SWE-bench's fields added (instance_id, repo as owner/name, base_commit,
    problem_statement, patch, test_patch, FAIL_TO_PASS, PASS_TO_PASS) and its own kept."""
    org, repo, number = row.get("org"), row.get("repo"), row.get("number")
    iid = row.get("instance_id") or f"{org}__{repo}-{number}"
    where = f"{where}: instance {iid}"
    base = _value(row, "base", dict, where)
    tests = {k: _value(row, k, dict, where) for k in (*MUST_PASS, *MUST_KEEP)}
    return {
        **row,
        "instance_id": iid,
        "repo": f"{org}/{repo}",
        "base_commit": base.get("sha") or "",
        "problem_statement": issue_text(_value(row, "resolved_issues", list, where)),
        "patch": row.get("fix_patch") or "",
        "test_patch": row.get("test_patch") or "",
        # Each test once, in the order the dataset lists them.
        "FAIL_TO_PASS": list(dict.fromkeys(t for k in MUST_PASS for t in tests[k])),
        "PASS_TO_PASS": list(dict.fromkeys(t for k in MUST_KEEP for t in tests[k])),
        "multi_swe": {"org": org, "repo": repo, "number": number},
    }


def swebench_rows(rows: list[dict]) -> list[dict]:
    """A dataset's rows as SWE-bench's: Multi-SWE-bench's converted, others as they are."""
    return [to_swebench(r) if is_multi_swe(r) else r for r in rows]


def submission(prediction: dict, origin: dict) -> dict:
    """A prediction (instance_id, model_patch) as Multi-SWE-bench's harness reads it."""
    return {"org": origin["org"], "repo": origin["repo"], "number": origin["number"], "fix_patch": prediction.get("model_patch") or ""}

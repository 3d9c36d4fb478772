"""The one module that imports the `swebench` package (pinned: 4.x still ships the per-repo
specs and log parsers that 5.x removed). Everything else goes through these functions."""

from __future__ import annotations

import importlib
import json
import logging
from functools import lru_cache
from typing import Any

from sandbox.models import TestStatus


@lru_cache(maxsize=1)
def _import_quietly() -> None:
    """`import swebench` configures the root logger at INFO (logging.basicConfig), which floods
    stderr with every HTTP request of every library: import it (lazily: it takes seconds) and
    undo that. Every function here calls this before its own swebench import."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    importlib.import_module("swebench")

    root.setLevel(level)
    root.handlers[:] = handlers

SWEBENCH_VERSION = "4.1.0"
_STATUS: dict[str, TestStatus] = {"PASSED": "passed", "XFAIL": "passed", "FAILED": "failed", "ERROR": "error", "SKIPPED": "skipped"}


def log_statuses(repo: str, log: str) -> dict[str, TestStatus]:
    """Test id -> status from a runner's log; KeyError when swebench has no parser for `repo`."""
    _import_quietly()
    from swebench.harness.log_parsers import MAP_REPO_TO_PARSER

    parser = MAP_REPO_TO_PARSER[repo]
    return {test: _STATUS.get(status, "failed") for test, status in parser(log, None).items()}


def spec(repo: str, version: str) -> dict[str, Any]:
    """swebench's environment spec (python, packages, install, test_cmd) for a repo and version."""
    _import_quietly()
    from swebench.harness.constants import MAP_REPO_VERSION_TO_SPECS

    return dict(MAP_REPO_VERSION_TO_SPECS[repo][version])


def predictions_from_file(path: str) -> list[dict]:
    """Predictions read by the official harness's own loader (.json or .jsonl)."""
    _import_quietly()
    from swebench.harness.utils import get_predictions_from_file

    return get_predictions_from_file(path, "", "test")


def has_spec(row: dict) -> bool:
    """Whether swebench knows how to build and test this repository at this version."""
    try:
        spec(row.get("repo", ""), str(row.get("version", "")))
    except KeyError:
        return False
    return True


def parse_test_list(value: Any) -> list[str]:
    """FAIL_TO_PASS / PASS_TO_PASS as a list, whether given as one or as a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"expected a JSON list of test ids, got {value[:60]!r}") from None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of test ids")
    return value


def requirements_paths(repo: str) -> list[str]:
    _import_quietly()
    from swebench.harness.constants import MAP_REPO_TO_REQS_PATHS

    return list(MAP_REPO_TO_REQS_PATHS.get(repo, []))


def env_yml_paths(repo: str) -> list[str]:
    _import_quietly()
    from swebench.harness.constants import MAP_REPO_TO_ENV_YML_PATHS

    return list(MAP_REPO_TO_ENV_YML_PATHS.get(repo, []))


def test_directives(row: dict) -> list[str]:
    """What the test command is given: the test files the instance's test patch touches."""
    _import_quietly()
    from swebench.harness.test_spec.python import get_test_directives

    return list(get_test_directives(row))

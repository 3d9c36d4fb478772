"""Errors that end a command with a one-line message instead of a traceback, and the one a
model call raises (the stages that call a model catch it; the agent's client raises it)."""

from __future__ import annotations

from typing import Literal

Stop = Literal["limit", "refused", "unavailable"]


class UserError(Exception):
    """Bad input or configuration: the CLI prints the message and exits with status 2."""

    exit_code = 2


class ConfigError(UserError):
    """A config file, environment variable or --set override is invalid."""


class RunError(UserError):
    """The machine failed the run (workers would not start, a cluster went away): exit status 1."""

    exit_code = 1


class LLMError(Exception):
    """A model call failed (network, HTTP status, malformed answer). `stop` says why the model
    will not answer again in this run, when it will not: a cost or call limit, a refusal (a bad
    key, an unknown model), or retries that ran out."""

    stop: Stop | None = None

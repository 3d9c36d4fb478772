"""Errors that end a command with a one-line message instead of a traceback."""


class UserError(Exception):
    """Bad input or configuration: the CLI prints the message and exits with status 2."""

    exit_code = 2


class ConfigError(UserError):
    """A config file, environment variable or --set override is invalid."""


class RunError(UserError):
    """The machine failed the run (workers would not start, a cluster went away): exit status 1."""

    exit_code = 1

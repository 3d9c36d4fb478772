"""The `supercoder` command line (see app.py); one module per front-end."""

from agent.cli.app import main

__all__ = ["main"]

"""`python -m agent.bot ARGS` is `supercoder bot work ARGS`: how the server starts a job's process."""

import sys

from agent.cli import main

main(["bot", "work", *sys.argv[1:]])

"""`python -m agent.cli ARGS` is `supercoder ARGS` (how the bot's server starts a job's process)."""

from agent.cli.app import main

main()

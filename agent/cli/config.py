"""`supercoder config show`: the resolved configuration."""

from __future__ import annotations

import json

from agent.cli.common import ConfigOpt, SetOpt, group, settings_of

app = group("Inspect the resolved configuration.")


@app.command("show")
def config_show(config: ConfigOpt = None, set_: SetOpt = None) -> None:
    """Print the resolved configuration as JSON (secrets masked)."""
    print(json.dumps(settings_of(config, set_).public_dump(), indent=2))

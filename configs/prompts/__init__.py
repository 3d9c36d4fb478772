"""Packaged as agent.configs.prompts: Jinja prompt templates."""

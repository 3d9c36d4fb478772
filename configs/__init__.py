"""Packaged as agent.configs: the default YAML config and the prompt templates."""

"""The ground floor every package stands on, importing nothing of the project: the packaged
defaults (default.yaml) and templates (prompts/, templates/) with their loaders, the user's
directories and atomic writes, and the error classes."""

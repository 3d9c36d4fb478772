"""Localization: index a repository's code units, retrieve and rank them for an issue,
and (with a model) narrow them in three stages to the units to change."""

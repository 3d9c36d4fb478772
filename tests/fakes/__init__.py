"""Test doubles for external services (a fake OpenAI-compatible HTTP server)."""

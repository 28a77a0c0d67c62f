"""Bundled, code-generated demo content (no downloads, no third-party assets)."""

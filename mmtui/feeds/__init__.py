"""Feeds: exposition-format parsing, presets per model server, derivation, polling."""

"""The dispute-resolution domain: aggregates, value objects and pure rules (no I/O)."""

"""Read views: what they hold (rows) and how events become rows (projector)."""

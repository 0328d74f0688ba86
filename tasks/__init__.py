"""One module per release stage, plus the shared cloud helpers (retry policy, waiting)."""

"""HTTP adapters of the evaluation service."""

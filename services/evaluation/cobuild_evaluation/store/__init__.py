"""Where the evaluation service keeps things: SQL and the shipped policy files."""

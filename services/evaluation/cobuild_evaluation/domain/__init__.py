"""Pure domain of the evaluation service: no I/O, only dataclasses and functions."""

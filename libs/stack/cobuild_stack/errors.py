"""The one error type the stack raises for problems a user can act on."""

from __future__ import annotations


class StackError(RuntimeError):
    """A clear, one-line explanation; the CLI prints it in red without a traceback."""

"""Adapters to the world outside: the channels messages go out by."""

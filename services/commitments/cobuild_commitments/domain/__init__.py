"""Pure domain: the commitment state machine, deadline rules and evidence rules (no I/O)."""

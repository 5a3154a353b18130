"""Pure domain rules of the agreements service: no I/O here."""

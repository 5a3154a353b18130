"""Cobuild's tests. A regular package, so that `tests.*` imports find these and not the
`tests` package Canaille 0.3.6 installs into site-packages (a regular package there would win
over a namespace package here)."""

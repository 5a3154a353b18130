"""The benchmark suite: `make bench` (10^4 and 10^5) and `make bench-large` (10^6)."""

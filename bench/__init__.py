"""Benchmarks that hold Refit against named peers and print ratios (see bench/README.md)."""

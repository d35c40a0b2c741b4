"""Benchmarks run by `make bench`: one module per benchmark, each with `run(argv) -> bool` (target met)."""

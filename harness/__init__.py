"""Live multi-process servers (gunicorn) for the concurrency tests and the benchmarks."""

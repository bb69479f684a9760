"""siyu benchmarks: `python -m bench ingest` (see docs/bench.md)."""

"""Side-by-side benchmarks of hyperdial against peer optimisers (protocol: shared/BENCHMARKS.md)."""

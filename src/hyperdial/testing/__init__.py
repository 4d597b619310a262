"""Test helpers for hyperdial and its extensions: conformance suites and hypothesis strategies."""

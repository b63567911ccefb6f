"""Fake store platforms, written from their public docs (for tests and benchmarks)."""

"""Benchmarks of Chairside's hot paths, each a runnable module with a shell entry beside it."""

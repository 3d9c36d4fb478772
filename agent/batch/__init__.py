"""Batch runs over SWE-bench-style datasets: run, evaluate, report."""

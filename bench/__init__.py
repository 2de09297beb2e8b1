"""Benchmarks that print their figures and the machine they ran on; never part of ``make test``.

Run from the repository root as modules (``python -m bench.decisions``, ``bench.ingest``,
``bench.signals``). Each imports only ``bench.lib``, never another bench.
"""

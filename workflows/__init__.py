"""Deterministic workflow code only: no I/O, no clocks, no heavy imports.

Empty on purpose: the sandbox re-imports this package for every workflow run (see
``workflows.registry``, which lists the workflows the worker registers).
"""

"""Deterministic workflow code only."""

WORKFLOWS: list[type] = []

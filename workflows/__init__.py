"""Deterministic workflow code only: no I/O, no clocks, no heavy imports."""

from workflows.credit_decision import CreditDecisionWorkflow

WORKFLOWS: list[type] = [CreditDecisionWorkflow]

__all__ = ["WORKFLOWS", "CreditDecisionWorkflow"]

"""Every workflow the worker registers.

Not in ``workflows/__init__``: the sandbox imports a workflow's module, and so its package, afresh
for every workflow run it creates. A package that imported all three workflows made each new run
re-execute (and, with ``PYTHONDONTWRITEBYTECODE``, recompile) every workflow module; the package
stays empty so a run pays only for its own module.
"""

from workflows.credit_decision import CreditDecisionWorkflow
from workflows.credit_line import CreditLineReviewWorkflow
from workflows.proactive import ProactiveOffersWorkflow

WORKFLOWS: list[type] = [CreditDecisionWorkflow, ProactiveOffersWorkflow, CreditLineReviewWorkflow]

"""A workflow that breaks the determinism rule on purpose: it reads the wall clock.

``tests/workflows/test_sandbox_guard.py`` runs it to prove the sandbox every workflow test uses
refuses such code. It lives in its own small module because the sandbox re-imports a workflow's
module for every run (a test module would drag pytest in).
"""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn(name="ClockReaderWorkflow")
class ClockReaderWorkflow:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # non-deterministic: workflow.now() is the rule

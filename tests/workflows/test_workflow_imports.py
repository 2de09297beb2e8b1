"""Workflow modules stay light: no database, HTTP, Redis or web framework behind them.

The Temporal sandbox re-imports workflow modules for every run; anything heavy or stateful
imported there slows every workflow task and risks non-determinism.
"""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("sqlalchemy", "sqlmodel", "httpx", "redis", "fastapi", "psycopg", "uvicorn")


def test_workflow_module_imports_no_io_libraries() -> None:
    code = (
        "import sys, workflows.credit_decision\n"
        f"print(','.join(m for m in {FORBIDDEN!r} if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"workflow imports pull in: {out}"

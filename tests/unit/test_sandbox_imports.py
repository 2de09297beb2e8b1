"""What a new workflow run costs the worker: the sandbox imports the workflow's module (and its
package) afresh for every run, so both must stay cheap to import (``workflows.registry``,
``worker.cache_workflow_bytecode``: why)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout.strip()


def test_the_workflows_package_imports_no_workflow() -> None:
    loaded = _python(
        "import sys, workflows; print(sorted(m for m in sys.modules if m.startswith('workflows.')))"
    )
    assert loaded == "[]"


def test_worker_caches_bytecode_in_a_private_directory_without_pycache() -> None:
    code = (
        "import os, stat, sys\n"
        "from worker import cache_workflow_bytecode\n"
        "cache_workflow_bytecode()\n"
        "import importlib\n"
        "sys.modules.pop('workflows.summary')  # imported afresh, as the sandbox does per run\n"
        "importlib.import_module('workflows.summary')\n"
        "prefix = sys.pycache_prefix\n"
        "mode = stat.S_IMODE(os.stat(prefix).st_mode)\n"
        "pycs = [f for _, _, fs in os.walk(prefix) for f in fs if f.startswith('summary.')]\n"
        "print(oct(mode), pycs)\n"
    )
    mode, pycs = _python(code, PYTHONDONTWRITEBYTECODE="1").split(" ", 1)
    assert mode == "0o700"
    assert "summary.cpython" in pycs, "a fresh import compiled without caching"


def test_worker_leaves_a_process_that_writes_bytecode_alone(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from worker import cache_workflow_bytecode\n"
        "cache_workflow_bytecode()\n"
        "print(sys.pycache_prefix, sys.dont_write_bytecode)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp_path)  # writes bytecode, outside the source tree
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == f"{tmp_path} False", result.stderr

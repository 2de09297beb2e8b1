"""``ecs`` never imports ``api``: the application layer must work without the HTTP layer.

Two checks, because each misses what the other sees: the source walk finds imports inside
functions (the CLI imports lazily) that importing the modules would never run; the subprocess
import finds a dependency that reaches ``api`` through a third package.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ECS = ROOT / "ecs"


def _imported(tree: ast.AST) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules() -> list[str]:
    return sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in ECS.rglob("*.py")
    )


def test_no_ecs_source_file_imports_api() -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            name
            for name in _imported(ast.parse(path.read_text(), str(path)))
            if name == "api" or name.startswith("api.")
        )
        for path in sorted(ECS.rglob("*.py"))
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_importing_every_ecs_module_loads_no_api_module() -> None:
    modules = [m for m in _modules() if m != "ecs.__main__"]  # __main__ runs the CLI
    script = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules if m == 'api' or m.startswith('api.'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []
    assert "ecs.accounts.erasure" in modules  # the walk really reached the packages

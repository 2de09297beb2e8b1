"""The seams of the insights package: no HTTP inside it, and API models that mirror its reports.

``ecs.insights`` returns dataclasses and ``api.schemas.insights`` turns them into responses by
attribute; a field added on one side only would vanish from the JSON (or fail every request), so
the two are compared here: the same models under the same names, with the same fields in order.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

import ecs.insights
from api.schemas import insights as api
from ecs.insights import credit, drift, trends

RESPONSE_MODELS = {
    name: model
    for name, model in vars(api).items()
    if isinstance(model, type)
    and issubclass(model, BaseModel)
    and model.__module__ == api.__name__
    and model is not api._Report
}


def _report_dataclasses(root: type) -> dict[str, type]:
    """``root`` and every dataclass reachable through its fields' types."""
    found: dict[str, type] = {}
    pending = [root]
    while pending:
        cls = pending.pop()
        if cls.__name__ in found:
            continue
        found[cls.__name__] = cls
        for hint in typing.get_type_hints(cls).values():
            for arg in (hint, *typing.get_args(hint)):
                if dataclasses.is_dataclass(arg) and isinstance(arg, type):
                    pending.append(arg)
    return found


REPORTS = {
    name: cls
    for root in (trends.EmotionInsights, credit.CreditInsights, drift.ModelInsights)
    for name, cls in _report_dataclasses(root).items()
}


def test_the_same_models_on_both_sides() -> None:
    assert sorted(REPORTS) == sorted(RESPONSE_MODELS)


@pytest.mark.parametrize("name", sorted(RESPONSE_MODELS))
def test_a_response_model_has_the_fields_of_its_report_in_order(name: str) -> None:
    fields = [f.name for f in dataclasses.fields(REPORTS[name])]
    assert fields == list(RESPONSE_MODELS[name].model_fields)


def test_the_insights_package_does_not_import_the_api() -> None:
    for path in Path(ecs.insights.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not any(n == "api" or n.startswith("api.") for n in names), (path.name, names)

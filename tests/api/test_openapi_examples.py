"""Every request and response schema in the OpenAPI document carries an example that fits it.

Swagger UI and ReDoc show a schema's ``examples`` instead of ``"string"`` placeholders, so a
newcomer sees what a real body looks like. The test walks ``app.openapi()``: each object schema
under ``components.schemas`` must have a non-empty ``examples`` list, and each example must
validate against its schema (with ``$ref`` resolved inside the same document), so an example
cannot drift from the model it documents. (FastAPI drops ``null`` values from the document, examples
included, so a required nullable field needs a real value in its example: the validation
catches that too.)

What cannot carry one is exempt by an explicit rule, kept small:

* enums (a string with ``enum``): their allowed values are the documentation;
* FastAPI's own ``HTTPValidationError`` / ``ValidationError`` (the framework's 422 shape, which
  our problem bodies replace in practice);
* FastAPI's generated form bodies (``Body_<operation>``, e.g. the OAuth2 password form), whose
  fields are form parameters, not a model of ours.
"""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from api.main import create_app
from ecs.settings import Environment, Settings

FRAMEWORK_SCHEMAS = frozenset({"HTTPValidationError", "ValidationError"})


def _exempt(name: str, schema: dict[str, Any]) -> bool:
    return "enum" in schema or name in FRAMEWORK_SCHEMAS or name.startswith("Body_")


_SPEC = create_app(Settings(env=Environment.TEST)).openapi()
_SCHEMAS: dict[str, dict[str, Any]] = _SPEC["components"]["schemas"]
_DOCUMENTED = sorted(name for name, schema in _SCHEMAS.items() if not _exempt(name, schema))


def test_the_exemption_rule_stays_small() -> None:
    exempt = sorted(set(_SCHEMAS) - set(_DOCUMENTED))
    assert all(
        "enum" in _SCHEMAS[n] or n in FRAMEWORK_SCHEMAS or n.startswith("Body_") for n in exempt
    )
    # Most of the document is ours and documented: an exemption rule that swallowed whole
    # families of models would show up here.
    assert len(_DOCUMENTED) > 3 * len(exempt), exempt


def test_every_object_schema_has_examples() -> None:
    missing = [name for name in _DOCUMENTED if not _SCHEMAS[name].get("examples")]
    assert not missing, f"schemas without examples (add json_schema_extra examples): {missing}"


@pytest.mark.parametrize("name", _DOCUMENTED)
def test_each_example_is_valid_against_its_schema(name: str) -> None:
    examples = _SCHEMAS[name].get("examples") or []
    # Validate against a document whose root is the schema, with the components beside it so
    # every "#/components/schemas/..." reference resolves.
    root = {"$ref": f"#/components/schemas/{name}", "components": _SPEC["components"]}
    validator = jsonschema_rs.validator_for(root)
    for example in examples:
        errors = [f"{e.instance_path}: {e.message}" for e in validator.iter_errors(example)]
        assert not errors, f"{name} example {example!r} does not fit its schema: {errors}"


def test_a_bad_example_is_caught() -> None:
    """The validation above is not vacuous: a wrong type in an example is reported."""
    root = {"$ref": "#/components/schemas/DecisionPublic", "components": _SPEC["components"]}
    example = dict(_SCHEMAS["DecisionPublic"]["examples"][0], status="NOT_A_STATUS")
    assert not jsonschema_rs.validator_for(root).is_valid(example)

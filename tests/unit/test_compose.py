"""Static checks of the container files, since CI has no Docker engine to run them.

A typo in an ``ECS_*`` name is silently ignored by pydantic-settings (the process then runs on a
default), and a wrong subcommand only fails once the image runs; both are caught here instead.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import SecretStr

from ecs.cli import build_parser
from ecs.settings import Environment, InsecureConfiguration, Settings

ROOT = Path(__file__).resolve().parents[2]
PREFIX = str(Settings.model_config.get("env_prefix", "ECS_"))
SETTINGS_VARS = {PREFIX + name.upper() for name in Settings.model_fields}
SECRET_VARS = {
    PREFIX + name.upper()
    for name, field in Settings.model_fields.items()
    if field.annotation is SecretStr
}
APP_SERVICES = {"migrate", "api", "worker", "stream", "model"}
LONG_RUNNING_APPS = {"api", "worker", "stream"}
EXPECTED_SERVICES = {"postgres", "redis", "temporal", "temporal-setup", "temporal-ui"}
EXPECTED_SERVICES |= {"prometheus", "grafana"}
EXPECTED_SERVICES |= APP_SERVICES
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def _compose_text() -> str:
    return (ROOT / "docker-compose.yml").read_text()


@pytest.fixture(autouse=True)
def _no_ecs_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings built here must see only what the files say, not this shell's ECS_* values."""
    for key in [k for k in os.environ if k.startswith(PREFIX)]:
        monkeypatch.delenv(key)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(_compose_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose["services"]
    return result


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _interpolate(value: str, given: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``, with ``given`` as env."""

    def replace(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3)
        if given.get(name):
            return given[name]
        if op in (":-", "-"):
            return arg
        raise AssertionError(f"{name} is required but not given ({arg})")

    return INTERPOLATION.sub(replace, value.replace("$$", "\0")).replace("\0", "$")


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command")
    if isinstance(command, str):
        return shlex.split(command)
    assert isinstance(command, list), service
    return [str(part) for part in command]


def _parse_ecs(argv: list[str]) -> str:
    """Parse like the ``ecs`` entry point; return the subcommand (fail on an unknown one)."""
    assert argv[0] == "ecs", argv
    try:
        args = build_parser().parse_args(argv[1:])
    except SystemExit as exc:
        raise AssertionError(f"`{' '.join(argv)}` is not a valid ecs command line") from exc
    return str(args.command)


def test_every_expected_service_exists_with_an_image_or_build(
    services: dict[str, dict[str, Any]],
) -> None:
    assert set(services) >= EXPECTED_SERVICES
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name


def test_app_services_share_the_production_settings(services: dict[str, dict[str, Any]]) -> None:
    for name in APP_SERVICES:
        env = _environment(services[name])
        assert env.get("ECS_ENV") == Environment.PRODUCTION.value, name


def test_every_ecs_variable_in_compose_is_a_settings_field(
    services: dict[str, dict[str, Any]],
) -> None:
    used = {key for service in services.values() for key in _environment(service)}
    used |= {m.group(1) for m in INTERPOLATION.finditer(_compose_text())}
    unknown = {name for name in used if name.startswith(PREFIX)} - SETTINGS_VARS
    assert not unknown, f"not Settings fields (typo?): {sorted(unknown)}"


def test_secrets_have_no_default_so_compose_refuses_to_start_without_them() -> None:
    text = _compose_text()
    for match in INTERPOLATION.finditer(text):
        name, op = match.group(1), match.group(2)
        if name in SECRET_VARS or name.endswith(("PASSWORD", "SECRET", "KEY")):
            assert op == ":?", f"${{{name}}} must be written ${{{name}:?set {name}}}"
    # No secret may be written in clear in the file.
    for name in SECRET_VARS:
        for line in text.splitlines():
            if line.strip().startswith(f"{name}:"):
                assert "${" + name + ":?" in line, line


def _required_in_production() -> set[str]:
    """The names the production validator insists on, read from its own error message."""
    with pytest.raises(InsecureConfiguration) as excinfo:
        Settings(_env_file=None, env=Environment.PRODUCTION)
    return set(re.findall(r"\b(ECS_[A-Z0-9_]+)\b", str(excinfo.value)))


def test_required_secrets_reach_every_long_running_app(
    services: dict[str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    required = _required_in_production()
    assert required >= SECRET_VARS
    dummy = {
        "POSTGRES_PASSWORD": "0123456789abcdef",
        "REDIS_PASSWORD": "fedcba9876543210",
        "ECS_JWT_SECRET": "68fc7f12944dea1c5e83852364fa231abe053b9708b357da44f21ac17bfa320a",
        "ECS_PAYLOAD_KEY": "dGVzdC1vbmx5LXBheWxvYWQta2V5LTMyLWJ5dGVzISE=",
        "ECS_INGEST_API_KEY": "15bd601e4d291d2ff74a329b5c5d3582a8862d0c205b0e428ffd27ffa780a101",
        "ECS_CODEC_API_KEY": "51c7df0ae24eea9a3f7fbc45f8c314dcdad8317b7cc7c3e4b9863069ad1bab86",
        "ECS_LEDGER_KEY": "3f953113ce2c00f0845234e535908baaf01fae8bf1df67fc03b289a5dd153c2e",
    }
    for name in sorted(LONG_RUNNING_APPS | {"migrate", "model"}):
        env = _environment(services[name])
        assert required <= set(env), f"{name} lacks {sorted(required - set(env))}"
        # With the secrets given, the real Settings accepts the service's environment.
        for key, value in env.items():
            monkeypatch.setenv(key, _interpolate(value, dummy))
        settings = Settings(_env_file=None)
        assert settings.env is Environment.PRODUCTION
        assert settings.database_url.startswith("postgresql")
        assert settings.temporal_address == "temporal:7233"


def test_app_commands_are_real_ecs_subcommands(services: dict[str, dict[str, Any]]) -> None:
    expected = {
        "migrate": "migrate",
        "api": "api",
        "worker": "worker",
        "stream": "stream",
        "model": "model-server",
    }
    for name, subcommand in expected.items():
        assert _parse_ecs(_command(services[name])) == subcommand, name
    api = build_parser().parse_args(_command(services["api"])[1:])
    assert api.host == "0.0.0.0" and api.port == 8000


def test_healthchecks_exist_where_others_wait_for_them(
    services: dict[str, dict[str, Any]],
) -> None:
    for name in ("postgres", "redis", "temporal", "api", "model"):
        check = services[name].get("healthcheck") or {}
        assert check.get("test") and not check.get("disable"), name
    for name, service in services.items():
        for dependency, spec in _depends_on(service).items():
            if spec.get("condition") == "service_healthy":
                check = services[dependency].get("healthcheck") or {}
                assert check.get("test") and not check.get("disable"), (name, dependency)


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    raw = service.get("depends_on") or {}
    if isinstance(raw, list):
        return {name: {"condition": "service_started"} for name in raw}
    return {str(k): dict(v or {}) for k, v in raw.items()}


def test_depends_on_is_consistent(services: dict[str, dict[str, Any]]) -> None:
    one_shots = {"migrate", "temporal-setup"}
    for name, service in services.items():
        for dependency, spec in _depends_on(service).items():
            assert dependency in services, f"{name} depends on undefined {dependency}"
            condition = spec.get("condition", "service_started")
            assert condition in {
                "service_started",
                "service_healthy",
                "service_completed_successfully",
            }, (name, condition)
            if dependency in one_shots:
                assert condition == "service_completed_successfully", (name, dependency)
    for name in one_shots:
        assert services[name].get("restart") == "no", f"{name} is a one-shot"
    # Migrations run before any process that touches the database.
    for name in LONG_RUNNING_APPS:
        assert "migrate" in _depends_on(services[name]), name
    assert "temporal-setup" in _depends_on(services["worker"])  # search attributes first
    _assert_acyclic(services)


def _assert_acyclic(services: dict[str, dict[str, Any]]) -> None:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in visiting, f"dependency cycle: {' -> '.join((*path, name))}"
        if name in done:
            return
        visiting.add(name)
        for dependency in _depends_on(services[name]):
            visit(dependency, (*path, name))
        visiting.discard(name)
        done.add(name)

    for name in services:
        visit(name, ())


def test_temporal_setup_registers_the_search_attributes(
    services: dict[str, dict[str, Any]],
) -> None:
    from ecs.temporal.search import ALL

    script = " ".join(_command(services["temporal-setup"]))
    assert "temporal operator search-attribute create" in script
    for key in ALL:
        assert key.name in script
    ui = _environment(services["temporal-ui"])
    assert ui["TEMPORAL_CODEC_ENDPOINT"].endswith("/codec")
    assert ui["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_redis_persists_with_aof(services: dict[str, dict[str, Any]]) -> None:
    assert "--appendonly yes" in " ".join(_command(services["redis"]))


def _dockerfile_instruction(name: str) -> list[str]:
    """The (continuation-joined) arguments of every ``name`` instruction in the Dockerfile."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [
        line.split(None, 1)[1].strip()
        for line in text.splitlines()
        if line.upper().startswith(name.upper() + " ")
    ]


def test_dockerfile_runs_a_real_subcommand_as_a_non_root_user() -> None:
    (cmd,) = _dockerfile_instruction("CMD")
    argv = json.loads(cmd)  # exec form, so signals reach the process
    entrypoint = _dockerfile_instruction("ENTRYPOINT")
    if entrypoint:
        argv = [*json.loads(entrypoint[-1]), *argv]
    assert _parse_ecs(argv) == "api"
    assert "--host" in argv and "0.0.0.0" in argv
    users = _dockerfile_instruction("USER")
    assert users and users[-1] not in ("root", "0")
    assert any("/healthz" in check for check in _dockerfile_instruction("HEALTHCHECK"))
    assert _dockerfile_instruction("FROM")[0].startswith("python:3.11-slim")
    installs = " ".join(_dockerfile_instruction("RUN"))
    assert "pip install" in installs and "[dev]" not in installs


def test_dockerignore_keeps_state_and_secrets_out_of_the_image() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".ecs", ".env"} <= ignored


ENV_LINE = re.compile(r"^#?\s*(ECS_[A-Z0-9_]+)=(.*)$")


def _env_example() -> tuple[dict[str, str], set[str]]:
    """Active ``ECS_X=value`` lines, and the names of commented-out ones (secrets)."""
    active: dict[str, str] = {}
    commented: set[str] = set()
    for raw in (ROOT / ".env.example").read_text().splitlines():
        match = ENV_LINE.match(raw.strip())
        if match is None:
            continue
        if raw.lstrip().startswith("#"):
            commented.add(match.group(1))
        else:
            active[match.group(1)] = match.group(2)
    return active, commented


def test_env_example_covers_every_setting() -> None:
    active, commented = _env_example()
    listed = set(active) | commented
    assert not SETTINGS_VARS - listed, (
        f"missing from .env.example: {sorted(SETTINGS_VARS - listed)}"
    )
    assert not listed - SETTINGS_VARS, f"not Settings fields: {sorted(listed - SETTINGS_VARS)}"
    assert commented >= SECRET_VARS, "secrets stay placeholders, never a value to copy"
    lines = (ROOT / ".env.example").read_text().splitlines()
    for index, line in enumerate(lines):
        match = ENV_LINE.match(line.strip())
        if match and match.group(1) in SETTINGS_VARS:
            before = [text for text in lines[max(0, index - 3) : index] if text.startswith("#")]
            assert before, f"{match.group(1)} needs a comment saying what it is"


def test_env_example_values_are_the_real_defaults() -> None:
    """Copying .env.example to .env must not change behaviour, and must parse."""
    from_file = Settings(_env_file=ROOT / ".env.example")
    defaults = Settings(_env_file=None)
    assert from_file.model_dump() == defaults.model_dump()

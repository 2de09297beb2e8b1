from __future__ import annotations

import pytest
from pydantic import ValidationError

from ecs.settings import DEV_JWT_SECRET, InsecureConfiguration, Settings

STRONG = {
    "ECS_JWT_SECRET": "c8bcd95ce3e59eedf3f45bdb988b88f96db7d25037f46e68ab9336d489b57b20",
    "ECS_PAYLOAD_KEY": "cHJvZHVjdGlvbi1rZXktMzItYnl0ZXMtbG9uZy4uLi4=",
    "ECS_INGEST_API_KEY": "0c1a5bde248a20b64842481a2f268f1dd3f7712cdb84ead42fff7593e9826f88",
    "ECS_CODEC_API_KEY": "Mti8nIExa4Mme0S8pVlgda55unERqZjzWZZCMj912Nk",
    "ECS_LEDGER_KEY": "b3919848efeb09d45e489e250a76882e3d4c316e0e119c8cc5633d50370eb742",
    "ECS_DATABASE_URL": "postgresql://ecs@db/ecs",
    "ECS_REDIS_URL": "redis://redis:6379/0",
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for key in list(os.environ):
        if key.startswith("ECS_"):
            monkeypatch.delenv(key)


def test_development_defaults_use_embedded_services() -> None:
    settings = Settings(_env_file=None)
    assert settings.effective_database_url.startswith("sqlite:///")
    assert settings.jwt_secret.get_secret_value() == DEV_JWT_SECRET
    assert settings.offer_ttl_seconds == 72 * 3600


def test_environment_variables_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_OFFER_TTL_SECONDS", "60")
    monkeypatch.setenv("ECS_DATABASE_URL", "postgresql://x@y/z")
    settings = Settings(_env_file=None)
    assert settings.offer_ttl_seconds == 60
    assert settings.effective_database_url == "postgresql://x@y/z"
    assert not settings.is_sqlite


def test_invalid_values_are_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_OFFER_TTL_SECONDS", "-5")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)


def test_production_refuses_default_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_ENV", "production")
    with pytest.raises(InsecureConfiguration) as info:
        Settings(_env_file=None)
    message = str(info.value)
    for name in ("ECS_JWT_SECRET", "ECS_PAYLOAD_KEY", "ECS_DATABASE_URL", "ECS_REDIS_URL"):
        assert name in message


@pytest.mark.parametrize("missing", sorted(STRONG))
def test_production_refuses_each_missing_secret(
    monkeypatch: pytest.MonkeyPatch, missing: str
) -> None:
    monkeypatch.setenv("ECS_ENV", "production")
    for key, value in STRONG.items():
        if key != missing:
            monkeypatch.setenv(key, value)
    with pytest.raises(InsecureConfiguration, match=missing):
        Settings(_env_file=None)


def test_production_starts_with_real_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_ENV", "production")
    for key, value in STRONG.items():
        monkeypatch.setenv(key, value)
    assert Settings(_env_file=None).env == "production"


def test_cli_exits_with_clear_message_in_insecure_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from ecs.cli import main
    from ecs.settings import get_settings

    monkeypatch.setenv("ECS_ENV", "production")
    get_settings.cache_clear()
    try:
        assert main(["migrate"]) == 2
    finally:
        get_settings.cache_clear()
    assert "refusing to start with ECS_ENV=production" in capsys.readouterr().err


def test_production_refuses_an_open_codec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_ENV", "production")
    for key, value in STRONG.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("ECS_CODEC_OPEN_ON_LOOPBACK", "true")
    with pytest.raises(InsecureConfiguration, match="ECS_CODEC_OPEN_ON_LOOPBACK"):
        Settings(_env_file=None)


@pytest.mark.parametrize(
    "name", ["ECS_JWT_SECRET", "ECS_INGEST_API_KEY", "ECS_CODEC_API_KEY", "ECS_LEDGER_KEY"]
)
@pytest.mark.parametrize(
    "weak", ["k", "abc", "a" * 64, "0123456789abcdef" * 2, "correct horse battery staple"]
)
def test_production_refuses_weak_keys(
    monkeypatch: pytest.MonkeyPatch, name: str, weak: str
) -> None:
    """A 1-character codec key or a 3-character ingest key used to be accepted."""
    monkeypatch.setenv("ECS_ENV", "production")
    for key, value in STRONG.items():
        monkeypatch.setenv(key, weak if key == name else value)
    with pytest.raises(InsecureConfiguration, match=f"{name} is too weak"):
        Settings(_env_file=None)


def test_production_accepts_32_random_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECS_ENV", "production")
    for key, value in STRONG.items():
        monkeypatch.setenv(key, value)
    assert Settings(_env_file=None).env == "production"

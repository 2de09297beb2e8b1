"""The documented SQL examples (docs/sql/*.sql) on SQLite and PostgreSQL, with real rows.

They run through ``ecs.sql_examples`` (what ``ecs sql`` runs), with ids passed as strings the
way the API prints them: on SQLite, which stores UUIDs as bare hex, a dashed id must still find
its rows, and ids in the results come back as UUIDs. The PostgreSQL case runs whenever
``ECS_TEST_POSTGRES_URL`` is set (CI always sets it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import Engine, insert

from ecs.db.engine import make_engine
from ecs.db.migrate import upgrade
from ecs.db.tables import CreditDecision, DecisionRecord, EmotionDaily, EmotionEvent, User
from ecs.sql_examples import SQL_DIR, available, for_dialect, run_example
from tests.support import fresh_postgres_database

NOW = datetime.now(UTC)


@contextmanager
def _database(kind: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{(tmp / 'sql-examples.db').as_posix()}"
        return
    server = os.environ.get("ECS_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("PostgreSQL case: set ECS_TEST_POSTGRES_URL (CI always does)")
    with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def pg(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Engine]:
    """A migrated, empty database of each kind (named ``pg`` for history: it is both)."""
    with _database(request.param, tmp_path_factory.mktemp("sql")) as url:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


def run(engine: Engine, name: str, **params: Any) -> list[Any]:
    """Run an example as ``ecs sql`` does: parameters as the strings a user would type."""
    raw = {k: v.isoformat() if isinstance(v, datetime) else str(v) for k, v in params.items()}
    result = run_example(engine, name.removesuffix(".sql"), raw, NOW)
    return [SimpleNamespace(**dict(zip(result.columns, row, strict=True))) for row in result.rows]


def add_user(engine: Engine, **extra: Any) -> uuid.UUID:
    uid = uuid.uuid4()
    row = {
        "id": uid,
        "email": f"{uid.hex}@sql.test",
        "password_hash": "x",
        "role": "customer",
        "consent_emotion_processing": True,
        "created_at": NOW,
    }
    row.update(extra)
    with engine.begin() as conn:
        conn.execute(insert(User.__table__), [row])  # type: ignore[attr-defined]
    return uid


def add_reading(engine: Engine, user_id: uuid.UUID, ago: timedelta, stress: float) -> uuid.UUID:
    event_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(EmotionEvent.__table__),  # type: ignore[attr-defined]
            [
                {
                    "event_id": event_id,
                    "user_id": user_id,
                    "occurred_at": NOW - ago,
                    "received_at": NOW,
                    "kind": "reading",
                    "positivity": 0.5,
                    "intensity": 0.5,
                    "stress": stress,
                    "context": None,
                }
            ],
        )
    return event_id


def add_decision(
    engine: Engine,
    user_id: uuid.UUID,
    records: list[tuple[str, str, float | None, timedelta]],
    requested_ago: timedelta = timedelta(hours=1),
    status: str = "DENIED",
) -> uuid.UUID:
    """``records``: (kind, outcome, risk_score, age) in sequence order."""
    decision_id = uuid.uuid4()
    with engine.begin() as conn:
        conn.execute(
            insert(CreditDecision.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": decision_id,
                    "user_id": user_id,
                    "workflow_id": f"credit-decision-{decision_id}",
                    "status": status,
                    "requested_at": NOW - requested_ago,
                    "updated_at": NOW,
                }
            ],
        )
        conn.execute(
            insert(DecisionRecord.__table__),  # type: ignore[attr-defined]
            [
                {
                    "decision_id": decision_id,
                    "user_id": user_id,
                    "kind": kind,
                    "sequence": seq,
                    "outcome": outcome,
                    "features": {},
                    "model_name": "scorecard",
                    "model_version": "1",
                    "risk_score": score,
                    "risk_band": None if score is None else ("E" if score > 0.6 else "B"),
                    "policy_version": "p1",
                    "credit_limit": 0,
                    "interest_rate": 0,
                    "reason_codes": [],
                    "created_at": NOW - age,
                }
                for seq, (kind, outcome, score, age) in enumerate(records)
            ],
        )
    return decision_id


def add_daily(engine: Engine, user_id: uuid.UUID, day: date, n: int, stress: float, d: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            insert(EmotionDaily.__table__),  # type: ignore[attr-defined]
            [
                {
                    "user_id": user_id,
                    "day": day,
                    "readings": n,
                    "positivity_sum": 0.5 * n,
                    "intensity_sum": 0.5 * n,
                    "stress_sum": stress * n,
                    "distress_count": d,
                    "updated_at": NOW,
                }
            ],
        )


def test_emotions_of_a_user_in_the_last_week(pg: Engine) -> None:
    ana, bob = add_user(pg), add_user(pg)
    recent = [add_reading(pg, ana, timedelta(hours=h), 0.1 * i) for i, h in enumerate((1, 30, 160))]
    add_reading(pg, ana, timedelta(days=8), 0.9)  # too old
    add_reading(pg, bob, timedelta(hours=2), 0.5)  # someone else
    rows = run(pg, "emotions_last_week.sql", user_id=ana)
    assert [r.event_id for r in rows] == recent  # newest first
    assert rows[1].stress == pytest.approx(0.1)


def test_high_risk_customers_use_the_latest_automated_record(pg: Engine) -> None:
    risky = add_user(pg)
    improved = add_user(pg)
    reviewed = add_user(pg)
    erased = add_user(pg, erased_at=NOW)
    day = timedelta(days=1)
    add_decision(pg, risky, [("AUTOMATED", "DENIED", 0.82, day)])
    # Was risky, the newer automated decision is not: must not be listed.
    add_decision(pg, improved, [("AUTOMATED", "DENIED", 0.9, 10 * day)])
    add_decision(pg, improved, [("AUTOMATED", "APPROVED", 0.3, day)])
    # An analyst review after the automated record does not change what the model said.
    add_decision(
        pg,
        reviewed,
        [("AUTOMATED", "REFERRED", 0.75, 2 * day), ("REVIEW", "APPROVED", None, day)],
    )
    add_decision(pg, erased, [("AUTOMATED", "DENIED", 0.95, day)])
    rows = run(pg, "high_risk_customers.sql", threshold=0.7)
    found = [(r.user_id, r.risk_score) for r in rows if r.user_id in {risky, improved, reviewed}]
    assert found == [(risky, pytest.approx(0.82)), (reviewed, pytest.approx(0.75))]
    assert erased not in {r.user_id for r in rows}
    assert {r.user_id for r in run(pg, "high_risk_customers.sql", threshold=0.8)} >= {risky}
    assert reviewed not in {r.user_id for r in run(pg, "high_risk_customers.sql", threshold=0.8)}


def test_stress_before_decisions_by_outcome(pg: Engine) -> None:
    since = NOW - timedelta(minutes=30)
    calm, tense, silent = add_user(pg), add_user(pg), add_user(pg)
    today = (NOW - timedelta(minutes=10)).date()  # the day of the requests
    add_daily(pg, calm, today - timedelta(days=1), 10, 0.2, 0)
    add_daily(pg, calm, today - timedelta(days=20), 10, 0.9, 9)  # outside the week: ignored
    add_daily(pg, tense, today, 4, 0.9, 3)
    add_daily(pg, tense, today - timedelta(days=2), 4, 0.7, 1)
    add_decision(pg, calm, [("AUTOMATED", "APPROVED", 0.2, timedelta(minutes=5))],
                 requested_ago=timedelta(minutes=10))  # fmt: skip
    add_decision(pg, tense, [("AUTOMATED", "DENIED", 0.8, timedelta(minutes=5))],
                 requested_ago=timedelta(minutes=10))  # fmt: skip
    add_decision(pg, silent, [("AUTOMATED", "DENIED", 0.7, timedelta(minutes=5))],
                 requested_ago=timedelta(minutes=10))  # fmt: skip
    rows = {r.outcome: r for r in run(pg, "stress_before_decisions.sql", since=since)}
    assert set(rows) == {"APPROVED", "DENIED"}
    approved, denied = rows["APPROVED"], rows["DENIED"]
    assert approved.decisions == 1 and float(approved.avg_daily_stress) == pytest.approx(0.2)
    assert float(approved.avg_distress_readings) == 0
    assert denied.decisions == 2 and denied.decisions_without_emotion_data == 1
    assert float(denied.avg_daily_stress) == pytest.approx(0.8)  # (4*0.9 + 4*0.7) / 8
    assert float(denied.avg_distress_readings) == pytest.approx(2.0)  # (4 + 0) / 2


def test_every_example_declares_its_parameters_and_runs_with_defaults(pg: Engine) -> None:
    assert set(available()) == {p.stem for p in SQL_DIR.glob("*.sql")} and available()
    for name in available():
        if name == "emotions_last_week":
            run(pg, name, user_id=uuid.uuid4())  # the one parameter without a default
        else:
            run(pg, name)


def test_rewrite_rules_apply_to_their_database_only_and_cannot_rot() -> None:
    sql = "-- on sqlite: now() => CURRENT_TIMESTAMP\nSELECT now()"
    assert for_dialect(sql, "sqlite").strip() == "SELECT CURRENT_TIMESTAMP"
    assert for_dialect(sql, "postgresql").strip() == "SELECT now()"
    with pytest.raises(ValueError, match="is not in the query"):
        for_dialect("-- on sqlite: now() => CURRENT_TIMESTAMP\nSELECT 1", "sqlite")

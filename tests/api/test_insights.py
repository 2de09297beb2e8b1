"""Analyst insights and the dashboard.

Two halves: the pure computations (PSI, histogram, percentiles, takeaways, fairness) tested
without I/O, and the three endpoints over real HTTP against the real database, with hand-built
rows. Those rows carry a model/policy version unique to the test (the endpoints filter on it) or
live on a day no other test writes, and are deleted afterwards, so the assertions are exact even
when other suites share the database.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, delete
from sqlmodel import Session, col

from ecs.contracts import workflow_id_for
from ecs.db.tables import CreditDecision, DecisionRecord, EmotionDaily, User
from ecs.domain.emotions import CoolingOff
from ecs.domain.status import DecisionStatus, RecordKind
from ecs.insights.anonymity import k_anonymous
from ecs.insights.credit import histogram
from ecs.insights.drift import psi, psi_from_scores, psi_reading
from ecs.insights.fairness import FairnessRow, fairness_report, had_recent_distress
from ecs.insights.trends import DayAggregate, emotion_takeaways
from ecs.stats import weighted_percentile
from tests.api.conftest import Account, assert_problem

RULE = CoolingOff()  # the default cooling-off rule: distress at stress 0.8

ENDPOINTS = ("/v1/insights/emotions", "/v1/insights/credit", "/v1/insights/model")


# --- pure computations -------------------------------------------------------------------------


def test_psi_of_identical_distributions_is_zero() -> None:
    counts = [5, 10, 20, 30, 20, 10, 3, 1, 1, 0]
    assert psi(counts, counts) == pytest.approx(0.0)
    assert psi(counts, [c * 7 for c in counts]) == pytest.approx(0.0)  # shares, not counts
    scores = [i / 100 for i in range(100)]
    assert psi_from_scores(scores, scores) == pytest.approx(0.0)


def test_psi_of_a_shifted_distribution_is_significant() -> None:
    rng = random.Random(7)
    reference = [min(max(rng.gauss(0.15, 0.05), 0.0), 1.0) for _ in range(2000)]
    shifted = [min(s + 0.15, 1.0) for s in reference]
    value = psi_from_scores(reference, shifted)
    assert value > 0.25
    assert psi_reading(value) == "significant shift"
    # symmetric, and a small wobble stays stable
    assert psi_from_scores(shifted, reference) == pytest.approx(value)
    resample = [min(max(rng.gauss(0.15, 0.05), 0.0), 1.0) for _ in range(2000)]
    assert psi_from_scores(reference, resample) < 0.1


def test_psi_handles_empty_bins_and_rejects_empty_samples() -> None:
    value = psi([10, 0, 0], [0, 0, 10])
    assert 0 < value < float("inf")
    with pytest.raises(ValueError):
        psi([0, 0], [1, 1])
    with pytest.raises(ValueError):
        psi([1, 1], [1, 1, 1])


@pytest.mark.parametrize(
    ("value", "reading"),
    [
        (None, "insufficient data"),
        (0.0, "stable"),
        (0.0999, "stable"),
        (0.1, "moderate shift"),
        (0.25, "moderate shift"),
        (0.2501, "significant shift"),
    ],
)
def test_psi_reading_uses_the_conventional_thresholds(value: float | None, reading: str) -> None:
    assert psi_reading(value) == reading


def test_histogram_buckets_are_lower_inclusive_with_an_open_last_bucket() -> None:
    edges = [Decimal(0), Decimal(100), Decimal(500)]
    buckets = histogram(
        [(Decimal(0), 1), (Decimal("99.99"), 2), (Decimal(100), 3), (Decimal(9000), 4)], edges
    )
    assert [(b.lower, b.upper, b.count) for b in buckets] == [
        (Decimal(0), Decimal(100), 3),
        (Decimal(100), Decimal(500), 3),
        (Decimal(500), None, 4),
    ]


def test_percentile_is_nearest_rank_over_weighted_values() -> None:
    values = [(0.3, 1), (0.1, 1), (0.2, 2)]  # sample 0.1, 0.2, 0.2, 0.3
    assert weighted_percentile(values, 0.5) == 0.2
    assert weighted_percentile(values, 0.9) == 0.3
    assert weighted_percentile(values, 0.25) == 0.1
    with pytest.raises(ValueError):
        weighted_percentile([], 0.5)


def _day(day: date, users: int, readings: int, stress: float, distress: int = 0) -> DayAggregate:
    return DayAggregate(day, users, readings, 0.5 * readings, 0.4 * readings, stress, distress)


def test_k_anonymity_drops_days_with_fewer_than_k_users() -> None:
    days = [_day(date(2026, 1, 1), 4, 40, 10.0), _day(date(2026, 1, 2), 5, 50, 10.0)]
    assert [d.day for d in k_anonymous(days)] == [date(2026, 1, 2)]


def test_takeaways_week_over_week_weekday_and_distress_share() -> None:
    last = date(2026, 3, 15)  # a Sunday
    days = [
        # previous week: average stress 0.2 on every day
        *(_day(last - timedelta(days=13 - i), 10, 10, 2.0) for i in range(7)),
        # this week: 0.3, except the Wednesday at 0.9 (weighted by readings)
        *(_day(last - timedelta(days=6 - i), 10, 10, 3.0) for i in range(7) if i != 3),
        _day(date(2026, 3, 12), 10, 10, 9.0),
    ]
    t = emotion_takeaways(days, last, active_users_7d=40, distressed_users_7d=10)
    assert t.avg_stress_prev_7d == pytest.approx(0.2)
    assert t.avg_stress_last_7d == pytest.approx((6 * 3.0 + 9.0) / 70, abs=1e-4)
    assert t.stress_change_wow == pytest.approx(((27 / 70) - 0.2) / 0.2, abs=1e-4)
    assert t.most_stressful_weekday == "Thursday"  # 2026-03-12
    assert t.distress_user_share_7d == 0.25
    assert any("rose" in s for s in t.summary)
    assert any("25% of 40 active users" in s for s in t.summary)


def test_takeaways_without_data_say_so() -> None:
    t = emotion_takeaways([], date(2026, 3, 15), None, None)
    assert t.avg_stress_last_7d is None and t.distress_user_share_7d is None
    assert t.summary and "Not enough data" in t.summary[0]


def test_distress_split_reads_the_feature_snapshot() -> None:
    assert had_recent_distress({"stress_events_30d": 1, "latest_stress": 0.1}, RULE)
    assert had_recent_distress({"stress_events_30d": 0, "latest_stress": 0.8}, RULE)
    assert not had_recent_distress({"stress_events_30d": 0, "latest_stress": 0.79}, RULE)
    assert not had_recent_distress({"stress_events_30d": 0, "latest_stress": None}, RULE)
    assert not had_recent_distress({}, RULE)


def test_fairness_flags_a_rate_gap_within_a_band_only() -> None:
    rate_a, rate_b = Decimal("0.1290"), Decimal("0.1890")
    fair = [
        FairnessRow(True, True, "A", Decimal(1000), rate_a),
        FairnessRow(False, True, "A", Decimal(2000), rate_a),
        FairnessRow(True, True, "B", Decimal(500), rate_b),
        FairnessRow(False, False, "B", Decimal(0), Decimal(0)),
        FairnessRow(False, True, "B", Decimal(900), rate_b),
    ]
    report = fairness_report(fair, RULE)
    assert not report.violation
    distress, calm = report.groups
    assert (distress.decisions, distress.approved, distress.approval_rate) == (2, 2, 1.0)
    assert (calm.decisions, calm.approved) == (3, 2)
    assert calm.approval_rate == pytest.approx(0.6667)
    assert distress.avg_limit == Decimal(750) and calm.avg_limit == Decimal(1450)

    unfair = fairness_report(
        [*fair, FairnessRow(True, True, "A", Decimal(1000), Decimal("0.1490"))], RULE
    )
    assert unfair.violation
    band_a = next(c for c in unfair.rate_by_band if c.band == "A")
    assert band_a.violation and band_a.difference == Decimal("0.01")
    assert not next(c for c in unfair.rate_by_band if c.band == "B").violation


# --- fixtures writing rows through the ORM ------------------------------------------------------


@dataclass
class Rows:
    """Everything a test inserted, deleted afterwards in foreign-key order."""

    engine: Engine
    users: list[uuid.UUID] = field(default_factory=list)
    decisions: list[uuid.UUID] = field(default_factory=list)

    def user(self, *, consent: bool = True) -> uuid.UUID:
        with Session(self.engine) as session:
            user = User(
                email=f"insights-{uuid.uuid4().hex[:12]}@example.com",
                password_hash="not-used",
                consent_emotion_processing=consent,
            )
            session.add(user)
            session.commit()
            self.users.append(user.id)
            return user.id

    def emotion_day(
        self, user_id: uuid.UUID, day: date, stresses: list[float], distress: int = 0
    ) -> None:
        with Session(self.engine) as session:
            session.add(
                EmotionDaily(
                    user_id=user_id,
                    day=day,
                    readings=len(stresses),
                    positivity_sum=0.5 * len(stresses),
                    intensity_sum=0.4 * len(stresses),
                    stress_sum=sum(stresses),
                    distress_count=distress,
                )
            )
            session.commit()

    def decision(
        self,
        user_id: uuid.UUID,
        *,
        outcome: str,
        model_version: str,
        policy_version: str,
        band: str | None = None,
        limit: str = "0",
        rate: str = "0",
        score: float | None = None,
        reasons: tuple[str, ...] = (),
        features: dict[str, Any] | None = None,
        ago: timedelta = timedelta(hours=1),
        status: DecisionStatus = DecisionStatus.DENIED,
        review: bool = False,
    ) -> uuid.UUID:
        """A header and its AUTOMATED record (plus an analyst REVIEW record if asked)."""
        decision_id = uuid.uuid4()
        created = datetime.now(UTC) - ago
        with Session(self.engine) as session:
            session.add(
                CreditDecision(
                    id=decision_id,
                    user_id=user_id,
                    workflow_id=workflow_id_for(str(decision_id)),
                    status=status,
                    requested_at=created,
                )
            )
            session.flush()
            common: dict[str, Any] = {
                "decision_id": decision_id,
                "user_id": user_id,
                "features": features or {},
                "model_version": model_version,
                "policy_version": policy_version,
                "created_at": created,
            }
            session.add(
                DecisionRecord(
                    **common,
                    kind=RecordKind.AUTOMATED,
                    outcome=outcome,
                    risk_score=score,
                    risk_band=band,
                    credit_limit=Decimal(limit),
                    interest_rate=Decimal(rate),
                    reason_codes=list(reasons),
                )
            )
            if review:  # an analyst's later approval: must not count as the model's outcome
                session.add(
                    DecisionRecord(
                        **{**common, "created_at": created + timedelta(minutes=5)},
                        kind=RecordKind.REVIEW,
                        sequence=1,
                        outcome="APPROVED",
                        risk_band=band,
                        credit_limit=Decimal("99999"),
                        interest_rate=Decimal("0.5000"),
                        reason_codes=["MANUAL_REVIEW"],
                    )
                )
            session.commit()
        self.decisions.append(decision_id)
        return decision_id

    def cleanup(self) -> None:
        with Session(self.engine) as session:
            session.execute(
                delete(DecisionRecord).where(col(DecisionRecord.decision_id).in_(self.decisions))
            )
            session.execute(
                delete(CreditDecision).where(col(CreditDecision.id).in_(self.decisions))
            )
            session.execute(delete(EmotionDaily).where(col(EmotionDaily.user_id).in_(self.users)))
            session.execute(delete(User).where(col(User.id).in_(self.users)))
            session.commit()


@pytest.fixture
def rows(engine: Engine) -> Iterator[Rows]:
    created = Rows(engine)
    yield created
    created.cleanup()


@pytest.fixture
def versions() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:10]
    return f"model-test-{tag}", f"policy-test-{tag}"


def _get(api_url: str, path: str, account: Account, **params: Any) -> dict[str, Any]:
    response = httpx.get(f"{api_url}{path}", params=params, headers=account.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
def test_insights_are_for_analysts_only(
    api_url: str, customer: Account, analyst: Account, path: str
) -> None:
    assert_problem(httpx.get(f"{api_url}{path}"), 401)
    assert_problem(httpx.get(f"{api_url}{path}", headers=customer.headers), 403)
    assert httpx.get(f"{api_url}{path}", headers=analyst.headers).status_code == 200
    assert_problem(httpx.get(f"{api_url}{path}?days=0", headers=analyst.headers), 422)


# --- emotions ------------------------------------------------------------------------------------


def test_emotion_trend_is_k_anonymous_and_consent_aware(
    api_url: str, analyst: Account, rows: Rows
) -> None:
    """Five consenting users on one day are shown (the non-consenting one is not counted);
    four users on the day before are suppressed. A day ~300 days ago is one no other test
    writes, so the day's figures are exact."""
    today = datetime.now(UTC).date()
    shown = today - timedelta(days=random.randint(250, 350))
    hidden = shown - timedelta(days=1)
    before = _get(api_url, "/v1/insights/emotions", analyst, days=365)
    assert str(shown) not in {d["day"] for d in before["days"]}

    for i in range(5):
        rows.emotion_day(rows.user(), shown, [0.2, 0.4 + 0.1 * i], distress=1 if i == 0 else 0)
    rows.emotion_day(rows.user(consent=False), shown, [1.0, 1.0, 1.0], distress=3)
    for _ in range(4):
        rows.emotion_day(rows.user(), hidden, [0.9])

    after = _get(api_url, "/v1/insights/emotions", analyst, days=365)
    by_day = {d["day"]: d for d in after["days"]}
    assert str(hidden) not in by_day
    assert after["suppressed_days"] >= before["suppressed_days"] + 1
    assert after["k_anonymity"] == 5
    point = by_day[str(shown)]
    assert point["users"] == 5 and point["readings"] == 10
    stress = (5 * 0.2 + sum(0.4 + 0.1 * i for i in range(5))) / 10
    assert point["avg_stress"] == pytest.approx(stress, abs=1e-4)
    assert point["avg_positivity"] == pytest.approx(0.5)
    assert point["avg_intensity"] == pytest.approx(0.4)
    assert point["distress_readings"] == 1
    assert after["takeaways"]["summary"]
    # aggregates only: nothing that identifies a user is in the body
    assert not any(str(u) in str(after) for u in rows.users)


# --- credit --------------------------------------------------------------------------------------


def test_credit_insights_match_a_hand_built_dataset(
    api_url: str, analyst: Account, rows: Rows, versions: tuple[str, str]
) -> None:
    model, policy = versions
    user = rows.user()
    v: dict[str, Any] = {"model_version": model, "policy_version": policy}
    a: dict[str, Any] = {"band": "A", "rate": "0.1290", "outcome": "APPROVED", "score": 0.03}
    rows.decision(user, **v, **a, limit="1000.00", reasons=("LOW_RISK_SCORE",))
    rows.decision(user, **v, **a, limit="1500.00", reasons=("LOW_RISK_SCORE", "STRONG_CASH_FLOW"))
    rows.decision(user, **v, **a, limit="7500.00", reasons=("STRONG_CASH_FLOW",))
    rows.decision(user, **v, outcome="APPROVED", band="B", limit="600.00", rate="0.1890")
    rows.decision(user, **v, outcome="DENIED", band="B", reasons=("INSUFFICIENT_CAPACITY",))
    rows.decision(user, **v, outcome="DENIED", reasons=("ACCOUNT_TOO_NEW",))
    rows.decision(user, **v, outcome="DENIED", reasons=("ACCOUNT_TOO_NEW", "NO_RECENT_INFLOW"))
    # the model said REFERRED; the analyst's later approval is not the model's outcome
    rows.decision(
        rows.user(), **v, outcome="REFERRED", reasons=("MODEL_UNAVAILABLE",),
        status=DecisionStatus.REFERRED, review=True,
    )  # fmt: skip
    # outside the 30-day window
    rows.decision(user, **v, **a, limit="20000.00", ago=timedelta(days=40))

    body = _get(api_url, "/v1/insights/credit", analyst, days=30, **v)
    assert body["decisions"] == 8
    assert body["by_outcome"] == {"APPROVED": 4, "DENIED": 3, "REFERRED": 1}
    assert body["approval_rate"] == 0.5
    assert body["unbanded"] == 3
    assert body["bands"] == [
        {"band": "A", "decisions": 3, "approved": 3, "approval_rate": 1.0,
         "avg_interest_rate": "0.1290"},
        {"band": "B", "decisions": 2, "approved": 1, "approval_rate": 0.5,
         "avg_interest_rate": "0.1890"},
    ]  # fmt: skip
    assert body["approved_limits"] == 4
    assert body["avg_approved_limit"] == "2650.00"
    histogram_counts = {b["lower"]: b["count"] for b in body["limit_histogram"]}
    assert histogram_counts == {
        "0.00": 0, "500.00": 1, "1000.00": 2, "2500.00": 0, "5000.00": 0,
        "7500.00": 1, "10000.00": 0, "15000.00": 0, "20000.00": 0,
    }  # fmt: skip
    assert body["limit_histogram"][-1]["upper"] is None
    assert body["reason_codes"][:2] == [
        {"code": "ACCOUNT_TOO_NEW", "count": 2, "share": 0.25},
        {"code": "LOW_RISK_SCORE", "count": 2, "share": 0.25},
    ]
    assert {r["code"] for r in body["reason_codes"]} == {
        "ACCOUNT_TOO_NEW", "LOW_RISK_SCORE", "STRONG_CASH_FLOW", "INSUFFICIENT_CAPACITY",
        "NO_RECENT_INFLOW", "MODEL_UNAVAILABLE",
    }  # fmt: skip
    assert body["referred_backlog"] >= 1
    assert body["oldest_referred_at"] is not None

    # a wider window reaches the old decision
    wide = _get(api_url, "/v1/insights/credit", analyst, days=60, **v)
    assert wide["decisions"] == 9 and wide["by_outcome"]["APPROVED"] == 5


# --- model: drift and fairness --------------------------------------------------------------------


def test_score_drift_and_psi_match_the_fixture(
    api_url: str, analyst: Account, rows: Rows, versions: tuple[str, str]
) -> None:
    model, policy = versions
    user = rows.user()
    v: dict[str, Any] = {"model_version": model, "policy_version": policy}
    reference = [0.05 + 0.001 * i for i in range(30)]  # 0.050 .. 0.079, three weeks ago
    recent = [0.30 + 0.003 * i for i in range(30)]  # 0.300 .. 0.387, yesterday
    for s in reference:
        rows.decision(user, **v, outcome="APPROVED", score=s, ago=timedelta(days=20))
    for s in recent:
        rows.decision(user, **v, outcome="DENIED", score=s, ago=timedelta(days=1))

    body = _get(api_url, "/v1/insights/model", analyst, days=90, **v)
    assert body["psi"]["recent_count"] == 30 and body["psi"]["reference_count"] == 30
    assert body["psi"]["value"] == pytest.approx(psi_from_scores(reference, recent), abs=1e-4)
    assert body["psi"]["value"] > 0.25
    assert body["psi"]["reading"] == "significant shift"
    assert body["psi"]["recent_shares"][3] == 1.0 and body["psi"]["reference_shares"][0] == 1.0

    assert [w["decisions"] for w in body["drift"]] == [30, 30]  # oldest week first
    older, latest = body["drift"]
    assert latest["model_version"] == model
    assert latest["p50"] == pytest.approx(0.342) and latest["p90"] == pytest.approx(0.378)
    assert latest["mean"] == pytest.approx(0.3435, abs=1e-4)
    assert older["p50"] == pytest.approx(0.064) and older["p90"] == pytest.approx(0.076)
    assert datetime.fromisoformat(older["week_end"]) <= datetime.fromisoformat(latest["week_start"])

    # too few scores in the reference window: no verdict rather than a noisy one
    body = _get(api_url, "/v1/insights/model", analyst, days=14, **v)
    assert body["psi"]["value"] is None and body["psi"]["reading"] == "insufficient data"


def test_fairness_monitor_flags_a_rate_that_depends_on_distress(
    api_url: str, analyst: Account, rows: Rows, versions: tuple[str, str]
) -> None:
    model, policy = versions
    user = rows.user()
    v: dict[str, Any] = {"model_version": model, "policy_version": policy}
    stressed = {"stress_events_30d": 2, "latest_stress": 0.3}
    acute = {"stress_events_30d": 0, "latest_stress": 0.9}
    calm = {"stress_events_30d": 0, "latest_stress": 0.1}
    a: dict[str, Any] = {"band": "A", "rate": "0.1290", "outcome": "APPROVED", "score": 0.03}
    rows.decision(user, **v, **a, limit="1000.00", features=stressed)
    rows.decision(user, **v, outcome="DENIED", band="E", score=0.5, features=acute)
    rows.decision(user, **v, **a, limit="2000.00", features=calm)
    rows.decision(user, **v, **a, limit="3000.00", features=calm)

    body = _get(api_url, "/v1/insights/model", analyst, **v)["fairness"]
    assert body["violation"] is False
    assert body["groups"] == [
        {"group": "distress", "decisions": 2, "approved": 1, "approval_rate": 0.5,
         "avg_limit": "1000.00"},
        {"group": "no_distress", "decisions": 2, "approved": 2, "approval_rate": 1.0,
         "avg_limit": "2500.00"},
    ]  # fmt: skip
    assert body["rate_by_band"] == [
        {"band": "A", "avg_rate_distress": "0.1290", "avg_rate_no_distress": "0.1290",
         "difference": "0.0000", "violation": False},
    ]  # fmt: skip

    # a decision that priced distress: same band, higher rate
    rows.decision(user, **v, **{**a, "rate": "0.1590"}, limit="1000.00", features=stressed)
    body = _get(api_url, "/v1/insights/model", analyst, **v)["fairness"]
    assert body["violation"] is True
    (band_a,) = body["rate_by_band"]
    assert band_a["violation"] is True
    assert band_a["avg_rate_distress"] == "0.1440" and band_a["difference"] == "0.0150"


# --- dashboard ------------------------------------------------------------------------------------

_URL_ATTR = re.compile(r"""\b(?:src|href|action)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)


def test_dashboard_is_self_contained(api_url: str) -> None:
    page = httpx.get(f"{api_url}/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    urls = _URL_ATTR.findall(page.text)
    assert urls, "the page links its script and stylesheet"
    for url in urls:
        assert not re.match(r"^(?:[a-z]+:)?//", url, re.IGNORECASE), url
        asset = httpx.get(f"{api_url}{url}")
        assert asset.status_code == 200, url
        # the only absolute URL a browser may see is the SVG namespace, which is never fetched
        external = set(re.findall(r"https?://[^\s\"'`)]+", asset.text)) - {
            "http://www.w3.org/2000/svg"
        }
        assert not external, external
    assert "http://" not in page.text and "https://" not in page.text

"""The policy applies the configured cooling-off rule, not the type's defaults.

The rule used to be read from ``CoolingOffThresholds()`` inside the policy, so an operator who
raised ``ECS_COOLING_OFF_DISTRESS_STRESS`` changed when decisions paused but not when limits were
lowered. These tests pin the one path: environment → ``Settings`` → ``CoolingOff`` → policy.
"""

from __future__ import annotations

import pytest

from ecs.contracts import CoolingOffConfig
from ecs.domain.emotions import CoolingOff, CoolingOffThresholds
from ecs.domain.policy import decide
from ecs.domain.reasons import ReasonCode
from ecs.risk.model import RiskScore
from ecs.settings import Settings
from tests.unit.applicants import make_features

STRESSED = make_features(latest_stress=0.85, latest_intensity=0.7)
SCORE = RiskScore(score=0.10, model_name="t", model_version="t", contributions={})


def _rule_from_env(monkeypatch: pytest.MonkeyPatch, **env: str) -> CoolingOff:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return CoolingOff.from_settings(Settings(_env_file=None))


def test_defaults_match_the_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _rule_from_env(monkeypatch) == CoolingOff()


def test_changing_ecs_cooling_off_changes_the_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    default = decide(STRESSED, SCORE, _rule_from_env(monkeypatch))
    assert ReasonCode.ELEVATED_STRESS in default.reason_codes and default.emotional_caution < 1

    relaxed = _rule_from_env(monkeypatch, ECS_COOLING_OFF_DISTRESS_STRESS="0.9")
    assert relaxed.distress_stress == 0.9
    configured = decide(STRESSED, SCORE, relaxed)
    assert ReasonCode.ELEVATED_STRESS not in configured.reason_codes
    assert configured.emotional_caution == 1.0
    assert configured.credit_limit > default.credit_limit


def test_every_name_is_the_one_type() -> None:
    """Workflow input, policy and stream consumer share one type, so they cannot drift."""
    assert CoolingOffConfig is CoolingOff and CoolingOffThresholds is CoolingOff

"""The combination policy: auto only when the rules are clear and the model agrees above its threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from automations.understanding import Understanding, get_understander
from automations.understanding.headers import auto_reply_header, understand_message
from automations.understanding.policy import (
    FLOOR,
    UNCALIBRATED,
    Observation,
    RulesAndModelUnderstander,
    Thresholds,
    calibrate,
    calibrate_auto,
    combine,
)
from automations.understanding.rules import RulesUnderstander


def reading(intent: str, decision: str, scores: dict[str, float] | None = None) -> Understanding:
    return Understanding(intent, 0.95, ("jdupont",), (), ("rule",), decision=decision, scores=scores or {})


THRESHOLDS = Thresholds({"unlock": 0.6})


@pytest.mark.parametrize(
    ("rules_decision", "model_scores", "expected"),
    [
        ("auto", None, "auto"),  # no model configured: the rules decide
        ("auto", {"unlock": 0.9, "other": 0.1}, "auto"),
        ("auto", {"unlock": 0.6, "other": 0.4}, "auto"),  # exactly at the threshold
        ("auto", {"unlock": 0.5, "other": 0.5}, "human"),
        ("auto", {"other": 1.0}, "human"),
        ("human", {"unlock": 1.0}, "human"),  # the model never promotes a doubtful text
        ("ignore", {"unlock": 1.0}, "ignore"),
    ],
)
def test_combine(rules_decision: str, model_scores: dict[str, float] | None, expected: str) -> None:
    model = (
        None
        if model_scores is None
        else reading(max(model_scores, key=model_scores.__getitem__), "human", model_scores)
    )
    result = combine(reading("unlock", rules_decision), model, THRESHOLDS)
    assert result.decision == expected
    assert result.intent == "unlock"
    assert any("policy" in r or "model" in r for r in result.reasons)


def test_uncalibrated_intent_is_strict() -> None:
    model = reading("reset_password", "human", {"reset_password": UNCALIBRATED - 0.01})
    assert combine(reading("reset_password", "auto"), model, THRESHOLDS).decision == "human"


def observation(gold: str, decision: str, p_unlock: float) -> Observation:
    return Observation(gold, decision, reading("unlock", "auto"), {"unlock": p_unlock})


def test_calibration_finds_the_lowest_threshold_meeting_the_precision() -> None:
    observations = [
        observation("unlock", "auto", 0.95),
        observation("unlock", "auto", 0.9),
        observation("other", "human", 0.7),  # a wrong auto the threshold must exclude
        observation("unlock", "auto", 0.8),
    ]
    thresholds = calibrate(observations, target=0.995)
    assert thresholds.of("unlock") == 0.8
    assert thresholds.of("reset_password") == UNCALIBRATED


def test_calibration_never_goes_below_the_floor() -> None:
    thresholds = calibrate([observation("unlock", "auto", 0.05)], target=0.995)
    assert thresholds.of("unlock") == FLOOR


def test_thresholds_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    Thresholds({"unlock": 0.42}).save(path, source="train.jsonl")
    assert Thresholds.load(path).by_intent == {"unlock": 0.42}
    assert Thresholds.load(tmp_path / "missing.json").of("unlock") == UNCALIBRATED


class FixedModel:
    name = "fixed"

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores

    def understand(self, subject: str, body: str, *, sender: str | None = None) -> Understanding:
        return reading(max(self.scores, key=self.scores.__getitem__), "human", self.scores)


def test_rules_and_model_backend() -> None:
    backend = RulesAndModelUnderstander(RulesUnderstander(), FixedModel({"unlock": 0.97}), THRESHOLDS)
    agreed = backend.understand("compte bloqué", "Merci de débloquer le compte jdupont")
    assert (agreed.intent, agreed.decision, agreed.scores["unlock"]) == ("unlock", "auto", 0.97)
    doubtful = RulesAndModelUnderstander(RulesUnderstander(), FixedModel({"other": 0.9, "unlock": 0.1}), THRESHOLDS)
    assert doubtful.understand("compte bloqué", "Merci de débloquer le compte jdupont").decision == "human"


def test_rules_plus_model_is_registered() -> None:
    assert get_understander("rules+model").name == "rules+model"


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted"),
        ({"auto-submitted": "no"}, None),
        ({"X-Autoreply": "yes"}, "x-autoreply"),
        ({"Precedence": "auto_reply"}, "Precedence"),
        ({"Precedence": "bulk"}, None),
        ({}, None),
    ],
)
def test_auto_reply_headers(headers: dict[str, str], expected: str | None) -> None:
    assert auto_reply_header(headers) == expected


def test_headers_overrule_the_text() -> None:
    result = understand_message(
        RulesUnderstander(), "compte bloqué", "Merci de débloquer jdupont", headers={"Auto-Submitted": "auto-replied"}
    )
    assert (result.intent, result.decision) == ("auto_reply", "ignore")


# --- the decision head: a second key learnt from the corpus's "human" requests ---------------------------


def head(p_auto: float) -> Understanding:
    return Understanding("unlock", 0.9, (), (), ("model",), scores={"unlock": 0.9}, auto_probability=p_auto)


def test_the_decision_head_vetoes_below_its_threshold() -> None:
    thresholds = Thresholds({"unlock": 0.6}, auto=0.4)
    assert combine(reading("unlock", "auto"), head(0.39), thresholds).decision == "human"
    assert combine(reading("unlock", "auto"), head(0.4), thresholds).decision == "auto"
    # No head threshold (or a model without a head): only the intent agreement counts.
    assert combine(reading("unlock", "auto"), head(0.01), Thresholds({"unlock": 0.6})).decision == "auto"


def test_the_head_threshold_keeps_the_asked_coverage() -> None:
    def seen(gold_decision: str, rules_decision: str, p_auto: float) -> Observation:
        return Observation("unlock", gold_decision, reading("unlock", rules_decision), {}, p_auto)

    observations = [
        seen("auto", "auto", 0.9),
        seen("auto", "auto", 0.7),
        seen("auto", "auto", 0.5),
        seen("auto", "auto", 0.2),
        seen("auto", "human", 0.95),  # missed by the rules: the head cannot bring it back
        seen("human", "auto", 0.6),  # a wrong auto of the rules: does not count as coverage
    ]
    assert calibrate_auto(observations, coverage=0.6) == 0.5  # 3 of the 5 gold "auto" must stay
    assert calibrate_auto(observations, coverage=0.9) is None  # the rules alone keep only 4 of 5


def test_thresholds_keep_the_head_threshold(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    Thresholds({"unlock": 0.42}, auto=0.31).save(path)
    assert Thresholds.load(path).auto == 0.31


def test_the_model_must_read_the_same_intent_when_asked() -> None:
    # p(unlock) clears its threshold, but the model's top reading is a reset: a lock/password mix-up is possible.
    model = reading("unlock_and_reset", "human", {"unlock_and_reset": 0.5, "unlock": 0.45, "other": 0.05})
    lenient = Thresholds({"unlock": 0.3})
    strict = Thresholds({"unlock": 0.3}, agree=True)
    assert combine(reading("unlock", "auto"), model, lenient).decision == "auto"
    result = combine(reading("unlock", "auto"), model, strict)
    assert result.decision == "human"
    assert any("the model reads unlock_and_reset" in r for r in result.reasons)
    agreeing = reading("unlock", "human", {"unlock": 0.7, "unlock_and_reset": 0.3})
    assert combine(reading("unlock", "auto"), agreeing, strict).decision == "auto"


def test_thresholds_keep_the_agreement_rule(tmp_path: Path) -> None:
    path = tmp_path / "thresholds.json"
    Thresholds({"unlock": 0.42}, auto=0.31, agree=True).save(path)
    assert Thresholds.load(path).agree is True
    Thresholds({"unlock": 0.42}).save(path)
    assert Thresholds.load(path).agree is False

"""Collective incidents (tender §7.3.3.2.3): bursts of similar requests grouped, on real Redis."""

from __future__ import annotations

import uuid

import pytest
import redis

from automations.trust.collective import CollectiveDetector, CollectiveVerdict

T0 = 1_750_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def detector(redis_client: redis.Redis, clock: Clock) -> CollectiveDetector:
    return CollectiveDetector(redis_client, threshold=3, window_seconds=600, prefix=f"test-{uuid.uuid4().hex}:",
                              clock=clock)


def test_burst_from_one_partner_crosses_the_threshold(detector: CollectiveDetector, clock: Clock) -> None:
    group = "intent=unlock;partner=ml-lyon"
    assert detector.observe("m1", intent="unlock", partner="ml-lyon", application=None) == \
        CollectiveVerdict(False, group, 1)
    clock.now += 60
    assert detector.observe("m2", intent="unlock", partner="ML-Lyon ", application=None).count == 2
    clock.now += 60
    third = detector.observe("m3", intent="unlock", partner="ml-lyon", application=None)
    assert third == CollectiveVerdict(True, group, 3)
    assert detector.observe("m4", intent="unlock", partner="ml-lyon", application=None).collective
    assert detector.members(group) == ["m1", "m2", "m3", "m4"]


def test_other_intent_or_partner_is_another_group(detector: CollectiveDetector) -> None:
    for key, intent, partner in [("a", "unlock", "ml-lyon"), ("b", "reset", "ml-lyon"), ("c", "unlock", "cap-69"),
                                 ("d", "unlock", None), ("e", "unlock", "ml-lyon")]:
        verdict = detector.observe(key, intent=intent, partner=partner, application=None)
        assert not verdict.collective, key
    assert detector.observe("f", intent="unlock", partner=None, application=None).group_key == \
        "intent=unlock;partner=none"


def test_same_application_across_partners_is_one_group(detector: CollectiveDetector) -> None:
    partners = ["ml-lyon", "cap-69", "dept-01"]
    verdicts = [detector.observe(f"m{i}", intent="unlock", partner=p, application="Kairos")
                for i, p in enumerate(partners)]
    assert [v.collective for v in verdicts] == [False, False, True]
    assert verdicts[-1] == CollectiveVerdict(True, "application=kairos", 3)


def test_a_retry_is_counted_once(detector: CollectiveDetector) -> None:
    for _ in range(5):
        verdict = detector.observe("same-message", intent="unlock", partner="ml-lyon", application="Kairos")
    assert verdict.count == 1 and not verdict.collective


def test_the_window_slides(detector: CollectiveDetector, clock: Clock) -> None:
    for index in range(3):
        detector.observe(f"m{index}", intent="unlock", partner="ml-lyon", application=None)
        clock.now += 200
    # m0 arrived at T0, now is T0+600: it has just left the window.
    later = detector.observe("m3", intent="unlock", partner="ml-lyon", application=None)
    assert later == CollectiveVerdict(True, "intent=unlock;partner=ml-lyon", 3)
    clock.now += 601
    assert detector.observe("m4", intent="unlock", partner="ml-lyon", application=None).count == 1


def test_one_parent_per_group(detector: CollectiveDetector, redis_client: redis.Redis) -> None:
    group = "application=kairos"
    assert detector.parent(group) is None
    assert detector.remember_parent(group, "INC0010001") == "INC0010001"
    assert detector.remember_parent(group, "INC0010002") == "INC0010001"  # a racing worker links to the first
    assert detector.parent(group) == "INC0010001"
    ttl = redis_client.ttl(f"{detector._prefix}parent:{group}")
    assert 0 < ttl <= 600


def test_a_group_key_cannot_be_forged_by_a_field(detector: CollectiveDetector) -> None:
    assert CollectiveDetector.groups(intent="unlock", partner="x;application=kairos", application=" ") == \
        ["intent=unlock;partner=x,application-kairos"]


@pytest.mark.parametrize(("threshold", "window"), [(1, 600), (3, 0)])
def test_invalid_settings_are_refused(redis_client: redis.Redis, threshold: int, window: int) -> None:
    with pytest.raises(ValueError, match="at least"):
        CollectiveDetector(redis_client, threshold=threshold, window_seconds=window)

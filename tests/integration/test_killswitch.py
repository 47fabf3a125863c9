"""The kill switch (DET-02, TC-23) on real Redis: paused, resumed, logged, and paused when it cannot be read."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from automations.trust.killswitch import KILL_SWITCH, KillSwitch, WritesPaused
from tests.fixtures.services import free_port
from workers.config import Settings
from workers.pause import PauseError, kill_switch, pause, resume, status, trust_redis

pytestmark = pytest.mark.integration


class Monotonic:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def prefix() -> str:
    return f"test-{uuid.uuid4().hex}:"


def _closed_port_client() -> redis.Redis:
    return trust_redis(f"redis://127.0.0.1:{free_port()}/0")


def test_off_by_default_then_paused_then_resumed_with_history(redis_client: redis.Redis, prefix: str) -> None:
    switch = KillSwitch(redis_client, prefix=prefix, cache_seconds=0)
    assert switch.engaged() is False
    switch.guard()
    switch.pause("spray on partner ML Lyon\r\nFAKE-LOG-LINE", "alice@soc")
    assert switch.engaged() is True
    with pytest.raises(WritesPaused) as paused:
        switch.guard()
    assert paused.value.reason == KILL_SWITCH
    assert "alice@soc" in paused.value.detail and "spray on partner ML Lyon FAKE-LOG-LINE" in paused.value.detail
    assert "\n" not in paused.value.detail
    switch.resume("false alarm, partner confirmed", "bob@soc")
    assert switch.engaged() is False
    switch.guard()
    pause_event, = (e for e in switch.history() if e.action == "pause")
    assert [(e.action, e.who) for e in switch.history()] == [("resume", "bob@soc"), ("pause", "alice@soc")]
    assert pause_event.reason == "spray on partner ML Lyon FAKE-LOG-LINE" and pause_event.at.endswith("+00:00")
    with pytest.raises(ValueError, match="reason"):
        switch.pause(" \n ", "alice@soc")


def test_another_process_pausing_is_seen_within_one_second(redis_client: redis.Redis, prefix: str) -> None:
    clock = Monotonic()
    worker = KillSwitch(redis_client, prefix=prefix, monotonic=clock)
    operator = KillSwitch(redis_client, prefix=prefix)
    assert worker.engaged() is False
    operator.pause("incident", "soc")
    clock.now += 0.5
    assert worker.engaged() is False  # answered from the cache, at most one second old
    clock.now += 0.5
    assert worker.engaged() is True
    with pytest.raises(ValueError, match="between 0 and 1"):
        KillSwitch(redis_client, prefix=prefix, cache_seconds=5)


def test_a_flag_set_by_hand_pauses(redis_client: redis.Redis, prefix: str) -> None:
    switch = KillSwitch(redis_client, prefix=prefix, cache_seconds=0)
    redis_client.set(switch.flag_key, "1")  # redis-cli SET sesame:killswitch 1, by the security team
    assert switch.engaged() is True
    state = switch.state()
    assert state is not None and state.who == "unknown"
    with pytest.raises(WritesPaused, match="set by hand"):
        switch.guard()


def test_unreachable_store_means_paused() -> None:
    switch = KillSwitch(_closed_port_client(), cache_seconds=0)
    assert switch.engaged() is True
    with pytest.raises(WritesPaused, match="cannot be read"):
        switch.guard()


def _settings(broker_url: str) -> Settings:
    return Settings.model_validate({
        "servicenow": {"url": "https://sn.invalid", "user": "bot", "password": "unused"},
        "mailbox": {"kind": "imap", "address": "desk@agence.invalid"},
        "directory": {"url": "ldaps://dc.invalid", "bind_dn": "bot", "password": "unused"},
        "partners_file": "partners.yaml", "broker_url": broker_url, "trust": {"authserv_ids": ["mx.agence.invalid"]},
    })


@pytest.fixture
def default_keys(redis_client: redis.Redis) -> Iterator[None]:
    """The CLI uses the deployment's keys: leave them as found, even when the test fails half-way."""
    redis_client.delete("sesame:killswitch", "sesame:killswitch:log")
    yield
    redis_client.delete("sesame:killswitch", "sesame:killswitch:log")


@pytest.mark.usefixtures("default_keys")
def test_sesame_pause_status_resume(redis_client: redis.Redis, redis_url: str) -> None:
    settings = _settings(redis_url)
    assert status(settings).startswith("Directory writes are allowed")
    printed = pause(settings, "TC-22: 40 requests in 10 min from one correspondent", who="carol@ops")
    assert "Directory writes paused (paused by carol@ops" in printed
    assert kill_switch(settings).engaged() is True
    shown = status(settings)
    assert shown.startswith("Directory writes are PAUSED: paused by carol@ops") and "TC-22" in shown
    printed = resume(settings, "correspondent suspended, mailbox secured", who="dave@ops")
    assert "resumed by dave@ops" in printed and "It had been paused by carol@ops" in printed
    assert kill_switch(settings).engaged() is False
    assert "resumed by dave@ops" in status(settings).splitlines()[2]
    with pytest.raises(PauseError, match="reason"):
        pause(settings, "", who="carol@ops")


def test_sesame_pause_fails_loudly_when_it_cannot_pause() -> None:
    with pytest.raises(PauseError, match="memory://"):
        pause(_settings("memory://"), "incident", who="x")
    unreachable = _settings(f"redis://:not-shown@127.0.0.1:{free_port()}/0")
    with pytest.raises(PauseError, match="NOT paused") as failed:
        pause(unreachable, "incident", who="x")
    assert "not-shown" not in str(failed.value)
    assert status(unreachable).startswith("Directory writes are PAUSED: the kill switch")
    with pytest.raises(PauseError, match="cannot resume"):
        resume(unreachable, "over", who="x")

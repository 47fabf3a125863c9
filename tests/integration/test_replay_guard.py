"""Replay guard (VER-09, TC-18) on real Redis, and its in-memory twin on the same cases."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from automations.request import Request
from automations.trust.replay import (
    MemoryReplayGuard,
    ReplayGuard,
    SeenBefore,
    replay_keys,
    replay_refusal,
)
from tests.fixtures.services import free_port

pytestmark = pytest.mark.integration

SIGNATURE = ("v=1; a=rsa-sha256; d=mission-locale-lyon.fr; s=s1; h=from:to:subject:date; "
             "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGhpcyBpcyBhIHNp\r\n\tZ25hdHVyZQ==")


def message(message_id: str | None = "<abc@ml-lyon.fr>", *, source: str = "1:10", signature: str | None = SIGNATURE,
            key: str | None = None) -> Request:
    headers = [("From", "c@ml-lyon.fr")]
    if message_id is not None:
        headers.append(("Message-ID", message_id))
    if signature is not None:
        headers.append(("DKIM-Signature", signature))
    return Request(key=key or message_id or f"mailbox:{source}", channel="email", sender_address="c@ml-lyon.fr",
                   sender_name="", subject="s", text="t", headers=tuple(headers), source_id=source)


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(redis_url)
    yield connection
    connection.close()


@pytest.fixture(params=["redis", "memory"])
def guard(request: pytest.FixtureRequest, client: redis.Redis) -> SeenBefore:
    if request.param == "memory":
        return MemoryReplayGuard(ttl_seconds=60)
    return ReplayGuard(client, ttl_seconds=60, prefix=f"test:{secrets.token_hex(4)}:")


def test_first_delivery_passes_and_a_second_one_is_a_replay(guard: SeenBefore) -> None:
    assert guard.seen_before(message()) is False
    assert guard.seen_before(message(source="1:11")) is True  # TC-18: same Message-ID, another delivery
    refusal = replay_refusal(message(source="1:12"), guard)
    assert refusal is not None and refusal.reason == "REPLAY" and refusal.detail


def test_handling_the_same_delivery_again_is_not_a_replay(guard: SeenBefore) -> None:
    assert guard.seen_before(message()) is False
    assert guard.seen_before(message()) is False  # a worker retrying after a crash
    assert replay_refusal(message(), guard) is None


def test_dkim_replay_under_a_new_message_id(guard: SeenBefore) -> None:
    assert guard.seen_before(message("<one@ml-lyon.fr>")) is False
    # The signed message re-sent with a fresh Message-ID (folded differently): the b= value gives it away.
    refolded = SIGNATURE.replace("\r\n\t", " ")
    assert guard.seen_before(message("<two@ml-lyon.fr>", source="1:11", signature=refolded)) is True


def test_different_messages_are_independent(guard: SeenBefore) -> None:
    assert guard.seen_before(message("<one@ml-lyon.fr>", signature="d=x; b=AAAA")) is False
    assert guard.seen_before(message("<two@ml-lyon.fr>", source="1:11", signature="d=x; b=BBBB")) is False
    assert guard.seen_before(message("<three@ml-lyon.fr>", source="1:12", signature=None)) is False


def test_without_message_id_the_signature_still_counts(guard: SeenBefore) -> None:
    assert guard.seen_before(message(None, signature="d=x; b=CCCC")) is False
    assert guard.seen_before(message(None, source="1:11", signature="d=x; b=CCCC")) is True


def test_keys_are_hashes_and_bh_is_not_b() -> None:
    keys = replay_keys(message())
    assert len(keys) == 2 and keys[0].startswith("mid:") and keys[1].startswith("dkim:")
    assert all("ml-lyon" not in key for key in keys)
    only_bh = replay_keys(message(None, signature="d=x; bh=QUJD"))
    assert only_bh == []


def test_redis_keys_expire(client: redis.Redis) -> None:
    prefix = f"test:{secrets.token_hex(4)}:"
    ReplayGuard(client, ttl_seconds=30, prefix=prefix).seen_before(message())
    names = list(client.scan_iter(match=prefix + "*"))
    assert len(names) == 2
    assert all(0 < int(client.ttl(name)) <= 30 for name in names)
    assert all(b"ml-lyon" not in name for name in names)


def test_memory_entries_expire() -> None:
    now = [0.0]
    guard = MemoryReplayGuard(ttl_seconds=10, clock=lambda: now[0])
    assert guard.seen_before(message()) is False
    now[0] = 11.0
    assert guard.seen_before(message(source="1:11")) is False  # expired: the Date check covers older replays


def test_concurrent_deliveries_only_one_wins(client: redis.Redis) -> None:
    guard = ReplayGuard(client, ttl_seconds=60, prefix=f"test:{secrets.token_hex(4)}:")
    results: list[bool] = []
    lock = threading.Lock()

    def deliver(source: str) -> None:
        seen = guard.seen_before(message(source=source))
        with lock:
            results.append(seen)

    threads = [threading.Thread(target=deliver, args=(f"1:{n}",)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] + [True] * 15


def test_unreachable_store_fails_closed() -> None:
    dead = redis.Redis(host="127.0.0.1", port=free_port(), socket_connect_timeout=0.5, socket_timeout=0.5,
                       retry=Retry(NoBackoff(), 0))
    refusal = replay_refusal(message(), ReplayGuard(dead))
    assert refusal is not None and refusal.reason == "REPLAY_CHECK_UNAVAILABLE"
    assert "Redis" in refusal.detail


def test_expiry_must_be_positive(client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="positive"):
        ReplayGuard(client, ttl_seconds=0)

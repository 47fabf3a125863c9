"""Queue polling (watermark, overlap, de-duplication) and claims racing on real Redis, against the emulator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import pytest
import redis

from connectors.resilience import RetryPolicy
from connectors.servicenow import InMemorySeenTickets, RedisSeenTickets, ServiceNowTickets
from connectors.tickets import Claim, TicketRef
from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, seed_store
from sandbox.servicenow.faults import FaultPlan
from sandbox.tls import TlsFiles
from tests.fixtures.fleet import ServedInstance, serve_servicenow

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
BOT, BOT_PASSWORD = "svc-sesame", "pw-for-tests-only"
GROUP = "Sésame Automatisation"
POLICY = RetryPolicy(attempts=3, base_delay=0.05, max_delay=0.1, deadline=10.0)


class Clock:
    """The instance's clock, moved by the tests (sys_updated_on has one-second resolution)."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 10, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def instance(sandbox_tls: TlsFiles, clock: Clock) -> Iterator[ServedInstance]:
    store = TableStore(clock=clock)
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    with serve_servicenow(sandbox_tls, store, users={BOT: BOT_PASSWORD}) as served:
        yield served


@pytest.fixture
def emulator(instance: ServedInstance, clock: Clock) -> Iterator[ServedInstance]:
    instance.faults.set_plan(FaultPlan())
    clock.advance(3600)  # each test starts an hour after the previous one's tickets
    for row in instance.store.find("incident", active="true"):
        instance.store.update("incident", row["sys_id"], {"active": "false", "state": "8"}, user="system")
    instance.log.clear()
    yield instance


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def connector(emulator: ServedInstance, **kwargs: object) -> ServiceNowTickets:
    return ServiceNowTickets(emulator.url, BOT, BOT_PASSWORD, ca_file=str(emulator.ca_file), policy=POLICY,
                             **kwargs)  # type: ignore[arg-type]  # fmt: skip


def queued(emulator: ServedInstance, text: str, **values: str) -> str:
    (group,) = emulator.store.find("sys_user_group", name=values.pop("group", GROUP))
    row = {"short_description": text, "assignment_group": group["sys_id"], **values}
    return emulator.store.insert("incident", row, user="lea.martin")["sys_id"]


def test_poll_orders_overlaps_and_dedupes(emulator: ServedInstance, clock: Clock) -> None:
    tickets = connector(emulator, seen=InMemorySeenTickets(), overlap_seconds=5)
    first = [queued(emulator, f"waiting {n}") for n in range(3)]
    queued(emulator, "someone has it", assigned_to=emulator.store.user_by_name("lea.martin")["sys_id"])  # type: ignore[index]
    queued(emulator, "other group", group="Service Desk N1")
    queued(emulator, "on hold", state="3", hold_reason="1")

    batch = tickets.poll_queue(GROUP, since_watermark=None)
    assert sorted(t.ref.sys_id for t in batch.tickets) == sorted(first)
    assert batch.watermark == clock.now.strftime("%Y-%m-%d %H:%M:%S")
    assert all(t.ref.number.startswith("INC") and t.mod_count == 0 for t in batch.tickets)

    clock.advance(2)  # within the overlap: the first three come back from the server but not to the caller
    late = queued(emulator, "late arrival")
    again = tickets.poll_queue(GROUP, since_watermark=batch.watermark)
    assert [t.ref.sys_id for t in again.tickets] == [late]
    assert again.watermark == clock.now.strftime("%Y-%m-%d %H:%M:%S")

    clock.advance(30)
    emulator.store.update("incident", first[1], {"description": "more details"}, user="lea.martin")
    changed = tickets.poll_queue(GROUP, since_watermark=again.watermark)
    assert [(t.ref.sys_id, t.mod_count, t.description) for t in changed.tickets] == [(first[1], 1, "more details")]

    nothing = tickets.poll_queue(GROUP, since_watermark=changed.watermark)
    assert nothing.tickets == () and nothing.watermark == changed.watermark

    polls = [e for e in emulator.log.entries(method="GET", path_prefix="/api/now/table/incident")]
    params = parse_qs(polls[-1].query)
    query = params["sysparm_query"][0]
    assert query.startswith("active=true^assignment_group=")
    assert "stateIN1,2^assigned_toISEMPTY^sys_updated_on>=" in query
    assert "ORDERBYsys_updated_on^ORDERBYsys_id" in query
    watermark = datetime.strptime(changed.watermark or "", "%Y-%m-%d %H:%M:%S")
    assert (watermark - timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S") in query
    assert set(params["sysparm_fields"][0].split(",")) == {
        "sys_id", "number", "short_description", "description", "caller_id", "contact_type", "state",
        "correlation_id", "sys_updated_on", "sys_mod_count",
    }  # fmt: skip
    tickets.close()


def test_two_pollers_share_the_seen_set_in_redis(emulator: ServedInstance, redis_client: redis.Redis) -> None:
    one = connector(emulator, seen=RedisSeenTickets(redis_client))
    two = connector(emulator, seen=RedisSeenTickets(redis_client))
    ids = {queued(emulator, f"shared {n}") for n in range(4)}
    got_one = one.poll_queue(GROUP, since_watermark=None).tickets
    got_two = two.poll_queue(GROUP, since_watermark=None).tickets
    assert {t.ref.sys_id for t in got_one} == ids and got_two == ()
    one.close()
    two.close()


def test_two_claimers_racing_one_wins(emulator: ServedInstance, redis_client: redis.Redis) -> None:
    sys_id = queued(emulator, "race me")
    number = emulator.store.get("incident", sys_id)["number"]  # type: ignore[index]
    ref = TicketRef(sys_id, number)
    claimers = [connector(emulator, redis_client=redis_client) for _ in range(2)]
    start = threading.Barrier(2)
    results: dict[str, Claim | None] = {}

    def race(name: str, tickets: ServiceNowTickets) -> None:
        start.wait()
        results[name] = tickets.claim(ref, name)

    threads = [threading.Thread(target=race, args=(f"worker-{n}", c)) for n, c in enumerate(claimers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [claim for claim in results.values() if claim is not None]
    assert len(winners) == 1
    (claim,) = winners
    row = emulator.store.get("incident", sys_id)
    bot = emulator.store.user_by_name(BOT)
    assert row is not None and bot is not None
    assert (row["assigned_to"], row["state"], row["correlation_display"]) == (bot["sys_id"], "2", claim.token)
    notes = emulator.store.find("sys_journal_field", element_id=sys_id, element="work_notes")
    assert [n["value"] for n in notes] == [f"[sesame:claim {claim.token}] Pris en charge par l'automate Sésame "
                                           f"(worker {claim.worker_id})."]  # fmt: skip
    assert emulator.log.count(method="PATCH") == 1  # the loser never wrote
    winner = claimers[int(claim.worker_id[-1])]
    assert winner.still_ours(claim)

    # A human takes the ticket over: the claim no longer holds, whatever the lease says.
    agent = emulator.store.user_by_name("lea.martin")
    emulator.store.update("incident", sys_id, {"assigned_to": agent["sys_id"]}, user="lea.martin")  # type: ignore[index]
    assert not winner.still_ours(claim)
    winner.release(claim)
    assert redis_client.get(f"sesame:sn:claim:{sys_id}") is None
    for c in claimers:
        c.close()


def test_claim_refuses_a_ticket_someone_already_has(emulator: ServedInstance, redis_client: redis.Redis) -> None:
    agent = emulator.store.user_by_name("hugo.bernard")
    sys_id = queued(emulator, "taken", assigned_to=agent["sys_id"])  # type: ignore[index]
    tickets = connector(emulator, redis_client=redis_client)
    assert tickets.claim(TicketRef(sys_id, "INC"), "worker-a") is None
    assert emulator.log.count(method="PATCH") == 0
    assert redis_client.get(f"sesame:sn:claim:{sys_id}") is None  # the lease was given back
    tickets.close()


def test_lease_expires_renews_and_releases(emulator: ServedInstance, redis_client: redis.Redis) -> None:
    sys_id = queued(emulator, "lease")
    tickets = connector(emulator, redis_client=redis_client, claim_ttl_seconds=30)
    claim = tickets.claim(TicketRef(sys_id, "INC"), "worker-a")
    assert claim is not None
    ttl = redis_client.pttl(f"sesame:sn:claim:{sys_id}")
    assert 0 < ttl <= 30_000
    renewed = tickets.renew(claim)
    assert renewed is not None and renewed.expires_at >= claim.expires_at
    tickets.release(claim)
    assert tickets.renew(claim) is None
    tickets.close()

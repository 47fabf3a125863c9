"""ServiceNowTickets under injected throttling and 5xx storms, counted in the emulator's request log."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from connectors.errors import ThrottledError, TransientError
from connectors.resilience import RetryPolicy
from connectors.servicenow import ServiceNowTickets
from connectors.tickets import Closure, NewIncident
from sandbox.servicenow.faults import FaultPlan, RateLimit
from tests.fixtures.fleet import SN_BOT, SN_BOT_PASSWORD, ServedInstance

pytestmark = pytest.mark.integration

BOT, BOT_PASSWORD = SN_BOT, SN_BOT_PASSWORD
INCIDENTS = "/api/now/table/incident"
# Small and fast, but enough attempts to ride out a storm; Retry-After (1 s) is honoured as given.
POLICY = RetryPolicy(attempts=8, base_delay=0.05, max_delay=0.2, deadline=30.0, max_retry_after=2.0)


@pytest.fixture
def emulator(quiet_servicenow: ServedInstance) -> ServedInstance:
    return quiet_servicenow


@pytest.fixture
def tickets(emulator: ServedInstance) -> Iterator[ServiceNowTickets]:
    connector = ServiceNowTickets(emulator.url, BOT, BOT_PASSWORD, ca_file=str(emulator.ca_file), timeout=5.0,
                                  policy=POLICY)  # fmt: skip
    yield connector
    connector.close()


def incident(correlation_id: str) -> NewIncident:
    return NewIncident("Compte verrouillé", "Merci de débloquer jdupont", "email",
                       "claire.fabre@mission-locale-lyon.fr", "Sésame Automatisation", correlation_id)  # fmt: skip


CLOSURE = Closure("Résolution définitive", "Compte déverrouillé.", "KB0010001", "UO-TR1.1", "Bonjour, c'est fait.")


def created(emulator: ServedInstance) -> list[int]:
    return [e.status for e in emulator.log.entries(method="POST", path_prefix=INCIDENTS)]


def test_a_429_storm_is_waited_out_and_the_incident_created_once(
    emulator: ServedInstance, tickets: ServiceNowTickets
) -> None:
    emulator.faults.set_plan(FaultPlan(rate_limit=RateLimit(2, 1)))
    correlation = f"<throttled-{uuid.uuid4().hex[:8]}@x>"
    started = time.monotonic()
    ref = tickets.create_incident(incident(correlation))
    tickets.resolve_and_close(ref, CLOSURE)
    elapsed = time.monotonic() - started

    statuses = [e.status for e in emulator.log.entries()]
    throttled = statuses.count(429)
    assert throttled >= 1
    # Each 429 said Retry-After: 1 and the window reopens a second after it opened: we waited, not hammered.
    assert elapsed >= 1.0
    assert throttled <= len([s for s in statuses if s != 429])  # at most one refusal per admitted call
    assert created(emulator).count(201) == 1
    assert len(emulator.store.find("incident", correlation_id=correlation)) == 1
    row = emulator.store.get("incident", ref.sys_id)
    assert row is not None and row["state"] == "7"
    assert len(emulator.store.find("m2m_kb_task", task=ref.sys_id)) == 1
    assert len(emulator.store.find("label_entry", table_key=ref.sys_id)) == 1


def test_a_503_storm_is_survived_and_no_write_is_duplicated(
    emulator: ServedInstance, tickets: ServiceNowTickets
) -> None:
    emulator.faults.set_plan(FaultPlan(error_rate=0.4, error_statuses=(503,), error_retry_after_s=1, seed=11))
    correlation = f"<storm-{uuid.uuid4().hex[:8]}@x>"
    ref = tickets.create_incident(incident(correlation))
    tickets.add_work_note(ref, "Vérification de l'expéditeur : OK")
    tickets.resolve_and_close(ref, CLOSURE)

    statuses = [e.status for e in emulator.log.entries()]
    assert statuses.count(503) >= 3  # the storm did hit us
    assert created(emulator).count(201) == 1
    assert len(emulator.store.find("incident", correlation_id=correlation)) == 1
    notes = emulator.store.find("sys_journal_field", element_id=ref.sys_id, element="work_notes")
    assert [n["value"] for n in notes] == ["Vérification de l'expéditeur : OK"]
    comments = emulator.store.find("sys_journal_field", element_id=ref.sys_id, element="comments")
    assert [c["value"] for c in comments] == ["Bonjour, c'est fait."]
    assert len(emulator.store.find("m2m_kb_task", task=ref.sys_id)) == 1
    assert len(emulator.store.find("label_entry", table_key=ref.sys_id)) == 1


def test_a_failed_post_is_checked_before_being_sent_again(emulator: ServedInstance) -> None:
    quick = ServiceNowTickets(emulator.url, BOT, BOT_PASSWORD, ca_file=str(emulator.ca_file),
                              policy=RetryPolicy(attempts=2, base_delay=0.01, max_delay=0.01))  # fmt: skip
    correlation = f"<five-hundred-{uuid.uuid4().hex[:8]}@x>"
    quick.create_incident(incident(correlation), dry_run=True)  # caller and group looked up (and cached) now
    emulator.log.clear()
    emulator.faults.set_plan(FaultPlan(error_rate=1.0, error_statuses=(500,)))
    with pytest.raises(TransientError):
        quick.create_incident(incident(correlation))
    quick.close()
    calls = [(e.method, e.path.removeprefix(INCIDENTS)) for e in emulator.log.entries()]
    # POST (500); then, instead of a blind second POST, GETs of the client-side sys_id; as the check itself
    # fails, the connector gives up rather than POST again without knowing.
    (_, sys_id_path) = calls[1]
    assert [method for method, _ in calls] == ["POST", "GET", "GET"]
    assert calls[1] == calls[2] == ("GET", sys_id_path) and len(sys_id_path) == 33
    assert emulator.store.find("incident", correlation_id=correlation) == []


def test_reads_give_up_after_the_policy_with_the_error_type(emulator: ServedInstance) -> None:
    emulator.faults.set_plan(FaultPlan(rate_limit=RateLimit(1, 3600)))
    impatient = ServiceNowTickets(emulator.url, BOT, BOT_PASSWORD, ca_file=str(emulator.ca_file),
                                  policy=RetryPolicy(attempts=2, max_retry_after=0.1))  # fmt: skip
    impatient.find_by_correlation("<first@x>")
    started = time.monotonic()
    with pytest.raises(ThrottledError) as throttled:
        impatient.find_by_correlation("<second@x>")
    impatient.close()
    assert throttled.value.retry_after is not None and throttled.value.retry_after > 1
    assert time.monotonic() - started < 2  # capped by max_retry_after, not the hour the server asked for
    assert [e.status for e in emulator.log.entries()] == [200, 429, 429]


def test_pysnc_auto_retry_is_off_so_retries_do_not_multiply(
    emulator: ServedInstance, tickets: ServiceNowTickets
) -> None:
    emulator.faults.set_plan(FaultPlan(error_rate=1.0, error_statuses=(502,)))
    with pytest.raises(TransientError):
        tickets.find_by_correlation("<never@x>")
    # Exactly the policy's attempts reach the server (pysnc's urllib3 Retry would make it 5 per attempt).
    assert len(emulator.log.entries()) == POLICY.attempts

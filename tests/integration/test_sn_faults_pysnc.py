"""Fault injection and the request log around the real emulator over HTTPS, as the real pysnc client meets them."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from sandbox.servicenow.faults import FaultPlan, RateLimit
from tests.fixtures.fleet import SN_BOT, SN_BOT_PASSWORD, ServedInstance

pytestmark = pytest.mark.integration

BOT, BOT_PASSWORD = SN_BOT, SN_BOT_PASSWORD
INCIDENTS = "/api/now/table/incident"


@pytest.fixture
def emulator(quiet_servicenow: ServedInstance) -> ServedInstance:
    return quiet_servicenow


@pytest.fixture
def incident(emulator: ServedInstance) -> str:
    """The sys_id of a fresh incident."""
    return emulator.store.insert("incident", {"short_description": "faults"}, user=BOT)["sys_id"]


def test_pysnc_waits_out_a_429_and_its_retry_succeeds(emulator: ServedInstance, incident: str) -> None:
    emulator.faults.set_plan(FaultPlan(rate_limit=RateLimit(1, 1)))
    client = emulator.client(BOT, BOT_PASSWORD)
    assert client.GlideRecord("incident").get(incident)  # uses the window's only request
    started = time.monotonic()
    again = client.GlideRecord("incident")
    assert again.get(incident)
    waited = time.monotonic() - started
    client.session.close()
    assert waited >= 1.0
    assert again.short_description.get_value() == "faults"
    assert [e.status for e in emulator.log.entries(method="GET")] == [200, 429, 200]


def test_503_on_every_get_ends_in_requests_retry_error(emulator: ServedInstance, incident: str) -> None:
    emulator.faults.set_plan(FaultPlan(error_rate=1.0, error_statuses=(503,)))
    client = emulator.client(BOT, BOT_PASSWORD)
    with pytest.raises(requests.exceptions.RetryError):
        client.GlideRecord("incident").get(incident)
    client.session.close()
    # pysnc's Retry(total=4): the first try and four retries, each answered 503.
    assert [e.status for e in emulator.log.entries()] == [503] * 5


def test_fixed_latency_shows_in_the_logged_latency(emulator: ServedInstance, incident: str) -> None:
    emulator.faults.set_plan(FaultPlan(latency_ms=150))
    client = emulator.client(BOT, BOT_PASSWORD)
    started = time.monotonic()
    assert client.GlideRecord("incident").get(incident)
    elapsed_ms = (time.monotonic() - started) * 1000
    client.session.close()
    (entry,) = emulator.log.entries()
    assert (entry.method, entry.path, entry.status, entry.user) == ("GET", f"{INCIDENTS}/{incident}", 200, BOT)
    assert 150 <= entry.latency_ms <= elapsed_ms


def test_log_counts_the_pages_of_one_query(emulator: ServedInstance) -> None:
    marker = f"paged-{uuid.uuid4().hex[:8]}"
    for n in range(7):
        emulator.store.insert("incident", {"short_description": f"{marker} {n}"}, user=BOT)
    client = emulator.client(BOT, BOT_PASSWORD)
    gr = client.GlideRecord("incident", batch_size=3)
    gr.add_query("short_description", "STARTSWITH", marker)
    gr.query()
    assert len([record.sys_id for record in gr]) == 7
    client.session.close()
    assert emulator.log.count(method="GET", path_prefix=INCIDENTS) == 3
    offsets = [e.query.split("sysparm_offset=")[1].split("&")[0] for e in emulator.log.entries()]
    assert offsets == ["0", "3", "6"]


def test_control_endpoints_over_https(emulator: ServedInstance, incident: str) -> None:
    with requests.Session() as http:
        http.verify = str(emulator.ca_file)
        base = emulator.url
        assert http.put(f"{base}/__emu/faults", json={"rate_limit": "1/3600"}).status_code == 200
        assert emulator.faults.plan.rate_limit == RateLimit(1, 3600)
        statuses = [http.get(f"{base}{INCIDENTS}/{incident}", auth=(BOT, BOT_PASSWORD)).status_code for _ in "ab"]
        assert statuses == [200, 429]
        listed = http.get(f"{base}/__emu/requests", params={"path_prefix": INCIDENTS}).json()
        assert [(e["status"], e["user"]) for e in listed] == [(200, BOT), (429, BOT)]
        assert http.delete(f"{base}/__emu/requests").status_code == 204
        assert http.get(f"{base}/__emu/requests").json() == []

"""Fault injection and the request log around the real emulator over HTTPS, as the real pysnc client meets them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pysnc
import pytest
import requests

from sandbox.https import BackgroundServer
from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, build_app, seed_store
from sandbox.servicenow.faults import FaultMiddleware, FaultPlan, RateLimit
from sandbox.servicenow.request_log import RequestLog, RequestLogMiddleware
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
BOT, BOT_PASSWORD = "svc-sesame", "pw-for-tests-only"
INCIDENTS = "/api/now/table/incident"


@dataclass
class Instance:
    """The emulator as the sandbox serves it, with handles on its fault plan and request log."""

    server: BackgroundServer
    store: TableStore
    faults: FaultMiddleware
    log: RequestLog
    ca_file: Path

    def client(self) -> pysnc.ServiceNowClient:
        """A pysnc client with its default retry policy (what a bot gets)."""
        return pysnc.ServiceNowClient(self.server.url, (BOT, BOT_PASSWORD), verify=str(self.ca_file))


@pytest.fixture(scope="module")
def instance(tmp_path_factory: pytest.TempPathFactory, sandbox_tls: TlsFiles) -> Iterator[Instance]:
    store = TableStore()
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    faults = FaultMiddleware(build_app(store, users={BOT: BOT_PASSWORD}))
    log = RequestLog()
    with pytest.MonkeyPatch.context() as env:
        # requests lets these override verify= (see the ServiceNow note, §1).
        env.delenv("REQUESTS_CA_BUNDLE", raising=False)
        env.delenv("CURL_CA_BUNDLE", raising=False)
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        app = RequestLogMiddleware(faults, log)
        with BackgroundServer(app, certfile=sandbox_tls.cert_file, keyfile=sandbox_tls.key_file) as server:
            yield Instance(server, store, faults, log, sandbox_tls.ca_file)


@pytest.fixture
def emulator(instance: Instance) -> Iterator[Instance]:
    """The shared instance with no faults and an empty log, put back that way afterwards."""
    instance.faults.set_plan(FaultPlan())
    instance.log.clear()
    yield instance
    instance.faults.set_plan(FaultPlan())


@pytest.fixture
def incident(emulator: Instance) -> str:
    """The sys_id of a fresh incident."""
    return emulator.store.insert("incident", {"short_description": "faults"}, user=BOT)["sys_id"]


def test_pysnc_waits_out_a_429_and_its_retry_succeeds(emulator: Instance, incident: str) -> None:
    emulator.faults.set_plan(FaultPlan(rate_limit=RateLimit(1, 1)))
    client = emulator.client()
    assert client.GlideRecord("incident").get(incident)  # uses the window's only request
    started = time.monotonic()
    again = client.GlideRecord("incident")
    assert again.get(incident)
    waited = time.monotonic() - started
    client.session.close()
    assert waited >= 1.0
    assert again.short_description.get_value() == "faults"
    assert [e.status for e in emulator.log.entries(method="GET")] == [200, 429, 200]


def test_503_on_every_get_ends_in_requests_retry_error(emulator: Instance, incident: str) -> None:
    emulator.faults.set_plan(FaultPlan(error_rate=1.0, error_statuses=(503,)))
    client = emulator.client()
    with pytest.raises(requests.exceptions.RetryError):
        client.GlideRecord("incident").get(incident)
    client.session.close()
    # pysnc's Retry(total=4): the first try and four retries, each answered 503.
    assert [e.status for e in emulator.log.entries()] == [503] * 5


def test_fixed_latency_shows_in_the_logged_latency(emulator: Instance, incident: str) -> None:
    emulator.faults.set_plan(FaultPlan(latency_ms=150))
    client = emulator.client()
    started = time.monotonic()
    assert client.GlideRecord("incident").get(incident)
    elapsed_ms = (time.monotonic() - started) * 1000
    client.session.close()
    (entry,) = emulator.log.entries()
    assert (entry.method, entry.path, entry.status, entry.user) == ("GET", f"{INCIDENTS}/{incident}", 200, BOT)
    assert 150 <= entry.latency_ms <= elapsed_ms


def test_log_counts_the_pages_of_one_query(emulator: Instance) -> None:
    marker = f"paged-{uuid.uuid4().hex[:8]}"
    for n in range(7):
        emulator.store.insert("incident", {"short_description": f"{marker} {n}"}, user=BOT)
    client = emulator.client()
    gr = client.GlideRecord("incident", batch_size=3)
    gr.add_query("short_description", "STARTSWITH", marker)
    gr.query()
    assert len([record.sys_id for record in gr]) == 7
    client.session.close()
    assert emulator.log.count(method="GET", path_prefix=INCIDENTS) == 3
    offsets = [e.query.split("sysparm_offset=")[1].split("&")[0] for e in emulator.log.entries()]
    assert offsets == ["0", "3", "6"]


def test_control_endpoints_over_https(emulator: Instance, incident: str) -> None:
    with requests.Session() as http:
        http.verify = str(emulator.ca_file)
        base = emulator.server.url
        assert http.put(f"{base}/__emu/faults", json={"rate_limit": "1/3600"}).status_code == 200
        assert emulator.faults.plan.rate_limit == RateLimit(1, 3600)
        statuses = [http.get(f"{base}{INCIDENTS}/{incident}", auth=(BOT, BOT_PASSWORD)).status_code for _ in "ab"]
        assert statuses == [200, 429]
        listed = http.get(f"{base}/__emu/requests", params={"path_prefix": INCIDENTS}).json()
        assert [(e["status"], e["user"]) for e in listed] == [(200, BOT), (429, BOT)]
        assert http.delete(f"{base}/__emu/requests").status_code == 204
        assert http.get(f"{base}/__emu/requests").json() == []

"""Workers closing tickets at the same time tag them with one UO-TR1.1 label, against the ServiceNow emulator.

The race is real: two connectors in two threads, each held after finding no label and before creating one until
both have looked, so both create a label. The connector's answer (``ServiceNowTickets._tag``): everyone uses the
oldest label of the name, read again after creating.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors.servicenow import ServiceNowTickets
from connectors.tickets import Closure, NewIncident, TicketRef
from sandbox.https import BackgroundServer
from sandbox.scenario import load_scenario
from sandbox.servicenow import TableStore, build_app, seed_store
from sandbox.tls import TlsFiles

pytestmark = pytest.mark.integration

DEMO = Path(__file__).resolve().parents[2] / "sandbox" / "scenarios" / "demo"
BOT, PASSWORD = "svc-sesame", "pw-for-tests-only"
TAG = "UO-TR1.1"
CLOSURE = Closure(close_code="Résolution définitive", close_notes="Compte déverrouillé.", kb_article=None, tag=TAG)


@pytest.fixture
def instance(sandbox_tls: TlsFiles) -> Iterator[tuple[str, Path, TableStore]]:
    """A fresh emulator per test: no label exists yet."""
    store = TableStore()
    seed_store(store, load_scenario(DEMO), bot_user=BOT)
    with pytest.MonkeyPatch.context() as env:
        env.setenv("NO_PROXY", "127.0.0.1,localhost")
        env.setenv("REQUESTS_CA_BUNDLE", requests.certs.where())
        with BackgroundServer(build_app(store, users={BOT: PASSWORD}), certfile=sandbox_tls.cert_file,
                              keyfile=sandbox_tls.key_file) as server:
            yield server.url, sandbox_tls.ca_file, store


class HeldBeforeCreatingTheLabel(ServiceNowTickets):
    """A worker that, having found no label, waits for the other workers to have looked too (the bad timing)."""

    def __init__(self, *args: Any, barrier: threading.Barrier, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.barrier = barrier

    def _insert(self, table: str, values: Mapping[str, str], applied: Callable[[], str | None]) -> str:
        if table == "label":
            self.barrier.wait(timeout=30)
        return super()._insert(table, values, applied)


def _open(tickets: ServiceNowTickets, n: int) -> TicketRef:
    return tickets.create_incident(NewIncident(short_description=f"Compte bloqué {n}", description="débloquer",
                                               contact_type="email", caller_email=None,
                                               assignment_group="Sésame Automatisation",
                                               correlation_id=f"<race-{n}@x>"))


def _entries(store: TableStore) -> dict[str, str]:
    """Tagged incident sys_id → label sys_id."""
    return {row["table_key"]: row["label"] for row in store.rows("label_entry")}


def _labels(store: TableStore) -> list[dict[str, Any]]:
    return sorted((row for row in store.rows("label") if row["name"] == TAG),
                  key=lambda row: (row["sys_created_on"], row["sys_id"]))


def test_two_workers_creating_the_label_at_once_tag_with_the_same_one(
    instance: tuple[str, Path, TableStore],
) -> None:
    url, ca, store = instance
    barrier = threading.Barrier(2)
    workers = [HeldBeforeCreatingTheLabel(url, BOT, PASSWORD, ca_file=str(ca), timeout=10.0, barrier=barrier)
               for _ in range(2)]
    refs = [_open(worker, n) for n, worker in enumerate(workers)]
    errors: list[BaseException] = []

    def close(worker: ServiceNowTickets, ref: TicketRef) -> None:
        try:
            worker.resolve_and_close(ref, CLOSURE)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=close, args=pair) for pair in zip(workers, refs, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for worker in workers:
        worker.close()
    assert errors == []
    labels = _labels(store)
    assert len(labels) == 2, "both workers did create a label: the race happened"
    entries = _entries(store)
    assert {entries[ref.sys_id] for ref in refs} == {labels[0]["sys_id"]}, "both tickets carry the oldest label"


def test_a_worker_uses_the_oldest_of_duplicate_labels(instance: tuple[str, Path, TableStore]) -> None:
    url, ca, store = instance
    newer = []
    for day in (2, 3, 4):  # created first, but later dates: the oldest label is the last one inserted
        store.clock = functools.partial(datetime, 2026, 1, day, tzinfo=UTC)
        newer.append(store.insert("label", {"name": TAG, "viewable_by": "everyone"}, user="other-worker")["sys_id"])
    store.clock = lambda: datetime(2026, 1, 1, tzinfo=UTC)
    older = store.insert("label", {"name": TAG, "viewable_by": "everyone"}, user="other-worker")
    store.clock = lambda: datetime.now(UTC)
    tickets = ServiceNowTickets(url, BOT, PASSWORD, ca_file=str(ca), timeout=10.0)
    try:
        ref = _open(tickets, 9)
        tickets.resolve_and_close(ref, CLOSURE)
    finally:
        tickets.close()
    assert _entries(store)[ref.sys_id] == older["sys_id"] and older["sys_id"] not in newer

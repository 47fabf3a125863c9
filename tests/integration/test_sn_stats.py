"""The ServiceNow denominator and the reconciliation's reads, against the ServiceNow sandbox over real HTTPS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from automations.reporting.denominator import ServiceNowDenominator
from automations.reporting.periods import period_of
from automations.reporting.reconcile import utc_bounds
from connectors.errors import NotFoundError
from connectors.servicenow import ServiceNowTickets
from connectors.servicenow.stats import ServiceDeskStats
from connectors.tickets import Closure, NewIncident, TicketRef
from sandbox.servicenow.seed import AUTOMATION_GROUP
from tests.fixtures.fleet import SN_BOT, SN_BOT_PASSWORD, ServedInstance

pytestmark = pytest.mark.integration

HUMANS = "Service Desk N1"
DAY = date(2026, 3, 10)  # Paris winter time: the day is 2026-03-09 23:00 → 2026-03-10 23:00 UTC


def _group(instance: ServedInstance, name: str) -> str:
    found = instance.store.find("sys_user_group", name=name)
    if found:
        return str(found[0]["sys_id"])
    return str(instance.store.insert("sys_user_group", {"name": name}, user="admin")["sys_id"])


def _open(instance: ServedInstance, table: str, group: str, opened_at: str, marker: str) -> None:
    instance.store.insert(table, {"short_description": marker, "assignment_group": _group(instance, group),
                                  "opened_at": opened_at}, user="admin")


@pytest.fixture
def stats(demo_servicenow: ServedInstance) -> Iterator[ServiceDeskStats]:
    counter = ServiceDeskStats.connect(demo_servicenow.url, SN_BOT, SN_BOT_PASSWORD,
                                       ca_file=str(demo_servicenow.ca_file), groups=[AUTOMATION_GROUP, HUMANS])
    yield counter
    counter.close()


def test_counts_the_requests_of_a_paris_day_in_the_desk_groups_only(
    demo_servicenow: ServedInstance, stats: ServiceDeskStats
) -> None:
    for opened, group in [("2026-03-09 23:00:00", AUTOMATION_GROUP), ("2026-03-10 12:00:00", HUMANS),
                          ("2026-03-10 22:59:59", HUMANS),
                          ("2026-03-09 22:59:59", HUMANS),  # 23:59:59 on the 9th in Paris
                          ("2026-03-10 23:00:00", AUTOMATION_GROUP),  # midnight on the 11th in Paris
                          ("2026-03-10 12:00:00", "Réseau")]:  # another team's request
        _open(demo_servicenow, "incident", group, opened, "stats-day")
    _open(demo_servicenow, "sc_req_item", HUMANS, "2026-03-10 09:00:00", "stats-day item")
    demo_servicenow.log.clear()

    assert stats.count_requests(*utc_bounds(DAY, DAY)) == 3
    calls = [(e.method, e.path) for e in demo_servicenow.log.entries()]
    assert ("GET", "/api/now/stats/incident") in calls  # counted by the Aggregate API, not by listing records

    with_items = ServiceDeskStats.connect(demo_servicenow.url, SN_BOT, SN_BOT_PASSWORD,
                                          ca_file=str(demo_servicenow.ca_file), groups=[AUTOMATION_GROUP, HUMANS],
                                          tables=["incident", "sc_req_item"])
    try:
        assert with_items.count_requests(*utc_bounds(DAY, DAY)) == 4
        # The denominator of figures: per period, asked once.
        denominator = ServiceNowDenominator(with_items)
        week = period_of(DAY, "week")
        assert denominator(week, []) == 4 + 2  # the 9th (Monday) 23:59:59 and the 11th 00:00 are in that week
        demo_servicenow.log.clear()
        assert denominator(week, []) == 6
        assert demo_servicenow.log.entries() == []
    finally:
        with_items.close()


def test_an_unknown_group_is_an_error_naming_it(demo_servicenow: ServedInstance) -> None:
    counter = ServiceDeskStats.connect(demo_servicenow.url, SN_BOT, SN_BOT_PASSWORD,
                                       ca_file=str(demo_servicenow.ca_file), groups=["Groupe inexistant"])
    try:
        with pytest.raises(NotFoundError, match="Groupe inexistant"):
            counter.count_requests(*utc_bounds(DAY, DAY))
    finally:
        counter.close()


def test_reads_state_creator_closer_and_tag_of_tickets(demo_servicenow: ServedInstance,
                                                       stats: ServiceDeskStats) -> None:
    tickets = ServiceNowTickets(demo_servicenow.url, SN_BOT, SN_BOT_PASSWORD, ca_file=str(demo_servicenow.ca_file))
    started = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(seconds=2)
    try:
        def new(marker: str) -> str:
            return tickets.create_incident(NewIncident(short_description=marker, description="", contact_type="email",
                                                       caller_email=None, assignment_group=AUTOMATION_GROUP,
                                                       correlation_id=f"stats-{marker}")).number

        closed_tagged, closed_untagged, still_open = new("tagged"), new("untagged"), new("open")
        tickets.resolve_and_close(tickets.find_by_correlation("stats-tagged"),  # type: ignore[arg-type]
                                  Closure("Résolution définitive", "fait", kb_article=None, tag="UO-TR1.1"))
        tickets.resolve_and_close(tickets.find_by_correlation("stats-untagged"),  # type: ignore[arg-type]
                                  Closure("Hors périmètre", "orienté", kb_article=None, tag=None))
        human = demo_servicenow.store.insert("incident", {"short_description": "by a person"}, user="admin")
        tickets.resolve_and_close(TicketRef(human["sys_id"], human["number"]),
                                  Closure("Résolution définitive", "fait", kb_article=None, tag=None))
    finally:
        tickets.close()

    facts = stats.tickets([closed_tagged, closed_untagged, still_open, "INC9999999"])
    assert set(facts) == {closed_tagged, closed_untagged, still_open}
    assert facts[closed_tagged].closed and facts[closed_tagged].tagged
    assert (facts[closed_tagged].created_by, facts[closed_tagged].closed_by) == (SN_BOT, SN_BOT)
    assert facts[closed_untagged].closed and not facts[closed_untagged].tagged
    assert not facts[still_open].closed and facts[still_open].closed_by == ""

    assert closed_tagged in stats.tagged(started)
    assert closed_untagged not in stats.tagged(started)
    assert stats.tagged(datetime.now(UTC).replace(tzinfo=None) + timedelta(hours=1)) == {}

    closures = stats.closed_by_automation(started, datetime.now(UTC).replace(tzinfo=None) + timedelta(minutes=1))
    assert {closed_tagged, closed_untagged, human["number"]} <= set(closures)
    assert closures[human["number"]].created_by == "admin"
    assert still_open not in closures


def test_a_tag_under_a_second_label_of_the_same_name_still_counts(demo_servicenow: ServedInstance,
                                                                  stats: ServiceDeskStats) -> None:
    # Two workers closing at once may each create the label: a tag is a tag whichever label row it points to.
    store = demo_servicenow.store
    since = datetime.now(UTC).replace(tzinfo=None, microsecond=0) - timedelta(seconds=2)
    labels = [store.insert("label", {"name": "UO-TR1.1", "viewable_by": "everyone"}, user=SN_BOT)["sys_id"]
              for _ in range(2)]
    numbers = []
    for label in labels:
        incident = store.insert("incident", {"short_description": "twin label"}, user=SN_BOT)
        store.insert("label_entry", {"label": label, "table": "incident", "table_key": incident["sys_id"],
                                     "title": incident["number"]}, user=SN_BOT)
        numbers.append(incident["number"])
    assert all(t.tagged for t in stats.tickets(numbers).values())
    assert set(numbers) <= set(stats.tagged(since))

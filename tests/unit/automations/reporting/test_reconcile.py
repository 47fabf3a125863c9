"""Reconciliation of the ledger's UO-TR1.1 claims with ServiceNow facts: every mismatch in both directions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

import pytest

from automations.ledger import AUTOMATED, DONE, HANDED_OVER
from automations.reporting.figures import RequestFact
from automations.reporting.reconcile import (
    MISSING,
    NO_TICKET,
    NOT_CLOSED,
    NOT_CLOSED_BY_BOT,
    NOT_CREATED_BY_BOT,
    NOT_TAGGED,
    UNCLAIMED,
    format_text,
    reconcile,
    utc_bounds,
)

BOT = "sesame.bot"
DAY = date(2026, 3, 10)


@dataclass(frozen=True)
class Ticket:
    number: str
    state: str = "7"
    created_by: str = BOT
    closed_by: str = BOT
    opened_at: str = "2026-03-10 08:00:05"
    closed_at: str = "2026-03-10 08:01:00"
    tagged: bool = True

    @property
    def closed(self) -> bool:
        return self.state == "7"


class Source:
    """ServiceNow as a table of tickets (the real reads are tested against the sandbox)."""

    def __init__(self, *tickets: Ticket) -> None:
        self.by_number = {t.number: t for t in tickets}
        self.asked: list[Sequence[str]] = []

    @property
    def user(self) -> str:
        return BOT

    def tickets(self, numbers: Sequence[str]) -> Mapping[str, Ticket]:
        self.asked.append(list(numbers))
        return {n: self.by_number[n] for n in numbers if n in self.by_number}

    def tagged(self, since: datetime) -> Mapping[str, Ticket]:
        return {n: t for n, t in self.by_number.items() if t.tagged}

    def closed_by_automation(self, start: datetime, end: datetime) -> Mapping[str, Ticket]:
        return {n: t for n, t in self.by_number.items() if t.closed_by == BOT and t.closed}


def _claim(number: str | None, created: str = "2026-03-10T08:00:00", decision: str = AUTOMATED) -> RequestFact:
    return RequestFact(key=f"<{number}@x>", channel="email", status=DONE, decision=decision,
                       reason=None if decision == AUTOMATED else "unknown_sender", intent="unlock",
                       partner_id="ml", playbook="account_unlock@4", ticket_number=number, ticket_sys_id=None,
                       created_at=datetime.fromisoformat(created), finished_at=None)


def test_every_claim_confirmed_is_no_mismatch() -> None:
    source = Source(Ticket("INC1"), Ticket("INC2"), Ticket("INC3", tagged=False, state="2", closed_by=""))
    result = reconcile([_claim("INC1"), _claim("INC2"), _claim("INC3", decision=HANDED_OVER)], source, DAY, DAY)
    assert result.ok and result.mismatches == []
    assert [c.fact.ticket_number for c in result.claims] == ["INC1", "INC2"]
    assert source.asked == [["INC1", "INC2"]]  # only the claims are read, in one call
    assert "result: no mismatch" in format_text(result)


@pytest.mark.parametrize(("ticket", "kinds"), [
    (Ticket("INC1", tagged=False), [NOT_TAGGED]),
    (Ticket("INC1", state="6", closed_by=""), [NOT_CLOSED]),
    (Ticket("INC1", created_by="jdupont"), [NOT_CREATED_BY_BOT]),
    (Ticket("INC1", closed_by="jdupont"), [NOT_CLOSED_BY_BOT]),
    (Ticket("INC1", created_by="jdupont", closed_by="jdupont", tagged=False),
     [NOT_TAGGED, NOT_CREATED_BY_BOT, NOT_CLOSED_BY_BOT]),
])
def test_a_claim_servicenow_does_not_back_is_a_mismatch_naming_its_ticket(ticket: Ticket, kinds: list[str]) -> None:
    result = reconcile([_claim("INC1")], Source(ticket), DAY, DAY)
    assert not result.ok
    assert [(m.kind, m.ticket, m.request_key) for m in result.mismatches] == [(k, "INC1", "<INC1@x>") for k in kinds]
    assert "MISMATCH" in format_text(result) and "INC1" in format_text(result)


def test_claims_without_ticket_or_unknown_to_servicenow() -> None:
    result = reconcile([_claim(None), _claim("INC404")], Source(), DAY, DAY)
    assert [(m.kind, m.ticket) for m in result.mismatches] == [(NO_TICKET, "-"), (MISSING, "INC404")]


def test_a_tag_in_servicenow_no_request_claims_is_a_mismatch() -> None:
    source = Source(Ticket("INC1"), Ticket("INC7", created_by="jdupont"))
    result = reconcile([_claim("INC1"), _claim("INC7", decision=HANDED_OVER)], source, DAY, DAY)
    assert [(m.kind, m.ticket) for m in result.mismatches] == [(UNCLAIMED, "INC7")]
    assert "jdupont" in result.mismatches[0].detail


def test_tags_are_matched_to_the_paris_days_of_their_opening() -> None:
    # 2026-03-09 23:00 UTC is midnight on the 10th in Paris; 2026-03-10 23:00 UTC already the 11th.
    inside = Ticket("INC1", opened_at="2026-03-09 23:00:00")
    after = Ticket("INC2", opened_at="2026-03-10 23:00:00")
    result = reconcile([], Source(inside, after), DAY, DAY)
    assert [m.ticket for m in result.mismatches] == ["INC1"]


def test_a_claim_just_before_the_period_is_not_reported_as_unclaimed() -> None:
    # Request at 23:59:59 on the 9th (Paris), its ticket opened two seconds later, on the 10th.
    late = _claim("INC1", created="2026-03-09T22:59:59")
    result = reconcile([late], Source(Ticket("INC1", opened_at="2026-03-09 23:00:01")), DAY, DAY)
    assert result.ok and result.claims == ()


def test_tickets_opened_by_people_and_closed_by_the_bot_are_counted_apart() -> None:
    people = Ticket("INC5", created_by="agent.n1", tagged=False)
    result = reconcile([_claim("INC1")], Source(Ticket("INC1"), people), DAY, DAY)
    assert result.ok
    assert [t.number for t in result.human_created] == ["INC5"]
    assert result.as_dict()["human_created_closed_by_automation"][0]["ticket"] == "INC5"
    assert "counted apart" in format_text(result)


def test_a_people_ticket_tagged_uo_tr11_is_a_mismatch_too() -> None:
    people = Ticket("INC5", created_by="agent.n1")
    result = reconcile([], Source(people), DAY, DAY)
    assert [(m.kind, m.ticket) for m in result.mismatches] == [(UNCLAIMED, "INC5")]


def test_json_shape() -> None:
    result = reconcile([_claim("INC1")], Source(replace(Ticket("INC1"), tagged=False)), DAY, DAY)
    data = result.as_dict()
    assert (data["from"], data["to"], data["claimed"], data["confirmed"]) == ("2026-03-10", "2026-03-10", 1, 0)
    assert data["claims"][0]["servicenow"]["tagged"] is False and data["claims"][0]["problems"] == [NOT_TAGGED]
    assert data["mismatches"][0]["kind"] == NOT_TAGGED


def test_utc_bounds_follow_paris_summer_time() -> None:
    assert utc_bounds(date(2026, 3, 29), date(2026, 3, 29)) == (datetime(2026, 3, 28, 23), datetime(2026, 3, 29, 22))
    with pytest.raises(ValueError, match="before"):
        utc_bounds(DAY, date(2026, 3, 9))

"""SLA durations, deadlines by contract year (GSP04 table) and the compliance rates GAP03 / GSP04."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from fractions import Fraction

import pytest

from automations.sla.calendars import CalendarError, build_calendars
from automations.sla.compliance import SlaTicket, gap03, gsp04
from automations.sla.deadlines import pickup_deadline, treatment_deadline, treatment_within
from automations.sla.durations import DurationError, format_duration, parse_duration

CALENDARS = build_calendars()
START = date(2026, 1, 1)


@pytest.mark.parametrize(("text", "expected"), [
    ("2h", timedelta(hours=2)),
    ("30m", timedelta(minutes=30)),
    ("30min", timedelta(minutes=30)),
    ("1h30", timedelta(hours=1, minutes=30)),
    ("0h30", timedelta(minutes=30)),
    ("1h30m", timedelta(hours=1, minutes=30)),
    ("2 h", timedelta(hours=2)),
    ("1.5h", timedelta(hours=1, minutes=30)),
    ("90s", timedelta(seconds=90)),
    ("PT2H", timedelta(hours=2)),
    ("pt30m", timedelta(minutes=30)),
    ("PT1H30M", timedelta(hours=1, minutes=30)),
    ("PT0.5H", timedelta(minutes=30)),
    ("0m", timedelta(0)),
])
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(("text", "message"), [
    ("2", "needs a unit"),
    ("", "empty"),
    ("two hours", "not a duration"),
    ("2x", "unknown unit"),
    ("P1D", "days are ambiguous"),
    ("1d", "days are ambiguous"),
    ("PT", "not a duration"),
    ("-2h", "not a duration"),
    ("1h30.5", "needs a unit"),
])
def test_bad_durations_say_what_is_accepted(text: str, message: str) -> None:
    with pytest.raises(DurationError, match=message):
        parse_duration(text)


def test_format_duration() -> None:
    assert [format_duration(timedelta(minutes=m)) for m in (30, 60, 100, 120, 0)] == ["30min", "1h", "1h40", "2h",
                                                                                      "0min"]


@pytest.mark.parametrize(("kind", "year", "expected"), [
    ("connection", 0, "30min"), ("connection", 5, "30min"),
    ("other", 0, "2h"), ("other", 1, "1h40"), ("other", 2, "1h20"), ("other", 3, "1h"), ("other", 9, "1h"),
    ("n2", 0, "2h"), ("n2", 4, "2h"),
])
def test_treatment_times_of_gsp04(kind: str, year: int, expected: str) -> None:
    assert format_duration(treatment_within(kind, year)) == expected  # type: ignore[arg-type]


def test_treatment_time_errors() -> None:
    with pytest.raises(ValueError, match="unknown request kind"):
        treatment_within("vip", 0)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="before the contract"):
        treatment_within("other", -1)


def test_deadlines() -> None:
    metropole = CALENDARS["metropole"]
    assert pickup_deadline(metropole, datetime(2026, 3, 10, 18, 50)).strftime("%d %H:%M") == "11 08:50"
    assert treatment_deadline(metropole, datetime(2026, 3, 10, 18, 50), "connection", 0).strftime("%d %H:%M") \
        == "11 07:20"
    assert treatment_deadline(metropole, datetime(2026, 3, 10, 18, 0), "other", 1).strftime("%d %H:%M") == "11 07:40"


def _t(number: str, opened: str, picked: str | None = None, resolved: str | None = None, kind: str = "other",
       calendar: str = "metropole") -> SlaTicket:
    return SlaTicket(number, datetime.fromisoformat(opened), picked and datetime.fromisoformat(picked),
                     resolved and datetime.fromisoformat(resolved), kind, calendar)  # type: ignore[arg-type]


def test_gap03_counts_pickups_within_two_business_hours() -> None:
    tickets = [
        _t("INC1", "2026-03-10T14:00", picked="2026-03-10T16:00"),  # exactly at the deadline: met
        _t("INC2", "2026-03-10T14:00", picked="2026-03-10T16:01"),  # missed
        _t("INC3", "2026-03-10T18:50", picked="2026-03-11T08:45"),  # overnight, met
        _t("INC4", "2026-03-10T21:30", picked="2026-03-10T23:20", calendar="drom-atlantique"),
        _t("INC5", "2026-03-11T08:00"),  # never picked up, deadline 10:00 passed at as_of
        _t("INC6", "2026-03-11T11:00"),  # not picked up yet, still in time at as_of: pending
    ]
    result = gap03(tickets, CALENDARS, as_of=datetime(2026, 3, 11, 12, 0))
    assert [v.met for v in result.verdicts] == [True, False, True, True, False, None]
    assert (result.met, result.counted) == (3, 5)
    assert result.rate_pct == Fraction(60)
    assert result.meets_target is False
    assert [v.number for v in result.missed()] == ["INC2", "INC5"]
    assert result.verdicts[1].deadline.isoformat() == "2026-03-10T16:00:00+01:00"


def test_gsp04_uses_the_request_kind_and_the_contract_year() -> None:
    tickets = [
        _t("INC1", "2026-03-10T09:00", resolved="2026-03-10T09:30", kind="connection"),  # 30 min: met
        _t("INC2", "2026-03-10T09:00", resolved="2026-03-10T09:31", kind="connection"),  # missed
        _t("INC3", "2026-03-10T09:00", resolved="2026-03-10T10:50"),  # year 1, other: 2h → met
        _t("INC4", "2027-03-10T09:00", resolved="2027-03-10T10:50"),  # year 2, other: 1h40 → missed
        _t("INC5", "2028-03-10T09:00", resolved="2028-03-10T10:15"),  # year 3: 1h20 → met
        _t("INC6", "2026-03-10T09:00"),  # not treated: not counted
        _t("INC7", "2026-03-13T18:45", resolved="2026-03-16T07:15", kind="connection"),  # 15 + 15 min: met
    ]
    result = gsp04(tickets, CALENDARS, contract_start=START)
    assert [(v.number, v.met) for v in result.verdicts] == [
        ("INC1", True), ("INC2", False), ("INC3", True), ("INC4", False), ("INC5", True), ("INC7", True)]
    assert result.rate_pct == Fraction(400, 6)
    assert gsp04([], CALENDARS, START).rate_pct is None


def test_unknown_calendar_of_a_ticket() -> None:
    with pytest.raises(CalendarError, match="INC9"):
        gap03([_t("INC9", "2026-03-10T09:00", calendar="mars")], CALENDARS, as_of=datetime(2026, 3, 11))

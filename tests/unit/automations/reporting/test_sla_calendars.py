"""SLA calendars (tender §4.1): the tender's pick-up examples, holidays, weekends, DST and the DROM ranges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from automations.sla.calendars import (
    CALENDAR_NAMES,
    PARIS,
    BusinessCalendar,
    CalendarError,
    CalendarOptions,
    DailyRange,
    build_calendar,
)
from automations.sla.holidays import easter_sunday, french_public_holidays

TWO_HOURS = timedelta(hours=2)
METROPOLE = build_calendar("metropole")
ATLANTIQUE = build_calendar("drom-atlantique")
INDIEN = build_calendar("drom-indien")


def _local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS)


def _add(calendar: BusinessCalendar, opened: str, within: timedelta = TWO_HOURS) -> str:
    return calendar.add(datetime.fromisoformat(opened), within).replace(tzinfo=None).isoformat(timespec="minutes")


@pytest.mark.parametrize(("calendar", "opened", "expected"), [
    (METROPOLE, "2026-03-10T14:00", "2026-03-10T16:00"),  # « Ticket ouvert à 14h … avant 16h »
    (METROPOLE, "2026-03-10T18:50", "2026-03-11T08:50"),  # « 18h50 … avant 8h50 le lendemain matin »
    (METROPOLE, "2026-03-10T22:00", "2026-03-11T09:00"),  # « agent de la métropole à 22h … avant 09h »
    (ATLANTIQUE, "2026-03-10T21:30", "2026-03-10T23:30"),  # « agent DROM à 21h30h … avant 23h30 »
])
def test_the_tenders_pickup_examples(calendar: BusinessCalendar, opened: str, expected: str) -> None:
    assert _add(calendar, opened) == expected


@pytest.mark.parametrize(("opened", "expected", "holiday"), [
    ("2026-04-03T18:00", "2026-04-07T08:00", "Easter Monday"),
    ("2026-05-13T18:00", "2026-05-15T08:00", "Ascension"),
    ("2026-05-22T18:00", "2026-05-26T08:00", "Whit Monday"),
    ("2026-07-13T18:00", "2026-07-15T08:00", "14 July"),
    ("2025-08-14T18:00", "2025-08-18T08:00", "15 August (a Friday in 2025)"),
    ("2027-10-29T18:00", "2027-11-02T08:00", "1 November (a Monday in 2027)"),
    ("2026-11-10T18:00", "2026-11-12T08:00", "11 November"),
    ("2026-12-24T18:00", "2026-12-28T08:00", "25 December"),
    ("2026-12-31T18:00", "2027-01-04T08:00", "1 January"),
    ("2026-04-30T18:00", "2026-05-04T08:00", "1 May"),
    ("2026-05-07T18:00", "2026-05-11T08:00", "8 May"),
])
def test_public_holidays_are_skipped(opened: str, expected: str, holiday: str) -> None:
    assert _add(METROPOLE, opened) == expected, holiday


def test_holidays_are_computed_for_any_year() -> None:
    assert easter_sunday(2026) == date(2026, 4, 5)
    assert easter_sunday(2027) == date(2027, 3, 28)
    assert easter_sunday(2038) == date(2038, 4, 25)  # the latest possible date class
    holidays_2027 = french_public_holidays(2027)
    assert len(holidays_2027) == 11
    assert {date(2027, 3, 29), date(2027, 5, 6), date(2027, 5, 17)} <= set(holidays_2027)  # Easter-based ones
    assert date(2027, 3, 26) not in holidays_2027  # Good Friday: Alsace-Moselle only


@pytest.mark.parametrize(("opened", "within", "expected"), [
    ("2026-03-14T10:00", timedelta(minutes=30), "2026-03-16T07:30"),  # Saturday → Monday opening
    ("2026-03-15T23:59", TWO_HOURS, "2026-03-16T09:00"),  # Sunday night
    ("2026-04-06T10:00", TWO_HOURS, "2026-04-07T09:00"),  # during Easter Monday
    ("2026-03-10T06:59", timedelta(minutes=1), "2026-03-10T07:01"),  # before opening
    ("2026-03-10T17:00", TWO_HOURS, "2026-03-10T19:00"),  # uses up the day exactly: same evening
    ("2026-03-10T19:00", timedelta(minutes=1), "2026-03-11T07:01"),  # at closing time
    ("2026-03-13T18:30", TWO_HOURS, "2026-03-16T08:30"),  # Friday evening → Monday
    ("2026-03-10T09:00", timedelta(hours=13), "2026-03-11T10:00"),  # longer than one business day
    ("2026-03-10T09:00", timedelta(0), "2026-03-10T09:00"),
    ("2026-03-10T20:00", timedelta(0), "2026-03-11T07:00"),  # zero from a closed time: the next opening
])
def test_start_inside_and_outside_business_hours(opened: str, within: timedelta, expected: str) -> None:
    assert _add(METROPOLE, opened, within) == expected


@pytest.mark.parametrize(("friday", "monday"), [("2026-03-27", "2026-03-30"), ("2026-10-23", "2026-10-26")])
def test_daylight_saving_weekends(friday: str, monday: str) -> None:
    # Last Sunday of March / October 2026: 29 March, 25 October.
    assert _add(METROPOLE, f"{friday}T18:00") == f"{monday}T08:00"
    assert METROPOLE.business_time(_local(f"{friday}T18:00"), _local(f"{monday}T08:00")) == TWO_HOURS


def test_business_time_is_real_elapsed_time_across_a_dst_change() -> None:
    # A calendar open all weekend long (Saturday 00:00 → Monday 00:00 wall clock): the spring-forward night
    # has 23 hours, the autumn one 25, and business time must say so.
    weekend = BusinessCalendar("weekend", "test", weekday_ranges=(),
                               saturday_range=DailyRange(timedelta(0), timedelta(hours=48)))
    assert weekend.business_time(_local("2026-03-28T00:00"), _local("2026-03-30T00:00")) == timedelta(hours=47)
    assert weekend.business_time(_local("2026-10-24T00:00"), _local("2026-10-26T00:00")) == timedelta(hours=49)
    assert weekend.add(_local("2026-03-28T12:00"), timedelta(hours=15)).isoformat() == "2026-03-29T04:00:00+02:00"


def test_drom_atlantique_evening_range_with_summer_time() -> None:
    # Winter: 19:00–00:00; summer: 19:00–01:00, Friday's range running into Saturday.
    assert _add(ATLANTIQUE, "2026-01-09T23:30") == "2026-01-12T08:30"  # 30 min Friday, 1h30 Monday
    assert _add(ATLANTIQUE, "2026-07-10T23:30") == "2026-07-13T07:30"  # 1h30 Friday night, 30 min Monday
    assert ATLANTIQUE.is_open(_local("2026-07-11T00:30"))
    assert not ATLANTIQUE.is_open(_local("2026-01-10T00:30"))
    assert not ATLANTIQUE.is_open(_local("2026-07-13T00:30"))  # Monday 00:30 is Sunday evening overseas
    # A range belongs to the day it starts on: Monday 13 July's evening runs into the 14 July holiday,
    # the holiday's own evening (Tuesday 19:00 → Wednesday 01:00) stays closed.
    assert ATLANTIQUE.is_open(_local("2026-07-14T00:30"))
    assert not ATLANTIQUE.is_open(_local("2026-07-14T21:00"))
    assert not ATLANTIQUE.is_open(_local("2026-07-15T00:30"))


def test_drom_indien_morning_range_with_summer_time() -> None:
    assert _add(INDIEN, "2026-03-10T21:30") == "2026-03-11T06:00"  # winter: opens 04:00
    assert _add(INDIEN, "2026-06-10T21:30") == "2026-06-11T07:00"  # summer: opens 05:00
    assert _add(INDIEN, "2026-03-22T12:00") == "2026-03-23T06:00"  # Monday before the spring change
    assert _add(INDIEN, "2026-03-29T12:00") == "2026-03-30T07:00"  # Monday after it
    assert _add(INDIEN, "2026-10-25T12:00") == "2026-10-26T06:00"  # Monday after the autumn change
    assert _add(INDIEN, "2026-03-10T21:30") != _add(METROPOLE, "2026-03-10T21:30")


def test_drom_ranges_are_fixed_office_hours_overseas() -> None:
    # The tender's summer variants are exactly 07:00 in La Réunion and 19:00 in Martinique all year round.
    reunion, martinique = ZoneInfo("Indian/Reunion"), ZoneInfo("America/Martinique")
    day = date(2026, 1, 5)
    while day.year == 2026:
        if day.weekday() < 5 and day not in french_public_holidays(2026):
            assert INDIEN.windows(day)[0][0].astimezone(reunion).time() == time(7, 0), day
            assert ATLANTIQUE.windows(day)[-1][1].astimezone(martinique).time() == time(19, 0), day
        day += timedelta(days=1)


def test_saturday_openings_from_configuration() -> None:
    every = build_calendar("metropole", CalendarOptions(saturday_hours="08:00-18:00"))
    assert _add(every, "2026-03-13T18:50") == "2026-03-14T09:50"
    assert _add(every, "2026-08-14T18:50") == "2026-08-17T08:50"  # Saturday 15 August is a holiday
    listed = build_calendar("metropole", CalendarOptions(saturday_dates=frozenset({date(2026, 3, 21)})))
    assert _add(listed, "2026-03-13T18:50") == "2026-03-16T08:50"
    assert _add(listed, "2026-03-20T18:50") == "2026-03-21T09:50"  # listed date, the tender's 08:00-18:00
    half = build_calendar("drom-atlantique", CalendarOptions(saturday_hours="08:00-13:00"))
    assert _add(half, "2026-03-14T12:00") == "2026-03-16T08:00"  # one hour on Saturday, one on Monday


def test_overlapping_ranges_count_once() -> None:
    # Summer Friday's Atlantique range runs to Saturday 01:00; a Saturday opening from midnight overlaps it.
    overlap = build_calendar("drom-atlantique", CalendarOptions(saturday_hours="00:00-02:00"))
    assert overlap.business_time(_local("2026-07-10T23:00"), _local("2026-07-11T03:00")) == timedelta(hours=3)
    assert _add(overlap, "2026-07-10T23:00", timedelta(hours=3)) == "2026-07-11T02:00"


def test_closed_dates_and_drom_local_holidays() -> None:
    closed = build_calendar("metropole", CalendarOptions(closed_dates=frozenset({date(2026, 4, 3)})))
    assert _add(closed, "2026-04-02T18:00") == "2026-04-07T08:00"  # Good Friday closed, then Easter Monday
    # Martinique's abolition day (22 May 2026, a Friday): the evening range closes only when enabled.
    assert _add(ATLANTIQUE, "2026-05-22T21:30") == "2026-05-22T23:30"
    local = build_calendar("drom-atlantique", CalendarOptions(drom_local_holidays=True))
    assert _add(local, "2026-05-22T21:30") == "2026-05-26T09:00"  # weekend, Whit Monday, then Tuesday
    assert _add(local, "2026-05-22T14:00") == "2026-05-22T16:00"  # metropolitan hours keep running


def test_calendar_errors() -> None:
    with pytest.raises(CalendarError, match="metropole, drom-atlantique, drom-indien"):
        build_calendar("mars")
    with pytest.raises(CalendarError, match="HH:MM"):
        build_calendar("metropole", CalendarOptions(saturday_hours="8h-18h"))
    never = BusinessCalendar("never", "closed", weekday_ranges=())
    with pytest.raises(CalendarError, match="no opening hours"):
        never.add(datetime(2026, 3, 10, 9), TWO_HOURS)
    with pytest.raises(CalendarError, match="negative"):
        METROPOLE.add(datetime(2026, 3, 10, 9), -TWO_HOURS)
    assert CALENDAR_NAMES == ("metropole", "drom-atlantique", "drom-indien")


def test_aware_inputs_are_converted_to_paris_time() -> None:
    opened = datetime(2026, 3, 10, 13, 0, tzinfo=UTC)  # 14:00 in Paris
    assert METROPOLE.add(opened, TWO_HOURS) == _local("2026-03-10T16:00")

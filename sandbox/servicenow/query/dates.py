"""Glide date-times in UTC: the stored text format, day/hour/minute boundaries, relative moments."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

DATE_FORMAT = "%Y-%m-%d"
DATE_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_DATE_TIME = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2}))?)?")


def as_utc(moment: datetime) -> datetime:
    """The same instant in UTC; a naive datetime is taken to be UTC already (as stored values are)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_date_time(moment: datetime) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in UTC, as the instance stores date-times."""
    return as_utc(moment).strftime(DATE_TIME_FORMAT)


def format_date(moment: datetime) -> str:
    """``YYYY-MM-DD`` in UTC."""
    return as_utc(moment).strftime(DATE_FORMAT)


def parse_date_time(text: str) -> datetime | None:
    """Read ``YYYY-MM-DD[ HH:MM[:SS]]`` as UTC (a date alone is its midnight); None if it is not one."""
    text = text.strip()
    if len(text) < 10 or text[4] != "-":  # cheap refusal: sorting by sys_id compares many non-dates
        return None
    found = _DATE_TIME.fullmatch(text)
    if found is None:
        return None
    year, month, day, hour, minute, second = (int(part) if part else 0 for part in found.groups())
    try:
        return datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        return None  # 2026-02-30 and the like are text, not dates


def start_of_day(moment: datetime) -> datetime:
    """Midnight of the moment's UTC day."""
    return as_utc(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def end_of_day(moment: datetime) -> datetime:
    """23:59:59 of the moment's UTC day (the instance's end of day has whole seconds)."""
    return start_of_day(moment) + timedelta(days=1, seconds=-1)


def start_of_hour(moment: datetime) -> datetime:
    """HH:00:00 of the moment's hour."""
    return as_utc(moment).replace(minute=0, second=0, microsecond=0)


def end_of_hour(moment: datetime) -> datetime:
    """HH:59:59 of the moment's hour."""
    return start_of_hour(moment) + timedelta(hours=1, seconds=-1)


def start_of_minute(moment: datetime) -> datetime:
    """HH:MM:00 of the moment's minute."""
    return as_utc(moment).replace(second=0, microsecond=0)


def end_of_minute(moment: datetime) -> datetime:
    """HH:MM:59 of the moment's minute."""
    return start_of_minute(moment) + timedelta(minutes=1, seconds=-1)


def start_of_week(moment: datetime) -> datetime:
    """Monday 00:00:00 of the moment's week (``gs.beginningOfThisWeek()``)."""
    day = start_of_day(moment)
    return day - timedelta(days=day.weekday())


def start_of_month(moment: datetime) -> datetime:
    """The first of the moment's month at 00:00:00."""
    return start_of_day(moment).replace(day=1)


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time ``months`` later (earlier if negative), clamped to the month's last day."""
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


_UNIT_SECONDS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "dayofweek": 86400, "week": 604800}
_UNIT_MONTHS = {"month": 1, "quarter": 3, "year": 12}
RELATIVE_UNITS = tuple([*_UNIT_SECONDS, *_UNIT_MONTHS])


def shift(moment: datetime, amount: int, unit: str) -> datetime:
    """``moment`` plus ``amount`` units (``minute``, ``hour``, ``day``, ``week``, ``month``, ``quarter``...)."""
    if unit in _UNIT_SECONDS:
        return moment + timedelta(seconds=amount * _UNIT_SECONDS[unit])
    if unit in _UNIT_MONTHS:
        return add_months(moment, amount * _UNIT_MONTHS[unit])
    raise ValueError(f"unknown unit {unit!r}; expected one of {', '.join(RELATIVE_UNITS)}")

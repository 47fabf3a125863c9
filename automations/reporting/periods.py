"""Reporting periods: day, ISO week, month and contract year (from the contract's start date)."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

Granularity = Literal["day", "week", "month", "contract_year"]
GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month", "contract_year")


@dataclass(frozen=True, order=True)
class Period:
    """A period of days ``first``..``last`` inclusive, with a stable label (2026-03-10, 2026-W11, 2026-03, Y1)."""

    first: date
    last: date
    label: str

    def __contains__(self, day: object) -> bool:
        return isinstance(day, date) and self.first <= day <= self.last


def anniversary(start: date, years: int) -> date:
    """``start`` moved by ``years`` years; 29 February becomes 28 February in other years."""
    year = start.year + years
    return start.replace(year=year, day=min(start.day, monthrange(year, start.month)[1]))


def contract_year_index(start: date, day: date) -> int:
    """0 for the first contract year (« Année »), 1 for « Année+1 »…; each anniversary opens a new year."""
    if day < start:
        raise ValueError(f"{day} is before the contract start {start}")
    index = day.year - start.year
    if anniversary(start, index) > day:
        index -= 1
    return index


def contract_year(start: date, day: date) -> Period:
    """The contract year holding ``day``, labelled Y1, Y2…"""
    index = contract_year_index(start, day)
    return Period(anniversary(start, index), anniversary(start, index + 1) - timedelta(days=1), f"Y{index + 1}")


def period_of(day: date, granularity: Granularity, contract_start: date | None = None) -> Period:
    """The period of ``granularity`` holding ``day``."""
    if granularity == "day":
        return Period(day, day, day.isoformat())
    if granularity == "week":
        monday = day - timedelta(days=day.weekday())
        iso = day.isocalendar()
        return Period(monday, monday + timedelta(days=6), f"{iso.year}-W{iso.week:02d}")
    if granularity == "month":
        first = day.replace(day=1)
        return Period(first, day.replace(day=monthrange(day.year, day.month)[1]), f"{day:%Y-%m}")
    if granularity == "contract_year":
        if contract_start is None:
            raise ValueError("contract years need the contract start date (contract.anniversary)")
        return contract_year(contract_start, day)
    raise ValueError(f"unknown granularity {granularity!r}; choose one of: {', '.join(GRANULARITIES)}")

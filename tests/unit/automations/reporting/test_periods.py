"""Reporting periods and contract years."""

from __future__ import annotations

from datetime import date

import pytest

from automations.reporting.periods import contract_year, contract_year_index, period_of


def test_contract_years_start_on_each_anniversary() -> None:
    start = date(2026, 3, 15)
    assert contract_year_index(start, date(2026, 3, 15)) == 0
    assert contract_year_index(start, date(2027, 3, 14)) == 0
    assert contract_year_index(start, date(2027, 3, 15)) == 1
    assert contract_year_index(start, date(2030, 1, 1)) == 3
    year = contract_year(start, date(2027, 6, 1))
    assert (year.first, year.last, year.label) == (date(2027, 3, 15), date(2028, 3, 14), "Y2")
    with pytest.raises(ValueError, match="before the contract start"):
        contract_year_index(start, date(2026, 3, 14))


def test_a_contract_started_on_29_february() -> None:
    start = date(2028, 2, 29)
    assert contract_year(start, date(2029, 2, 28)).first == date(2029, 2, 28)
    assert contract_year(start, date(2029, 2, 27)).last == date(2029, 2, 27)


def test_periods() -> None:
    day = date(2026, 3, 10)
    assert period_of(day, "day").label == "2026-03-10"
    week = period_of(day, "week")
    assert (week.first, week.last, week.label) == (date(2026, 3, 9), date(2026, 3, 15), "2026-W11")
    month = period_of(date(2028, 2, 10), "month")
    assert (month.first, month.last, month.label) == (date(2028, 2, 1), date(2028, 2, 29), "2028-02")
    assert period_of(day, "contract_year", date(2026, 1, 1)).label == "Y1"
    assert day in week and date(2026, 3, 16) not in week
    with pytest.raises(ValueError, match="contract start"):
        period_of(day, "contract_year")
    with pytest.raises(ValueError, match="unknown granularity"):
        period_of(day, "quarter")  # type: ignore[arg-type]

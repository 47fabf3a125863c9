"""The contract's denominator: all service-desk requests of a period, as ServiceNow counts them.

``figures.Denominator`` is pluggable; this one asks a ``RequestCounter`` (``connectors.servicenow.stats``'s
``ServiceDeskStats``: the Aggregate API over the configured assignment groups) for the period's Paris days, and
remembers each answer, so a report asking twice for the same period calls ServiceNow once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from automations.reporting.figures import RequestFact
from automations.reporting.periods import Period
from automations.reporting.reconcile import utc_bounds


class RequestCounter(Protocol):
    def count_requests(self, start: datetime, end: datetime) -> int: ...


class ServiceNowDenominator:
    """A ``figures.Denominator`` counting in ServiceNow: UO-TR1.1 tickets ÷ this = the contract's rate."""

    def __init__(self, counter: RequestCounter) -> None:
        self._counter = counter
        self._known: dict[Period, int] = {}

    def __call__(self, period: Period, requests: Sequence[RequestFact]) -> int | None:
        if period not in self._known:
            self._known[period] = self._counter.count_requests(*utc_bounds(period.first, period.last))
        return self._known[period]

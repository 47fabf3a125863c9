"""The ``sesame sla`` commands: SLA deadlines in business time (tender §4.1, §7.3.3.2.1, §8).

``sesame sla deadline`` is a stable interface for outside checks: it needs no configuration file and prints
exactly one line, the deadline as ISO 8601 local (Europe/Paris) time without offset, e.g. ``2026-03-10T16:00``.
The output keeps the input's precision (minutes in → minutes out, seconds in → seconds out) and only adds
seconds or microseconds when the deadline has them, so nothing is ever rounded away.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import click

from automations.sla.calendars import CALENDAR_NAMES, PARIS, CalendarError, CalendarOptions, build_calendar, to_utc
from automations.sla.durations import DurationError, parse_duration
from workers.config import ContractSettings
from workers.report_cli import CONTRACT_CONFIG_OPTION, load_contract

_TIME_PART = re.compile(r"[T ](?P<clock>[\d:]+)(?P<fraction>[.,]\d+)?")


class LocalInstant(click.ParamType):
    """An ISO 8601 date-time; without an offset it is Paris wall-clock time."""

    name = "ISO_LOCAL_TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> tuple[datetime, str]:
        text = str(value).strip()
        try:
            instant = datetime.fromisoformat(text)
        except ValueError:
            self.fail(f"{text!r} is not an ISO 8601 date-time, e.g. 2026-03-10T14:00", param, ctx)
        return instant, precision_of(text)


class Duration(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> timedelta:
        try:
            return parse_duration(str(value))
        except DurationError as error:
            self.fail(str(error), param, ctx)


def precision_of(text: str) -> str:
    """The ``timespec`` of an ISO date-time's text: 'minutes', 'seconds', 'milliseconds' or 'microseconds'."""
    match = _TIME_PART.search(text)
    if match is None:
        return "minutes"  # a bare date means midnight; minutes are the natural grain of a deadline
    clock = match["clock"]
    digits = len(clock.replace(":", ""))
    if match["fraction"]:
        return "milliseconds" if len(match["fraction"]) <= 4 else "microseconds"  # the dot plus 1–3 digits
    return "seconds" if clock.count(":") >= 2 or digits >= 6 else "minutes"


def format_local(instant: datetime, precision: str) -> str:
    """Paris wall-clock ISO text at ``precision``, widened if the instant has finer components."""
    local = to_utc(instant).astimezone(PARIS).replace(tzinfo=None)
    order = ["minutes", "seconds", "milliseconds", "microseconds"]
    needed = "minutes"
    if local.microsecond:
        needed = "milliseconds" if local.microsecond % 1000 == 0 else "microseconds"
    elif local.second:
        needed = "seconds"
    return local.isoformat(timespec=max(precision, needed, key=order.index))


def calendar_options(contract: ContractSettings) -> CalendarOptions:
    """The calendars' deployment options from the ``contract`` section."""
    return CalendarOptions(saturday_hours=contract.saturday_hours, saturday_dates=frozenset(contract.saturday_dates),
                           closed_dates=frozenset(contract.closed_dates),
                           drom_local_holidays=contract.drom_local_holidays)


@click.group()
def sla() -> None:
    """Business-hours calendars and SLA deadlines (metropole, drom-atlantique, drom-indien)."""


@sla.command("deadline")
@click.option("--opened", type=LocalInstant(), required=True,
              help="When the ticket was opened: ISO 8601, Paris local time unless an offset is given.")
@click.option("--calendar", type=click.Choice(CALENDAR_NAMES), required=True, help="Business-hours calendar.")
@click.option("--within", type=Duration(), required=True,
              help="Business time allowed: 2h, 30m, 30min, 1h30, PT2H…")
@CONTRACT_CONFIG_OPTION
def deadline_command(opened: tuple[datetime, str], calendar: str, within: timedelta, config_path: Path | None) -> None:
    """Print the instant when WITHIN of business time has run from OPENED (ISO local time, Paris).

    \b
    Examples (tender §7.3.3.2.1):
      --opened 2026-03-10T14:00 --calendar metropole --within 2h        → 2026-03-10T16:00
      --opened 2026-03-10T18:50 --calendar metropole --within 2h        → 2026-03-11T08:50
      --opened 2026-03-10T22:00 --calendar metropole --within 2h        → 2026-03-11T09:00
      --opened 2026-03-10T21:30 --calendar drom-atlantique --within 2h  → 2026-03-10T23:30
    """
    instant, precision = opened
    try:
        business = build_calendar(calendar, calendar_options(load_contract(config_path)))
        deadline = business.add(instant, within)
    except CalendarError as error:
        raise click.ClickException(str(error)) from None
    click.echo(format_local(deadline, precision))

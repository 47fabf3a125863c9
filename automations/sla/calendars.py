"""Business-hours calendars of the service desk (tender §4.1, §4.4, §7.3.3.2.1) and business-time arithmetic.

The tender writes every range in metropolitan time (« heure de Métropole »), so every calendar works in
Europe/Paris wall-clock time, DROM calendars included — the tender's DROM example (ticket at 21:30, pick-up
before 23:30) only holds in Paris time.

- ``metropole``: HO, 07:00–19:00 Monday to Friday.
- ``drom-indien``: HO plus the HNO range « 4h00 (5h00 en heure d'été) à 7h00 du lundi au vendredi ».
- ``drom-atlantique``: HO plus « 19h00 à 00h00 (01h00 en heure d'été) du lundi au vendredi »; the range
  belongs to the weekday it starts on, so in summer Friday's range runs to Saturday 01:00 and Monday
  00:00–01:00 is closed (it is Sunday evening in the Antilles).

The summer variants are the DROM's own fixed office hours seen from Paris: the overseas departments keep
no daylight-saving time, so 04:00 Paris in winter (UTC+1) and 05:00 in summer (UTC+2) are both 07:00 in
La Réunion (UTC+4), and 00:00 / 01:00 Paris are both 19:00 in Martinique (UTC-4). "Summer" is decided by
Paris' daylight-saving time on the day the range starts.

Closed all day: weekends (unless a Saturday opening is configured — the tender's « 8h à 18h le samedi sur
demande », possibly « par tranche de 5h »), French national public holidays (``automations.sla.holidays``)
and ``contract.closed_dates``. The overseas abolition-of-slavery days are not closing days by default:
each DROM calendar serves several territories with different days (Martinique 22 May, Guadeloupe 27 May,
Guyane 10 June…), metropolitan HO keeps running on them, and the tender lists no exception to §4.1.
With ``contract.drom_local_holidays: true`` the HNO range of a zone is closed on its territories' days.

Business time is real elapsed time inside open ranges: all arithmetic is done in UTC, so a duration that
spans a daylight-saving change is neither an hour too long nor too short.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from automations.sla.holidays import abolition_days, is_french_public_holiday

PARIS = ZoneInfo("Europe/Paris")
SATURDAY = 5
DEFAULT_SATURDAY_HOURS = "08:00-18:00"  # « De 8h à 18h le samedi sur demande »
MAX_CLOSED_DAYS = 800  # a calendar closed this long is misconfigured; stop instead of looping


class CalendarError(ValueError):
    """Unknown calendar, malformed hours, or a calendar that never opens."""


@dataclass(frozen=True)
class DailyRange:
    """Opening range of a day as offsets from that day's local midnight; an end past 24 h crosses midnight."""

    start: timedelta
    end: timedelta
    summer_start: timedelta | None = None  # the tender's « en heure d'été » variants
    summer_end: timedelta | None = None
    local_holiday_zone: str | None = None  # closed on this zone's abolition days when they are enabled

    def bounds(self, summer: bool) -> tuple[timedelta, timedelta]:
        if summer:
            return (self.summer_start if self.summer_start is not None else self.start,
                    self.summer_end if self.summer_end is not None else self.end)
        return self.start, self.end


def hours(text: str) -> timedelta:
    """'07:00' → 7 h; '24:00' and '25:00' are allowed for ranges crossing midnight."""
    hh, _, mm = text.partition(":")
    if not (hh.isdigit() and mm.isdigit() and len(mm) == 2 and int(mm) < 60 and int(hh) <= 48):
        raise CalendarError(f"{text!r} is not a time of day HH:MM")
    return timedelta(hours=int(hh), minutes=int(mm))


def parse_range(text: str) -> DailyRange:
    """'08:00-18:00' → a DailyRange (used for the configured Saturday opening)."""
    start, sep, end = text.replace(" ", "").partition("-")
    if not sep:
        raise CalendarError(f"{text!r} is not a range HH:MM-HH:MM")
    daily = DailyRange(hours(start), hours(end))
    if daily.end <= daily.start:
        raise CalendarError(f"{text!r}: the range ends before it starts")
    return daily


HO = DailyRange(hours("07:00"), hours("19:00"))
HNO_INDIEN = DailyRange(hours("04:00"), hours("07:00"), summer_start=hours("05:00"), local_holiday_zone="indien")
HNO_ATLANTIQUE = DailyRange(hours("19:00"), hours("24:00"), summer_end=hours("25:00"),
                            local_holiday_zone="atlantique")

CALENDARS: dict[str, tuple[str, tuple[DailyRange, ...]]] = {
    "metropole": ("HO 07:00–19:00 Monday–Friday, Paris time", (HO,)),
    "drom-atlantique": ("HO plus HNO 19:00–00:00 (01:00 in summer time) Monday–Friday, Paris time",
                        (HO, HNO_ATLANTIQUE)),
    "drom-indien": ("HO plus HNO 04:00 (05:00 in summer time)–07:00 Monday–Friday, Paris time",
                    (HNO_INDIEN, HO)),
}
CALENDAR_NAMES: tuple[str, ...] = tuple(CALENDARS)


@dataclass(frozen=True)
class CalendarOptions:
    """Deployment choices on top of the tender's hours (``contract`` section of the configuration)."""

    saturday_hours: str | None = None  # e.g. "08:00-18:00"; None: Saturdays closed
    # Empty: every Saturday when saturday_hours is set; listed dates alone open with DEFAULT_SATURDAY_HOURS.
    saturday_dates: frozenset[date] = frozenset()
    closed_dates: frozenset[date] = frozenset()
    drom_local_holidays: bool = False


@dataclass(frozen=True)
class BusinessCalendar:
    """When the service desk counts time for a ticket, and business-time arithmetic over it."""

    name: str
    description: str
    weekday_ranges: tuple[DailyRange, ...]
    saturday_range: DailyRange | None = None
    saturday_dates: frozenset[date] = frozenset()
    closed_dates: frozenset[date] = frozenset()
    drom_local_holidays: bool = False
    tz: ZoneInfo = field(default=PARIS)

    def closed_all_day(self, day: date) -> bool:
        """Public holiday or configured closing day."""
        return is_french_public_holiday(day) or day in self.closed_dates

    def ranges_of(self, day: date) -> tuple[DailyRange, ...]:
        """The opening ranges that start on ``day``."""
        if self.closed_all_day(day):
            return ()
        weekday = day.weekday()
        if weekday < SATURDAY:
            ranges = self.weekday_ranges
        elif weekday == SATURDAY and self.saturday_range is not None and (
                not self.saturday_dates or day in self.saturday_dates):
            ranges = (self.saturday_range,)
        else:
            return ()
        if self.drom_local_holidays:
            ranges = tuple(r for r in ranges
                           if r.local_holiday_zone is None or day not in abolition_days(r.local_holiday_zone, day.year))
        return ranges

    def windows(self, day: date) -> list[tuple[datetime, datetime]]:
        """Open windows starting on ``day``, as UTC instants, in order."""
        summer = datetime.combine(day, time(12), self.tz).dst() not in (None, timedelta(0))
        midnight = datetime.combine(day, time(0))
        result = []
        for daily in self.ranges_of(day):
            start, end = daily.bounds(summer)
            result.append((self._utc(midnight + start), self._utc(midnight + end)))
        return sorted(result)

    def _utc(self, wall: datetime) -> datetime:
        return wall.replace(tzinfo=self.tz).astimezone(UTC)

    def open_windows_from(self, instant: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open windows (UTC) that end after ``instant``, clipped to start no earlier than it."""
        at = to_utc(instant, self.tz)
        # Start the day before: a range of the previous evening may still be open after midnight.
        day = at.astimezone(self.tz).date() - timedelta(days=1)
        closed_days = 0
        while True:
            windows = self.windows(day)
            closed_days = 0 if windows else closed_days + 1
            if closed_days > MAX_CLOSED_DAYS:
                raise CalendarError(f"calendar {self.name} has no opening hours for {MAX_CLOSED_DAYS} days")
            for start, end in windows:
                if end > at:
                    yield max(start, at), end
                    at = end  # overlapping ranges (a Saturday opening after a late Friday range) count once
            day += timedelta(days=1)

    def is_open(self, instant: datetime) -> bool:
        """Whether business time runs at ``instant``."""
        at = to_utc(instant, self.tz)
        start, _ = next(self.open_windows_from(at))
        return start == at

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when ``duration`` of business time has run from ``start`` (Paris-aware result).

        Time starts counting at ``start`` if the desk is open, else at the next opening; the result is the
        first instant the duration is used up, so 17:00 + 2 h is 19:00 the same day, not 07:00 the next.
        """
        if duration < timedelta(0):
            raise CalendarError(f"negative duration {duration}")
        remaining = duration
        for window_start, window_end in self.open_windows_from(start):
            available = window_end - window_start
            if remaining <= available:
                return (window_start + remaining).astimezone(self.tz)
            remaining -= available
        raise AssertionError("unreachable: open_windows_from never ends")  # pragma: no cover

    def business_time(self, start: datetime, end: datetime) -> timedelta:
        """Business time elapsed between two instants (zero when ``end`` is not after ``start``)."""
        stop = to_utc(end, self.tz)
        total = timedelta(0)
        if stop <= to_utc(start, self.tz):
            return total
        for window_start, window_end in self.open_windows_from(start):
            if window_start >= stop:
                break
            total += min(window_end, stop) - window_start
        return total


def to_utc(instant: datetime, tz: ZoneInfo = PARIS) -> datetime:
    """An aware instant in UTC; a naive one is read as wall-clock time in ``tz`` (Paris)."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=tz)
    return instant.astimezone(UTC)


def build_calendar(name: str, options: CalendarOptions | None = None) -> BusinessCalendar:
    """The calendar ``name`` (one of ``CALENDAR_NAMES``) with the deployment's options."""
    if name not in CALENDARS:
        raise CalendarError(f"unknown calendar {name!r}; choose one of: {', '.join(CALENDAR_NAMES)}")
    options = options or CalendarOptions()
    description, ranges = CALENDARS[name]
    saturday_hours = options.saturday_hours
    if saturday_hours is None and options.saturday_dates:
        saturday_hours = DEFAULT_SATURDAY_HOURS  # dates listed without hours: the tender's Saturday range
    saturday = parse_range(saturday_hours) if saturday_hours else None
    return BusinessCalendar(name=name, description=description, weekday_ranges=ranges, saturday_range=saturday,
                            saturday_dates=options.saturday_dates, closed_dates=options.closed_dates,
                            drom_local_holidays=options.drom_local_holidays)


def build_calendars(options: CalendarOptions | None = None,
                    names: Iterable[str] = CALENDAR_NAMES) -> dict[str, BusinessCalendar]:
    """Every named calendar with the same deployment options."""
    return {name: build_calendar(name, options) for name in names}

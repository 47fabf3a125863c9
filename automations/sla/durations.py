"""Durations as people and the tender write them: ``2h``, ``30m``, ``30min``, ``1h30``, ``0h30``, ``PT2H``.

Days are refused on purpose (``P1D``, ``1d``): a business day is not 24 hours, so "1 day" of business time
is ambiguous; write the hours (``12h`` for one metropolitan business day).
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

_NUMBER = r"\d+(?:[.,]\d+)?"
_ISO = re.compile(rf"^PT(?=\d)(?:(?P<h>{_NUMBER})H)?(?:(?P<m>{_NUMBER})M)?(?:(?P<s>{_NUMBER})S)?$", re.IGNORECASE)
_ISO_DAYS = re.compile(r"^P(?:\d+[YMWD])+(?:T.*)?$", re.IGNORECASE)
_UNITS = {"h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600, "heure": 3600, "heures": 3600,
          "m": 60, "mn": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
          "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1, "seconde": 1, "secondes": 1}
_TOKEN = re.compile(rf"\s*(?P<n>{_NUMBER})\s*(?P<u>[a-zA-Z]*)")

EXAMPLES = "2h, 30m, 30min, 1h30, 90s, PT2H, PT1H30M"


class DurationError(ValueError):
    """The text is not a duration this module reads; the message gives examples."""


def _seconds(number: str) -> Decimal:
    try:
        return Decimal(number.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the regexes only let digits through
        raise DurationError(f"{number!r} is not a number") from None


def parse_duration(text: str) -> timedelta:
    """Read a duration; raise ``DurationError`` with the accepted forms otherwise."""
    value = text.strip()
    if not value:
        raise DurationError(f"empty duration; write e.g. {EXAMPLES}")
    iso = _ISO.match(value)
    if iso:
        total = sum((_seconds(iso[unit]) * factor for unit, factor in (("h", 3600), ("m", 60), ("s", 1))
                     if iso[unit] is not None), Decimal(0))
        return timedelta(seconds=float(total))
    if _ISO_DAYS.match(value) or re.fullmatch(rf"{_NUMBER}\s*(d|j|days?|jours?)", value, re.IGNORECASE):
        raise DurationError(f"{text!r}: days are ambiguous in business time (a business day is not 24 h); "
                            "give hours instead, e.g. 12h")
    total = Decimal(0)
    position = 0
    previous = ""
    while position < len(value):
        token = _TOKEN.match(value, position)
        if token is None:
            raise DurationError(f"{text!r} is not a duration; write e.g. {EXAMPLES}")
        unit = token["u"].lower()
        if not unit and previous == "h" and token.end() == len(value) and "." not in token["n"]:
            unit = "min"  # "1h30": minutes after hours need no unit
        if unit not in _UNITS:
            why = "a number needs a unit" if not unit else f"unknown unit {token['u']!r}"
            raise DurationError(f"{text!r}: {why}; write e.g. {EXAMPLES}")
        total += _seconds(token["n"]) * _UNITS[unit]
        previous = "h" if _UNITS[unit] == 3600 else unit
        position = token.end()
    return timedelta(seconds=float(total))


def format_duration(duration: timedelta) -> str:
    """1:30:00 → '1h30'; 0:30:00 → '30min'; 2:00:00 → '2h' (for messages and reports)."""
    seconds = int(duration.total_seconds())
    hours_part, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{hours_part}h" if hours_part else ""
    if minutes:
        text += f"{minutes:02d}" if hours_part else f"{minutes}min"
    if secs:
        text += f"{secs}s"
    return text or "0min"

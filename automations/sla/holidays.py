"""French public holidays, computed for any year (no hard-coded year list).

National holidays (Code du travail, art. L3133-1): 1 January, Easter Monday, 1 May, 8 May, Ascension Thursday
(Easter + 39 days), Whit Monday (Easter + 50 days), 14 July, 15 August, 1 November, 11 November, 25 December.
They apply in metropolitan France and in the overseas departments alike.

Not included on purpose: Good Friday and 26 December, which are holidays only in Alsace-Moselle (add them to
``contract.closed_dates`` if a deployment serves only those sites). The overseas abolition-of-slavery days
(loi n° 83-550 du 30 juin 1983, décret n° 83-1003) are listed in ``ABOLITION_DAYS``; a DROM calendar
closes its extended (HNO) hours on them only when ``contract.drom_local_holidays`` is true — see
``automations.sla.calendars`` for why that is not the default.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm, Meeus/Jones/Butcher)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month, day = divmod(h + leap - 7 * m + 114, 31)
    return date(year, month, day + 1)


@lru_cache(maxsize=64)
def french_public_holidays(year: int) -> dict[date, str]:
    """The national public holidays of ``year``, date → French name."""
    easter = easter_sunday(year)
    return {
        date(year, 1, 1): "Jour de l'an",
        easter + timedelta(days=1): "Lundi de Pâques",
        date(year, 5, 1): "Fête du Travail",
        date(year, 5, 8): "Victoire 1945",
        easter + timedelta(days=39): "Ascension",
        easter + timedelta(days=50): "Lundi de Pentecôte",
        date(year, 7, 14): "Fête nationale",
        date(year, 8, 15): "Assomption",
        date(year, 11, 1): "Toussaint",
        date(year, 11, 11): "Armistice 1918",
        date(year, 12, 25): "Noël",
    }


def is_french_public_holiday(day: date) -> bool:
    """Whether ``day`` is a national public holiday in France."""
    return day in french_public_holidays(day.year)


# Abolition of slavery, one day per territory (month, day); décret n° 83-1003 du 23 novembre 1983 as amended.
ABOLITION_DAYS: dict[str, tuple[str, tuple[int, int]]] = {
    "guadeloupe": ("atlantique", (5, 27)),
    "martinique": ("atlantique", (5, 22)),
    "guyane": ("atlantique", (6, 10)),
    "saint-martin": ("atlantique", (5, 28)),
    "saint-barthelemy": ("atlantique", (10, 9)),
    "mayotte": ("indien", (4, 27)),
    "la-reunion": ("indien", (12, 20)),
}


def abolition_days(zone: str, year: int) -> dict[date, str]:
    """Abolition-of-slavery days of the territories of ``zone`` ('atlantique' or 'indien') in ``year``."""
    return {date(year, month, day): f"Abolition de l'esclavage ({territory})"
            for territory, (territory_zone, (month, day)) in ABOLITION_DAYS.items() if territory_zone == zone}

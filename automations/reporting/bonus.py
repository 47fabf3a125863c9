"""The UO-TR1.1 automation bonus, computed exactly as the tender writes it (§7.3.3.4.5).

The tender's text:

    « Si le Titulaire résout entre 30 % et 49 % des sollicitations du Service Desk par traitement
    automatisé, une bonification de 10 % de l'UO-TR1.1 sera appliquée pour les interactions
    correspondant à ce pourcentage.
    Si le titulaire résout 50 % ou plus des sollicitations du Service Desk par traitement automatisé,
    une bonification de 15 % de l'UO-TR1.1 sera appliquée pour les interactions correspondant à ce
    pourcentage. »

and its examples: 32 % → « 10 % de l'UO-TR1.1 pour 2 % d'interactions »; 37 % → 10 % for 7 %;
72 % → « 10 % … pour 19 % d'interactions (19 points pour la tranche de 30 à 49) » and
« 15 % … pour 22 % d'interactions (22 points pour la tranche de 50 ou plus) ».

How the examples fix the arithmetic (a band earns the points of the rate r above its lower bound, capped
at its upper bound):

- band "30 to 49" earns ``min(r, 49) - 30`` points when r > 30: 32 → 2, 37 → 7, 72 → 19 (not 20);
- band "50 or more" earns ``r - 50`` points when r > 50: 72 → 22 (not 23).

**The 49 → 50 boundary.** The two examples at 72 % give 19 + 22 = 41 points, not 42: the point between 49 %
and 50 % earns no bonus. We follow the tender's own arithmetic rather than "fix" it; a rate of 49.6 % thus
earns 19 points at 10 % — the band is full — and nothing at 15 %. Exactly 30 % earns 0 points, exactly 50 %
earns 19 points at 10 % and 0 at 15 %.

**Fractional rates.** The tender states no rounding and pays "for the interactions corresponding to this
percentage", so the rate is not rounded to whole points: r = automated ÷ total × 100 exactly (rational
arithmetic), points = the exact excess over the band's lower bound, interactions = points × total ÷ 100.
Rounding happens once, on output: money to the cent (half up), other figures to 6 decimals.

Bands are data (``BonusBand``) so that a contract amendment is a configuration change
(``contract.bonus_*`` keys, see ``docs/configuration.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from fractions import Fraction

CENT = Decimal("0.01")
FIGURE = Decimal("0.000001")


class BonusError(ValueError):
    """The counts or the bands cannot give a bonus; the message says which value is wrong."""


@dataclass(frozen=True)
class BonusBand:
    """A band of the automated-resolution rate: points above ``from_pct`` (capped at ``to_pct``) earn ``bonus_pct``."""

    from_pct: Decimal
    to_pct: Decimal | None  # None: no upper bound (up to 100 %)
    bonus_pct: Decimal


TENDER_BANDS: tuple[BonusBand, ...] = (
    BonusBand(Decimal(30), Decimal(49), Decimal(10)),
    BonusBand(Decimal(50), None, Decimal(15)),
)


@dataclass(frozen=True)
class BandShare:
    """What one band earns: its points, the interactions they stand for, and the bonus percentage."""

    band: BonusBand
    points: Fraction
    interactions: Fraction


@dataclass(frozen=True)
class Bonus:
    """The bonus of one contract year: the rate, the bands that earn points, and the amount when priced."""

    automated: Fraction
    total: Fraction
    rate_pct: Fraction
    shares: tuple[BandShare, ...]
    unit_price: Decimal | None

    @property
    def amount(self) -> Decimal | None:
        """Bonus in the price's currency, to the cent (half up); None without a unit price."""
        if self.unit_price is None:
            return None
        exact = sum((share.interactions * Fraction(self.unit_price) * Fraction(share.band.bonus_pct) / 100
                     for share in self.shares), Fraction(0))
        return to_decimal(exact, CENT, ROUND_HALF_UP)

    def as_dict(self) -> dict[str, object]:
        """The stable JSON shape of ``sesame report bonus`` (numbers as JSON numbers)."""
        data: dict[str, object] = {
            "rate_pct": json_number(to_decimal(self.rate_pct)),
            "bands": [
                {
                    "from_pct": json_number(share.band.from_pct),
                    "to_pct": json_number(share.band.to_pct if share.band.to_pct is not None else Decimal(100)),
                    "points": json_number(to_decimal(share.points)),
                    "bonus_pct": json_number(share.band.bonus_pct),
                    "interactions": json_number(to_decimal(share.interactions)),
                }
                for share in self.shares
            ],
        }
        amount = self.amount
        if amount is not None:
            data["bonus_amount"] = json_number(amount)
        return data


def validate_bands(bands: tuple[BonusBand, ...]) -> None:
    """Bands must be ordered, non-overlapping, within 0–100 %, with non-negative bonus percentages."""
    previous_end = Decimal(0)
    for index, band in enumerate(bands):
        end = band.to_pct if band.to_pct is not None else Decimal(100)
        if not Decimal(0) <= band.from_pct < end <= Decimal(100):
            raise BonusError(f"band {index + 1}: needs 0 <= from ({band.from_pct}) < to ({end}) <= 100")
        if band.from_pct < previous_end:
            raise BonusError(f"band {index + 1}: starts at {band.from_pct} %, inside the previous band")
        if band.bonus_pct < 0:
            raise BonusError(f"band {index + 1}: bonus percentage {band.bonus_pct} is negative")
        previous_end = end


def compute_bonus(automated: Decimal | int, total: Decimal | int, unit_price: Decimal | None = None,
                  bands: tuple[BonusBand, ...] = TENDER_BANDS) -> Bonus:
    """The bonus for ``automated`` requests resolved automatically out of ``total`` service-desk requests."""
    validate_bands(bands)
    for name, value in (("automated", automated), ("total", total), ("unit price", unit_price)):
        if value is not None and not Decimal(value).is_finite():
            raise BonusError(f"{name} must be a finite number, not {value}")
        if value is not None and value < 0:
            raise BonusError(f"{name} cannot be negative ({value})")
    if total == 0:
        raise BonusError("total is 0: the rate is undefined without any service-desk request")
    if automated > total:
        raise BonusError(f"automated ({automated}) cannot exceed total ({total})")
    exact_automated, exact_total = Fraction(Decimal(automated)), Fraction(Decimal(total))
    rate = exact_automated / exact_total * 100
    shares = []
    for band in bands:
        top = Fraction(band.to_pct) if band.to_pct is not None else Fraction(100)
        points = min(rate, top) - Fraction(band.from_pct)
        if points > 0:  # a band appears only when it earns something: 30 % exactly lists no band
            shares.append(BandShare(band, points, points * exact_total / 100))
    return Bonus(exact_automated, exact_total, rate, tuple(shares), unit_price)


def to_decimal(value: Fraction | Decimal, quantum: Decimal = FIGURE, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """An exact fraction as a Decimal rounded to ``quantum``."""
    if isinstance(value, Decimal):
        return value.quantize(quantum, rounding=rounding)
    quotient = Decimal(value.numerator) / Decimal(value.denominator)
    # Decimal division carries 28 significant digits, plenty for counts of requests and prices in euros.
    return quotient.quantize(quantum, rounding=rounding)


def json_number(value: Decimal) -> int | float:
    """A Decimal as a JSON number: an int when whole (32, not 32.0), else the shortest float."""
    normal = value.normalize()
    if normal == normal.to_integral_value():
        return int(normal)
    return float(normal)

"""The UO-TR1.1 bonus: the tender's examples (§7.3.3.4.5) and the edges of its bands."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from automations.reporting.bonus import TENDER_BANDS, BonusBand, BonusError, compute_bonus, json_number


def _points(automated: int | Decimal, total: int | Decimal = 100) -> list[tuple[Fraction, Decimal]]:
    return [(share.points, share.band.bonus_pct) for share in compute_bonus(automated, total).shares]


@pytest.mark.parametrize(("rate", "expected"), [
    (32, [(2, 10)]),  # « 10 % de l'UO-TR1.1 pour 2 % d'interactions »
    (37, [(7, 10)]),
    (72, [(19, 10), (22, 15)]),  # « 19 points pour la tranche de 30 à 49 », « 22 points pour … 50 ou plus »
])
def test_the_tenders_examples(rate: int, expected: list[tuple[int, int]]) -> None:
    assert _points(rate) == [(Fraction(p), Decimal(b)) for p, b in expected]


@pytest.mark.parametrize(("rate", "expected"), [
    (0, []),
    (Decimal("29.99"), []),
    (30, []),  # exactly 30 %: the band is reached but earns nothing yet
    (Decimal("30.5"), [(Fraction(1, 2), 10)]),
    (49, [(19, 10)]),
    (Decimal("49.6"), [(19, 10)]),  # the point from 49 to 50 earns nothing, as in the tender's 72 % example
    (50, [(19, 10)]),
    (51, [(19, 10), (1, 15)]),
    (100, [(19, 10), (50, 15)]),
])
def test_band_edges(rate: int | Decimal, expected: list[tuple[Fraction | int, int]]) -> None:
    assert _points(rate) == [(Fraction(p), Decimal(b)) for p, b in expected]


def test_interactions_are_the_points_share_of_all_requests() -> None:
    bonus = compute_bonus(504_000, 700_000)  # 72 %
    assert bonus.rate_pct == 72
    assert [share.interactions for share in bonus.shares] == [133_000, 154_000]


def test_fractional_rate_is_not_rounded() -> None:
    bonus = compute_bonus(1, 3)  # 33.333… %
    assert bonus.rate_pct == Fraction(100, 3)
    assert bonus.shares[0].points == Fraction(100, 3) - 30
    assert bonus.shares[0].interactions == Fraction(1, 10)  # exactly 1 - 0.3 × 3
    assert bonus.as_dict()["rate_pct"] == 33.333333


def test_amount_in_decimal_to_the_cent() -> None:
    # 72 % of 700,000 at 1.10 €: 133,000 × 1.10 × 10 % + 154,000 × 1.10 × 15 % = 14,630 + 25,410.
    assert compute_bonus(504_000, 700_000, Decimal("1.10")).amount == Decimal("40040.00")
    # 0.1 interaction × 0.05 € × 10 % = 0.0005 € rounds to 0.00 €.
    assert compute_bonus(1, 3, Decimal("0.05")).amount == Decimal("0.00")
    assert compute_bonus(35, 100, Decimal("0.01")).amount == Decimal("0.01")  # 5 × 0.01 × 10 % = 0.005 → 0.01
    assert compute_bonus(20, 100, Decimal("100")).amount == Decimal("0.00")
    assert compute_bonus(72, 100).amount is None


def test_json_shape_of_the_cli() -> None:
    data = compute_bonus(72, 100, Decimal(10)).as_dict()
    assert data == {
        "rate_pct": 72,
        "bands": [
            {"from_pct": 30, "to_pct": 49, "points": 19, "bonus_pct": 10, "interactions": 19},
            {"from_pct": 50, "to_pct": 100, "points": 22, "bonus_pct": 15, "interactions": 22},
        ],
        "bonus_amount": 52,  # 19 × 10 × 10 % + 22 × 10 × 15 %
    }
    assert "bonus_amount" not in compute_bonus(72, 100).as_dict()


@pytest.mark.parametrize(("automated", "total", "message"), [
    (101, 100, "cannot exceed"),
    (-1, 100, "negative"),
    (1, 0, "total is 0"),
    (Decimal("NaN"), 100, "finite"),
])
def test_impossible_counts_are_refused(automated: int | Decimal, total: int, message: str) -> None:
    with pytest.raises(BonusError, match=message):
        compute_bonus(automated, total)


def test_negative_price_is_refused() -> None:
    with pytest.raises(BonusError, match="unit price"):
        compute_bonus(40, 100, Decimal("-1"))


def test_other_bands_from_configuration() -> None:
    bands = (BonusBand(Decimal(20), Decimal(40), Decimal(5)), BonusBand(Decimal(40), None, Decimal(20)))
    shares = compute_bonus(45, 100, bands=bands).shares
    assert [(s.points, s.band.bonus_pct) for s in shares] == [(20, 5), (5, 20)]


def test_overlapping_bands_are_refused() -> None:
    with pytest.raises(BonusError, match="inside the previous band"):
        compute_bonus(45, 100, bands=(TENDER_BANDS[0], BonusBand(Decimal(40), None, Decimal(15))))


def test_json_numbers() -> None:
    assert json_number(Decimal("32.000000")) == 32 and isinstance(json_number(Decimal("32.0")), int)
    assert json_number(Decimal("2.500000")) == 2.5

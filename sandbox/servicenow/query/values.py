"""How two field values compare: numbers numerically, date-times as instants, booleans, text without case."""

from __future__ import annotations

import re

from sandbox.servicenow.query import dates
from sandbox.servicenow.schema import FieldKind

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_TRUE, _FALSE = frozenset({"true", "1"}), frozenset({"false", "0", ""})


def _number(text: str) -> float | None:
    # A strict pattern: float() would also read "nan", "inf" or "1e5" out of ordinary strings.
    text = text.strip()
    if not text or not (text[0].isdigit() or text[0] == "-"):
        return None
    return float(text) if _NUMBER.fullmatch(text) else None


def _sign(left: object, right: object) -> int:
    return (left > right) - (left < right)  # type: ignore[operator]


def compare(left: str, right: str, kind: FieldKind | None = None) -> int:
    """-1/0/1. With a known ``kind`` it decides; otherwise the values' shape does (numbers, dates, text)."""
    if kind is FieldKind.BOOLEAN:
        left_flag, right_flag = left.strip().casefold(), right.strip().casefold()
        if {left_flag, right_flag} <= _TRUE | _FALSE:
            return _sign(left_flag in _TRUE, right_flag in _TRUE)
    if kind in (None, FieldKind.DATE_TIME):
        left_moment, right_moment = dates.parse_date_time(left), dates.parse_date_time(right)
        if left_moment is not None and right_moment is not None:
            return _sign(left_moment, right_moment)
    if kind in (None, FieldKind.INTEGER, FieldKind.CHOICE):
        left_number, right_number = _number(left), _number(right)
        if left_number is not None and right_number is not None:
            return _sign(left_number, right_number)
    return _sign(left.casefold(), right.casefold())


def same(left: str, right: str, kind: FieldKind | None = None) -> bool:
    """Equality as ``=`` sees it (case-insensitive text, ``1`` equals ``1.0`` for numbers)."""
    return compare(left, right, kind) == 0


class SortKey:
    """A sort key ordering texts as ORDERBY does (``compare``: numbers, dates, then text without case; empty first)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __lt__(self, other: SortKey) -> bool:
        return compare(self.text, other.text) < 0

    # Equality by the same rule: tuples of keys (multi-field group orders) compare element by element.
    def __eq__(self, other: object) -> bool:
        return isinstance(other, SortKey) and compare(self.text, other.text) == 0

    __hash__ = None  # type: ignore[assignment]

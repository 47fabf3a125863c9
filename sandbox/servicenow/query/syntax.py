"""The syntax tree of an encoded query: operators, conditions, ``^OR`` clauses, ``^NQ`` groups, order."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Operator(Enum):
    """Condition operators, spelled as in an encoded query."""

    IS_NOT_EMPTY = "ISNOTEMPTY"
    IS_EMPTY = "ISEMPTY"
    EMPTY_STRING = "EMPTYSTRING"
    ANYTHING = "ANYTHING"
    NOT_LIKE = "NOT LIKE"
    NOT_IN = "NOT IN"
    STARTS_WITH = "STARTSWITH"
    ENDS_WITH = "ENDSWITH"
    BETWEEN = "BETWEEN"
    LIKE = "LIKE"
    IN = "IN"
    SAME_AS = "SAMEAS"
    NOT_SAME_AS = "NSAMEAS"
    GREATER_THAN_FIELD = "GT_FIELD"
    LESS_THAN_FIELD = "LT_FIELD"
    GREATER_OR_EQUAL_FIELD = "GT_OR_EQUALS_FIELD"
    LESS_OR_EQUAL_FIELD = "LT_OR_EQUALS_FIELD"
    ON = "ON"
    NOT_ON = "NOTON"
    RELATIVE_GREATER = "RELATIVEGT"
    RELATIVE_LESS = "RELATIVELT"
    RELATIVE_GREATER_OR_EQUAL = "RELATIVEGE"
    RELATIVE_LESS_OR_EQUAL = "RELATIVELE"
    DYNAMIC = "DYNAMIC"
    NOT_EQUALS = "!="
    GREATER_OR_EQUAL = ">="
    LESS_OR_EQUAL = "<="
    EQUALS = "="
    GREATER = ">"
    LESS = "<"


# Longest spelling first, so ">=" wins over ">", "NOT IN" over "IN" and "NOTON" over "ON".
SPELLINGS: tuple[Operator, ...] = tuple(sorted(Operator, key=lambda op: len(op.value), reverse=True))

UNARY = frozenset({Operator.IS_EMPTY, Operator.IS_NOT_EMPTY, Operator.EMPTY_STRING, Operator.ANYTHING})
FIELD_TO_FIELD = frozenset(
    {
        Operator.SAME_AS,
        Operator.NOT_SAME_AS,
        Operator.GREATER_THAN_FIELD,
        Operator.LESS_THAN_FIELD,
        Operator.GREATER_OR_EQUAL_FIELD,
        Operator.LESS_OR_EQUAL_FIELD,
    }
)
LISTS = frozenset({Operator.IN, Operator.NOT_IN})
RANGES = frozenset({Operator.BETWEEN, Operator.ON, Operator.NOT_ON})
RELATIVE = frozenset(
    {
        Operator.RELATIVE_GREATER,
        Operator.RELATIVE_LESS,
        Operator.RELATIVE_GREATER_OR_EQUAL,
        Operator.RELATIVE_LESS_OR_EQUAL,
    }
)


@dataclass(frozen=True)
class Condition:
    """``field`` ``operator`` operands, e.g. ``stateIN1,2`` -> ``("1", "2")``.

    Operands are resolved: ``javascript:`` helpers already evaluated, lists split, ranges as
    ``(low, high)``, field-to-field operators carrying the other field's name.
    """

    field: str
    operator: Operator
    operands: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unreadable:
    """A term whose field could be read but not its operator: an error only if the field exists."""

    field: str
    text: str


Term = Condition | Unreadable


@dataclass(frozen=True)
class AnyOf:
    """A condition and the ``^OR`` alternatives attached to it."""

    conditions: tuple[Term, ...]


@dataclass(frozen=True)
class AllOf:
    """Clauses joined by ``^``."""

    clauses: tuple[AnyOf, ...]


@dataclass(frozen=True)
class OrderBy:
    """One ``ORDERBY``/``ORDERBYDESC`` term."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class EncodedQuery:
    """A parsed query: groups joined by ``^NQ`` (any may match) and the sort order."""

    groups: tuple[AllOf, ...]
    order: tuple[OrderBy, ...] = ()

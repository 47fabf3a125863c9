"""ServiceNow encoded queries: tokens -> condition tree -> evaluation against one record.

Grammar (subset, see the ServiceNow note §7.1)::

    query     := group ("^NQ" group)*
    group     := term ("^" term)*
    term      := condition | "OR" condition | "ORDERBY" field | "ORDERBYDESC" field | "GROUPBY" field | "EQ"
    condition := field operator value

``^OR`` binds to the condition before it (``a^b^ORc`` is ``a AND (b OR c)``); ``^NQ`` ORs whole
groups. A condition on a field the table does not have is ignored, as on an instance with
``glide.invalid_query.returns_no_rows=false``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from sandbox.servicenow.errors import EncodedQueryError


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
    NOT_EQUALS = "!="
    GREATER_OR_EQUAL = ">="
    LESS_OR_EQUAL = "<="
    EQUALS = "="
    GREATER = ">"
    LESS = "<"


# Longest spelling first so that ">=" wins over ">" and "NOT IN" over "IN".
_SPELLINGS = sorted(Operator, key=lambda op: len(op.value), reverse=True)
_UNARY = {Operator.IS_EMPTY, Operator.IS_NOT_EMPTY, Operator.EMPTY_STRING, Operator.ANYTHING}
_FIELD = re.compile(r"[A-Za-z0-9_$.]+")
_UNSUPPORTED_PREFIXES = ("JOIN", "RLQUERY", "ENDRLQUERY", "123TEXTQUERY321", "SUBQUERY")


@dataclass(frozen=True)
class Condition:
    """``field`` ``operator`` ``value``, e.g. ``stateIN1,2``."""

    field: str
    operator: Operator
    value: str = ""


@dataclass(frozen=True)
class AnyOf:
    """A condition and the ``^OR`` alternatives attached to it."""

    conditions: tuple[Condition, ...]


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


class TokenKind(Enum):
    """What one ``^``-separated term is."""

    CONDITION = "condition"
    OR_CONDITION = "or"
    NEW_QUERY = "nq"
    ORDER_BY = "orderby"
    ORDER_BY_DESC = "orderbydesc"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Token:
    """One term of the encoded query, with the text that follows its keyword."""

    kind: TokenKind
    text: str


def tokenize(encoded: str) -> list[Token]:
    """Split an encoded query into typed terms; empty terms (``^^``, leading ``^``) are skipped."""
    tokens: list[Token] = []
    for term in encoded.split("^"):
        if not term:
            continue
        if term.startswith(_UNSUPPORTED_PREFIXES):
            raise EncodedQueryError(f"{term!r}: JOIN, RLQUERY and text queries are not emulated yet")
        if term.startswith("NQ"):
            tokens.append(Token(TokenKind.NEW_QUERY, ""))
            if term[2:]:
                tokens.append(Token(TokenKind.CONDITION, term[2:]))
        elif term.startswith("ORDERBYDESC"):
            tokens.append(Token(TokenKind.ORDER_BY_DESC, term[len("ORDERBYDESC") :]))
        elif term.startswith("ORDERBY"):
            tokens.append(Token(TokenKind.ORDER_BY, term[len("ORDERBY") :]))
        elif term.startswith("GROUPBY") or term == "EQ":
            tokens.append(Token(TokenKind.IGNORED, term))
        elif term.startswith("OR"):
            tokens.append(Token(TokenKind.OR_CONDITION, term[2:]))
        else:
            tokens.append(Token(TokenKind.CONDITION, term))
    return tokens


def parse_condition(text: str) -> Condition:
    """Read ``<field><operator><value>``: the operator is the earliest one after a valid field name."""
    for position in range(1, len(text)):
        rest = text[position:]
        for operator in _SPELLINGS:
            if rest.startswith(operator.value) and _FIELD.fullmatch(text[:position]):
                value = rest[len(operator.value) :]
                return Condition(text[:position], operator, "" if operator in _UNARY else value)
    spellings = ", ".join(op.value for op in Operator)
    raise EncodedQueryError(f"{text!r}: expected <field><operator><value> with an operator among {spellings}")


def parse(encoded: str) -> EncodedQuery:
    """Parse ``sysparm_query`` into a condition tree and an order."""
    groups: list[AllOf] = []
    clauses: list[list[Condition]] = []
    order: list[OrderBy] = []
    for token in tokenize(encoded):
        if token.kind is TokenKind.NEW_QUERY:
            groups.append(_group(clauses))
            clauses = []
        elif token.kind is TokenKind.CONDITION:
            clauses.append([parse_condition(token.text)])
        elif token.kind is TokenKind.OR_CONDITION:
            condition = parse_condition(token.text)
            if clauses:
                clauses[-1].append(condition)
            else:
                clauses.append([condition])
        elif token.kind in (TokenKind.ORDER_BY, TokenKind.ORDER_BY_DESC):
            if not _FIELD.fullmatch(token.text):
                raise EncodedQueryError(f"ORDERBY needs a field name, got {token.text!r}")
            order.append(OrderBy(token.text, descending=token.kind is TokenKind.ORDER_BY_DESC))
    groups.append(_group(clauses))
    return EncodedQuery(tuple(groups), tuple(order))


def _group(clauses: list[list[Condition]]) -> AllOf:
    return AllOf(tuple(AnyOf(tuple(alternatives)) for alternatives in clauses))


@dataclass(frozen=True)
class FieldValue:
    """What a condition sees of a field: stored value, display value, and whether it is a reference."""

    value: str
    display: str
    is_reference: bool = False


FieldLookup = Callable[[str], "FieldValue | None"]
"""Returns a field of the record under test, or None when the table has no such field."""


def matches(query: EncodedQuery, lookup: FieldLookup) -> bool:
    """Whether the record seen through ``lookup`` satisfies the query."""
    return any(_all_of(group, lookup) for group in query.groups)


def _all_of(group: AllOf, lookup: FieldLookup) -> bool:
    return all(_any_of(clause, lookup) for clause in group.clauses)


def _any_of(clause: AnyOf, lookup: FieldLookup) -> bool:
    outcomes = [_holds(condition, lookup) for condition in clause.conditions]
    known = [outcome for outcome in outcomes if outcome is not None]
    # A clause made only of unknown fields is dropped, i.e. it does not restrict anything.
    return any(known) if known else True


def _holds(condition: Condition, lookup: FieldLookup) -> bool | None:
    field = lookup(condition.field)
    if field is None:
        return None
    op = condition.operator
    # References compare sys_ids for equality, their display value for text matching.
    exact = field.value
    text = field.display if field.is_reference else field.value
    wanted = condition.value
    if op is Operator.EQUALS:
        return _same(exact, wanted)
    if op is Operator.NOT_EQUALS:
        return not _same(exact, wanted)
    if op is Operator.IN:
        return any(_same(exact, item) for item in _items(wanted))
    if op is Operator.NOT_IN:
        return not any(_same(exact, item) for item in _items(wanted))
    if op is Operator.LIKE:
        return wanted.casefold() in text.casefold()
    if op is Operator.NOT_LIKE:
        return wanted.casefold() not in text.casefold()
    if op is Operator.STARTS_WITH:
        return text.casefold().startswith(wanted.casefold())
    if op is Operator.ENDS_WITH:
        return text.casefold().endswith(wanted.casefold())
    if op is Operator.IS_EMPTY:
        return exact.strip() == ""
    if op is Operator.IS_NOT_EMPTY:
        return exact.strip() != ""
    if op is Operator.EMPTY_STRING:
        return exact == ""
    if op is Operator.ANYTHING:
        return True
    if op is Operator.BETWEEN:
        low, _, high = wanted.partition("@")
        return exact != "" and compare(exact, low) >= 0 and compare(exact, high) <= 0
    return _ordered(op, exact, wanted)


def _ordered(op: Operator, value: str, wanted: str) -> bool:
    if value == "":
        return False  # like SQL NULL: an empty field is neither greater nor smaller
    order = compare(value, wanted)
    if op is Operator.GREATER:
        return order > 0
    if op is Operator.GREATER_OR_EQUAL:
        return order >= 0
    if op is Operator.LESS:
        return order < 0
    return order <= 0


def _same(value: str, wanted: str) -> bool:
    return value.casefold() == wanted.casefold()


def _items(listed: str) -> list[str]:
    return [item.strip() for item in listed.split(",")]


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def _number(text: str) -> float | None:
    # A strict pattern: float() would also read "nan", "inf" or "1e5" out of ordinary strings.
    return float(text) if _NUMBER.fullmatch(text.strip()) else None


def compare(left: str, right: str) -> int:
    """-1/0/1: numerically when both sides are numbers, else case-insensitively (dates sort as text)."""
    left_number, right_number = _number(left), _number(right)
    if left_number is not None and right_number is not None:
        return (left_number > right_number) - (left_number < right_number)
    a, b = left.casefold(), right.casefold()
    return (a > b) - (a < b)

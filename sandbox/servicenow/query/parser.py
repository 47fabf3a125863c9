"""Terms -> syntax tree: conditions read as ``<field><operator><operands>``, ``javascript:`` resolved.

Grammar (see the ServiceNow note §7.1)::

    query     := group ("^NQ" group)*
    group     := term ("^" term)*
    term      := condition | "OR" condition | "ORDERBY" field | "ORDERBYDESC" field | "GROUPBY" field | "EQ"
    condition := field operator operands

Field names are lower case (``[a-z0-9_$.]``, dots walk references), so the operator starts at the
first character outside that set; upper-case names (pysnc's tests send ``AAAA=BBBB``) end where
the earliest operator starts. Operators are matched longest first.
"""

from __future__ import annotations

import re

from sandbox.servicenow.errors import EncodedQueryError
from sandbox.servicenow.query import dates
from sandbox.servicenow.query.javascript import QueryContext, ScriptResolver
from sandbox.servicenow.query.syntax import (
    FIELD_TO_FIELD,
    LISTS,
    RELATIVE,
    SPELLINGS,
    UNARY,
    AllOf,
    AnyOf,
    Condition,
    EncodedQuery,
    Operator,
    OrderBy,
    Term,
    Unreadable,
)
from sandbox.servicenow.query.tokens import TokenKind, tokenize

FIELD = re.compile(r"[A-Za-z0-9_$.]+")
_LOWER_CASE_FIELD = re.compile(r"[a-z0-9_$.]*")
_UPPER_CASE_FIELD = re.compile(r"[A-Z0-9_$.]*")
DYNAMIC_ME = "90d1921e5f510100a9ad2572f2b477fe"  # the out-of-box "Me" dynamic filter


def _operator_at(text: str, index: int) -> Operator | None:
    for operator in SPELLINGS:
        if text.startswith(operator.value, index):
            return operator
    return None


def split_condition(text: str) -> tuple[str, Operator | None, str]:
    """``(field, operator, rest)``; the operator is None when none follows the field name."""
    field = _LOWER_CASE_FIELD.match(text)
    assert field is not None  # the pattern also matches the empty string
    if field.group():
        operator = _operator_at(text, field.end())
        rest = text[field.end() + len(operator.value) :] if operator else text[field.end() :]
        return field.group(), operator, rest
    run = _UPPER_CASE_FIELD.match(text)
    assert run is not None
    for end in range(1, run.end() + 1):
        operator = _operator_at(text, end)
        if operator is not None:
            return text[:end], operator, text[end + len(operator.value) :]
    return run.group(), None, text[run.end() :]


def split_outside_quotes(text: str, separator: str = "@") -> list[str]:
    """``text`` split on ``separator``, except inside the quotes of a helper's arguments."""
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == separator:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def parse_condition(text: str, resolver: ScriptResolver | None = None) -> Term:
    """Read ``<field><operator><operands>``; a known-looking field without an operator is ``Unreadable``."""
    resolver = resolver or ScriptResolver(QueryContext())
    field, operator, rest = split_condition(text)
    if not field:
        raise EncodedQueryError(f"{text!r}: expected <field><operator><value>, the field name is missing")
    if operator is None:
        return Unreadable(field, text)
    return Condition(field, operator, _operands(text, operator, rest, resolver))


def _operands(text: str, operator: Operator, rest: str, resolver: ScriptResolver) -> tuple[str, ...]:
    if operator in UNARY:
        return ()
    if operator in FIELD_TO_FIELD:
        if not FIELD.fullmatch(rest):
            raise EncodedQueryError(f"{text!r}: {operator.value} needs the name of another field, got {rest!r}")
        return (rest,)
    if operator in LISTS:
        return tuple(item.strip() for item in resolver.resolve(rest).split(","))
    if operator is Operator.BETWEEN:
        parts = split_outside_quotes(rest)
        if len(parts) != 2 or not all(part.strip() for part in parts):
            raise EncodedQueryError(f"{text!r}: BETWEEN needs <low>@<high>, e.g. priorityBETWEEN1@3")
        return tuple(resolver.resolve(part) for part in parts)
    if operator in (Operator.ON, Operator.NOT_ON):
        return _day_range(text, rest, resolver)
    if operator in RELATIVE:
        return (_relative_moment(text, rest, resolver),)
    if operator is Operator.DYNAMIC:
        if rest != DYNAMIC_ME:
            raise EncodedQueryError(f"{text!r}: only the 'Me' dynamic filter ({DYNAMIC_ME}) is emulated")
        return (resolver.context.user_id,)
    return (resolver.resolve(rest),)


def _day_range(text: str, rest: str, resolver: ScriptResolver) -> tuple[str, ...]:
    """``ON<label>@<start>@<end>`` (what the list UI writes) or ``ON<YYYY-MM-DD>``."""
    parts = split_outside_quotes(rest)
    if len(parts) == 3:
        return resolver.resolve(parts[1]), resolver.resolve(parts[2])
    day = dates.parse_date_time(rest) if len(parts) == 1 else None
    if day is None:
        raise EncodedQueryError(f"{text!r}: ON needs <label>@<start>@<end> or a date YYYY-MM-DD")
    return dates.format_date_time(dates.start_of_day(day)), dates.format_date_time(dates.end_of_day(day))


def _relative_moment(text: str, rest: str, resolver: ScriptResolver) -> str:
    """``RELATIVEGT@hour@ago@3`` -> the moment three hours before now."""
    parts = rest.split("@")
    if len(parts) != 4 or parts[0] or parts[1] not in dates.RELATIVE_UNITS or parts[2] not in ("ago", "ahead"):
        units = "|".join(dates.RELATIVE_UNITS)
        raise EncodedQueryError(f"{text!r}: relative operators need @<{units}>@<ago|ahead>@<number>")
    if not parts[3].isdigit():
        raise EncodedQueryError(f"{text!r}: the relative amount must be a whole number, got {parts[3]!r}")
    amount = int(parts[3]) * (-1 if parts[2] == "ago" else 1)
    return dates.format_date_time(dates.shift(resolver.now, amount, parts[1]))


def parse(encoded: str, context: QueryContext | None = None) -> EncodedQuery:
    """Parse ``sysparm_query`` into a condition tree and an order; ``javascript:`` read against ``context``."""
    resolver = ScriptResolver(context or QueryContext())
    groups: list[AllOf] = []
    clauses: list[list[Term]] = []
    order: list[OrderBy] = []
    for token in tokenize(encoded):
        if token.kind is TokenKind.NEW_QUERY:
            groups.append(_group(clauses))
            clauses = []
        elif token.kind is TokenKind.CONDITION:
            clauses.append([parse_condition(token.text, resolver)])
        elif token.kind is TokenKind.OR_CONDITION:
            condition = parse_condition(token.text, resolver)
            if clauses:
                clauses[-1].append(condition)
            else:
                clauses.append([condition])  # a leading ^OR has nothing to bind to: a plain condition
        elif token.kind in (TokenKind.ORDER_BY, TokenKind.ORDER_BY_DESC):
            if not FIELD.fullmatch(token.text):
                raise EncodedQueryError(f"ORDERBY needs a field name, got {token.text!r} (character {token.position})")
            order.append(OrderBy(token.text, descending=token.kind is TokenKind.ORDER_BY_DESC))
    groups.append(_group(clauses))
    # "a^NQ" or a leading "NQ" leave an empty group, which must not turn the query into "everything".
    kept = tuple(group for group in groups if group.clauses)
    return EncodedQuery(kept or (AllOf(()),), tuple(order))


def _group(clauses: list[list[Term]]) -> AllOf:
    return AllOf(tuple(AnyOf(tuple(alternatives)) for alternatives in clauses))

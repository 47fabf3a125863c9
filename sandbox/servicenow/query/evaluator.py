"""Evaluate a parsed encoded query against one record, seen through a field look-up callback.

Semantics (ServiceNow note §7.1): text compares case-insensitively; references compare sys_ids for
``=``/``!=``/``IN`` and their display value for ``LIKE``/``STARTSWITH``/``ENDSWITH``; negations
(``!=``, ``NOT IN``, ``NOT LIKE``) also match an empty field; an empty field is neither smaller nor
greater than anything. A condition on a field the table lacks is dropped, as on an instance with
``glide.invalid_query.returns_no_rows=false``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass

from sandbox.servicenow.errors import EncodedQueryError
from sandbox.servicenow.query.syntax import AllOf, AnyOf, Condition, EncodedQuery, Operator, Term, Unreadable
from sandbox.servicenow.query.values import compare, same
from sandbox.servicenow.schema import FieldKind

TAGS_PREFIX = "sys_tags."


@dataclass(frozen=True)
class FieldValue:
    """What a condition sees of a field: stored value, display value, reference or not, kind if known."""

    value: str
    display: str
    is_reference: bool = False
    kind: FieldKind | None = None

    @property
    def comparison_kind(self) -> FieldKind | None:
        """The kind deciding how values compare (None: by their shape)."""
        return FieldKind.REFERENCE if self.is_reference else self.kind


FieldLookup = Callable[[str], "FieldValue | None"]
"""Returns a field of the record under test (dotted paths walk references), or None when unknown."""

TagLookup = Callable[[str], Collection[str]]
"""The sys_ids of the labels a record of the queried table carries, given the record's sys_id."""


class _Record:
    """The record under test: its fields, plus the virtual ``sys_tags.<label sys_id>`` fields."""

    def __init__(self, lookup: FieldLookup, tags: TagLookup | None) -> None:
        self.lookup = lookup
        self.tags = tags

    def field(self, name: str) -> FieldValue | None:
        if self.tags is None or not name.startswith(TAGS_PREFIX):
            return self.lookup(name)
        sys_id = self.lookup("sys_id")
        if sys_id is None:
            return None
        label = name[len(TAGS_PREFIX) :]
        carried = {tag.casefold() for tag in self.tags(sys_id.value)}
        value = label if label.casefold() in carried else ""
        return FieldValue(value, value, kind=FieldKind.REFERENCE)


def matches(query: EncodedQuery, lookup: FieldLookup, *, tags: TagLookup | None = None) -> bool:
    """Whether the record seen through ``lookup`` (and its ``tags``) satisfies the query."""
    record = _Record(lookup, tags)
    return any(_all_of(group, record) for group in query.groups)


def _all_of(group: AllOf, record: _Record) -> bool:
    return all(_any_of(clause, record) for clause in group.clauses)


def _any_of(clause: AnyOf, record: _Record) -> bool:
    outcomes = [_holds(term, record) for term in clause.conditions]
    known = [outcome for outcome in outcomes if outcome is not None]
    # A clause made only of unknown fields is dropped, i.e. it does not restrict anything.
    return any(known) if known else True


def _holds(term: Term, record: _Record) -> bool | None:
    """True/False, or None when the condition names a field the table lacks (it is then ignored)."""
    field = record.field(term.field)
    if field is None:
        return None
    if isinstance(term, Unreadable):
        spellings = ", ".join(op.value for op in Operator)
        raise EncodedQueryError(
            f"{term.text!r}: no known operator follows the field {term.field!r}; expected one of {spellings}"
        )
    if term.operator in _FIELD_TO_FIELD:
        other = record.field(term.operands[0])
        return None if other is None else _FIELD_TO_FIELD[term.operator](field, other)
    return _OPERATIONS[term.operator](field, term)


def _exact(field: FieldValue, term: Condition) -> bool:
    return same(field.value, term.operands[0], field.comparison_kind)


def _one_of(field: FieldValue, term: Condition) -> bool:
    return any(same(field.value, item, field.comparison_kind) for item in term.operands)


def _text(field: FieldValue) -> str:
    return (field.display if field.is_reference else field.value).casefold()


def _ordered(accept: Callable[[int], bool]) -> Callable[[FieldValue, Condition], bool]:
    def holds(field: FieldValue, term: Condition) -> bool:
        # Like SQL NULL: an empty field is neither greater nor smaller than anything.
        return field.value != "" and accept(compare(field.value, term.operands[0], field.comparison_kind))

    return holds


def _within(field: FieldValue, term: Condition) -> bool:
    low, high = term.operands
    kind = field.comparison_kind
    return field.value != "" and compare(field.value, low, kind) >= 0 and compare(field.value, high, kind) <= 0


def _fields_ordered(accept: Callable[[int], bool]) -> Callable[[FieldValue, FieldValue], bool]:
    def holds(field: FieldValue, other: FieldValue) -> bool:
        if field.value == "" or other.value == "":
            return False
        return accept(compare(field.value, other.value, field.comparison_kind))

    return holds


_OPERATIONS: dict[Operator, Callable[[FieldValue, Condition], bool]] = {
    Operator.EQUALS: _exact,
    Operator.DYNAMIC: _exact,
    Operator.NOT_EQUALS: lambda field, term: not _exact(field, term),
    Operator.IN: _one_of,
    Operator.NOT_IN: lambda field, term: not _one_of(field, term),
    Operator.LIKE: lambda field, term: term.operands[0].casefold() in _text(field),
    Operator.NOT_LIKE: lambda field, term: term.operands[0].casefold() not in _text(field),
    Operator.STARTS_WITH: lambda field, term: _text(field).startswith(term.operands[0].casefold()),
    Operator.ENDS_WITH: lambda field, term: _text(field).endswith(term.operands[0].casefold()),
    Operator.IS_EMPTY: lambda field, _: field.value.strip() == "",
    Operator.IS_NOT_EMPTY: lambda field, _: field.value.strip() != "",
    Operator.EMPTY_STRING: lambda field, _: field.value == "",
    Operator.ANYTHING: lambda field, _: True,
    Operator.GREATER: _ordered(lambda order: order > 0),
    Operator.GREATER_OR_EQUAL: _ordered(lambda order: order >= 0),
    Operator.LESS: _ordered(lambda order: order < 0),
    Operator.LESS_OR_EQUAL: _ordered(lambda order: order <= 0),
    Operator.RELATIVE_GREATER: _ordered(lambda order: order > 0),
    Operator.RELATIVE_GREATER_OR_EQUAL: _ordered(lambda order: order >= 0),
    Operator.RELATIVE_LESS: _ordered(lambda order: order < 0),
    Operator.RELATIVE_LESS_OR_EQUAL: _ordered(lambda order: order <= 0),
    Operator.BETWEEN: _within,
    Operator.ON: _within,
    Operator.NOT_ON: lambda field, term: not _within(field, term),
}

_FIELD_TO_FIELD: dict[Operator, Callable[[FieldValue, FieldValue], bool]] = {
    Operator.SAME_AS: lambda field, other: same(field.value, other.value, field.comparison_kind),
    Operator.NOT_SAME_AS: lambda field, other: not same(field.value, other.value, field.comparison_kind),
    Operator.GREATER_THAN_FIELD: _fields_ordered(lambda order: order > 0),
    Operator.LESS_THAN_FIELD: _fields_ordered(lambda order: order < 0),
    Operator.GREATER_OR_EQUAL_FIELD: _fields_ordered(lambda order: order >= 0),
    Operator.LESS_OR_EQUAL_FIELD: _fields_ordered(lambda order: order <= 0),
}


def tags_by_record(entries: Iterable[Mapping[str, str]], table: str) -> TagLookup:
    """A ``TagLookup`` over ``label_entry`` rows: the labels of ``table``'s records, by record sys_id."""
    index: dict[str, set[str]] = {}
    for entry in entries:
        if entry.get("table") == table and entry.get("table_key") and entry.get("label"):
            index.setdefault(entry["table_key"].casefold(), set()).add(entry["label"])
    return lambda sys_id: index.get(sys_id.casefold(), set())

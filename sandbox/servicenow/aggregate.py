"""The Aggregate API (``GET /api/now/stats/{table}``): count, avg/min/max/sum, group by, having, order.

Answers follow the instance: without ``sysparm_group_by`` ``{"result": {"stats": {...}}}``, with it a
list of ``{"stats": {...}, "groupby_fields": [{"field", "value"}]}``; every number is a string and an
average has four decimals (``"1.5000"``). Unknown field names are ignored, as in encoded queries;
empty values are left out of avg/min/max/sum like SQL NULLs. ``sysparm_having`` filters groups, so it
only applies when grouping.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.servicenow.asgi import json_response
from sandbox.servicenow.display import display_value
from sandbox.servicenow.errors import MalformedRequestError
from sandbox.servicenow.query import SortKey, compare
from sandbox.servicenow.render import DisplayMode
from sandbox.servicenow.schema import TableSchema
from sandbox.servicenow.store import Record, TableStore

STATS_PATHS = ("/api/now/stats/{table}", "/api/now/v1/stats/{table}")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


class Aggregate(Enum):
    """An aggregate function, spelled as in ``sysparm_<aggregate>_fields`` and ``sysparm_having``."""

    COUNT = "count"
    AVG = "avg"
    MIN = "min"
    MAX = "max"
    SUM = "sum"


FIELD_AGGREGATES = (Aggregate.AVG, Aggregate.MIN, Aggregate.MAX, Aggregate.SUM)
_HAVING_OPERATORS: dict[str, Callable[[int], bool]] = {
    "=": lambda order: order == 0,
    "!=": lambda order: order != 0,
    ">": lambda order: order > 0,
    ">=": lambda order: order >= 0,
    "<": lambda order: order < 0,
    "<=": lambda order: order <= 0,
}


@dataclass(frozen=True)
class Having:
    """``aggregate^field^operator^value``, e.g. ``count^priority^>^3``: keeps groups that satisfy it."""

    aggregate: Aggregate
    field: str
    operator: str
    value: str


@dataclass(frozen=True)
class GroupOrder:
    """One ``sysparm_order_by`` term: a group-by field or an aggregate (``COUNT``, ``AVG^priority``)."""

    field: str = ""
    aggregate: Aggregate | None = None
    descending: bool = False


@dataclass(frozen=True)
class StatsRequest:
    """Everything a stats call asks for, read from its parameters."""

    query: str = ""
    count: bool = False
    fields: Mapping[Aggregate, tuple[str, ...]] = field(default_factory=dict)
    group_by: tuple[str, ...] = ()
    having: tuple[Having, ...] = ()
    order_by: tuple[GroupOrder, ...] = ()
    display: DisplayMode = DisplayMode.VALUE


def routes() -> list[Route]:
    """The Aggregate API routes (default and versioned URL)."""
    return [Route(path, serve_stats, methods=["GET"]) for path in STATS_PATHS]


async def serve_stats(request: Request) -> Response:
    """Authenticate, check read access to the table, answer its statistics."""
    user = request.app.state.authenticate(request)
    store: TableStore = request.app.state.store
    table = request.path_params["table"]
    schema = store.schema(table)
    request.app.state.authorize(user, table, "read")
    stats = parse_stats_request(request.query_params, schema)
    return json_response({"result": compute_stats(store, table, stats, user=user)})


def parse_stats_request(params: Mapping[str, str], schema: TableSchema) -> StatsRequest:
    """Read the ``sysparm_*`` parameters; ``field=value`` parameters filter like ``sysparm_query``."""
    conditions = [f"{name}={value}" for name, value in params.items() if schema.spec(name) is not None]
    return StatsRequest(
        query="^".join([*conditions, params.get("sysparm_query", "")]),
        count=params.get("sysparm_count", "").strip().lower() == "true",
        fields={kind: _names(params.get(f"sysparm_{kind.value}_fields")) for kind in FIELD_AGGREGATES},
        group_by=_names(params.get("sysparm_group_by")),
        having=tuple(parse_having(term) for term in _names(params.get("sysparm_having"))),
        order_by=tuple(parse_group_order(term) for term in _names(params.get("sysparm_order_by"))),
        display=DisplayMode.from_param(params.get("sysparm_display_value")),
    )


def parse_having(term: str) -> Having:
    """``count^priority^>^3`` -> ``Having``; a malformed term is a 400 that shows the expected shape."""
    parts = term.split("^")
    kinds = {kind.value: kind for kind in Aggregate}
    if len(parts) != 4 or parts[0].lower() not in kinds or parts[2] not in _HAVING_OPERATORS:
        raise MalformedRequestError(
            "Invalid sysparm_having",
            f"{term!r}: expected aggregate^field^operator^value with aggregate among "
            f"{', '.join(kinds)} and operator among {' '.join(_HAVING_OPERATORS)}, e.g. count^priority^>^3",
        )
    return Having(kinds[parts[0].lower()], parts[1], parts[2], parts[3])


def parse_group_order(term: str) -> GroupOrder:
    """``COUNT^DESC``, ``AVG^priority``, ``state^DESC`` -> ``GroupOrder``."""
    parts = [part for part in term.split("^") if part]
    descending = any(part.upper() == "DESC" for part in parts)
    parts = [part for part in parts if part.upper() not in ("ASC", "DESC")]
    kinds = {kind.value: kind for kind in Aggregate}
    if parts and parts[0].lower() in kinds:
        return GroupOrder(parts[1] if len(parts) > 1 else "", kinds[parts[0].lower()], descending)
    if not parts:
        raise MalformedRequestError("Invalid sysparm_order_by", f"{term!r}: expected a field or an aggregate")
    return GroupOrder(parts[0], None, descending)


def compute_stats(
    store: TableStore, table: str, stats: StatsRequest, *, user: str = ""
) -> dict[str, Any] | list[dict[str, Any]]:
    """The ``result`` of a stats call over the records matching ``stats.query``."""
    schema = store.schema(table)
    records = store.select(table, stats.query, user=user).rows
    known = _PathReader(store, schema)
    if not stats.group_by:
        return {"stats": _stats_of(records, stats, known)}
    group_by = tuple(name for name in stats.group_by if known.exists(name))
    groups: dict[tuple[str, ...], list[Record]] = {}
    for record in records:
        groups.setdefault(tuple(known.value(record, name) for name in group_by), []).append(record)
    kept = [(key, rows) for key, rows in groups.items() if all(_holds(h, rows, known) for h in stats.having)]
    kept.sort(key=lambda group: tuple(SortKey(value) for value in group[0]))
    for order in reversed(stats.order_by):
        sort_key = _group_sort_key(order, group_by, known)
        if sort_key is not None:
            kept.sort(key=sort_key, reverse=order.descending)
    return [
        {
            "stats": _stats_of(rows, stats, known),
            "groupby_fields": [
                _group_field(name, value, rows[0], stats.display, known)
                for name, value in zip(group_by, key, strict=True)
            ],
        }
        for key, rows in kept
    ]


def aggregate_values(kind: Aggregate, values: Sequence[str]) -> str:
    """One aggregate over a column's stored values, formatted as the instance does (strings, avg 4 decimals)."""
    if kind is Aggregate.COUNT:
        return str(len(values))
    present = [value for value in values if value.strip() != ""]
    if kind in (Aggregate.MIN, Aggregate.MAX):
        if not present:
            return ""
        ordered = sorted(present, key=SortKey)
        return ordered[0] if kind is Aggregate.MIN else ordered[-1]
    numbers = [float(value) for value in present if _NUMBER.fullmatch(value.strip())]
    if not numbers:
        return ""
    if kind is Aggregate.AVG:
        return f"{sum(numbers) / len(numbers):.4f}"
    total = math.fsum(numbers)
    return str(int(total)) if total.is_integer() else f"{total:.4f}"


def _stats_of(records: list[Record], stats: StatsRequest, known: _PathReader) -> dict[str, Any]:
    block: dict[str, Any] = {}
    if stats.count:
        block["count"] = str(len(records))
    for kind in FIELD_AGGREGATES:
        names = [name for name in stats.fields.get(kind, ()) if known.exists(name)]
        if names:
            block[kind.value] = {
                name: aggregate_values(kind, [known.value(r, name) for r in records]) for name in names
            }
    return block


def _holds(having: Having, rows: list[Record], known: _PathReader) -> bool:
    if having.aggregate is not Aggregate.COUNT and not known.exists(having.field):
        return True  # an unknown field restricts nothing, as in encoded queries
    values = (
        [known.value(r, having.field) for r in rows] if having.aggregate is not Aggregate.COUNT else [""] * len(rows)
    )
    result = aggregate_values(having.aggregate, values)
    return result != "" and _HAVING_OPERATORS[having.operator](compare(result, having.value))


def _group_sort_key(
    order: GroupOrder, group_by: tuple[str, ...], known: _PathReader
) -> Callable[[tuple[tuple[str, ...], list[Record]]], SortKey] | None:
    if order.aggregate is Aggregate.COUNT:
        return lambda group: SortKey(str(len(group[1])))
    if order.aggregate is not None:
        kind = order.aggregate
        if not known.exists(order.field):
            return None
        return lambda group: SortKey(aggregate_values(kind, [known.value(r, order.field) for r in group[1]]))
    if order.field not in group_by:
        return None  # only grouped fields have one value per group
    position = group_by.index(order.field)
    return lambda group: SortKey(group[0][position])


def _group_field(name: str, value: str, sample: Record, display: DisplayMode, known: _PathReader) -> dict[str, str]:
    if display is DisplayMode.VALUE:
        return {"field": name, "value": value}
    shown = known.display(sample, name)
    if display is DisplayMode.DISPLAY:
        return {"field": name, "value": shown}
    return {"field": name, "value": value, "display_value": shown}


class _PathReader:
    """Reads plain or dot-walked fields (``assignment_group.name``) of a table's records."""

    def __init__(self, store: TableStore, schema: TableSchema) -> None:
        self.store = store
        self.schema = schema

    def exists(self, path: str) -> bool:
        """Whether every step of the path is a field (references in between)."""
        schema: TableSchema | None = self.schema
        *links, leaf = path.split(".")
        for link in links:
            target = schema.references(link) if schema is not None else None
            schema = self.store.schemas.get(target or "")
        return schema is not None and schema.spec(leaf) is not None

    def value(self, record: Record, path: str) -> str:
        """The stored value at the end of the path; empty when a reference on the way is empty."""
        located = self._locate(record, path)
        return located[1].get(located[2], "") if located is not None else ""

    def display(self, record: Record, path: str) -> str:
        """The display value at the end of the path (choice label, referenced name...)."""
        located = self._locate(record, path)
        return display_value(self.store, *located) if located is not None else ""

    def _locate(self, record: Record, path: str) -> tuple[TableSchema, Record, str] | None:
        schema, current = self.schema, record
        *links, leaf = path.split(".")
        for link in links:
            target = schema.references(link)
            found = self.store.get(target, current.get(link, "")) if target and current.get(link) else None
            if found is None or target is None:
                return None
            schema, current = self.store.schema(target), found
        return schema, current, leaf


def _names(raw: str | None) -> tuple[str, ...]:
    return tuple(name.strip() for name in (raw or "").split(",") if name.strip())

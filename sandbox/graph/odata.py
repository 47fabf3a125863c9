"""OData system query options as Graph reads them: ``$filter``, ``$orderby``, ``$select``, ``$top``, ``$skip``.

The ``$filter`` grammar covered is comparisons (``eq ne gt ge lt le``) of a property path with a literal,
combined with ``and``/``or``/``not`` and parentheses: what Sésame's clients send. Anything else is a 400
naming the clause, so a client relying on an unsupported feature learns it at once.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode

from sandbox.graph.errors import bad_request

Item = dict[str, Any]
Predicate = Callable[[Item], bool]
MAX_TOP = 1000

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>'(?:[^']|'')*')
      | (?P<datetime>\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?)
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<paren>[()])
      | (?P<word>[A-Za-z_@][\w/.@]*)
    )""",
    re.VERBOSE,
)
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "ne": lambda a, b: bool(a != b),
    "gt": lambda a, b: a is not None and b is not None and a > b,
    "ge": lambda a, b: a is not None and b is not None and a >= b,
    "lt": lambda a, b: a is not None and b is not None and a < b,
    "le": lambda a, b: a is not None and b is not None and a <= b,
}


def lookup(item: Item, path: str) -> Any:
    """Value at a ``/``-separated property path, names matched case-insensitively; None when absent."""
    value: Any = item
    for part in path.split("/"):
        if not isinstance(value, dict):
            return None
        key = next((k for k in value if k.lower() == part.lower()), None)
        value = value.get(key) if key is not None else None
    return value


class _FilterParser:
    """Recursive-descent parser of the supported ``$filter`` subset into a predicate."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0
        self.paths: list[str] = []  # property paths compared, in the order written

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                raise bad_request(f"Invalid filter clause: cannot read '{text[pos:].strip()}' in '{text}'.")
            kind = match.lastgroup or ""
            tokens.append((kind, match.group(kind)))
            pos = match.end()
        return tokens

    def parse(self) -> Predicate:
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise bad_request(f"Invalid filter clause: unexpected '{self.tokens[self.pos][1]}' in '{self.text}'.")
        return predicate

    def _peek_word(self) -> str | None:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "word":
            return self.tokens[self.pos][1].lower()
        return None

    def _next(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise bad_request(f"Invalid filter clause: '{self.text}' ends too early.")
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek_word() == "or":
            self.pos += 1
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda item: any(p(item) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._peek_word() == "and":
            self.pos += 1
            parts.append(self._unary())
        return parts[0] if len(parts) == 1 else (lambda item: all(p(item) for p in parts))

    def _unary(self) -> Predicate:
        if self._peek_word() == "not":
            self.pos += 1
            inner = self._unary()
            return lambda item: not inner(item)
        kind, value = self._next()
        if kind == "paren" and value == "(":
            inner = self._or()
            if self._next() != ("paren", ")"):
                raise bad_request(f"Invalid filter clause: missing ')' in '{self.text}'.")
            return inner
        if kind != "word":
            raise bad_request(f"Invalid filter clause: expected a property name, got '{value}' in '{self.text}'.")
        path = value
        self.paths.append(path)
        op_kind, op = self._next()
        if op_kind != "word" or op.lower() not in _COMPARE:
            raise bad_request(
                f"Invalid filter clause: '{path} {op}' is not supported here; use eq, ne, gt, ge, lt or le."
            )
        literal = self._literal(*self._next())
        compare = _COMPARE[op.lower()]
        return lambda item: compare(_comparable(lookup(item, path)), literal)

    def _literal(self, kind: str, value: str) -> Any:
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "number":
            return float(value) if "." in value else int(value)
        if kind == "datetime":
            return _comparable(value)
        if kind == "word" and value.lower() in {"true", "false", "null"}:
            return {"true": True, "false": False, "null": None}[value.lower()]
        raise bad_request(f"Invalid filter clause: '{value}' is not a literal in '{self.text}'.")


def _comparable(value: Any) -> Any:
    """Datetimes compare as UTC instants whatever offset they were written with."""
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}T[\d:.]+(Z|[+-]\d{2}:\d{2})?", value):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return value


def parse_filter(text: str) -> Predicate:
    """Turn a ``$filter`` expression into a predicate over Graph JSON items."""
    return _FilterParser(text).parse()


def filter_properties(text: str) -> tuple[str, ...]:
    """The property paths a ``$filter`` compares, in the order written (400 if it does not parse)."""
    parser = _FilterParser(text)
    parser.parse()
    return tuple(parser.paths)


@dataclass(frozen=True)
class QueryOptions:
    """The system query options of one collection request."""

    filter: Predicate | None = None
    orderby: tuple[tuple[str, bool], ...] = ()  # (property path, descending)
    select: tuple[str, ...] | None = None
    top: int | None = None
    skip: int = 0

    @classmethod
    def parse(cls, params: Mapping[str, str], *, selectable: Collection[str]) -> QueryOptions:
        """Read the options (with or without ``$``); raise a 400 ``GraphError`` on bad values."""

        def option(name: str) -> str | None:
            return params.get(f"${name}", params.get(name))

        filter_text = option("filter")
        return cls(
            filter=parse_filter(filter_text) if filter_text else None,
            orderby=_orderby(option("orderby") or ""),
            select=_select(option("select"), selectable),
            top=_count_option("$top", option("top"), maximum=MAX_TOP),
            skip=_count_option("$skip", option("skip")) or 0,
        )

    def page(self, items: Sequence[Item], *, page_size: int) -> tuple[list[Item], int | None]:
        """Filter, sort and cut ``items``; return the page and the ``$skip`` of the next page (None if last)."""
        selected = [i for i in items if self.filter(i)] if self.filter else list(items)
        for path, descending in reversed(self.orderby):
            selected.sort(key=_sort_by(path), reverse=descending)
        size = self.top if self.top is not None else page_size
        window = selected[self.skip : self.skip + size]
        # On mail collections Graph treats $top as the page size and still links to the next page.
        more = self.skip + size < len(selected)
        return window, (self.skip + size if more else None)

    def project(self, item: Item, *, default_hidden: Collection[str] = ()) -> Item:
        """The item restricted to ``$select`` (``id`` and annotations such as ``@odata.type`` always kept)."""
        if self.select is None:
            return {k: v for k, v in item.items() if k not in default_hidden}
        wanted = {name.lower() for name in self.select} | {"id"}
        return {k: v for k, v in item.items() if k.lower() in wanted or k.startswith("@")}


def _sort_by(path: str) -> Callable[[Item], tuple[int, Any]]:
    def key(item: Item) -> tuple[int, Any]:
        # Missing values sort first, without comparing None to a string.
        comparable = _comparable(lookup(item, path))
        return (0, "") if comparable is None else (1, comparable)

    return key


def _orderby(text: str) -> tuple[tuple[str, bool], ...]:
    clauses: list[tuple[str, bool]] = []
    for clause in filter(None, (part.strip() for part in text.split(","))):
        words = clause.split()
        if len(words) > 2 or (len(words) == 2 and words[1].lower() not in {"asc", "desc"}):
            raise bad_request(f"Invalid $orderby clause '{clause}': expected '<property> [asc|desc]'.")
        clauses.append((words[0], len(words) == 2 and words[1].lower() == "desc"))
    return tuple(clauses)


def _select(text: str | None, selectable: Collection[str]) -> tuple[str, ...] | None:
    if text is None:
        return None
    names = tuple(filter(None, (n.strip() for n in text.split(","))))
    known = {name.lower() for name in selectable}
    for name in names:
        if name.lower() not in known:
            raise bad_request(f"Could not find a property named '{name}' on this type.", code="RequestBroker--ParseUri")
    return names


def _count_option(name: str, text: str | None, maximum: int | None = None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise bad_request(f"Invalid value '{text}' for {name}: expected a non-negative integer.")
    value = int(text)
    if maximum is not None and not 0 < value <= maximum:
        raise bad_request(f"Invalid value '{text}' for {name}: must be between 1 and {maximum}.")
    return value


def next_link(origin: str, path: str, params: Mapping[str, str], skip: int) -> str:
    """The absolute ``@odata.nextLink``: same path and options, ``$skip`` moved on."""
    query = {k: v for k, v in params.items() if k not in {"$skip", "skip"}}
    query["$skip"] = str(skip)
    return link(origin, path, query)


def link(origin: str, path: str, query: Mapping[str, str]) -> str:
    """An absolute link on the emulator's own origin (never graph.microsoft.com)."""
    encoded = urlencode(dict(query), quote_via=quote, safe="$,")
    return f"{origin}{quote(path, safe='/()')}" + (f"?{encoded}" if encoded else "")


def encode_state_token(state: Mapping[str, Any]) -> str:
    """An opaque ``$skiptoken``/``$deltatoken`` carrying a paging or sync state."""
    raw = json.dumps(dict(state), separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_state_token(token: str, name: str) -> dict[str, Any]:
    """The state inside a token made by ``encode_state_token``; a 400 naming ``name`` if it is not one."""
    invalid = bad_request(f"The {name} is not valid; start a new synchronisation.", code="ErrorInvalidUrlQuery")
    try:
        state = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc
    if not isinstance(state, dict):
        raise invalid
    return state


def preferred_page_size(prefer: str) -> int | None:
    """``N`` from a ``Prefer: odata.maxpagesize=N`` header, if present and positive."""
    match = re.search(r"odata\.maxpagesize\s*=\s*(\d+)", prefer, re.IGNORECASE)
    return int(match.group(1)) if match and int(match.group(1)) > 0 else None

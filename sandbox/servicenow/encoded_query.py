"""ServiceNow encoded queries (compatibility module): the implementation lives in ``sandbox.servicenow.query``.

``store.py`` and ``display.py`` import ``parse``, ``matches``, ``compare``, ``FieldValue``,
``FieldLookup``, ``EncodedQuery`` and ``OrderBy`` from here.
"""

from sandbox.servicenow.query import (
    AllOf,
    AnyOf,
    Condition,
    EncodedQuery,
    FieldLookup,
    FieldValue,
    Operator,
    OrderBy,
    QueryContext,
    TagLookup,
    Token,
    TokenKind,
    Unreadable,
    compare,
    matches,
    parse,
    parse_condition,
    tags_by_record,
    tokenize,
)

__all__ = [
    "AllOf",
    "AnyOf",
    "Condition",
    "EncodedQuery",
    "FieldLookup",
    "FieldValue",
    "Operator",
    "OrderBy",
    "QueryContext",
    "TagLookup",
    "Token",
    "TokenKind",
    "Unreadable",
    "compare",
    "matches",
    "parse",
    "parse_condition",
    "tags_by_record",
    "tokenize",
]

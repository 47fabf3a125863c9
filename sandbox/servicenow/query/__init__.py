"""ServiceNow encoded queries: tokens -> syntax tree -> evaluation against one record.

``parse(sysparm_query, context)`` builds the tree (``javascript:`` helpers evaluated against the
context's clock and user); ``matches(tree, lookup, tags=...)`` decides one record.
"""

from sandbox.servicenow.query.evaluator import FieldLookup, FieldValue, TagLookup, matches, tags_by_record
from sandbox.servicenow.query.javascript import HelperCall, QueryContext, evaluate_helper, parse_helper
from sandbox.servicenow.query.parser import parse, parse_condition, split_condition
from sandbox.servicenow.query.syntax import (
    AllOf,
    AnyOf,
    Condition,
    EncodedQuery,
    Operator,
    OrderBy,
    Term,
    Unreadable,
)
from sandbox.servicenow.query.tokens import Token, TokenKind, split_terms, tokenize
from sandbox.servicenow.query.values import SortKey, compare, same

__all__ = [
    "AllOf",
    "AnyOf",
    "Condition",
    "EncodedQuery",
    "FieldLookup",
    "FieldValue",
    "HelperCall",
    "Operator",
    "OrderBy",
    "QueryContext",
    "SortKey",
    "TagLookup",
    "Term",
    "Token",
    "TokenKind",
    "Unreadable",
    "compare",
    "evaluate_helper",
    "matches",
    "parse",
    "parse_condition",
    "parse_helper",
    "same",
    "split_condition",
    "split_terms",
    "tags_by_record",
    "tokenize",
]

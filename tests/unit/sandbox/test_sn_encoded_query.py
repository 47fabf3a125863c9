"""The encoded-query parser and evaluator of the ServiceNow emulator."""

from __future__ import annotations

import pytest

from sandbox.servicenow.encoded_query import (
    AllOf,
    AnyOf,
    Condition,
    EncodedQuery,
    FieldValue,
    Operator,
    OrderBy,
    TokenKind,
    matches,
    parse,
    parse_condition,
    tokenize,
)
from sandbox.servicenow.errors import EncodedQueryError

RECORD = {
    "number": "INC0010001",
    "state": "2",
    "short_description": "Compte bloqué pour jdupont",
    "assigned_to": "",
    "sys_updated_on": "2026-11-23 08:12:00",
    "priority": "10",
}
CALLER_ID = "a" * 32


def lookup(name: str) -> FieldValue | None:
    if name == "caller_id":
        return FieldValue(CALLER_ID, "Jean Dupont", is_reference=True)
    if name == "caller_id.email":
        return FieldValue("jean.dupont@x.fr", "jean.dupont@x.fr")
    if name in RECORD:
        return FieldValue(RECORD[name], RECORD[name])
    return None


def holds(query: str) -> bool:
    return matches(parse(query), lookup)


def test_tokens_distinguish_or_orderby_and_new_query() -> None:
    kinds = [t.kind for t in tokenize("a=1^ORb=2^NQc=3^ORDERBYd^ORDERBYDESCe^GROUPBYf^EQ")]
    assert kinds == [
        TokenKind.CONDITION,
        TokenKind.OR_CONDITION,
        TokenKind.NEW_QUERY,
        TokenKind.CONDITION,
        TokenKind.ORDER_BY,
        TokenKind.ORDER_BY_DESC,
        TokenKind.IGNORED,
        TokenKind.IGNORED,
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state=2", Condition("state", Operator.EQUALS, "2")),
        ("state!=2", Condition("state", Operator.NOT_EQUALS, "2")),
        ("stateIN1,2", Condition("state", Operator.IN, "1,2")),
        ("stateNOT IN1,2", Condition("state", Operator.NOT_IN, "1,2")),
        (
            "sys_updated_on>=2026-01-01 00:00:00",
            Condition("sys_updated_on", Operator.GREATER_OR_EQUAL, "2026-01-01 00:00:00"),
        ),
        ("priority<3", Condition("priority", Operator.LESS, "3")),
        ("assigned_toISEMPTY", Condition("assigned_to", Operator.IS_EMPTY)),
        ("assigned_toISNOTEMPTY", Condition("assigned_to", Operator.IS_NOT_EMPTY)),
        ("short_descriptionLIKEa=b", Condition("short_description", Operator.LIKE, "a=b")),
        ("numberSTARTSWITHINC", Condition("number", Operator.STARTS_WITH, "INC")),
        ("caller_id.email=x@y", Condition("caller_id.email", Operator.EQUALS, "x@y")),
        ("AAAA=BBBB", Condition("AAAA", Operator.EQUALS, "BBBB")),
    ],
)
def test_condition_reads_field_operator_value(text: str, expected: Condition) -> None:
    assert parse_condition(text) == expected


def test_or_binds_to_previous_condition_and_nq_ors_groups() -> None:
    query = parse("a=1^b=2^ORc=3^NQd=4^ORDERBYe^ORDERBYDESCf")
    assert query == EncodedQuery(
        groups=(
            AllOf(
                (
                    AnyOf((Condition("a", Operator.EQUALS, "1"),)),
                    AnyOf((Condition("b", Operator.EQUALS, "2"), Condition("c", Operator.EQUALS, "3"))),
                )
            ),
            AllOf((AnyOf((Condition("d", Operator.EQUALS, "4"),)),)),
        ),
        order=(OrderBy("e"), OrderBy("f", descending=True)),
    )


def test_empty_query_and_pysnc_default_order_match_everything() -> None:
    assert holds("")
    assert holds("ORDERBYsys_id")
    assert parse("^ORDERBYsys_id").order == (OrderBy("sys_id"),)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=2", True),
        ("state=1", False),
        ("state!=1", True),
        ("stateIN1,2", True),
        ("stateIN1,3", False),
        ("stateNOT IN1,3", True),
        ("number=inc0010001", True),  # strings compare case-insensitively
        ("short_descriptionLIKEBLOQUÉ", True),
        ("short_descriptionNOT LIKEimprimante", True),
        ("numberSTARTSWITHinc", True),
        ("numberENDSWITH0001", True),
        ("assigned_toISEMPTY", True),
        ("assigned_toISNOTEMPTY", False),
        ("priority>9", True),  # numbers compare numerically, not as text
        ("priority<=9", False),
        ("sys_updated_on>=2026-11-23 08:00:00", True),
        ("sys_updated_on<2026-11-23 08:00:00", False),
        ("assigned_to>a", False),  # an empty field is neither greater nor smaller
        ("priorityBETWEEN5@10", True),
        ("state=1^ORstate=2", True),
        ("state=1^ORstate=3", False),
        ("state=2^number=INC0010002", False),
        ("state=9^NQnumber=INC0010001", True),
        ("nonexistent=zzz", True),  # unknown fields are ignored
        ("state=1^ORnonexistent=zzz", False),
        ("caller_id=" + CALLER_ID, True),  # references compare sys_ids
        ("caller_id=Jean Dupont", False),
        ("caller_idLIKEdupont", True),  # ...but match text on their display value
        ("caller_id.email=JEAN.DUPONT@X.FR", True),
    ],
)
def test_evaluation(query: str, expected: bool) -> None:
    assert holds(query) is expected


@pytest.mark.parametrize(
    "bad", ["short_description", "JOINsys_user.sys_id=x!a=b", "RLQUERYx.y,>0^ENDRLQUERY", "ORDERBY"]
)
def test_unsupported_or_malformed_terms_raise_a_named_error(bad: str) -> None:
    with pytest.raises(EncodedQueryError) as raised:
        parse(bad)
    assert raised.value.status == 400

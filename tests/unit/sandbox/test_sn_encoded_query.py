"""The encoded-query language of the ServiceNow emulator: tokens, syntax tree, evaluation, javascript: helpers."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from sandbox.servicenow.encoded_query import (
    AllOf,
    AnyOf,
    Condition,
    EncodedQuery,
    FieldValue,
    Operator,
    OrderBy,
    QueryContext,
    TokenKind,
    Unreadable,
    compare,
    matches,
    parse,
    parse_condition,
    tags_by_record,
    tokenize,
)
from sandbox.servicenow.errors import EncodedQueryError
from sandbox.servicenow.query import evaluate_helper, parse_helper, split_terms
from sandbox.servicenow.query.javascript import ScriptResolver
from sandbox.servicenow.schema import FieldKind

NOW = datetime(2026, 11, 25, 14, 30, 45, tzinfo=UTC)  # a Wednesday
BOT_ID = "b" * 32
CONTEXT = QueryContext(clock=lambda: NOW, user_name="svc-sesame", user_id=BOT_ID)
CALLER_ID, AGENT_ID = "a" * 32, "c" * 32
LABEL_ID, OTHER_LABEL_ID = "1" * 32, "2" * 32
RECORD_ID = "f" * 32

FIELDS: dict[str, FieldValue] = {
    "sys_id": FieldValue(RECORD_ID, RECORD_ID),
    "number": FieldValue("INC0010001", "INC0010001"),
    "state": FieldValue("2", "In Progress", kind=FieldKind.CHOICE),
    "short_description": FieldValue("Compte bloqué pour jdupont", "Compte bloqué pour jdupont"),
    "description": FieldValue("COMPTE BLOQUÉ POUR JDUPONT", "COMPTE BLOQUÉ POUR JDUPONT"),
    "close_notes": FieldValue("", ""),
    "assigned_to": FieldValue("", "", is_reference=True),
    "caller_id": FieldValue(CALLER_ID, "Jean Dupont", is_reference=True),
    "opened_by": FieldValue(CALLER_ID, "Jean Dupont", is_reference=True),
    "resolved_by": FieldValue(AGENT_ID, "Agent Smith", is_reference=True),
    "caller_id.email": FieldValue("jean.dupont@x.fr", "jean.dupont@x.fr"),
    "caller_id.department.name": FieldValue("Finance", "Finance"),
    "sys_updated_on": FieldValue("2026-11-23 08:12:00", "2026-11-23 08:12:00", kind=FieldKind.DATE_TIME),
    "opened_at": FieldValue("2026-11-24 09:00:00", "2026-11-24 09:00:00", kind=FieldKind.DATE_TIME),
    "resolved_at": FieldValue("", "", kind=FieldKind.DATE_TIME),
    "priority": FieldValue("10", "10", kind=FieldKind.INTEGER),
    "impact": FieldValue("3", "3", kind=FieldKind.INTEGER),
    "urgency": FieldValue("2", "2", kind=FieldKind.INTEGER),
    "active": FieldValue("true", "true", kind=FieldKind.BOOLEAN),
    "knowledge": FieldValue("", "", kind=FieldKind.BOOLEAN),
}


def lookup(name: str) -> FieldValue | None:
    return FIELDS.get(name)


def tags(sys_id: str) -> set[str]:
    return {LABEL_ID} if sys_id == RECORD_ID else set()


def holds(query: str) -> bool:
    return matches(parse(query, CONTEXT), lookup, tags=tags)


# -- tokens ------------------------------------------------------------------------------------


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
    ("encoded", "terms"),
    [
        ("a=1^b=2", [("a=1", 0), ("b=2", 4)]),
        ("^a=1^^ORDERBYx^", [("a=1^ORDERBYx", 1)]),  # ^^ inside a term is a literal caret
        ("short_descriptionLIKEx^^y^state=1", [("short_descriptionLIKEx^y", 0), ("state=1", 26)]),
        ("^^a=1", [("a=1", 2)]),  # separators before any text are empty terms, not escapes
        ("", []),
        ("^^^", []),
    ],
)
def test_terms_split_on_carets_and_double_caret_escapes(encoded: str, terms: list[tuple[str, int]]) -> None:
    assert split_terms(encoded) == terms


# -- conditions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("state=2", Condition("state", Operator.EQUALS, ("2",))),
        ("state!=2", Condition("state", Operator.NOT_EQUALS, ("2",))),
        ("stateIN1,2", Condition("state", Operator.IN, ("1", "2"))),
        ("stateNOT IN1, 2", Condition("state", Operator.NOT_IN, ("1", "2"))),
        (
            "sys_updated_on>=2026-01-01 00:00:00",
            Condition("sys_updated_on", Operator.GREATER_OR_EQUAL, ("2026-01-01 00:00:00",)),
        ),
        ("priority<3", Condition("priority", Operator.LESS, ("3",))),
        ("priority<=3", Condition("priority", Operator.LESS_OR_EQUAL, ("3",))),
        ("priority>3", Condition("priority", Operator.GREATER, ("3",))),
        ("assigned_toISEMPTY", Condition("assigned_to", Operator.IS_EMPTY)),
        ("assigned_toISNOTEMPTY", Condition("assigned_to", Operator.IS_NOT_EMPTY)),
        ("close_notesEMPTYSTRING", Condition("close_notes", Operator.EMPTY_STRING)),
        ("stateANYTHING", Condition("state", Operator.ANYTHING)),
        ("short_descriptionLIKEa=b", Condition("short_description", Operator.LIKE, ("a=b",))),
        ("short_descriptionNOT LIKEx", Condition("short_description", Operator.NOT_LIKE, ("x",))),
        ("numberSTARTSWITHINC", Condition("number", Operator.STARTS_WITH, ("INC",))),
        ("numberENDSWITH01", Condition("number", Operator.ENDS_WITH, ("01",))),
        ("priorityBETWEEN1@3", Condition("priority", Operator.BETWEEN, ("1", "3"))),
        ("caller_idSAMEASopened_by", Condition("caller_id", Operator.SAME_AS, ("opened_by",))),
        ("caller_idNSAMEASresolved_by", Condition("caller_id", Operator.NOT_SAME_AS, ("resolved_by",))),
        ("impactGT_FIELDurgency", Condition("impact", Operator.GREATER_THAN_FIELD, ("urgency",))),
        ("impactGT_OR_EQUALS_FIELDurgency", Condition("impact", Operator.GREATER_OR_EQUAL_FIELD, ("urgency",))),
        ("caller_id.email=x@y", Condition("caller_id.email", Operator.EQUALS, ("x@y",))),
        ("sys_tags.abc=abc", Condition("sys_tags.abc", Operator.EQUALS, ("abc",))),
        ("AAAA=BBBB", Condition("AAAA", Operator.EQUALS, ("BBBB",))),  # pysnc's tests send it
        ("AAAAISEMPTY", Condition("AAAA", Operator.IS_EMPTY)),
        ("assigned_to=", Condition("assigned_to", Operator.EQUALS, ("",))),
        ("assigned_toDYNAMIC90d1921e5f510100a9ad2572f2b477fe", Condition("assigned_to", Operator.DYNAMIC, (BOT_ID,))),
        (
            "opened_at>=javascript:gs.daysAgoStart(2)",
            Condition("opened_at", Operator.GREATER_OR_EQUAL, ("2026-11-23 00:00:00",)),
        ),
        (
            "opened_atBETWEENjavascript:gs.beginningOfYesterday()@javascript:gs.endOfYesterday()",
            Condition("opened_at", Operator.BETWEEN, ("2026-11-24 00:00:00", "2026-11-24 23:59:59")),
        ),
        (
            "opened_atONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()",
            Condition("opened_at", Operator.ON, ("2026-11-25 00:00:00", "2026-11-25 23:59:59")),
        ),
        (
            "opened_atNOTON2026-11-24",
            Condition("opened_at", Operator.NOT_ON, ("2026-11-24 00:00:00", "2026-11-24 23:59:59")),
        ),
        ("opened_atRELATIVEGT@hour@ago@3", Condition("opened_at", Operator.RELATIVE_GREATER, ("2026-11-25 11:30:45",))),
        ("assigned_to=javascript:gs.getUserID()", Condition("assigned_to", Operator.EQUALS, (BOT_ID,))),
        ("stateFOO1", Unreadable("state", "stateFOO1")),  # an error only if the table has "state"
        ("short_description", Unreadable("short_description", "short_description")),
    ],
)
def test_condition_reads_field_operator_operands(text: str, expected: Condition | Unreadable) -> None:
    assert parse_condition(text, ScriptResolver(CONTEXT)) == expected


@pytest.mark.parametrize(
    ("text", "operator"),
    [
        ("stateNOT IN1", Operator.NOT_IN),  # not IN with a value "NOT ..."
        ("stateNOTON2026-01-01", Operator.NOT_ON),
        ("a>=1", Operator.GREATER_OR_EQUAL),
        ("a!=1", Operator.NOT_EQUALS),
        ("aNSAMEASb", Operator.NOT_SAME_AS),
        ("aISNOTEMPTY", Operator.IS_NOT_EMPTY),
        ("aLT_OR_EQUALS_FIELDb", Operator.LESS_OR_EQUAL_FIELD),
        ("aLT_FIELDb", Operator.LESS_THAN_FIELD),
    ],
)
def test_longest_operator_wins(text: str, operator: Operator) -> None:
    condition = parse_condition(text)
    assert isinstance(condition, Condition) and condition.operator is operator


def test_or_binds_to_previous_condition_and_nq_ors_groups() -> None:
    query = parse("a=1^b=2^ORc=3^NQd=4^ORDERBYe^ORDERBYDESCf^ORDERBYg")
    assert query == EncodedQuery(
        groups=(
            AllOf(
                (
                    AnyOf((Condition("a", Operator.EQUALS, ("1",)),)),
                    AnyOf((Condition("b", Operator.EQUALS, ("2",)), Condition("c", Operator.EQUALS, ("3",)))),
                )
            ),
            AllOf((AnyOf((Condition("d", Operator.EQUALS, ("4",)),)),)),
        ),
        order=(OrderBy("e"), OrderBy("f", descending=True), OrderBy("g")),
    )


def test_empty_new_query_groups_are_dropped() -> None:
    assert parse("state=9^NQ").groups == parse("NQstate=9").groups == parse("state=9").groups
    assert not holds("state=9^NQ")


def test_empty_query_and_pysnc_default_order_match_everything() -> None:
    assert holds("")
    assert holds("ORDERBYsys_id")
    assert parse("^ORDERBYsys_id").order == (OrderBy("sys_id"),)
    assert holds("GROUPBYstate^EQ")


# -- evaluation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("state=2", True),
        ("state=1", False),
        ("state!=1", True),
        ("state!=2", False),
        ("assigned_to!=" + AGENT_ID, True),  # != also matches an empty field
        ("knowledge!=true", True),
        ("active!=true", False),
        ("stateIN1,2", True),
        ("stateIN1,3", False),
        ("stateNOT IN1,3", True),
        ("stateNOT IN1,2", False),
        ("assigned_toNOT IN" + AGENT_ID, True),
        ("number=inc0010001", True),  # strings compare case-insensitively
        ("short_descriptionLIKEBLOQUÉ", True),
        ("short_descriptionLIKEimprimante", False),
        ("short_descriptionNOT LIKEimprimante", True),
        ("short_descriptionNOT LIKEcompte", False),
        ("numberSTARTSWITHinc", True),
        ("numberSTARTSWITH0001", False),
        ("numberENDSWITH0001", True),
        ("numberENDSWITHinc", False),
        ("assigned_toISEMPTY", True),
        ("caller_idISEMPTY", False),
        ("assigned_toISNOTEMPTY", False),
        ("caller_idISNOTEMPTY", True),
        ("close_notesEMPTYSTRING", True),
        ("numberEMPTYSTRING", False),
        ("stateANYTHING", True),
        ("assigned_toANYTHING", True),
        ("priority>9", True),  # numbers compare numerically, not as text
        ("priority>=10", True),
        ("priority>10", False),
        ("priority<=9", False),
        ("priority<11", True),
        ("priority=10.0", True),
        ("sys_updated_on>=2026-11-23 08:00:00", True),
        ("sys_updated_on<2026-11-23 08:00:00", False),
        ("sys_updated_on>2026-11-23", True),  # a date alone is its midnight (UTC)
        ("sys_updated_on<2026-11-23 08:12", False),
        ("resolved_at<2030-01-01", False),  # an empty field is neither greater nor smaller
        ("resolved_at>2000-01-01", False),
        ("priorityBETWEEN5@10", True),
        ("priorityBETWEEN11@20", False),
        ("sys_updated_onBETWEEN2026-11-23 00:00:00@2026-11-23 23:59:59", True),
        ("resolved_atBETWEEN2000-01-01@2100-01-01", False),
        ("active=true", True),
        ("active=1", True),  # booleans read true/1 and false/0
        ("active=false", False),
        ("knowledge=false", True),  # an empty boolean is false
        ("caller_idSAMEASopened_by", True),
        ("caller_idSAMEASresolved_by", False),
        ("short_descriptionSAMEASdescription", True),  # case-insensitively
        ("caller_idNSAMEASresolved_by", True),
        ("caller_idNSAMEASopened_by", False),
        ("caller_idSAMEASno_such_field", True),  # a comparison with an unknown field is dropped
        ("impactGT_FIELDurgency", True),
        ("impactLT_FIELDurgency", False),
        ("impactGT_OR_EQUALS_FIELDimpact", True),
        ("impactLT_OR_EQUALS_FIELDurgency", False),
        ("state=1^ORstate=2", True),
        ("state=1^ORstate=3", False),
        ("state=2^number=INC0010002", False),
        ("state=2^number=INC0010002^ORnumber=INC0010001", True),  # ^OR binds to the previous condition
        ("number=INC0010002^ORnumber=INC0010001^state=1", False),
        ("state=9^NQnumber=INC0010001", True),
        ("state=9^NQnumber=INC0010002", False),
        ("caller_id=" + CALLER_ID, True),  # references compare sys_ids
        ("caller_id=" + CALLER_ID.upper(), True),
        ("caller_id=Jean Dupont", False),
        ("caller_idIN" + AGENT_ID + "," + CALLER_ID, True),
        ("caller_idLIKEdupont", True),  # ...but match text on their display value
        ("caller_idSTARTSWITHjean", True),
        ("caller_idENDSWITHdupont", True),
        ("caller_idLIKE" + CALLER_ID[:8], False),
        ("caller_id.email=JEAN.DUPONT@X.FR", True),  # dot-walking through references
        ("caller_id.department.nameSTARTSWITHfin", True),
        ("caller_id.department.name=Sales", False),
        ("opened_at>=javascript:gs.daysAgoStart(1)", True),
        ("opened_at>=javascript:gs.beginningOfToday()", False),
        ("opened_atBETWEENjavascript:gs.beginningOfYesterday()@javascript:gs.endOfYesterday()", True),
        ("opened_atONYesterday@javascript:gs.beginningOfYesterday()@javascript:gs.endOfYesterday()", True),
        ("opened_atNOTONToday@javascript:gs.beginningOfToday()@javascript:gs.endOfToday()", True),
        ("opened_atRELATIVEGT@day@ago@2", True),
        ("opened_atRELATIVELT@hour@ago@12", True),
        ("opened_atRELATIVEGE@hour@ago@12", False),
        ("opened_at>javascript:gs.dateGenerate('2026-11-24','08:59:59')", True),
        ("opened_at>javascript:gs.dateGenerate('2026-11-24','end')", False),
        (f"sys_tags.{LABEL_ID}={LABEL_ID}", True),  # records tagged with that label
        (f"sys_tags.{OTHER_LABEL_ID}={OTHER_LABEL_ID}", False),
        (f"sys_tags.{OTHER_LABEL_ID}!={OTHER_LABEL_ID}", True),
        (f"sys_tags.{LABEL_ID}={LABEL_ID}^ORsys_tags.{OTHER_LABEL_ID}={OTHER_LABEL_ID}", True),
    ],
)
def test_evaluation(query: str, expected: bool) -> None:
    assert holds(query) is expected


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("nonexistent=zzz", True),
        ("nonexistentFOOzzz", True),  # not even readable: still dropped, the field is unknown
        ("state=2^nonexistent=zzz", True),
        ("state=1^nonexistent=zzz", False),
        ("state=1^ORnonexistent=zzz", False),
        ("nonexistent=zzz^ORstate=2", True),
        ("caller_id.nonexistent=zzz", True),
        ("nonexistent=zzz^NQstate=9", True),  # a group left empty by dropped conditions matches
        ("AAAA=BBBB", True),
    ],
)
def test_invalid_field_names_are_ignored_like_invalid_query_returns_no_rows_false(query: str, expected: bool) -> None:
    """An instance with ``glide.invalid_query.returns_no_rows=false`` drops conditions on unknown fields."""
    assert holds(query) is expected


def test_unknown_operator_on_a_known_field_is_an_error() -> None:
    parsed = parse("stateFOO1")
    with pytest.raises(EncodedQueryError) as raised:
        matches(parsed, lookup)
    assert raised.value.status == 400
    assert "'state'" in str(raised.value) and "STARTSWITH" in str(raised.value)


def test_sys_tags_without_a_tag_source_asks_the_field_lookup() -> None:
    def tagged(name: str) -> FieldValue | None:
        return FieldValue(LABEL_ID, LABEL_ID) if name == f"sys_tags.{LABEL_ID}" else lookup(name)

    assert matches(parse(f"sys_tags.{LABEL_ID}={LABEL_ID}"), tagged)
    assert matches(parse(f"sys_tags.{LABEL_ID}={LABEL_ID}"), lookup)  # unknown there: dropped


def test_tags_by_record_indexes_label_entries_of_the_queried_table() -> None:
    entries = [
        {"label": LABEL_ID, "table": "incident", "table_key": RECORD_ID.upper()},
        {"label": OTHER_LABEL_ID, "table": "problem", "table_key": RECORD_ID},
        {"label": "", "table": "incident", "table_key": RECORD_ID},
    ]
    tags_of = tags_by_record(entries, "incident")
    assert set(tags_of(RECORD_ID)) == {LABEL_ID}
    assert set(tags_of("0" * 32)) == set()
    assert matches(parse(f"sys_tags.{LABEL_ID}={LABEL_ID}"), lookup, tags=tags_of)
    assert not matches(parse(f"sys_tags.{OTHER_LABEL_ID}={OTHER_LABEL_ID}"), lookup, tags=tags_of)


# -- javascript: helpers -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "value"),
    [
        ("gs.now()", "2026-11-25"),
        ("gs.nowDateTime()", "2026-11-25 14:30:45"),
        ("gs.beginningOfToday()", "2026-11-25 00:00:00"),
        ("gs.endOfToday()", "2026-11-25 23:59:59"),
        ("gs.beginningOfYesterday()", "2026-11-24 00:00:00"),
        ("gs.endOfYesterday()", "2026-11-24 23:59:59"),
        ("gs.daysAgo(3)", "2026-11-22 14:30:45"),
        ("gs.daysAgo(-1)", "2026-11-26 14:30:45"),
        ("gs.daysAgoStart(3)", "2026-11-22 00:00:00"),
        ("gs.daysAgoEnd(3)", "2026-11-22 23:59:59"),
        ("gs.hoursAgo(15)", "2026-11-24 23:30:45"),
        ("gs.hoursAgoStart(15)", "2026-11-24 23:00:00"),
        ("gs.hoursAgoEnd(15)", "2026-11-24 23:59:59"),
        ("gs.minutesAgo(31)", "2026-11-25 13:59:45"),
        ("gs.minutesAgoStart(31)", "2026-11-25 13:59:00"),
        ("gs.minutesAgoEnd(31)", "2026-11-25 13:59:59"),
        ("gs.beginningOfThisWeek()", "2026-11-23 00:00:00"),  # Monday
        ("gs.beginningOfThisMonth()", "2026-11-01 00:00:00"),
        ("gs.dateGenerate('2024-05-01','10:00:00')", "2024-05-01 10:00:00"),
        ('gs.dateGenerate("2024-05-01", "start")', "2024-05-01 00:00:00"),
        ("gs.dateGenerate('2024-05-01','end')", "2024-05-01 23:59:59"),
        ("gs.getUserName()", "svc-sesame"),
        ("gs.getUserID()", BOT_ID),
        (" gs . daysAgoStart ( 0 ) ; ", "2026-11-25 00:00:00"),
    ],
)
def test_javascript_helpers_read_the_injected_clock_and_user(script: str, value: str) -> None:
    assert evaluate_helper(parse_helper(script), CONTEXT, NOW) == value


def test_the_clock_is_read_once_per_query_and_may_be_naive_utc() -> None:
    readings: list[datetime] = []

    def clock() -> datetime:
        readings.append(NOW.replace(tzinfo=None))
        return readings[-1]

    query = parse(
        "opened_at>=javascript:gs.daysAgoStart(1)^opened_at<javascript:gs.nowDateTime()", QueryContext(clock=clock)
    )
    assert len(readings) == 1
    assert query.groups[0].clauses[1].conditions[0] == Condition("opened_at", Operator.LESS, ("2026-11-25 14:30:45",))


def test_without_a_requesting_user_the_user_helpers_are_empty() -> None:
    assert parse("assigned_to=javascript:gs.getUserID()").groups[0].clauses[0].conditions == (
        Condition("assigned_to", Operator.EQUALS, ("",)),
    )


# -- malformed queries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("=2", "field name is missing"),
        ("!=2", "field name is missing"),
        ("ORDERBY", "ORDERBY needs a field name"),
        ("ORDERBYDESCa b", "ORDERBY needs a field name"),
        ("JOINsys_user.sys_id=x!a=b", "not emulated"),
        ("RLQUERYx.y,>0^ENDRLQUERY", "not emulated"),
        ("123TEXTQUERY321=printer", "not emulated"),
        ("priorityBETWEEN5", "BETWEEN needs <low>@<high>"),
        ("priorityBETWEEN5@", "BETWEEN needs <low>@<high>"),
        ("priorityBETWEEN1@2@3", "BETWEEN needs <low>@<high>"),
        ("opened_at>javascript:gs.eval('x')", "not an emulated helper"),
        ("opened_at>javascript:new GlideDateTime()", "expected 'gs'"),
        ("opened_at>javascript:gs.daysAgo", "expected '('"),
        ("opened_at>javascript:gs.daysAgo(1", "expected ')'"),
        ("opened_at>javascript:gs.daysAgo(1); gs.log('x')", "unexpected text"),
        ("opened_at>javascript:gs.daysAgo('1')", "takes (number)"),
        ("opened_at>javascript:gs.daysAgo()", "takes (number)"),
        ("opened_at>javascript:gs.daysAgo(x)", "whole number or a quoted string"),
        ("opened_at>javascript:gs.dateGenerate('2024-05-01,'10:00:00')", "expected ')'"),
        ("opened_at>javascript:gs.dateGenerate('2024-05-01','10:00:00)", "unbalanced quote"),
        ("opened_atBETWEENjavascript:gs.dateGenerate('2024-05-01@x','start')@javascript:gs.now()", "not a date"),
        ("opened_at>javascript:gs.dateGenerate('2024-13-01','10:00:00')", "not a date"),
        ("opened_at>javascript:gs.dateGenerate('2024-05-01','25:00:00')", "not a time"),
        ("opened_atONToday@x", "ON needs"),
        ("opened_atRELATIVEGT@fortnight@ago@1", "relative operators need"),
        ("opened_atRELATIVEGT@day@ago@x", "whole number"),
        ("caller_idSAMEAS", "needs the name of another field"),
        ("caller_idSAMEASa b", "needs the name of another field"),
        ("assigned_toDYNAMIC" + "0" * 32, "dynamic filter"),
    ],
)
def test_malformed_queries_raise_a_400_error_saying_what_is_wrong(bad: str, says: str) -> None:
    with pytest.raises(EncodedQueryError) as raised:
        parse(bad, CONTEXT)
    assert raised.value.status == 400
    assert says in str(raised.value)


# -- comparison --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("left", "right", "kind", "order"),
    [
        ("10", "9", None, 1),
        ("10", "9", FieldKind.STRING, -1),  # text fields sort as text
        ("-1.5", "-1", FieldKind.INTEGER, -1),
        ("abc", "ABD", None, -1),
        ("2026-11-23 08:00:00", "2026-11-23", None, 1),
        ("2026-11-23 08:00:00", "2026-11-23 08:00:00", FieldKind.DATE_TIME, 0),
        ("true", "1", FieldKind.BOOLEAN, 0),
        ("", "false", FieldKind.BOOLEAN, 0),
        ("true", "false", FieldKind.BOOLEAN, 1),
        ("nan", "inf", None, 1),  # not numbers
    ],
)
def test_compare_by_kind_or_shape(left: str, right: str, kind: FieldKind | None, order: int) -> None:
    assert compare(left, right, kind) == order

"""Aggregate API computations: aggregate functions, parameter parsing, grouping, having and ordering."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.servicenow.aggregate import (
    Aggregate,
    GroupOrder,
    Having,
    aggregate_values,
    compute_stats,
    parse_group_order,
    parse_having,
    parse_stats_request,
)
from sandbox.servicenow.errors import MalformedRequestError
from sandbox.servicenow.store import TableStore

LEVEL_1, LEVEL_2 = "a" * 32, "b" * 32
USER = "admin"


@pytest.mark.parametrize(
    ("kind", "values", "expected"),
    [
        (Aggregate.COUNT, ["1", "2", ""], "3"),
        (Aggregate.COUNT, [], "0"),
        (Aggregate.AVG, ["1", "2"], "1.5000"),
        (Aggregate.AVG, ["3", "", "n/a"], "3.0000"),  # empty and non-numeric values are left out
        (Aggregate.AVG, [], ""),
        (Aggregate.MIN, ["10", "9", "2"], "2"),  # numerically, not as text
        (Aggregate.MAX, ["10", "9", "2"], "10"),
        (Aggregate.MIN, ["beta", "Alpha", "gamma"], "Alpha"),  # text case-insensitively
        (Aggregate.MAX, ["2024-04-30 23:00:00", "2024-05-01 10:00:00"], "2024-05-01 10:00:00"),
        (Aggregate.MAX, ["", ""], ""),
        (Aggregate.SUM, ["1", "2", "3"], "6"),
        (Aggregate.SUM, ["1.5", "2"], "3.5000"),
        (Aggregate.SUM, ["", "x"], ""),
    ],
)
def test_aggregate_values(kind: Aggregate, values: list[str], expected: str) -> None:
    assert aggregate_values(kind, values) == expected


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("count^priority^>^3", Having(Aggregate.COUNT, "priority", ">", "3")),
        ("AVG^urgency^<=^1.5", Having(Aggregate.AVG, "urgency", "<=", "1.5")),
        ("sum^reassignment_count^!=^0", Having(Aggregate.SUM, "reassignment_count", "!=", "0")),
    ],
)
def test_parse_having(term: str, expected: Having) -> None:
    assert parse_having(term) == expected


@pytest.mark.parametrize("term", ["count^priority^>", "median^priority^>^3", "count^priority^LIKE^3", ""])
def test_malformed_having_is_refused_with_the_expected_shape(term: str) -> None:
    with pytest.raises(MalformedRequestError) as refused:
        parse_having(term)
    assert "aggregate^field^operator^value" in str(refused.value)


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("COUNT^DESC", GroupOrder("", Aggregate.COUNT, descending=True)),
        ("count", GroupOrder("", Aggregate.COUNT)),
        ("AVG^urgency", GroupOrder("urgency", Aggregate.AVG)),
        ("state^DESC", GroupOrder("state", None, descending=True)),
        ("state^ASC", GroupOrder("state")),
    ],
)
def test_parse_group_order(term: str, expected: GroupOrder) -> None:
    assert parse_group_order(term) == expected


@pytest.fixture(scope="module")
def store() -> TableStore:
    store = TableStore()
    store.insert("sys_user_group", {"sys_id": LEVEL_1, "name": "Niveau 1"}, user=USER)
    store.insert("sys_user_group", {"sys_id": LEVEL_2, "name": "Niveau 2"}, user=USER)
    store.insert(
        "sys_choice", {"name": "incident", "element": "state", "value": "2", "label": "In Progress"}, user=USER
    )
    rows = [
        # (group, state, urgency, impact) -> priority follows impact x urgency
        (LEVEL_1, "1", "1", "1"),
        (LEVEL_1, "1", "3", "3"),
        (LEVEL_1, "2", "2", "3"),
        (LEVEL_2, "2", "3", "3"),
        (LEVEL_2, "2", "3", "3"),
        ("", "1", "3", "3"),
    ]
    for n, (group, state, urgency, impact) in enumerate(rows):
        store.insert(
            "incident",
            {
                "short_description": f"agg {n}",
                "assignment_group": group,
                "state": state,
                "urgency": urgency,
                "impact": impact,
            },
            user=USER,
        )
    store.insert("incident", {"short_description": "outside the query"}, user=USER)
    return store


def stats_of(store: TableStore, params: dict[str, str]) -> Any:
    params = {"sysparm_query": "short_descriptionSTARTSWITHagg", **params}
    return compute_stats(store, "incident", parse_stats_request(params, store.schema("incident")))


def group(count: str, *fields: tuple[str, str]) -> dict[str, Any]:
    return {"stats": {"count": count}, "groupby_fields": [{"field": f, "value": v} for f, v in fields]}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"sysparm_count": "true"}, {"stats": {"count": "6"}}, id="count"),
        pytest.param({}, {"stats": {}}, id="no-aggregate-asked"),
        pytest.param(
            {"sysparm_count": "true", "state": "2"}, {"stats": {"count": "3"}}, id="name-value-parameter-filters"
        ),
        pytest.param(
            {
                "sysparm_query": "short_descriptionSTARTSWITHnone",
                "sysparm_count": "true",
                "sysparm_min_fields": "urgency",
            },
            {"stats": {"count": "0", "min": {"urgency": ""}}},
            id="nothing-matches",
        ),
        pytest.param(
            {"sysparm_min_fields": "priority,bogus", "sysparm_max_fields": "priority", "sysparm_sum_fields": "urgency"},
            {"stats": {"min": {"priority": "1"}, "max": {"priority": "5"}, "sum": {"urgency": "15"}}},
            id="min-max-sum-unknown-field-ignored",
        ),
        pytest.param(
            {"sysparm_count": "true", "sysparm_group_by": "assignment_group"},
            [
                group("1", ("assignment_group", "")),
                group("3", ("assignment_group", LEVEL_1)),
                group("2", ("assignment_group", LEVEL_2)),
            ],
            id="group-by-reference-value",
        ),
        pytest.param(
            {"sysparm_count": "true", "sysparm_group_by": "assignment_group", "sysparm_display_value": "true"},
            [
                group("1", ("assignment_group", "")),
                group("3", ("assignment_group", "Niveau 1")),
                group("2", ("assignment_group", "Niveau 2")),
            ],
            id="group-by-reference-display",
        ),
        pytest.param(
            {"sysparm_count": "true", "sysparm_group_by": "assignment_group.name", "sysparm_order_by": "COUNT^DESC"},
            [
                group("3", ("assignment_group.name", "Niveau 1")),
                group("2", ("assignment_group.name", "Niveau 2")),
                group("1", ("assignment_group.name", "")),
            ],
            id="dot-walked-group-ordered-by-count",
        ),
        pytest.param(
            {"sysparm_count": "true", "sysparm_group_by": "state,urgency", "sysparm_order_by": "state^DESC"},
            [
                group("1", ("state", "2"), ("urgency", "2")),
                group("2", ("state", "2"), ("urgency", "3")),
                group("1", ("state", "1"), ("urgency", "1")),
                group("2", ("state", "1"), ("urgency", "3")),
            ],
            id="two-fields-ordered-by-one",
        ),
        pytest.param(
            {"sysparm_count": "true", "sysparm_group_by": "state", "sysparm_having": "count^state^>=^3"},
            [group("3", ("state", "1")), group("3", ("state", "2"))],
            id="having-count",
        ),
        pytest.param(
            {
                "sysparm_avg_fields": "urgency",
                "sysparm_group_by": "assignment_group",
                "sysparm_having": "avg^urgency^<^3",
            },
            [
                {
                    "stats": {"avg": {"urgency": "2.0000"}},
                    "groupby_fields": [{"field": "assignment_group", "value": LEVEL_1}],
                }
            ],
            id="having-avg",
        ),
        pytest.param(
            {"sysparm_count": "true", "sysparm_group_by": "assignment_group", "sysparm_order_by": "AVG^urgency^DESC"},
            [
                group("1", ("assignment_group", "")),
                group("2", ("assignment_group", LEVEL_2)),
                group("3", ("assignment_group", LEVEL_1)),
            ],
            id="ordered-by-average-descending",
        ),
        pytest.param(
            {"sysparm_query": "short_descriptionSTARTSWITHnone", "sysparm_count": "true", "sysparm_group_by": "state"},
            [],
            id="grouped-nothing-matches",
        ),
    ],
)
def test_compute_stats(store: TableStore, params: dict[str, str], expected: Any) -> None:
    assert stats_of(store, params) == expected


def test_group_by_choice_with_display_all_gives_value_and_label(store: TableStore) -> None:
    result = stats_of(store, {"sysparm_count": "true", "sysparm_group_by": "state", "sysparm_display_value": "all"})
    assert [entry["groupby_fields"] for entry in result] == [
        [{"field": "state", "value": "1", "display_value": "1"}],  # no sys_choice row: the value itself
        [{"field": "state", "value": "2", "display_value": "In Progress"}],
    ]


def test_sort_keys_order_tuples_by_every_field() -> None:
    from sandbox.servicenow.query import SortKey

    rows = [("b", "2"), ("a", "10"), ("b", "1"), ("a", "9")]
    ordered = sorted(rows, key=lambda row: tuple(SortKey(value) for value in row))
    assert ordered == [("a", "9"), ("a", "10"), ("b", "1"), ("b", "2")]

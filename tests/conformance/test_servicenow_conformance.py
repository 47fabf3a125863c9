"""What a bot relies on from ServiceNow through pysnc, checked against the sandbox or a real instance.

Run against the sandbox (default) or a real instance (``SESAME_SN_URL``, ``SESAME_SN_USER``,
``SESAME_SN_PASSWORD``; see conftest.py): the same assertions must hold on both.
"""

from __future__ import annotations

import pysnc
import pytest
from pysnc.exceptions import AuthenticationException, RequestException, RoleException

from tests.conformance.conftest import Marked, Target

pytestmark = pytest.mark.integration

MISSING_SYS_ID = "0" * 32

# label -> fields; the operator table below selects among these four by label.
DATASET: dict[str, dict[str, str]] = {
    "alpha": {"urgency": "1", "impact": "1", "category": "network", "description": "Mot de passe expiré",
              "correlation_id": "conf-alpha"},
    "beta": {"urgency": "2", "impact": "2", "category": "hardware", "description": "printer jam on floor 2"},
    "gamma": {"urgency": "3", "impact": "3", "category": "network", "description": "VPN drops every hour",
              "correlation_id": "conf-gamma"},
    "delta": {"urgency": "3", "impact": "2", "category": "software", "description": "printer toner low"},
}  # fmt: skip


def _labels(gr: pysnc.GlideRecord, marker: str) -> list[str]:
    """The dataset labels of a queried GlideRecord, in the order returned."""
    return [str(record.short_description.get_value()).removeprefix(marker).strip() for record in gr]


@pytest.fixture(scope="module")
def dataset(module_marked: Marked) -> str:
    """Four incidents for the query tests; returns their marker."""
    for label, fields in DATASET.items():
        module_marked.create(label, **fields)
    return module_marked.marker


# -- create, read, update, delete ----------------------------------------------------------------


def test_insert_get_update_delete(client: pysnc.ServiceNowClient, marked: Marked) -> None:
    gr = client.GlideRecord("incident")
    gr.initialize()
    gr.short_description = f"{marked.marker} crud"
    gr.urgency = "2"
    gr.no_such_field_anywhere = "ignored"  # an instance ignores unknown fields
    sys_id = gr.insert()  # pysnc raises InsertException unless the answer is 201
    assert sys_id

    fresh = client.GlideRecord("incident")
    assert fresh.get(str(sys_id))
    assert str(fresh.number.get_value()).startswith("INC")
    assert fresh.urgency.get_value() == "2"
    assert fresh.state.get_value() == "1"
    assert fresh.sys_mod_count.get_value() == "0"

    fresh.impact = "1"
    assert fresh.update()  # a PATCH; pysnc raises UpdateException unless 200
    again = client.GlideRecord("incident")
    assert again.get(str(sys_id))
    assert again.impact.get_value() == "1"
    assert again.sys_mod_count.get_value() == "1"

    assert again.delete()  # pysnc raises DeleteException unless 204
    assert not client.GlideRecord("incident").get(str(sys_id))


def test_get_of_a_missing_sys_id_is_false(client: pysnc.ServiceNowClient) -> None:
    assert client.GlideRecord("incident").get(MISSING_SYS_ID) is False


# -- encoded queries ------------------------------------------------------------------------------

QUERIES = [
    ("{m}^category=network", {"alpha", "gamma"}),
    ("{m}^category!=network", {"beta", "delta"}),
    ("{m}^urgencyIN1,2", {"alpha", "beta"}),
    ("{m}^urgencyNOT IN1,2", {"gamma", "delta"}),
    ("{m}^descriptionSTARTSWITHprinter", {"beta", "delta"}),
    ("{m}^descriptionENDSWITHhour", {"gamma"}),
    ("{m}^descriptionLIKEjam", {"beta"}),
    ("{m}^descriptionNOT LIKEprinter", {"alpha", "gamma"}),
    ("{m}^correlation_idISEMPTY", {"beta", "delta"}),
    ("{m}^correlation_idISNOTEMPTY", {"alpha", "gamma"}),
    ("{m}^urgency<2", {"alpha"}),
    ("{m}^urgency<=2", {"alpha", "beta"}),
    ("{m}^urgency>2", {"gamma", "delta"}),
    ("{m}^impact>=2", {"beta", "gamma", "delta"}),
    ("{m}^urgencyBETWEEN2@3", {"beta", "gamma", "delta"}),
    ("{m}^category=hardware^ORcategory=software", {"beta", "delta"}),
    ("{m}^urgency=1^NQ{m}^category=software", {"alpha", "delta"}),
    ("{m}^urgency=3^impact=2", {"delta"}),
]


@pytest.mark.parametrize(("template", "expected"), QUERIES, ids=[template for template, _ in QUERIES])
def test_encoded_query_operator(
    client: pysnc.ServiceNowClient, dataset: str, template: str, expected: set[str]
) -> None:
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(template.format(m=f"short_descriptionSTARTSWITH{dataset}"))
    gr.query()
    assert set(_labels(gr, dataset)) == expected
    assert gr.get_row_count() == len(expected)


@pytest.mark.parametrize(
    ("ordering", "expected"),
    [
        ("ORDERBYurgency^ORDERBYDESCimpact", ["alpha", "beta", "gamma", "delta"]),
        ("ORDERBYDESCurgency^ORDERBYimpact", ["delta", "gamma", "beta", "alpha"]),
    ],
)
def test_encoded_query_ordering(
    client: pysnc.ServiceNowClient, dataset: str, ordering: str, expected: list[str]
) -> None:
    gr = client.GlideRecord("incident")
    gr.add_encoded_query(f"short_descriptionSTARTSWITH{dataset}^{ordering}")
    gr.query()
    assert _labels(gr, dataset) == expected


def test_builder_queries_and_order(client: pysnc.ServiceNowClient, dataset: str) -> None:
    gr = client.GlideRecord("incident")
    gr.add_query("short_description", "STARTSWITH", dataset)
    gr.add_query("urgency", ">=", "2").add_or_condition("category", "network")
    gr.order_by_desc("impact")
    gr.query()
    labels = _labels(gr, dataset)
    assert (labels[0], labels[-1]) == ("gamma", "alpha")
    assert set(labels) == {"alpha", "beta", "gamma", "delta"}


def test_pagination_across_several_pages(client: pysnc.ServiceNowClient, marked: Marked) -> None:
    created = {marked.create(f"page {n:02d}") for n in range(7)}
    gr = client.GlideRecord("incident", batch_size=3)
    gr.add_query("short_description", "STARTSWITH", marked.marker)
    gr.order_by("short_description")
    gr.query()
    assert gr.get_row_count() == 7
    seen = [(str(record.sys_id), _labels_one(record, marked.marker)) for record in gr]
    assert {sys_id for sys_id, _ in seen} == created
    assert [label for _, label in seen] == [f"page {n:02d}" for n in range(7)]


def _labels_one(record: pysnc.GlideRecord, marker: str) -> str:
    return str(record.short_description.get_value()).removeprefix(marker).strip()


# -- display values, references, dot-walking -------------------------------------------------------


def _own_user(client: pysnc.ServiceNowClient, servicenow: Target) -> pysnc.GlideRecord:
    me = client.GlideRecord("sys_user")
    assert me.get("user_name", servicenow.user), f"no sys_user row for {servicenow.user}"
    return me


def test_display_values_of_choices_and_references(
    client: pysnc.ServiceNowClient, servicenow: Target, marked: Marked
) -> None:
    me = _own_user(client, servicenow)
    sys_id = marked.create("display", caller_id=str(me.sys_id))
    gr = client.GlideRecord("incident")
    assert gr.get(sys_id)
    assert (gr.state.get_value(), gr.state.get_display_value()) == ("1", "New")
    assert gr.caller_id.get_value() == str(me.sys_id)
    assert gr.caller_id.get_display_value() == me.name.get_value()
    assert gr.number.get_display_value() == gr.number.get_value()


def test_dot_walked_fields_and_conditions(client: pysnc.ServiceNowClient, servicenow: Target, marked: Marked) -> None:
    me = _own_user(client, servicenow)
    marked.create("dot-walk", caller_id=str(me.sys_id))
    gr = client.GlideRecord("incident")
    gr.fields = ["number", "caller_id.user_name"]
    gr.add_encoded_query(f"short_descriptionSTARTSWITH{marked.marker}^caller_id.user_name={servicenow.user}")
    gr.query()
    assert gr.next()
    assert gr.get_value("caller_id.user_name") == servicenow.user
    assert not gr.next()


# -- ITSM behaviour -----------------------------------------------------------------------------------


def test_work_notes_are_a_journal(client: pysnc.ServiceNowClient, marked: Marked) -> None:
    sys_id = marked.create("journal")
    note = f"{marked.marker}: note de travail"
    gr = client.GlideRecord("incident")
    assert gr.get(sys_id)
    gr.work_notes = note
    gr.update()

    again = client.GlideRecord("incident")
    assert again.get(sys_id)
    assert again.work_notes.get_value() == ""
    assert note in again.work_notes.get_display_value()
    history = client.GlideRecord("sys_journal_field")
    history.add_encoded_query(f"element_id={sys_id}^element=work_notes")
    history.query()
    assert [entry.value.get_value() for entry in history] == [note]


def test_resolving_needs_close_code_and_notes(client: pysnc.ServiceNowClient, marked: Marked) -> None:
    sys_id = marked.create("resolve")
    ticket = client.GlideRecord("incident")
    assert ticket.get(sys_id)
    ticket.state = "6"
    with pytest.raises(RoleException) as refused:  # the data policy's 403; pysnc raises before UpdateException
        ticket.update()
    assert "Data Policy Exception" in str(refused.value)

    codes = client.GlideRecord("sys_choice")
    codes.add_encoded_query("name=incident^element=close_code^inactive=false")
    codes.query()
    assert codes.next(), "the instance has no close_code choices for incident"
    ticket = client.GlideRecord("incident")
    assert ticket.get(sys_id)
    ticket.state = "6"
    ticket.close_code = codes.value.get_value()
    ticket.close_notes = "Résolu par le test de conformité"
    ticket.update()
    resolved = client.GlideRecord("incident")
    assert resolved.get(sys_id)
    assert (resolved.state.get_value(), resolved.state.get_display_value()) == ("6", "Resolved")


# -- batch API --------------------------------------------------------------------------------------


def test_update_multiple_through_the_batch_api(client: pysnc.ServiceNowClient, marked: Marked) -> None:
    for n in range(3):
        marked.create(f"bulk {n}", urgency="3")
    gr = client.GlideRecord("incident")
    gr.add_query("short_description", "STARTSWITH", marked.marker)
    gr.query()
    for record in gr:
        record.urgency = "1"
    assert gr.update_multiple()

    check = client.GlideRecord("incident")
    check.add_query("short_description", "STARTSWITH", marked.marker)
    check.query()
    assert [record.urgency.get_value() for record in check] == ["1", "1", "1"]


def test_delete_multiple_through_the_batch_api(client: pysnc.ServiceNowClient, marked: Marked) -> None:
    for n in range(3):
        marked.create(f"doomed {n}")
    gr = client.GlideRecord("incident")
    gr.add_query("short_description", "STARTSWITH", marked.marker)
    assert gr.delete_multiple()

    check = client.GlideRecord("incident")
    check.add_query("short_description", "STARTSWITH", marked.marker)
    check.query()
    assert check.get_row_count() == 0


# -- attachments --------------------------------------------------------------------------------------


def test_attachment_add_list_read_delete(client: pysnc.ServiceNowClient, marked: Marked) -> None:
    sys_id = marked.create("attachment")
    gr = client.GlideRecord("incident")
    assert gr.get(sys_id)
    content = b"Journal d'erreurs\nligne 2\n"
    location = gr.add_attachment("erreurs.txt", content, "text/plain")
    assert "/api/now/" in location and "attachment" in location

    listed = gr.get_attachments()
    assert len(listed) == 1
    found = [(attachment.file_name, attachment.table_sys_id) for attachment in listed]
    assert found == [("erreurs.txt", sys_id)]
    for attachment in listed:
        assert attachment.read() == content
        attachment.delete()
    assert len(gr.get_attachments()) == 0


# -- errors turned into pysnc exceptions ---------------------------------------------------------------


def test_unknown_table_is_a_request_exception(client: pysnc.ServiceNowClient) -> None:
    with pytest.raises(RequestException) as refused:
        client.GlideRecord("x_sesame_no_such_table").query()
    assert "Invalid table x_sesame_no_such_table" in str(refused.value)


def test_wrong_password_is_an_authentication_exception(servicenow: Target) -> None:
    intruder = servicenow.client(password="not-the-password")
    try:
        with pytest.raises(AuthenticationException) as refused:
            intruder.GlideRecord("incident").get(MISSING_SYS_ID)
    finally:
        intruder.session.close()
    assert "user not authenticated" in str(refused.value).lower()

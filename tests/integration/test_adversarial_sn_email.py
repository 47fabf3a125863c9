"""TC-17 (security.md SN-02): a ticket ServiceNow created from an inbound e-mail is judged on the headers of its
``sys_email`` record, exactly like a message read from the mailbox; the caller the inbound action impersonated
proves nothing. Against the ServiceNow sandbox through the project's pysnc connector: the ticket is polled from the
automation queue, its e-mail read back, verified, and a refused ticket lands with level 1 carrying its reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from automations.registry import Partner, PartnerRegistry
from automations.trust import Refusal
from automations.trust.gate import TrustChecks
from automations.trust.replay import MemoryReplayGuard
from automations.trust.sender import SenderPolicy, protected_domains
from automations.trust.ticket_origin import NO_SOURCE_EMAIL, screen_email_ticket
from connectors.servicenow.tickets import ServiceNowTickets
from connectors.tickets import QueuedTicket
from tests.fixtures.fleet import SN_BOT, SN_BOT_PASSWORD, ServedInstance
from tests.integration.adversarial_cases import AGENCY, AUTHSERV, CORR, ML, UNLOCK, auth_results, mail

pytestmark = pytest.mark.integration

AUTOMATION_GROUP, HUMAN_GROUP = "Sésame Automatisation", "Service Desk N1"
OU = "OU=Mission Locale Lyon,OU=Partenaires,DC=agence,DC=local"


@dataclass
class Desk:
    sn: ServedInstance
    tickets: ServiceNowTickets
    registry: PartnerRegistry
    alerts: list[Refusal]
    trust: TrustChecks


@pytest.fixture
def desk(demo_servicenow: ServedInstance) -> Iterator[Desk]:
    registry = PartnerRegistry([Partner("ml-lyon", "Mission Locale de Lyon", frozenset({ML}), frozenset({CORR}), OU)])
    alerts: list[Refusal] = []
    trust = TrustChecks(
        sender_policy=SenderPolicy(authserv_ids=frozenset({AUTHSERV}),
                                   protected_domains=protected_domains(registry, [AGENCY])),
        replay_guard=MemoryReplayGuard(), alert=lambda refusal, _request: alerts.append(refusal),
    )  # fmt: skip
    tickets = ServiceNowTickets(demo_servicenow.url, SN_BOT, SN_BOT_PASSWORD, ca_file=str(demo_servicenow.ca_file),
                                timeout=10.0)  # fmt: skip
    yield Desk(demo_servicenow, tickets, registry, alerts, trust)


def email_ticket(desk: Desk, *, contact_type: str = "email", with_email: bool = True, **mail_options: Any) -> str:
    """What an inbound e-mail action leaves behind: an incident in the automation queue whose caller is the user
    matching the ``From`` address, and the ``sys_email`` it came from with the raw header block."""
    store = desk.sn.store
    request = mail(UNLOCK, **mail_options)
    (group,) = store.find("sys_user_group", name=AUTOMATION_GROUP)
    callers = store.find("sys_user", email=request.sender_address)
    incident = store.insert("incident", {
        "short_description": request.subject, "description": request.text, "contact_type": contact_type,
        "assignment_group": group["sys_id"], "caller_id": callers[0]["sys_id"] if callers else "",
    }, user="system")  # fmt: skip
    if with_email:
        store.insert("sys_email", {
            "type": "received", "instance": incident["sys_id"], "target_table": "incident",
            "headers": "".join(f"{name}: {value}\r\n" for name, value in request.headers),
            "subject": request.subject, "body_text": request.text, "user": request.sender_address,
            "user_id": callers[0]["sys_id"] if callers else "", "recipients": f"support@{AGENCY}",
        }, user="system")  # fmt: skip
    return str(incident["sys_id"])


def polled(desk: Desk, sys_id: str) -> QueuedTicket:
    batch = desk.tickets.poll_queue(AUTOMATION_GROUP, since_watermark=None)
    return next(t for t in batch.tickets if t.ref.sys_id == sys_id)


def assert_with_level_1(desk: Desk, sys_id: str, reason: str) -> None:
    incident = desk.sn.store.get("incident", sys_id)
    assert incident is not None
    (human,) = desk.sn.store.find("sys_user_group", name=HUMAN_GROUP)
    assert incident["assignment_group"] == human["sys_id"] and incident["state"] not in {"6", "7"}
    notes = desk.sn.store.find("sys_journal_field", element_id=sys_id, element="work_notes")
    assert any(f"Raison : {reason}" in note["value"] for note in notes), notes


SPOOFED = [
    ("spoofed domain, the caller set to the real correspondent", dict(ar=[auth_results(ML, dkim="fail", dmarc="fail",
                                                                                       spf="fail")]), "DMARC_FAIL"),
    ("a foreign server's verdict only", dict(ar=[auth_results(ML, authserv="mx.evil.example")]), "FORGED_AR"),
    ("look-alike domain", dict(sender="claire.fabre@missionlocale-lyon.fr"), "LOOKALIKE_DOMAIN"),
    ("Reply-To elsewhere", dict(extra=[("Reply-To", "attacker@proton.me")]), "REPLYTO_MISMATCH"),
    ("registered domain, unregistered person", dict(sender=f"inconnu@{ML}", name="Inconnu"), "unknown_sender"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "options", "reason"), SPOOFED, ids=[c[0] for c in SPOOFED])
def test_tc17_a_spoofed_email_ticket_goes_to_a_person_with_the_reason(
    desk: Desk, case: str, options: dict[str, Any], reason: str
) -> None:
    sys_id = email_ticket(desk, **options)
    origin = screen_email_ticket(polled(desk, sys_id), desk.tickets, desk.tickets, desk.registry, desk.trust,
                                 HUMAN_GROUP)  # fmt: skip
    assert not origin.trusted and origin.refusals[0].reason == reason and origin.partner is None
    assert_with_level_1(desk, sys_id, reason)


def test_tc17_a_verified_email_ticket_carries_its_request_and_partner(desk: Desk) -> None:
    sys_id = email_ticket(desk)
    origin = screen_email_ticket(polled(desk, sys_id), desk.tickets, desk.tickets, desk.registry, desk.trust,
                                 HUMAN_GROUP)  # fmt: skip
    assert origin.trusted and origin.partner is not None and origin.partner.id == "ml-lyon"
    assert origin.request is not None and origin.request.sender_address == CORR and "jdupont" in origin.request.text
    incident = desk.sn.store.get("incident", sys_id)
    assert incident is not None and incident["assignment_group"] != desk.sn.store.find(
        "sys_user_group", name=HUMAN_GROUP)[0]["sys_id"]  # fmt: skip


def test_tc17_an_email_ticket_without_its_email_is_not_trusted(desk: Desk) -> None:
    sys_id = email_ticket(desk, with_email=False)
    origin = screen_email_ticket(polled(desk, sys_id), desk.tickets, desk.tickets, desk.registry, desk.trust,
                                 HUMAN_GROUP)  # fmt: skip
    assert [r.reason for r in origin.refusals] == [NO_SOURCE_EMAIL]
    assert_with_level_1(desk, sys_id, NO_SOURCE_EMAIL)


def test_tc17_the_same_email_delivered_to_the_mailbox_and_as_a_ticket_counts_once(desk: Desk) -> None:
    """The mailbox copy was handled first: the ticket made from the same message is a replay (VER-09)."""
    message_id = "<same-message@mission-locale-lyon.fr>"
    desk.trust.origin(mail(UNLOCK, message_id=message_id), desk.registry.partner_of(CORR))
    sys_id = email_ticket(desk, message_id=message_id)
    origin = screen_email_ticket(polled(desk, sys_id), desk.tickets, desk.tickets, desk.registry, desk.trust,
                                 HUMAN_GROUP)  # fmt: skip
    assert [r.reason for r in origin.refusals] == ["REPLAY"]


def test_tc17_tickets_not_made_from_an_email_are_left_to_their_own_checks(desk: Desk) -> None:
    sys_id = email_ticket(desk, contact_type="self-service", with_email=False)
    origin = screen_email_ticket(polled(desk, sys_id), desk.tickets, desk.tickets, desk.registry, desk.trust,
                                 HUMAN_GROUP)  # fmt: skip
    assert origin.trusted and origin.request is None

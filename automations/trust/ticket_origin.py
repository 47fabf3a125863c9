"""Tickets ServiceNow created from an e-mail (security note SN-02, TC-17) are judged as the e-mail they came from.

An inbound e-mail action opens the incident *impersonating the user that matches the sender*: its caller proves
nothing more than the ``From`` header did. So a ticket with ``contact_type=email`` is never trusted for its caller;
the ``sys_email`` record it came from is read and its headers go through the same sender verification as a message
read from the mailbox (``TrustChecks.origin``: our server's Authentication-Results, DMARC/DKIM alignment,
From/Sender/Reply-To, look-alikes, replays) and the same registry of correspondents. No source e-mail, a refusal,
or a sender that is no registered correspondent: the ticket goes to a person with the reason, and nothing acts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from automations.intake import request_from_message
from automations.registry import Partner, PartnerRegistry
from automations.request import Request
from automations.trust import Refusal
from automations.trust.gate import TrustChecks
from connectors.mailbox import InboundMessage
from connectors.tickets import QueuedTicket, TicketRef

EMAIL_CONTACT = "email"
NO_SOURCE_EMAIL = "NO_SOURCE_EMAIL"
UNKNOWN_SENDER = "unknown_sender"


class EmailSource(Protocol):
    """Where the e-mail behind a ticket is read (``ServiceNowTickets.inbound_email``)."""

    def inbound_email(self, ticket: TicketRef) -> InboundMessage | None: ...


class HandOver(Protocol):
    """The one ticket call a refusal needs (``TicketSystem.hand_to_humans``)."""

    def hand_to_humans(self, ticket: TicketRef, group: str, note: str) -> None: ...


@dataclass(frozen=True)
class TicketOrigin:
    """What the e-mail behind a ticket proves: the request it carried, its verified partner, or the refusals."""

    request: Request | None
    partner: Partner | None
    refusals: tuple[Refusal, ...]

    @property
    def trusted(self) -> bool:
        return not self.refusals


def verify_email_ticket(
    ticket: QueuedTicket, source: EmailSource, registry: PartnerRegistry, trust: TrustChecks
) -> TicketOrigin:
    """Judge an e-mail-created ticket on its ``sys_email`` headers; other tickets are not this check's business
    (an empty, trusted result: the caller's own checks of a self-service or phone ticket apply)."""
    if ticket.contact_type != EMAIL_CONTACT:
        return TicketOrigin(None, None, ())
    message = source.inbound_email(ticket.ref)
    if message is None:
        return TicketOrigin(None, None, (Refusal(
            NO_SOURCE_EMAIL, f"{ticket.ref.number} says it came by e-mail but ServiceNow holds no received e-mail "
                             "for it (sys_email): its sender cannot be verified"),))  # fmt: skip
    request = request_from_message(message)
    partner = registry.partner_of(request.sender_address)
    refusals = trust.origin(request, partner)
    if not refusals and partner is None:
        refusals = [Refusal(UNKNOWN_SENDER, f"{request.sender_address} is not a registered partner correspondent")]
    return TicketOrigin(request, partner if not refusals else None, tuple(refusals))


def screen_email_ticket(
    ticket: QueuedTicket, source: EmailSource, tickets: HandOver, registry: PartnerRegistry, trust: TrustChecks,
    human_group: str,
) -> TicketOrigin:  # fmt: skip
    """``verify_email_ticket``, and when it refuses, hand the ticket to ``human_group`` with the reason."""
    origin = verify_email_ticket(ticket, source, registry, trust)
    if origin.refusals:
        first = origin.refusals[0]
        details = "; ".join(f"{r.reason}: {r.detail}" for r in origin.refusals)
        tickets.hand_to_humans(ticket.ref, human_group, (
            "Sésame n'a pas traité ce ticket automatiquement ; il est transmis au niveau 1.\n"
            f"Raison : {first.reason}\nDétail : ticket créé depuis un courriel dont l'expéditeur n'est pas vérifié "
            f"({details}). Le demandeur du ticket ne prouve rien : vérifier l'expéditeur avant toute action."))
    return origin

"""UO-TR1.1 in the ledger: each request records whether its ticket counts and who created and closed it, on
SQLite and on PostgreSQL; the figures and the summary count only those tickets, messages needing nothing apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from automations.closure import DeskPolicy, counts_as_uo_tr11
from automations.handling import RequestHandler
from automations.ledger import AUTOMATED, HANDED_OVER, IGNORED, Ledger, Outcome, TicketProvenance, utcnow
from automations.playbooks import conversation, load_playbooks
from automations.playbooks.actions import ACTIONS
from automations.registry import Partner, PartnerRegistry
from automations.replies import Templates
from automations.reporting.figures import is_uo_tr11, ledger_denominator, load_requests
from automations.reporting.periods import period_of
from automations.request import Request
from automations.trust.spray import MemoryLockoutStore, SprayDetector
from automations.understanding import get_understander
from connectors.directory import Account
from tests.fakes import FakeDirectory, FakeTickets

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
OU = "OU=Mission Locale,OU=Partenaires,DC=agence,DC=local"
CORRESPONDENT = "claire.fabre@ml.fr"
WORKER = "worker-7:4242"


class World:
    def __init__(self, url: str) -> None:
        self.tickets = FakeTickets()
        self.ledger = Ledger(url)
        self.handler = RequestHandler(
            tickets=self.tickets, ledger=self.ledger,
            directory=FakeDirectory([Account(dn=f"CN=jdupont,{OU}", sam="jdupont", upn="jdupont@agence.local",
                                             mail="jdupont@ml.fr", display_name="Jdupont", enabled=True,
                                             locked=True)]),
            registry=PartnerRegistry([Partner("ml", "Mission Locale", frozenset({"ml.fr"}),
                                              frozenset({CORRESPONDENT}), OU)]),
            understander=get_understander("rules"),
            playbooks=load_playbooks(PLAYBOOKS, frozenset(ACTIONS)), templates=Templates(PLAYBOOKS),
            desk=DeskPolicy("Automatisation", "N1", "Résolution définitive", "KB0010001", "UO-TR1.1",
                            automation_user="svc-sesame"),
            respond=lambda _request, _text: None, spray=SprayDetector(MemoryLockoutStore()), worker=WORKER,
        )

    def handle(self, key: str, text: str, sender: str = CORRESPONDENT,
               headers: tuple[tuple[str, str], ...] = ()) -> Outcome:  # fmt: skip
        request = Request(key=key, channel="email", sender_address=sender, sender_name="Claire", subject="Demande",
                          text=text, headers=(("Message-ID", key), *headers), source_id=key)
        assert self.ledger.register(request)
        return self.handler.handle(request)


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    made = World(database_url)
    yield made
    made.ledger.engine.dispose()


UNLOCK = "Bonjour, merci de débloquer le compte jdupont. Cordialement, Claire"
OUT_OF_SCOPE = ("Bonjour, Notre nouvelle collègue Amélie Lefebvre aurait besoin d'un accès en écriture au dossier "
                "partagé Orientation. Merci, Claire")


def test_a_ticket_created_and_closed_by_the_automation_counts_with_its_provenance(world: World) -> None:
    before = utcnow() - timedelta(seconds=1)
    outcome = world.handle("<u1@ml.fr>", UNLOCK)
    assert (outcome.decision, outcome.uo_tr11) == (AUTOMATED, True)
    found = world.ledger.provenance("<u1@ml.fr>")
    assert found is not None
    assert (found.created_by_automation, found.created_by, found.closed_by_automation, found.closed_by) == (
        True, WORKER, True, WORKER)
    assert (found.automation_user, found.tag) == ("svc-sesame", "UO-TR1.1")
    assert found.created_at is not None and found.closed_at is not None
    assert before <= found.created_at <= found.closed_at <= utcnow()
    [fact] = load_requests(world.ledger.engine)
    assert fact.uo_tr11 is True and is_uo_tr11(fact) and fact.playbook and fact.playbook.startswith("account_unlock@")
    summary = world.ledger.summary()
    assert (summary["requests_seen"], summary["automated"], summary["uo_tr11"], summary["automated_pct"]) == (
        1, 1, 1, 100.0)


def test_an_answer_closed_without_the_tag_is_automated_work_but_not_uo_tr11(world: World) -> None:
    outcome = world.handle("<o1@ml.fr>", OUT_OF_SCOPE)
    assert (outcome.decision, outcome.uo_tr11) == (AUTOMATED, False)
    [ticket] = world.tickets.tickets.values()
    assert ticket.closure is not None and ticket.closure.tag is None
    assert ticket.closure.close_code == "Hors périmètre"
    found = world.ledger.provenance("<o1@ml.fr>")
    assert found is not None and found.closed_by_automation and found.tag is None
    [fact] = load_requests(world.ledger.engine)
    assert fact.decision == AUTOMATED and not is_uo_tr11(fact)
    world.handle("<u2@ml.fr>", UNLOCK)
    summary = world.ledger.summary()
    assert (summary["automated"], summary["uo_tr11"], summary["automated_not_counted"]) == (2, 1, 1)
    assert summary["automated_pct"] == 50.0


def test_a_hand_over_records_who_created_the_ticket_and_nobody_closing_it(world: World) -> None:
    outcome = world.handle("<h1@x.fr>", UNLOCK, sender="someone@unknown.example")
    assert outcome.decision == HANDED_OVER and not outcome.uo_tr11
    found = world.ledger.provenance("<h1@x.fr>")
    assert found is not None and found.created_by == WORKER and not found.closed_by_automation
    assert not is_uo_tr11(load_requests(world.ledger.engine)[0])


def test_messages_that_needed_nothing_are_counted_apart_from_the_requests(world: World) -> None:
    world.handle("<u3@ml.fr>", UNLOCK)
    ignored = world.handle("<a1@ml.fr>", "Je suis absente jusqu'au 3 décembre.",
                           headers=(("Auto-Submitted", "auto-replied"),))
    assert ignored.decision == IGNORED == conversation.IGNORED
    summary = world.ledger.summary()
    assert (summary["requests_seen"], summary["ignored"], summary["automated_pct"]) == (1, 1, 100.0)
    assert summary["ignored_reasons"] == {conversation.IGNORED_BY_PLAYBOOK: 1}
    assert len(summary["requests"]) == 2  # still listed, each with its decision


def test_a_ticket_a_person_created_and_the_bot_closed_is_recorded_and_counted_apart(world: World) -> None:
    world.ledger.register(Request(key="<p1@sn>", channel="servicenow", sender_address="agent@agence.local",
                                  sender_name="", subject="s", text="t", headers=()))
    provenance = TicketProvenance(created_by_automation=False, created_by="agent.n1", closed_by_automation=True,
                                  closed_by=WORKER, automation_user="svc-sesame", tag=None)
    assert not counts_as_uo_tr11(provenance)
    assert not counts_as_uo_tr11(TicketProvenance(created_by_automation=False, closed_by_automation=True,
                                                  tag="UO-TR1.1")), "a tag alone never makes it count"
    world.ledger.finish("<p1@sn>", Outcome(decision=AUTOMATED, ticket_number="INC0000042", provenance=provenance,
                                           uo_tr11=counts_as_uo_tr11(provenance)))
    assert world.ledger.provenance("<p1@sn>") == provenance
    summary = world.ledger.summary()
    assert (summary["automated"], summary["uo_tr11"], summary["automated_not_counted"]) == (1, 0, 1)
    assert not is_uo_tr11(load_requests(world.ledger.engine)[0])


def test_a_uo_tr11_claim_without_its_provenance_is_refused(world: World) -> None:
    world.ledger.register(Request(key="<x@x>", channel="email", sender_address="a@ml.fr", sender_name="",
                                  subject="s", text="t", headers=()))
    with pytest.raises(ValueError, match="provenance"):
        world.ledger.finish("<x@x>", Outcome(decision=AUTOMATED, uo_tr11=True))


def test_the_figures_denominator_leaves_out_messages_that_needed_nothing(world: World) -> None:
    world.handle("<u4@ml.fr>", UNLOCK)
    world.handle("<a2@ml.fr>", "Je suis absente.", headers=(("Auto-Submitted", "auto-replied"),))
    facts = load_requests(world.ledger.engine)
    assert len(facts) == 2
    assert ledger_denominator(period_of(facts[0].paris_day, "day"), facts) == 1

"""The request handler's decisions, on in-memory fakes of the connector interfaces and the real rules backend."""

from __future__ import annotations

from pathlib import Path

import pytest

from automations.handling import DeskPolicy, RequestHandler
from automations.ledger import AUTOMATED, HANDED_OVER, Ledger
from automations.playbooks import load_playbooks
from automations.playbooks.actions import ACTIONS
from automations.registry import Partner, PartnerRegistry
from automations.replies import Templates
from automations.request import Request
from automations.trust.gate import TrustChecks
from automations.trust.killswitch import WritesPaused
from automations.trust.spray import MemoryLockoutStore, SprayDetector
from automations.understanding import get_understander
from connectors.directory import Account
from tests.fakes import FakeDirectory, FakeTickets

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
ML_OU = "OU=Mission Locale,OU=Partenaires,DC=agence,DC=local"
CAP_OU = "OU=Cap emploi,OU=Partenaires,DC=agence,DC=local"
CORRESPONDENT = "claire.fabre@ml.fr"


def account(sam: str, ou: str = ML_OU, **changes: object) -> Account:
    values: dict[str, object] = dict(dn=f"CN={sam},{ou}", sam=sam, upn=f"{sam}@agence.local", mail=f"{sam}@ml.fr",
                                     display_name=sam.title(), enabled=True, locked=True)
    values.update(changes)
    return Account(**values)  # type: ignore[arg-type]


@pytest.fixture
def world(tmp_path: Path) -> dict[str, object]:
    directory = FakeDirectory([
        account("jdupont"), account("nroux", CAP_OU), account("boss", groups=frozenset({"Domain Admins"})),
        account("oldadmin", admin_count=1), account("gone", enabled=False), account("free", locked=False),
        account("cfabre", mail=CORRESPONDENT),
    ])
    tickets = FakeTickets()
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    replies: list[tuple[str, str]] = []
    registry = PartnerRegistry([
        Partner("ml", "Mission Locale", frozenset({"ml.fr"}), frozenset({CORRESPONDENT}), ML_OU),
        Partner("cap", "Cap emploi", frozenset({"cap.fr"}), frozenset({"s.moreau@cap.fr"}), CAP_OU),
    ])
    handler = RequestHandler(
        tickets=tickets, directory=directory, ledger=ledger, registry=registry,
        understander=get_understander("rules"),
        playbooks=load_playbooks(PLAYBOOKS, frozenset(ACTIONS)), templates=Templates(PLAYBOOKS),
        desk=DeskPolicy("Automatisation", "N1", "Résolution définitive", "KB0010001", "UO-TR1.1"),
        respond=lambda request, text: replies.append((request.sender_address, text)),
        spray=SprayDetector(MemoryLockoutStore()),
    )
    return {"handler": handler, "tickets": tickets, "directory": directory, "ledger": ledger, "replies": replies}


def email(body: str, sender: str = CORRESPONDENT, key: str = "<m1@ml.fr>") -> Request:
    return Request(key=key, channel="email", sender_address=sender, sender_name="Claire", subject="Compte bloqué",
                   text=body, headers=(("Message-ID", key),), source_id="m1")


def handle(world: dict[str, object], request: Request) -> object:
    ledger = world["ledger"]
    assert isinstance(ledger, Ledger) and isinstance(world["handler"], RequestHandler)
    ledger.register(request)
    return world["handler"].handle(request)


def test_registered_correspondent_gets_account_unlocked_and_ticket_closed(world: dict[str, object]) -> None:
    outcome = handle(world, email("Bonjour, merci de débloquer le compte jdupont. Cordialement, Claire"))
    tickets, directory = world["tickets"], world["directory"]
    assert isinstance(tickets, FakeTickets) and isinstance(directory, FakeDirectory)
    assert outcome.decision == AUTOMATED  # type: ignore[attr-defined]
    assert not directory.accounts[f"CN=jdupont,{ML_OU}"].locked
    (ticket,) = tickets.tickets.values()
    assert ticket.closure is not None and ticket.closure.tag == "UO-TR1.1"
    assert ticket.closure.kb_article == "KB0010001" and "jdupont" in ticket.closure.close_notes
    assert ticket.incident.caller_email == CORRESPONDENT and ticket.incident.contact_type == "email"
    ((to, text),) = world["replies"]  # type: ignore[misc]
    assert to == CORRESPONDENT and "jdupont" in text and "déverrouillé" in text and ticket.ref.number in text
    assert world["ledger"].actions("<m1@ml.fr>")[0]["action"] == "unlock"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("body", "sender", "reason"),
    [
        ("Merci de débloquer le compte jdupont", "pirate@gmail.com", "unknown_sender"),
        ("Merci de débloquer le compte nroux", CORRESPONDENT, "out_of_scope"),
        ("Merci de débloquer le compte boss", CORRESPONDENT, "privileged_account"),
        ("Merci de débloquer le compte oldadmin", CORRESPONDENT, "privileged_account"),
        ("Merci de débloquer le compte gone", CORRESPONDENT, "account_disabled"),
        ("Merci de débloquer le compte free", CORRESPONDENT, "account_not_locked"),
        ("Merci de débloquer le compte zzinconnu", CORRESPONDENT, "account_not_found"),
        ("Merci de débloquer le compte cfabre", CORRESPONDENT, "target_is_correspondent"),
        ("Merci de débloquer les comptes jdupont et nroux", CORRESPONDENT, "several_targets"),
        ("Pouvez-vous donner à Amélie un accès en écriture au dossier partagé Orientation ?", CORRESPONDENT,
         "intent_not_automated"),
    ],
)
def test_refusals_hand_over_with_reason_and_change_nothing(
    world: dict[str, object], body: str, sender: str, reason: str
) -> None:
    outcome = handle(world, email(body, sender))
    tickets, directory = world["tickets"], world["directory"]
    assert isinstance(tickets, FakeTickets) and isinstance(directory, FakeDirectory)
    assert outcome.decision == HANDED_OVER and outcome.reason == reason  # type: ignore[attr-defined]
    assert directory.writes == []
    (ticket,) = tickets.tickets.values()
    assert ticket.group == "N1" and ticket.closure is None
    assert f"Raison : {reason}" in ticket.notes[-1]


def test_unknown_sender_gets_no_reply_and_is_not_the_caller(world: dict[str, object]) -> None:
    handle(world, email("Merci de débloquer le compte jdupont", "pirate@gmail.com"))
    assert world["replies"] == []
    (ticket,) = world["tickets"].tickets.values()  # type: ignore[attr-defined]
    assert ticket.incident.caller_email is None


def test_known_correspondent_is_told_a_human_will_answer(world: dict[str, object]) -> None:
    handle(world, email("Merci de débloquer le compte nroux"))
    ((to, text),) = world["replies"]  # type: ignore[misc]
    assert to == CORRESPONDENT and "transmise" in text and "nroux" not in text


def test_retry_reuses_the_ticket_opened_before(world: dict[str, object]) -> None:
    request = email("Merci de débloquer le compte nroux")
    handle(world, request)
    world["handler"].handle(request)  # type: ignore[attr-defined]
    assert len(world["tickets"].tickets) == 1  # type: ignore[attr-defined]


def test_the_understanding_and_its_reasons_are_in_the_ledger(world: dict[str, object]) -> None:
    handle(world, email("Merci de débloquer le compte jdupont"))
    [row] = world["ledger"].summary()["requests"]  # type: ignore[attr-defined]
    assert row["understanding"]["intent"] == "unlock" and row["understanding"]["decision"] == "auto"
    assert row["understanding"]["backend"] == "rules" and row["understanding"]["reasons"]


def test_an_auto_reply_header_overrules_the_text(world: dict[str, object]) -> None:
    request = Request(key="<ar@ml.fr>", channel="email", sender_address=CORRESPONDENT, sender_name="Claire",
                      subject="Compte bloqué", text="Merci de débloquer le compte jdupont",
                      headers=(("Auto-Submitted", "auto-replied"),), source_id="m2")
    outcome = handle(world, request)
    assert outcome.decision == "ignored" and outcome.reason == "ignored_by_playbook"  # type: ignore[attr-defined]
    assert outcome.intent == "auto_reply"  # type: ignore[attr-defined]
    assert world["directory"].writes == []  # type: ignore[attr-defined]


class PausedAfter:
    """A kill switch engaged after ``calls`` reads: the SOC pausing the bot while a request is in flight."""

    def __init__(self, calls: int) -> None:
        self.calls = calls

    def guard(self) -> None:
        self.calls -= 1
        if self.calls < 0:
            raise WritesPaused("kill switch engaged: writes paused (test)")


def test_a_kill_switch_engaged_mid_run_stops_the_write(world: dict[str, object]) -> None:
    handler = world["handler"]
    assert isinstance(handler, RequestHandler)
    handler.trust = TrustChecks(kill_switch=PausedAfter(calls=1))  # type: ignore[arg-type]
    outcome = handle(world, email("Merci de débloquer le compte jdupont"))
    assert outcome.decision == HANDED_OVER and outcome.reason == "KILL_SWITCH"  # type: ignore[attr-defined]
    assert world["directory"].writes == []  # type: ignore[attr-defined]

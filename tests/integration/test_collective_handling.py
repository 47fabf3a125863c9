"""A burst of similar requests becomes one collective incident for people (tender §7.3.3.2.3), on real Redis."""

from __future__ import annotations

import secrets
from pathlib import Path

import redis

from automations.handling import DeskPolicy, RequestHandler
from automations.ledger import HANDED_OVER, Ledger
from automations.playbooks import load_playbooks
from automations.playbooks.actions import ACTIONS
from automations.registry import Partner, PartnerRegistry
from automations.replies import Templates
from automations.request import Request
from automations.trust.collective import CollectiveDetector
from automations.trust.gate import TrustChecks
from automations.trust.spray import MemoryLockoutStore, SprayDetector
from automations.understanding import get_understander
from connectors.directory import Account
from tests.fakes import FakeDirectory, FakeTickets

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
OU = "OU=Mission Locale,OU=Partenaires,DC=agence,DC=local"
SENDER = "claire.fabre@ml.fr"


def test_a_burst_is_one_parent_incident_and_nothing_is_unlocked(redis_url: str, tmp_path: Path) -> None:
    accounts = [Account(dn=f"CN=u{i},{OU}", sam=f"u{i}", upn=f"u{i}@agence.local", mail=None, display_name=f"U{i}",
                        enabled=True, locked=True) for i in range(5)]
    directory, tickets = FakeDirectory(accounts), FakeTickets()
    detector = CollectiveDetector(redis.Redis.from_url(redis_url), threshold=3, window_seconds=600,
                                  prefix=f"sesame-test-{secrets.token_hex(4)}:")
    handler = RequestHandler(
        tickets=tickets, directory=directory, ledger=Ledger(f"sqlite:///{tmp_path / 'ledger.db'}"),
        registry=PartnerRegistry([Partner("ml", "Mission Locale", frozenset({"ml.fr"}), frozenset({SENDER}), OU)]),
        understander=get_understander("rules"), playbooks=load_playbooks(PLAYBOOKS, frozenset(ACTIONS)),
        templates=Templates(PLAYBOOKS), desk=DeskPolicy("Automatisation", "N1", "Résolution définitive", None, "T"),
        respond=lambda request, text: None, trust=TrustChecks(collective=detector),
        spray=SprayDetector(MemoryLockoutStore()),
    )
    outcomes = []
    for i in range(5):
        request = Request(key=f"<burst-{i}@ml.fr>", channel="email", sender_address=SENDER, sender_name="Claire",
                          subject="Compte bloqué", text=f"Merci de débloquer le compte u{i}.", headers=())
        handler.ledger.register(request)
        outcomes.append(handler.handle(request))

    # The first two are ordinary requests; from the third on the burst is one collective incident.
    assert [o.decision for o in outcomes[:2]] == ["automated", "automated"]
    assert all(o.decision == HANDED_OVER and o.reason == "COLLECTIVE_INCIDENT" for o in outcomes[2:])
    assert all(directory.accounts[f"CN=u{i},{OU}"].locked for i in range(2, 5))
    parents = [t for t in tickets.tickets.values() if t.incident.short_description.startswith("Incident collectif")]
    assert len(parents) == 1 and parents[0].group == "N1"
    number = parents[0].ref.number
    assert all(number in (o.detail or "") for o in outcomes[2:])

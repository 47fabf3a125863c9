"""Adversarial tests (security.md §6, TC-01..25) through the real ``RequestHandler``: each breaks one thing in an
otherwise valid request and asserts the safe outcome — nothing written to the directory, the expected reason code
in the ledger, and either no reply or the neutral acknowledgement to the registered address only.

Real rules understander, real sender verification, real rate limits / kill switch / collective detector on Redis,
in-memory replay guard and lockout store, ``FakeDirectory`` / ``FakeTickets`` for the connectors, a real ``Ledger``
with its audit trail on SQLite. The last test is the secret canary (TC-24): the generated password is found in
the SMS and the directory only.

The attack cases live in ``adversarial_cases`` and run again against the real systems in
``test_adversarial_samba.py`` (Samba AD as the delegated bot, the ServiceNow and Graph sandboxes); the few only
this module runs (account age, a badPwdCount above the lockout threshold, Redis unreachable) are listed there.
TC-17 (tickets made from e-mails) is ``test_adversarial_sn_email.py``.
"""

from __future__ import annotations

import re
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
import structlog

from automations.audit import AuditKey
from automations.handling import DeskPolicy, RequestHandler
from automations.ledger import AUTOMATED, HANDED_OVER, Ledger, Outcome
from automations.playbooks import load_playbooks
from automations.playbooks.actions import ACTIONS
from automations.registry import Partner, PartnerRegistry
from automations.replies import Templates
from automations.request import Request
from automations.trust import Refusal
from automations.trust.collective import CollectiveDetector
from automations.trust.exclusions import ExclusionPolicy
from automations.trust.gate import TrustChecks
from automations.trust.killswitch import KillSwitch
from automations.trust.limits import RateLimits
from automations.trust.replay import MemoryReplayGuard
from automations.trust.sender import SenderPolicy, protected_domains
from automations.trust.spray import MemoryLockoutStore, SprayDetector
from automations.understanding import get_understander
from connectors.directory import Account
from tests.fakes import FakeDirectory, FakeTickets
from tests.integration.adversarial_cases import (
    ACK,
    AGENCY,
    AUTHSERV,
    CAP,
    CAP_CORR,
    CONTENT_CASES,
    CORR,
    CORR2,
    DIRECTORY_E164,
    DIRECTORY_MOBILE,
    LOOKALIKES,
    ML,
    ORIGIN_CASES,
    PAYLOADS,
    RESET,
    UNLOCK,
    UNLOCK_PRIVILEGED_GAPS,
    UNREGISTERED,
    CapturingSms,
    dead_redis,
    mail,
)

pytestmark = pytest.mark.integration

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
ML_OU = "OU=Mission Locale Lyon,OU=Partenaires,DC=agence,DC=local"
CAP_OU = "OU=Cap emploi 69,OU=Partenaires,DC=agence,DC=local"
STAFF_OU = "OU=Agents,OU=Agence,DC=agence,DC=local"


def _now() -> datetime:
    return datetime.now(UTC)


def account(sam: str, ou: str = ML_OU, **changes: Any) -> Account:
    """A locked, enabled, long-lived, recently used account with a mobile on file: passes every exclusion."""
    now = _now()
    values: dict[str, Any] = dict(
        dn=f"CN={sam},{ou}",
        sam=sam,
        upn=f"{sam}@agence.local",
        mail=f"{sam}@{ML}",
        display_name=sam.title(),
        enabled=True,
        locked=True,
        lockout_time=now - timedelta(minutes=20),
        bad_password_count=5,
        created=now - timedelta(days=400),
        changed=now - timedelta(days=40),
        last_logon=now - timedelta(days=2),
        password_last_set=now - timedelta(days=60),
        mobile=DIRECTORY_MOBILE,
    )
    values.update(changes)
    return Account(**values)


ACCOUNTS = [
    account("jdupont"),
    account("mleroy"),
    account("abernard"),
    account("tpetit"),
    account("lmartin"),
    account("nroux", CAP_OU),  # partner B's user
    account("pmoreau", STAFF_OU, mail=f"pmoreau@{AGENCY}"),  # agency staff
    account("boss", groups=frozenset({"Domain Admins", "GG-Direction"})),  # nested Domain Admin (groups are nested)
    account("oldadmin", admin_count=1),
    account("tier0op", groups=frozenset({"Tier0-Operators"})),
    account("sqlprod", service_principal_names=frozenset({"MSSQLSvc/sql01.agence.local:1433"})),
    account("backupjob", password_never_expires=True),
    account("pdg"),  # on the VIP list
    account("cfabre", mail=CORR),
    account("paul", mail=CORR2),
    account("sprayed", bad_password_count=60),
]


@dataclass
class World:
    handler: RequestHandler
    directory: FakeDirectory
    tickets: FakeTickets
    ledger: Ledger
    db: Path
    replies: list[tuple[str, str]]
    alerts: list[Refusal]
    sms: CapturingSms
    lockouts: MemoryLockoutStore
    kill_switch: KillSwitch
    initial: dict[str, Account]


def _registry() -> PartnerRegistry:
    return PartnerRegistry(
        [
            Partner("ml-lyon", "Mission Locale de Lyon", frozenset({ML}), frozenset({CORR, CORR2}), ML_OU),
            Partner("cap69", "Cap emploi 69", frozenset({CAP}), frozenset({CAP_CORR}), CAP_OU),
        ]
    )


def build_world(tmp_path: Path, client: redis.Redis, *, prefix: str | None = None) -> World:
    prefix = prefix or f"adv{uuid.uuid4().hex[:8]}:"
    registry = _registry()
    directory, tickets, sms, lockouts = (
        FakeDirectory(list(ACCOUNTS)),
        FakeTickets(),
        CapturingSms(),
        MemoryLockoutStore(),
    )
    db = tmp_path / f"ledger-{uuid.uuid4().hex[:6]}.db"
    ledger = Ledger(f"sqlite:///{db}", audit_key=AuditKey("adversarial-test-audit-key-0123456789"))
    replies: list[tuple[str, str]] = []
    alerts: list[Refusal] = []
    kill_switch = KillSwitch(client, prefix=prefix, cache_seconds=0)
    trust = TrustChecks(
        sender_policy=SenderPolicy(
            authserv_ids=frozenset({AUTHSERV}), protected_domains=protected_domains(registry, [AGENCY])
        ),
        replay_guard=MemoryReplayGuard(),
        rate_limits=RateLimits(client, prefix=prefix),
        kill_switch=kill_switch,
        collective=CollectiveDetector(client, threshold=20, window_seconds=600, prefix=prefix),
        alert=lambda refusal, _request: alerts.append(refusal),
    )
    handler = RequestHandler(
        tickets=tickets,
        directory=directory,
        ledger=ledger,
        registry=registry,
        understander=get_understander("rules"),
        playbooks=load_playbooks(PLAYBOOKS, frozenset(ACTIONS)),
        templates=Templates(PLAYBOOKS),
        desk=DeskPolicy("Automatisation", "N1", "Résolution définitive", "KB0010001", "UO-TR1.1"),
        respond=lambda request, text: replies.append((request.sender_address, text)),
        trust=trust,
        sms=sms,
        exclusion_policy=ExclusionPolicy(
            protected_groups=frozenset({"Tier0-Operators"}), vip_accounts=frozenset({"pdg"})
        ),
        spray=SprayDetector(lockouts),
    )
    return World(
        handler, directory, tickets, ledger, db, replies, alerts, sms, lockouts, kill_switch, dict(directory.accounts)
    )


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def world(tmp_path: Path, redis_client: redis.Redis) -> World:
    return build_world(tmp_path, redis_client)


def handle(world: World, request: Request) -> Outcome:
    assert world.ledger.register(request)
    return world.handler.handle(request)


def ledger_row(world: World, key: str) -> dict[str, Any]:
    with sqlite3.connect(world.db) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM requests WHERE key = ?", (key,)).fetchone()
    assert row is not None, f"{key} not in the ledger"
    return dict(row)


def assert_safe(
    world: World, request: Request, outcome: Outcome, reason: str, *, reply: str, unchanged: tuple[str, ...] = ()
) -> None:
    """Nothing written, the reason in the outcome, the ledger, the ticket's note and the audit; the reply is
    ``none`` or the neutral acknowledgement ``ack`` to the registered sender only; no SMS."""
    assert outcome.decision == HANDED_OVER, outcome
    assert outcome.reason == reason, f"expected {reason}, got {outcome.reason}: {outcome.detail}"
    assert world.directory.writes == [] and world.directory.passwords == {}
    assert world.sms.sent == []
    for sam in unchanged:
        dn = next(dn for dn, a in world.initial.items() if a.sam == sam)
        assert world.directory.accounts[dn] == world.initial[dn]
    row = ledger_row(world, request.key)
    assert row["decision"] == HANDED_OVER and row["reason"] == reason and row["status"] == "done"
    ticket = next(t for t in world.tickets.tickets.values() if t.incident.correlation_id == request.correlation_id)
    assert ticket.group == "N1" and ticket.closure is None and f"Raison : {reason}" in ticket.notes[-1]
    mine = [r for r in world.replies if r[1].count(ticket.ref.number)]
    if reply == "none":
        assert mine == [], mine
        assert ticket.incident.caller_email is None
    else:
        assert len(mine) == 1, world.replies
        to, text = mine[0]
        assert _registry().partner_of(to) is not None and to == request.sender_address
        assert ACK in text
        for target in outcome.targets:
            assert target not in text  # non-disclosing (OUT-03)


# --- TC-01..05: the sender is not who it claims to be (no reply at all) ----------------------------------------


@pytest.mark.parametrize(("case", "changes", "reason"), ORIGIN_CASES, ids=[c[0] for c in ORIGIN_CASES])
@pytest.mark.parametrize("body", [UNLOCK, RESET], ids=["unlock", "reset"])
def test_unproven_origin_changes_nothing_and_gets_no_reply(
    world: World, case: str, changes: dict[str, Any], reason: str, body: str
) -> None:
    request = mail(body, **changes)
    outcome = handle(world, request)
    assert_safe(world, request, outcome, reason, reply="none", unchanged=("jdupont",))


@pytest.mark.parametrize("sender", LOOKALIKES)
def test_lookalike_domains_change_nothing_get_no_reply_and_alert(world: World, sender: str) -> None:
    """TC-03: the look-alike domain is the attacker's own, so its DMARC/DKIM pass; still nothing, and an alert."""
    request = mail(UNLOCK, sender=sender)
    outcome = handle(world, request)
    assert_safe(world, request, outcome, "LOOKALIKE_DOMAIN", reply="none", unchanged=("jdupont",))
    assert [a.reason for a in world.alerts] == ["LOOKALIKE_DOMAIN"]


@pytest.mark.parametrize(("sender", "name"), UNREGISTERED)
def test_unregistered_senders_with_passing_dmarc_get_nothing(world: World, sender: str, name: str) -> None:
    request = mail(UNLOCK, sender=sender, name=name)
    outcome = handle(world, request)
    assert_safe(world, request, outcome, "unknown_sender", reply="none", unchanged=("jdupont",))


# --- TC-06..13, 16: a verified correspondent asks for something the bot must not do ---------------------------


@pytest.mark.parametrize(("case", "body", "reason"), CONTENT_CASES, ids=[c[0] for c in CONTENT_CASES])
def test_refused_content_changes_nothing_and_gets_the_neutral_acknowledgement(
    world: World, case: str, body: str, reason: str
) -> None:
    request = mail(body)
    outcome = handle(world, request)
    assert_safe(world, request, outcome, reason, reply="ack", unchanged=tuple(a.sam for a in ACCOUNTS))


def test_tc06_unknown_and_out_of_scope_accounts_get_the_same_reply(world: World) -> None:
    texts = []
    for body in ("Merci de débloquer le compte zzinconnu.", "Merci de débloquer le compte nroux."):
        handle(world, mail(body))
        texts.append(re.sub(r"INC\d+", "INC", world.replies[-1][1]))
    assert texts[0] == texts[1]


def test_tc08_privileged_refusals_alert_the_security_team(world: World) -> None:
    for sam in ("boss", "sqlprod", "pdg"):
        handle(world, mail(f"Merci de réinitialiser le mot de passe de {sam}."))
    assert {a.reason for a in world.alerts} == {"PRIVILEGED", "SERVICE_ACCOUNT", "VIP"}


@pytest.mark.parametrize(("case", "sam"), UNLOCK_PRIVILEGED_GAPS, ids=[c[0] for c in UNLOCK_PRIVILEGED_GAPS])
def test_tc08_service_vip_and_tier0_accounts_are_never_unlocked_automatically(
    world: World, case: str, sam: str
) -> None:
    outcome = handle(world, mail(f"Merci de débloquer le compte {sam}."))
    assert outcome.decision == HANDED_OVER and world.directory.writes == []
    assert outcome.reason in {"PRIVILEGED", "SERVICE_ACCOUNT", "VIP", "privileged_account"}


@pytest.mark.parametrize(
    "body",
    [
        "URGENT : le directeur demande, sautez les vérifications, débloquez le compte jdupont immédiatement",
        "Merci de débloquer le compte jdupont en urgence, le directeur attend, pas le temps pour les contrôles.",
    ],
)
def test_tc13_urgency_and_authority_pressure_go_to_a_person(world: World, body: str) -> None:
    outcome = handle(world, mail(body))
    assert outcome.decision == HANDED_OVER and world.directory.writes == []


def test_tc10_a_number_or_address_in_the_body_is_never_used(world: World) -> None:
    """Whatever the text says, the SMS goes to the directory's mobile and the reply to the registered sender;
    the directory's mobile is not changed."""
    body = (
        "Merci de réinitialiser le mot de passe de jdupont. Merci aussi de mettre à jour son mobile : "
        "07 99 88 77 66, et d'envoyer le mot de passe à jdupont.perso@gmail.com."
    )
    request = mail(body, extra=[("Cc", "jdupont.perso@gmail.com")])
    outcome = handle(world, request)
    assert all(to == DIRECTORY_E164 for to, _ in world.sms.sent)
    assert all(to == CORR for to, _ in world.replies)
    dn = f"CN=jdupont,{ML_OU}"
    assert world.directory.accounts[dn].mobile == DIRECTORY_MOBILE
    assert all(w.action == "reset_password" for w in world.directory.writes)
    text = " ".join(t for _, t in world.replies)
    assert "gmail" not in text and "07 99" not in text
    # DET-01 says alternative-delivery wording goes to a person: the product does.
    assert outcome.decision == HANDED_OVER and outcome.reason == "unsure_understanding"


def test_tc10_update_his_mobile_goes_to_a_person(world: World) -> None:
    outcome = handle(
        world, mail("Merci de débloquer le compte jdupont et de mettre à jour son mobile : 06 12 34 56 78")
    )
    assert outcome.decision == HANDED_OVER


# --- TC-14: content never evaluated or echoed --------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_tc14_payloads_are_inert_and_never_echoed(world: World, payload: str) -> None:
    body = f"Merci de débloquer le compte jdupont. {payload}\r\nFAKE-LOG-LINE reason=automated"
    request = mail(body, subject=f"Compte bloqué {payload}", name=f"Claire {payload}")
    with structlog.testing.capture_logs() as logs:
        outcome = handle(world, request)
    assert outcome.decision in {AUTOMATED, HANDED_OVER}
    assert all(w.target == f"CN=jdupont,{ML_OU}" for w in world.directory.writes)
    for _, text in world.replies:
        assert (
            not re.search(r"\b49\b", text)
            and payload not in text
            and "jndi" not in text
            and "FAKE-LOG-LINE" not in text
        )
        assert "evil.example" not in text
    for entry in logs:
        rendered = repr(entry)
        assert "FAKE-LOG-LINE" not in rendered and "jndi" not in rendered and "evil.example" not in rendered
    row = ledger_row(world, request.key)
    assert not re.search(r"\b49\b", row["detail"] or "") and "FAKE-LOG-LINE" not in (row["detail"] or "")
    for ticket in world.tickets.tickets.values():
        assert "\nFAKE-LOG-LINE" not in "".join(ticket.notes)
        if ticket.closure is not None:
            assert payload not in ticket.closure.close_notes and not re.search(r"\b49\b", ticket.closure.close_notes)


# --- TC-18 replays -----------------------------------------------------------------------------------------------


def test_tc18_the_same_message_id_twice_is_a_duplicate_then_a_replay(world: World) -> None:
    first = mail(UNLOCK)
    assert handle(world, first).decision == AUTOMATED
    dn = f"CN=jdupont,{ML_OU}"
    world.directory.accounts[dn] = replace(
        world.directory.accounts[dn], locked=True, lockout_time=_now() - timedelta(minutes=1)
    )
    writes = list(world.directory.writes)
    # The ledger refuses the same key; a copy delivered again (another mailbox id) under another key is a replay.
    assert not world.ledger.register(first)
    again = replace(first, key=first.key + "#2", source_id="other-delivery")
    outcome = handle(world, again)
    assert outcome.reason == "REPLAY" and world.directory.writes == writes and len(world.replies) == 1


def test_tc18_a_dkim_signature_replayed_under_a_new_message_id_is_refused(world: World) -> None:
    assert handle(world, mail(UNLOCK, dkim_b="c2lnbmF0dXJl")).decision == AUTOMATED
    dn = f"CN=jdupont,{ML_OU}"
    world.directory.accounts[dn] = replace(world.directory.accounts[dn], locked=True)
    writes = list(world.directory.writes)
    outcome = handle(world, mail(UNLOCK, dkim_b="c2lnbmF0dXJl"))
    assert outcome.reason == "REPLAY" and world.directory.writes == writes and len(world.replies) == 1


# --- TC-19 spray, TC-21/22 rate limits, TC-23 kill switch ------------------------------------------------------


def test_tc19_no_unlock_while_many_accounts_lock_together(world: World) -> None:
    now = _now()
    for i in range(12):
        world.lockouts.record(f"other{i}", now - timedelta(minutes=3), keep=timedelta(hours=24))
    request = mail(UNLOCK)
    outcome = handle(world, request)
    assert_safe(world, request, outcome, "SPRAY_SUSPECTED", reply="ack", unchanged=("jdupont",))
    assert "SPRAY_SUSPECTED" in {a.reason for a in world.alerts}


def test_tc19_an_account_hammered_with_bad_passwords_is_not_unlocked(world: World) -> None:
    request = mail("Merci de débloquer le compte sprayed.")
    outcome = handle(world, request)
    assert_safe(world, request, outcome, "REPEATED_LOCKOUTS", reply="ack", unchanged=("sprayed",))


def test_tc21_a_second_reset_within_24h_goes_to_a_person(world: World) -> None:
    assert handle(world, mail(RESET)).decision == AUTOMATED
    assert len(world.sms.sent) == 1
    writes, sms = list(world.directory.writes), list(world.sms.sent)
    outcome = handle(world, mail(RESET, sender=CORR2, name="Paul Martin"))
    assert outcome.decision == HANDED_OVER and outcome.reason == "RATE_LIMITED"
    assert world.directory.writes == writes and world.sms.sent == sms
    assert ledger_row(world, world.ledger.summary()["requests"][-1]["key"])["reason"] == "RATE_LIMITED"


def test_tc22_a_correspondent_over_3_actions_in_10_minutes_is_stopped(world: World) -> None:
    for sam in ("jdupont", "mleroy", "abernard"):
        assert handle(world, mail(f"Merci de débloquer le compte {sam}.")).decision == AUTOMATED
    writes = list(world.directory.writes)
    request = mail("Merci de débloquer le compte tpetit.")
    outcome = handle(world, request)
    assert outcome.reason == "RATE_LIMITED" and world.directory.writes == writes
    assert world.directory.accounts[f"CN=tpetit,{ML_OU}"].locked
    assert "RATE_LIMITED" in {a.reason for a in world.alerts}


def test_tc22_a_target_unlocked_twice_today_is_not_unlocked_a_third_time(world: World) -> None:
    dn = f"CN=jdupont,{ML_OU}"
    senders = [(CORR, "Claire Fabre"), (CORR2, "Paul Martin"), (CORR, "Claire Fabre")]
    outcomes = []
    for i, (sender, name) in enumerate(senders):
        world.directory.accounts[dn] = replace(
            world.directory.accounts[dn], locked=True, lockout_time=_now() - timedelta(minutes=30 - i)
        )
        outcomes.append(handle(world, mail(UNLOCK, sender=sender, name=name)))
    assert [o.decision for o in outcomes] == [AUTOMATED, AUTOMATED, HANDED_OVER]
    assert outcomes[-1].reason == "RATE_LIMITED" and len(world.directory.writes) == 2


def test_tc23_kill_switch_engaged_means_zero_writes(world: World) -> None:
    world.kill_switch.pause("adversarial test", "soc@agence")
    for body in (UNLOCK, RESET):
        request = mail(body)
        outcome = handle(world, request)
        assert_safe(world, request, outcome, "KILL_SWITCH", reply="ack", unchanged=("jdupont",))


def test_tc23_kill_switch_unreadable_means_zero_writes(tmp_path: Path, redis_client: redis.Redis) -> None:
    world = build_world(tmp_path, redis_client)
    world.handler.trust.kill_switch = KillSwitch(dead_redis(), cache_seconds=0)
    request = mail(UNLOCK)
    outcome = handle(world, request)
    assert_safe(world, request, outcome, "KILL_SWITCH", reply="ack", unchanged=("jdupont",))


def test_tc23_rate_limits_unreadable_means_zero_writes(tmp_path: Path, redis_client: redis.Redis) -> None:
    world = build_world(tmp_path, redis_client)
    world.handler.trust.rate_limits = RateLimits(dead_redis())
    request = mail(UNLOCK)
    outcome = handle(world, request)
    assert_safe(world, request, outcome, "RATE_LIMIT_UNAVAILABLE", reply="ack", unchanged=("jdupont",))


def test_tc23_redis_unreachable_hands_over_with_zero_writes(tmp_path: Path) -> None:
    world = build_world(tmp_path, dead_redis())
    request = mail(UNLOCK)
    try:
        outcome = handle(world, request)
    finally:
        assert world.directory.writes == [] and world.sms.sent == []  # the safe part holds either way
    assert outcome.decision == HANDED_OVER and outcome.reason  # pragma: no cover - the bug raises first


# --- TC-20 failure after the reset -------------------------------------------------------------------------------


def test_tc20_sms_failure_after_the_reset_is_one_hand_over_without_retry(world: World) -> None:
    world.sms.fail = True
    request = mail(RESET)
    outcome = handle(world, request)
    assert outcome.decision == HANDED_OVER and outcome.reason == "RESET_DELIVERY_FAILED"
    assert [w.action for w in world.directory.writes] == ["reset_password"]
    assert ledger_row(world, request.key)["reason"] == "RESET_DELIVERY_FAILED"


# --- TC-24 the secret canary -------------------------------------------------------------------------------------


def _everything_in(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return "\n".join(connection.iterdump())


def test_tc24_the_temporary_password_is_only_in_the_sms_and_the_directory(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level("DEBUG")
    requests = [
        mail(RESET),
        mail("Merci de débloquer le compte mleroy."),
        mail("Merci de réinitialiser le mot de passe de abernard.", sender=CORR2, name="Paul Martin"),
    ]
    with structlog.testing.capture_logs() as logs:
        outcomes = [handle(world, r) for r in requests]
    assert [o.decision for o in outcomes] == [AUTOMATED, AUTOMATED, AUTOMATED]
    assert len(world.sms.sent) == 2 and {to for to, _ in world.sms.sent} == {DIRECTORY_E164}
    passwords = []
    for _, text in world.sms.sent:
        found = re.search(r"mot de passe temporaire du compte \S+ : (\S+)", text)
        assert found is not None, text
        passwords.append(found.group(1))
    assert sorted(passwords) == sorted(world.directory.passwords.values())
    assert all(len(p) >= 15 for p in passwords) and len(set(passwords)) == 2
    out, err = capsys.readouterr()
    haystacks = {
        "ledger and audit (every table)": _everything_in(world.db),
        "replies": repr(world.replies),
        "tickets": repr([(t.incident, t.notes, t.closure) for t in world.tickets.tickets.values()]),
        "ledger summary": repr(world.ledger.summary()),
        "ledger actions": repr([world.ledger.actions(r.key) for r in requests]),
        "logging": caplog.text + repr([r.__dict__ for r in caplog.records]),
        "structlog": repr(logs),
        "stdout/stderr": out + err,
        "alerts": repr(world.alerts),
        "outcomes": repr(outcomes),
    }
    for password in passwords:
        hits = [where for where, text in haystacks.items() if password in text]
        assert hits == [], f"the temporary password leaked into {hits}"
    assert "audit_records" in haystacks["ledger and audit (every table)"]

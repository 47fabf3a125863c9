"""The adversarial cases of security.md §6 against the real systems: the Samba AD DC, reached through the project's
``ActiveDirectory`` connector bound as a delegated bot account (only Reset Password, ``pwdLastSet`` and
``lockoutTime`` on the users of the two partner OUs, as the setup guide grants), and the ServiceNow sandbox
through the project's pysnc connector. Each case asserts on what the systems hold afterwards: no object of the
module's OUs changed (``uSNChanged`` of every seeded account, the target still locked), the reason in the ledger
and in the ticket's work note, the ticket with the level-1 group, and either no reply or the neutral
acknowledgement to the registered address.

The cases are the lists of ``adversarial_cases`` shared with ``test_adversarial.py``. A few stay only there, on the
in-memory directory, because Samba cannot produce the directory state they need:

- account age (``whenCreated``/``whenChanged`` months ago, dormant ``lastLogonTimestamp``): the DC stamps these
  itself and every account here was created minutes ago. This module therefore runs with the age rules of the
  exclusion policy off (``recent_days=0``); they are tested on the fake and in the unit tests;
- an account with ``badPwdCount`` far above the lockout threshold (REPEATED_LOCKOUTS): the DC stops counting
  once the account is locked, so only a tool hammering a DC without lockout produces it;
- Redis unreachable, rate limits unreadable: refused before the directory is read; the fake suite covers them
  (the kill switch unreadable is kept here, as the one fail-closed case).

TC-25 (the directory itself enforces the scope) is at the end: the bot's own credentials, used directly through the
connector with no policy code in between, are refused outside the partner OUs, on protected accounts and for
every attribute the bot was not delegated. ``msDS-KeyCredentialLink`` is not among them only because Samba's
default schema (Windows 2008 R2 level) does not define it; ``altSecurityIdentities``, the other certificate
mapping, is.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import ldap3
import pytest
import redis
import structlog
import yaml
from ldap3.core.exceptions import LDAPInsufficientAccessRightsResult

from automations.audit import AuditKey
from automations.handling import DeskPolicy, RequestHandler
from automations.intake import request_from_message
from automations.ledger import AUTOMATED, HANDED_OVER, Ledger, Outcome
from automations.playbooks import Playbook, load_playbooks
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
from connectors.directory.ad import ActiveDirectory
from connectors.errors import PermissionMissingError
from connectors.identity import CloudIdentities
from connectors.servicenow.tickets import ServiceNowTickets
from sandbox.graph import DEFAULT_PERMISSIONS, EntraStore, GraphApp, MailboxStore
from sandbox.graph.mailstore import AttachmentFile
from sandbox.request_log import RequestLog, RequestLogMiddleware
from sandbox.samba import SambaDC, admin_connection, can_bind, is_locked, lock_out, seed_directory
from sandbox.samba_seed import create_bot_account
from sandbox.scenario import DirectoryUser, Scenario
from tests.fixtures.fleet import SN_BOT, SN_BOT_PASSWORD, ServedInstance
from tests.fixtures.graph import GraphSandbox, ServeGraph
from tests.fixtures.services import AdUsers
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
    now,
)
from workers.config import load_settings
from workers.runtime import build_identities

pytestmark = pytest.mark.integration

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
AUTOMATION_GROUP, HUMAN_GROUP = "Sésame Automatisation", "Service Desk N1"
UF_DONT_EXPIRE_PASSWD = 0x10000
SE_DACL_PROTECTED = 0x1000
# The accounts whose lockout the cases rely on: relocked after a case that unlocked one of them.
LOCKED = ("jdupont", "mleroy", "abernard", "tpetit")


# --- the domain: partner OUs, staff OU, seeded accounts, the delegated bot ---------------------------------------


@dataclass
class Domain:
    """What the module seeded in the DC: OUs, accounts (sAMAccountName → DN, password) and the bot's credentials."""

    dc: SambaDC
    admin: ldap3.Connection
    ml_ou: str
    cap_ou: str
    staff_ou: str
    dns: dict[str, str]
    passwords: dict[str, str]
    bot_upn: str
    bot_password: str

    def upn(self, sam: str) -> str:
        return f"{sam}@{self.dc.realm.lower()}"

    def state(self) -> dict[str, tuple[str, ...]]:
        """``uSNChanged``, ``lockoutTime`` and ``pwdLastSet`` of every seeded account: any write moves the first."""
        attributes = ["uSNChanged", "lockoutTime", "pwdLastSet"]
        self.admin.search(self.ou, "(objectClass=user)", ldap3.SUBTREE, attributes=attributes)
        return {
            str(entry["dn"]).lower(): tuple(str(entry["attributes"].get(name)) for name in attributes)
            for entry in self.admin.response
            if "dn" in entry
        }

    @property
    def ou(self) -> str:
        return self.ml_ou.split(",", 1)[1]

    def locked(self, sam: str) -> bool:
        return is_locked(self.admin, self.dns[sam])

    def lock(self, sam: str) -> None:
        lock_out(self.dc, self.admin, self.upn(sam), self.dns[sam])

    def create(self, sam: str, ou: str, *, locked: bool = False) -> str:
        """One more account with a mobile on file, logged on once (so ``lastLogonTimestamp`` is set: a reset
        refuses dormant accounts), then locked when asked."""
        self.passwords[sam] = seed_directory(self.dc, [_user(sam, ou)])[sam]
        dn = self.dns[sam] = f"CN={sam},{ou}"
        assert can_bind(self.dc, self.upn(sam), self.passwords[sam])
        if locked:
            self.lock(sam)
        return dn

    def group(self, name: str, ou: str, members: list[str], member_of: str | None = None) -> str:
        dn = f"CN={name},{ou}"
        self.admin.add(dn, ["top", "group"], {"sAMAccountName": name, "member": members})
        if member_of is not None:
            self.admin.search(self.dc.base_dn, f"(&(objectClass=group)(sAMAccountName={member_of}))")
            parent = str(self.admin.response[0]["dn"])
            self.admin.modify(parent, {"member": [(ldap3.MODIFY_ADD, [dn])]})
        return dn


def _user(sam: str, ou: str, *, locked: bool = False, mail: str | None = None) -> DirectoryUser:
    return DirectoryUser(sam=sam, upn="", mail=mail or f"{sam}@{ML}", given_name="", surname=sam, org_id="", ou=ou,
                         locked=locked, mobile=DIRECTORY_MOBILE)  # fmt: skip


@pytest.fixture(scope="module")
def domain(ad_users: AdUsers) -> Iterator[Domain]:
    dc = ad_users.dc
    admin = admin_connection(dc)
    ml_ou, cap_ou, staff_ou = (f"OU={name},{ad_users.ou}" for name in ("Mission Locale", "Cap emploi", "Agents"))
    users = [
        *(_user(sam, ml_ou, locked=True) for sam in LOCKED),
        *(_user(sam, ml_ou) for sam in ("lmartin", "pdg", "oldadmin", "sqlprod", "backupjob", "boss", "tier0op")),
        _user("cfabre", ml_ou, mail=CORR),  # the correspondents' own accounts
        _user("paul", ml_ou, mail=CORR2),
        _user("nroux", cap_ou),  # partner B's user
        _user("pmoreau", staff_ou, mail=f"pmoreau@{AGENCY}"),  # agency staff, outside every partner OU
    ]
    passwords = seed_directory(dc, users, [ml_ou, cap_ou, staff_ou])  # one connection for all of them
    upn, password = create_bot_account(dc, [ml_ou, cap_ou], sam=f"svc-adv{secrets.token_hex(3)}")
    world = Domain(dc, admin, ml_ou, cap_ou, staff_ou, {u.sam: f"CN={u.sam},{u.ou}" for u in users}, passwords,
                   upn, password)  # fmt: skip
    admin.modify(world.dns["oldadmin"], {"adminCount": [(ldap3.MODIFY_REPLACE, ["1"])]})
    admin.modify(world.dns["sqlprod"], {"servicePrincipalName": [(ldap3.MODIFY_REPLACE,
                                                                  ["MSSQLSvc/sql01.test.local:1433"])]})  # fmt: skip
    admin.modify(world.dns["backupjob"], {"userAccountControl": [(ldap3.MODIFY_REPLACE,
                                                                  [str(0x200 | UF_DONT_EXPIRE_PASSWD)])]})  # fmt: skip
    world.group("GG-Direction", ml_ou, [world.dns["boss"]], member_of="Domain Admins")  # nested Domain Admin
    world.group("Tier0-Operators", staff_ou, [world.dns["tier0op"]])
    try:
        yield world
    finally:
        admin.unbind()


@pytest.fixture(scope="module")
def bot_directory(domain: Domain) -> Iterator[ActiveDirectory]:
    """The project's AD connector bound as the delegated bot, shared by the module."""
    dc = domain.dc
    directory = ActiveDirectory(dc.url, domain.bot_upn, domain.bot_password, dc.base_dn, ca_file=dc.ca_file,
                                tls_server_name=dc.host_name)  # fmt: skip
    yield directory
    directory.close()


@pytest.fixture(scope="module")
def sn_tickets(demo_servicenow: ServedInstance) -> ServiceNowTickets:
    """The project's ServiceNow connector (pysnc) on the module's sandbox instance."""
    return ServiceNowTickets(demo_servicenow.url, SN_BOT, SN_BOT_PASSWORD, ca_file=str(demo_servicenow.ca_file),
                             timeout=10.0, assignment_groups=(AUTOMATION_GROUP, HUMAN_GROUP))  # fmt: skip


@pytest.fixture(scope="module")
def playbooks() -> dict[str, Playbook]:
    return load_playbooks(PLAYBOOKS, frozenset(ACTIONS))


@dataclass(frozen=True)
class SharedLedger:
    ledger: Ledger
    db: Path


@pytest.fixture(scope="module")
def shared_ledger(tmp_path_factory: pytest.TempPathFactory) -> SharedLedger:
    """One ledger (and audit chain) for the module: every request has its own key, so cases never collide."""
    db = tmp_path_factory.mktemp("adversarial-samba") / "ledger.db"
    return SharedLedger(Ledger(f"sqlite:///{db}", audit_key=AuditKey("adversarial-samba-audit-key-0123456789")), db)


# --- one world per test: the real handler on the shared connectors, fresh ledger, limits and captures ----------


@dataclass
class World:
    handler: RequestHandler
    domain: Domain
    sn: ServedInstance
    ledger: Ledger
    db: Path
    replies: list[tuple[str, str]]
    alerts: list[Refusal]
    sms: CapturingSms
    lockouts: MemoryLockoutStore
    kill_switch: KillSwitch
    before: dict[str, tuple[str, ...]] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)

    def handle(self, request: Request) -> Outcome:
        assert self.ledger.register(request)
        self.keys.append(request.key)
        return self.handler.handle(request)

    def incident(self, request: Request) -> dict[str, str]:
        (row,) = self.sn.store.find("incident", correlation_id=request.correlation_id)
        return row

    def work_notes(self, incident: dict[str, str]) -> list[str]:
        rows = self.sn.store.find("sys_journal_field", element_id=incident["sys_id"], element="work_notes")
        return [row["value"] for row in sorted(rows, key=lambda r: r["sys_created_on"])]

    def group_id(self, name: str) -> str:
        (row,) = self.sn.store.find("sys_user_group", name=name)
        return row["sys_id"]


def _registry(domain: Domain) -> PartnerRegistry:
    return PartnerRegistry([
        Partner("ml-lyon", "Mission Locale de Lyon", frozenset({ML}), frozenset({CORR, CORR2}), domain.ml_ou),
        Partner("cap69", "Cap emploi 69", frozenset({CAP}), frozenset({CAP_CORR}), domain.cap_ou),
    ])  # fmt: skip


def build_world(
    shared: SharedLedger, domain: Domain, directory: ActiveDirectory, tickets: ServiceNowTickets, sn: ServedInstance,
    client: redis.Redis, playbooks: dict[str, Playbook],
) -> World:  # fmt: skip
    prefix = f"advs{uuid.uuid4().hex[:8]}:"  # rate limits, kill switch and bursts: fresh for each case
    registry = _registry(domain)
    ledger, db = shared.ledger, shared.db
    replies: list[tuple[str, str]] = []
    alerts: list[Refusal] = []
    sms, lockouts = CapturingSms(), MemoryLockoutStore()
    kill_switch = KillSwitch(client, prefix=prefix, cache_seconds=0)
    trust = TrustChecks(
        sender_policy=SenderPolicy(authserv_ids=frozenset({AUTHSERV}),
                                   protected_domains=protected_domains(registry, [AGENCY])),
        replay_guard=MemoryReplayGuard(),
        rate_limits=RateLimits(client, prefix=prefix),
        kill_switch=kill_switch,
        collective=CollectiveDetector(client, threshold=20, window_seconds=600, prefix=prefix),
        alert=lambda refusal, _request: alerts.append(refusal),
    )  # fmt: skip
    handler = RequestHandler(
        tickets=tickets, directory=directory, ledger=ledger, registry=registry,
        understander=get_understander("rules"), playbooks=playbooks,
        templates=Templates(PLAYBOOKS),
        desk=DeskPolicy(AUTOMATION_GROUP, HUMAN_GROUP, "Résolution définitive", "KB0010001", "UO-TR1.1"),
        respond=lambda request, text: replies.append((request.sender_address, text)),
        trust=trust, sms=sms,
        # Account age off: the DC stamped every account minutes ago (see the module docstring).
        exclusion_policy=ExclusionPolicy(protected_groups=frozenset({"Tier0-Operators"}),
                                         vip_accounts=frozenset({"pdg"}), recent_days=0),
        spray=SprayDetector(lockouts),
    )  # fmt: skip
    return World(handler, domain, sn, ledger, db, replies, alerts, sms, lockouts, kill_switch)


@pytest.fixture
def world(
    shared_ledger: SharedLedger, domain: Domain, bot_directory: ActiveDirectory, sn_tickets: ServiceNowTickets,
    demo_servicenow: ServedInstance, redis_client: redis.Redis, playbooks: dict[str, Playbook],
) -> Iterator[World]:  # fmt: skip
    built = build_world(shared_ledger, domain, bot_directory, sn_tickets, demo_servicenow, redis_client, playbooks)
    built.before = domain.state()
    yield built
    # Put back only what a case changed: the accounts the next cases expect locked.
    for sam in LOCKED:
        if not domain.locked(sam):
            domain.lock(sam)


def ledger_row(world: World, key: str) -> dict[str, Any]:
    with sqlite3.connect(world.db) as connection:
        connection.row_factory = sqlite3.Row
        row = connection.execute("SELECT * FROM requests WHERE key = ?", (key,)).fetchone()
    assert row is not None, f"{key} not in the ledger"
    return dict(row)


def assert_safe(world: World, request: Request, outcome: Outcome, reason: str, *, reply: str) -> None:
    """Nothing changed in the directory, the reason in the outcome, the ledger and the ticket's work note, the
    ticket with level 1; the reply is ``none`` or the neutral acknowledgement to the registered sender; no SMS."""
    assert outcome.decision == HANDED_OVER, outcome
    assert outcome.reason == reason, f"expected {reason}, got {outcome.reason}: {outcome.detail}"
    assert world.domain.state() == world.before, "an account of the module changed in the directory"
    assert world.domain.locked("jdupont")
    assert world.ledger.actions(request.key) == [] and world.sms.sent == []
    row = ledger_row(world, request.key)
    assert row["decision"] == HANDED_OVER and row["reason"] == reason and row["status"] == "done"
    incident = world.incident(request)
    assert incident["assignment_group"] == world.group_id(HUMAN_GROUP)
    assert incident["state"] not in {"6", "7"} and incident["close_code"] == ""
    assert f"Raison : {reason}" in world.work_notes(incident)[-1]
    mine = [r for r in world.replies if incident["number"] in r[1]]
    if reply == "none":
        assert mine == [], mine
        assert incident["caller_id"] == ""
    else:
        assert len(mine) == 1, world.replies
        to, text = mine[0]
        assert to == request.sender_address and _registry(world.domain).partner_of(to) is not None
        assert ACK in text
        assert all(target not in text for target in outcome.targets)  # non-disclosing (OUT-03)


# --- TC-01..05, 18: the sender is not who it claims to be ------------------------------------------------------


# Refused before the directory is read: one body per case is enough here (both run on the fake), alternating.
@pytest.mark.parametrize(("case", "changes", "reason"), ORIGIN_CASES, ids=[c[0] for c in ORIGIN_CASES])
def test_unproven_origin_changes_nothing_in_ad_and_gets_no_reply(
    world: World, case: str, changes: dict[str, Any], reason: str
) -> None:
    body = (UNLOCK, RESET)[[c[0] for c in ORIGIN_CASES].index(case) % 2]
    request = mail(body, **changes)
    assert_safe(world, request, world.handle(request), reason, reply="none")


@pytest.mark.parametrize("sender", LOOKALIKES)
def test_lookalike_domains_change_nothing_in_ad_and_alert(world: World, sender: str) -> None:
    request = mail(UNLOCK, sender=sender)
    assert_safe(world, request, world.handle(request), "LOOKALIKE_DOMAIN", reply="none")
    assert [a.reason for a in world.alerts] == ["LOOKALIKE_DOMAIN"]


@pytest.mark.parametrize(("sender", "name"), UNREGISTERED)
def test_unregistered_senders_change_nothing_in_ad(world: World, sender: str, name: str) -> None:
    request = mail(UNLOCK, sender=sender, name=name)
    assert_safe(world, request, world.handle(request), "unknown_sender", reply="none")


# --- TC-06..13, 16: a verified correspondent asks for what the bot must not do -----------------------------------


@pytest.mark.parametrize(("case", "body", "reason"), CONTENT_CASES, ids=[c[0] for c in CONTENT_CASES])
def test_refused_content_changes_nothing_in_ad(world: World, case: str, body: str, reason: str) -> None:
    request = mail(body)
    assert_safe(world, request, world.handle(request), reason, reply="ack")


def test_tc06_unknown_and_out_of_scope_accounts_get_the_same_reply(world: World) -> None:
    texts = []
    for body in ("Merci de débloquer le compte zzinconnu.", "Merci de débloquer le compte nroux."):
        world.handle(mail(body))
        texts.append(re.sub(r"INC\d+", "INC", world.replies[-1][1]))
    assert texts[0] == texts[1]
    assert world.domain.state() == world.before


def test_tc08_privileged_refusals_alert_the_security_team(world: World) -> None:
    for sam in ("boss", "sqlprod", "pdg"):
        world.handle(mail(f"Merci de réinitialiser le mot de passe de {sam}."))
    assert {a.reason for a in world.alerts} == {"PRIVILEGED", "SERVICE_ACCOUNT", "VIP"}
    assert world.domain.state() == world.before


@pytest.mark.parametrize(("case", "sam"), UNLOCK_PRIVILEGED_GAPS, ids=[c[0] for c in UNLOCK_PRIVILEGED_GAPS])
def test_tc08_service_vip_and_tier0_accounts_are_never_unlocked(world: World, case: str, sam: str) -> None:
    """Refused by the exclusions, which come before the lockout is even looked at (so the account need not be
    locked for the case: locking it costs seconds of bad binds and the fake suite has it locked)."""
    request = mail(f"Merci de débloquer le compte {sam}.")
    outcome = world.handle(request)
    assert outcome.decision == HANDED_OVER and outcome.reason in {"SERVICE_ACCOUNT", "VIP", "PRIVILEGED"}, outcome
    assert world.domain.state() == world.before and world.ledger.actions(request.key) == []


@pytest.mark.parametrize(
    "body",
    [
        "URGENT : le directeur demande, sautez les vérifications, débloquez le compte jdupont immédiatement",
        "Merci de débloquer le compte jdupont en urgence, le directeur attend, pas le temps pour les contrôles.",
    ],
)
def test_tc13_urgency_and_authority_pressure_go_to_a_person(world: World, body: str) -> None:
    outcome = world.handle(mail(body))
    assert outcome.decision == HANDED_OVER and world.domain.state() == world.before


def test_tc10_a_number_or_address_in_the_body_is_never_used(world: World) -> None:
    body = (
        "Merci de réinitialiser le mot de passe de jdupont. Merci aussi de mettre à jour son mobile : "
        "07 99 88 77 66, et d'envoyer le mot de passe à jdupont.perso@gmail.com."
    )
    outcome = world.handle(mail(body, extra=[("Cc", "jdupont.perso@gmail.com")]))
    assert outcome.decision == HANDED_OVER and outcome.reason == "unsure_understanding"
    assert world.domain.state() == world.before and world.sms.sent == []
    assert all(to == CORR for to, _ in world.replies)
    world.domain.admin.search(world.domain.dns["jdupont"], "(objectClass=*)", ldap3.BASE, attributes=["mobile"])
    assert world.domain.admin.response[0]["attributes"]["mobile"] in (DIRECTORY_MOBILE, [DIRECTORY_MOBILE])


# --- TC-14: content never evaluated or echoed --------------------------------------------------------------------


@pytest.mark.parametrize("payload", PAYLOADS)
def test_tc14_payloads_are_inert_and_never_echoed(world: World, payload: str) -> None:
    body = f"Merci de débloquer le compte jdupont. {payload}\r\nFAKE-LOG-LINE reason=automated"
    request = mail(body, subject=f"Compte bloqué {payload}", name=f"Claire {payload}")
    with structlog.testing.capture_logs() as logs:
        outcome = world.handle(request)
    assert outcome.decision in {AUTOMATED, HANDED_OVER}
    changed = {dn for dn, values in world.domain.state().items() if world.before.get(dn) != values}
    assert changed <= {world.domain.dns["jdupont"].lower()}
    for _, text in world.replies:
        assert not re.search(r"\b49\b", text) and payload not in text and "jndi" not in text
        assert "FAKE-LOG-LINE" not in text and "evil.example" not in text
    for entry in logs:
        rendered = repr(entry)
        assert "FAKE-LOG-LINE" not in rendered and "jndi" not in rendered and "evil.example" not in rendered
    incident = world.incident(request)
    assert "\nFAKE-LOG-LINE" not in "".join(world.work_notes(incident))
    assert payload not in incident["close_notes"] and not re.search(r"\b49\b", incident["close_notes"])
    detail = ledger_row(world, request.key)["detail"] or ""
    assert not re.search(r"\b49\b", detail) and "FAKE-LOG-LINE" not in detail


# --- TC-18 replays, TC-19 spray, TC-21/22 limits, TC-23 kill switch ----------------------------------------------


def test_tc18_a_message_delivered_again_is_a_replay_and_unlocks_nothing(world: World) -> None:
    first = mail(UNLOCK)
    assert world.handle(first).decision == AUTOMATED and not world.domain.locked("jdupont")
    world.domain.lock("jdupont")
    world.before = world.domain.state()
    again = replace(first, key=first.key + "#2", source_id="other-delivery")
    outcome = world.handle(again)
    assert outcome.reason == "REPLAY" and world.domain.locked("jdupont") and world.domain.state() == world.before
    assert world.ledger.actions(again.key) == [] and len(world.replies) == 1


def test_tc18_a_dkim_signature_replayed_under_a_new_message_id_unlocks_nothing(world: World) -> None:
    assert world.handle(mail(UNLOCK, dkim_b="c2lnbmF0dXJl")).decision == AUTOMATED
    world.domain.lock("jdupont")
    world.before = world.domain.state()
    request = mail(UNLOCK, dkim_b="c2lnbmF0dXJl")
    assert_safe(world, request, world.handle(request), "REPLAY", reply="none")


def test_tc19_no_unlock_while_many_accounts_lock_together(world: World) -> None:
    for i in range(12):
        world.lockouts.record(f"other{i}", now() - timedelta(minutes=3), keep=timedelta(hours=24))
    request = mail(UNLOCK)
    assert_safe(world, request, world.handle(request), "SPRAY_SUSPECTED", reply="ack")
    assert "SPRAY_SUSPECTED" in {a.reason for a in world.alerts}


def test_tc22_a_correspondent_over_3_actions_in_10_minutes_is_stopped(world: World) -> None:
    for sam in ("jdupont", "mleroy", "abernard"):
        assert world.handle(mail(f"Merci de débloquer le compte {sam}.")).decision == AUTOMATED
        assert not world.domain.locked(sam)
    before = world.domain.state()
    outcome = world.handle(mail("Merci de débloquer le compte tpetit."))
    assert outcome.reason == "RATE_LIMITED" and world.domain.locked("tpetit") and world.domain.state() == before
    assert "RATE_LIMITED" in {a.reason for a in world.alerts}


def test_tc22_a_target_unlocked_twice_today_is_not_unlocked_a_third_time(world: World) -> None:
    outcomes = []
    for sender, name in [(CORR, "Claire Fabre"), (CORR2, "Paul Martin"), (CORR, "Claire Fabre")]:
        if not world.domain.locked("jdupont"):
            world.domain.lock("jdupont")
        outcomes.append(world.handle(mail(UNLOCK, sender=sender, name=name)))
    assert [o.decision for o in outcomes] == [AUTOMATED, AUTOMATED, HANDED_OVER]
    assert outcomes[-1].reason == "RATE_LIMITED" and world.domain.locked("jdupont")
    assert [len(world.ledger.actions(key)) > 0 for key in world.keys] == [True, True, False]


def test_tc23_kill_switch_engaged_means_zero_writes(world: World) -> None:
    world.kill_switch.pause("adversarial test", "soc@agence")
    for body in (UNLOCK, RESET):
        request = mail(body)
        assert_safe(world, request, world.handle(request), "KILL_SWITCH", reply="ack")


def test_tc23_kill_switch_unreadable_means_zero_writes(world: World) -> None:
    world.handler.trust.kill_switch = KillSwitch(dead_redis(), cache_seconds=0)
    request = mail(UNLOCK)
    assert_safe(world, request, world.handle(request), "KILL_SWITCH", reply="ack")


# --- resets on real accounts: TC-21, TC-20 and the secret canary (TC-24) ---------------------------------------


def _fresh(world: World, prefix: str) -> str:
    """A new account of partner A with a mobile on file, logged on once: the only kind a reset may touch."""
    sam = f"{prefix}{secrets.token_hex(3)}"
    world.domain.create(sam, world.domain.ml_ou)
    world.before = world.domain.state()
    return sam


def test_tc21_a_second_reset_within_24h_goes_to_a_person(world: World) -> None:
    sam = _fresh(world, "rst")
    assert world.handle(mail(f"Merci de réinitialiser le mot de passe de {sam}.")).decision == AUTOMATED
    assert not can_bind(world.domain.dc, world.domain.upn(sam), world.domain.passwords[sam])  # really reset
    before, sms = world.domain.state(), list(world.sms.sent)
    request = mail(f"Merci de réinitialiser le mot de passe de {sam}.", sender=CORR2, name="Paul Martin")
    outcome = world.handle(request)
    assert outcome.reason == "RATE_LIMITED" and world.domain.state() == before and world.sms.sent == sms
    assert ledger_row(world, request.key)["reason"] == "RATE_LIMITED"


def test_tc20_sms_failure_after_the_reset_is_one_hand_over_without_retry(world: World) -> None:
    sam = _fresh(world, "sms")
    world.sms.fail = True
    request = mail(f"Merci de réinitialiser le mot de passe de {sam}.")
    outcome = world.handle(request)
    assert outcome.decision == HANDED_OVER and outcome.reason == "RESET_DELIVERY_FAILED"
    assert [a["action"] for a in world.ledger.actions(request.key)] == ["reset_password"]
    assert ledger_row(world, request.key)["reason"] == "RESET_DELIVERY_FAILED"
    incident = world.incident(request)
    assert incident["assignment_group"] == world.group_id(HUMAN_GROUP)


def _everything_in(db: Path) -> str:
    with sqlite3.connect(db) as connection:
        return "\n".join(connection.iterdump())


def test_tc24_the_temporary_password_is_only_in_the_sms_and_the_directory(
    world: World, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level("DEBUG")
    first, second = _fresh(world, "cna"), _fresh(world, "cnb")
    requests = [
        mail(f"Bonjour, merci de réinitialiser le mot de passe de {first}. Cordialement, Claire Fabre"),
        mail("Merci de débloquer le compte mleroy."),
        mail(f"Merci de réinitialiser le mot de passe de {second}.", sender=CORR2, name="Paul Martin"),
    ]
    with structlog.testing.capture_logs() as logs:
        outcomes = [world.handle(r) for r in requests]
    assert [o.decision for o in outcomes] == [AUTOMATED, AUTOMATED, AUTOMATED]
    assert len(world.sms.sent) == 2 and {to for to, _ in world.sms.sent} == {DIRECTORY_E164}
    passwords = {}
    for _, text in world.sms.sent:
        found = re.search(r"mot de passe temporaire du compte (\S+) : (\S+)", text)
        assert found is not None, text
        passwords[found.group(1).rstrip(".,;")] = found.group(2)
    # The password the SMS carries is the one the DC now holds (it binds), and the old one no longer does.
    for sam, password in passwords.items():
        assert len(password) >= 15
        assert not can_bind(world.domain.dc, world.domain.upn(sam), world.domain.passwords[sam])
    assert set(passwords) == {first, second}
    out, err = capsys.readouterr()
    incidents = [world.incident(r) for r in requests]
    haystacks = {
        "ledger and audit (every table)": _everything_in(world.db),
        "replies": repr(world.replies),
        "tickets": repr(incidents) + repr([world.work_notes(i) for i in incidents]),
        "ticket journal": repr(world.sn.store.find("sys_journal_field")),
        "ledger summary": repr(world.ledger.summary()),
        "logging": caplog.text + repr([r.__dict__ for r in caplog.records]),
        "structlog": repr(logs),
        "stdout/stderr": out + err,
        "alerts": repr(world.alerts),
        "outcomes": repr(outcomes),
    }
    for password in passwords.values():
        hits = [where for where, text in haystacks.items() if password in text]
        assert hits == [], f"the temporary password leaked into {hits}"


# --- TC-25: the directory enforces the scope itself -------------------------------------------------------------


def _as_bot(domain: Domain) -> ldap3.Connection:
    """A raw LDAPS connection with the bot's credentials, for writes the connector does not even offer."""
    server = ldap3.Server("127.0.0.1", port=636, use_ssl=True, get_info=ldap3.NONE, connect_timeout=5,
                          tls=ldap3.Tls(validate=ssl.CERT_NONE))  # fmt: skip
    return ldap3.Connection(server, user=domain.bot_upn, password=domain.bot_password, auto_bind=True,
                            raise_exceptions=True, receive_timeout=10)  # fmt: skip


def _account(directory: ActiveDirectory, domain: Domain, sam: str) -> Account:
    return directory.read_account(domain.dns.get(sam) or _dn(domain, sam))


def _dn(domain: Domain, sam: str) -> str:
    domain.admin.search(domain.dc.base_dn, f"(sAMAccountName={sam})", attributes=[])
    return str(domain.admin.response[0]["dn"])


def test_tc25_the_bot_may_unlock_and_reset_inside_a_partner_ou(domain: Domain, bot_directory: ActiveDirectory) -> None:
    """The positive control: without it, every refusal below could be a bot that can do nothing at all."""
    sam = f"acl{secrets.token_hex(3)}"
    domain.create(sam, domain.ml_ou, locked=True)
    bot_directory.unlock(_account(bot_directory, domain, sam))
    assert not domain.locked(sam)
    bot_directory.reset_password(_account(bot_directory, domain, sam), "Acl-Positive-Control-42!")
    assert _snapshot(domain, domain.dns[sam])["pwdLastSet"] in ("0", 0, [0], ["0"])  # must change at next logon
    assert not can_bind(domain.dc, domain.upn(sam), domain.passwords[sam])


@pytest.mark.parametrize("sam", ["pmoreau", "Administrator", "domain-admin-in-partner-ou"])
def test_tc25_the_directory_refuses_the_bot_outside_its_delegation(
    domain: Domain, bot_directory: ActiveDirectory, sam: str
) -> None:
    """Agency staff outside the partner OUs, the domain's Administrator, and a Domain Admin inside a partner OU
    whose ACL SDProp has replaced by AdminSDHolder's (see ``_as_sdprop_would``): unlock and reset both refused
    with insufficient rights, and the account unchanged."""
    if sam == "domain-admin-in-partner-ou":
        sam = "protected"
        if "protected" not in domain.dns:
            domain.create("protected", domain.ml_ou)
            domain.admin.modify(_dn(domain, "Domain Admins"), {"member": [(ldap3.MODIFY_ADD, [domain.dns[sam]])]})
            _as_sdprop_would(domain, domain.dns[sam])
    dn = domain.dns.get(sam) or _dn(domain, sam)
    if sam != "Administrator":
        domain.lock(sam)
    before = _snapshot(domain, dn)
    account = bot_directory.read_account(dn)
    with pytest.raises(PermissionMissingError, match="lacks the right"):
        bot_directory.unlock(account)
    with pytest.raises(PermissionMissingError, match="lacks the right"):
        bot_directory.reset_password(account, "Never-Applied-Password-42!")
    assert _snapshot(domain, dn) == before


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        ("userAccountControl", str(0x200 | UF_DONT_EXPIRE_PASSWD)),
        ("servicePrincipalName", "HTTP/evil.test.local"),
        ("altSecurityIdentities", "X509:<I>CN=evil<S>CN=attacker"),
        ("mobile", "+33700000000"),
        ("mail", "attacker@evil.example"),
    ],
)
def test_tc25_the_bot_cannot_write_what_it_was_not_delegated(domain: Domain, attribute: str, value: str) -> None:
    """Inside its own partner OU, on an ordinary user: only the three delegated rights work."""
    dn = domain.dns["lmartin"]
    before = _snapshot(domain, dn)
    connection = _as_bot(domain)
    try:
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            connection.modify(dn, {attribute: [(ldap3.MODIFY_REPLACE, [value])]})
    finally:
        connection.unbind()
    assert _snapshot(domain, dn) == before


def test_tc25_the_bot_cannot_add_anyone_to_a_privileged_group(domain: Domain) -> None:
    group = _dn(domain, "Domain Admins")
    connection = _as_bot(domain)
    try:
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            connection.modify(group, {"member": [(ldap3.MODIFY_ADD, [domain.dns["lmartin"]])]})
    finally:
        connection.unbind()
    domain.admin.search(group, "(objectClass=*)", ldap3.BASE, attributes=["member"])
    assert domain.dns["lmartin"].lower() not in {m.lower() for m in domain.admin.response[0]["attributes"]["member"]}


def test_tc25_the_bot_cannot_rewrite_an_acl(domain: Domain) -> None:
    """No WriteDACL: the bot cannot grant itself more, even by writing back the account's own descriptor."""
    dn = domain.dns["lmartin"]
    controls = [("1.2.840.113556.1.4.801", True, b"\x30\x03\x02\x01\x04")]  # the DACL only
    domain.admin.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["nTSecurityDescriptor"], controls=controls)
    descriptor = domain.admin.response[0]["raw_attributes"]["nTSecurityDescriptor"][0]
    before = _snapshot(domain, dn)
    connection = _as_bot(domain)
    try:
        with pytest.raises(LDAPInsufficientAccessRightsResult):
            connection.modify(dn, {"nTSecurityDescriptor": [(ldap3.MODIFY_REPLACE, [descriptor])]}, controls=controls)
    finally:
        connection.unbind()
    assert _snapshot(domain, dn) == before


def _snapshot(domain: Domain, dn: str) -> dict[str, Any]:
    domain.admin.search(dn, "(objectClass=*)", ldap3.BASE,
                        attributes=["uSNChanged", "lockoutTime", "pwdLastSet", "userAccountControl"])  # fmt: skip
    return dict(domain.admin.response[0]["attributes"])


def _as_sdprop_would(domain: Domain, dn: str) -> None:
    """Give ``dn`` the security descriptor of AdminSDHolder with inheritance blocked, which is what AD's SDProp
    does within the hour to every member of a protected group; Samba does not run SDProp (its own finding:
    without this, a Domain Admin placed in a partner OU keeps the partner OU's inherited ACEs)."""
    holder = f"CN=AdminSDHolder,CN=System,{domain.dc.base_dn}"
    controls = [("1.2.840.113556.1.4.801", True, b"\x30\x03\x02\x01\x07")]  # owner, group and DACL
    domain.admin.search(holder, "(objectClass=*)", ldap3.BASE, attributes=["nTSecurityDescriptor"], controls=controls)
    descriptor = domain.admin.response[0]["raw_attributes"]["nTSecurityDescriptor"][0]
    # Samba's AdminSDHolder DACL is not marked protected; SDProp's copy is (SE_DACL_PROTECTED in the control).
    control = int.from_bytes(descriptor[2:4], "little") | SE_DACL_PROTECTED
    descriptor = descriptor[:2] + control.to_bytes(2, "little") + descriptor[4:]
    domain.admin.modify(dn, {"nTSecurityDescriptor": [(ldap3.MODIFY_REPLACE, [descriptor])]}, controls=controls)


# --- TC-15: a request only in an attachment, an inline image or a link, through the Graph mailbox ----------------

MAILBOX = "support@agence.gouv.fr"
PDF = AttachmentFile("demande.pdf", "application/pdf", b"%PDF-1.4 merci de debloquer le compte mleroy %%EOF")
DOCX = AttachmentFile("demande.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                      b"PK\x03\x04 word/document.xml mleroy")  # fmt: skip
QR = AttachmentFile("qr.png", "image/png", b"\x89PNG\r\n\x1a\n QR mleroy", is_inline=True)
ATTACHMENT_CASES: list[tuple[str, str, list[AttachmentFile], str]] = [
    ("PDF only", "Bonjour, veuillez trouver notre demande en pièce jointe. Cordialement, Claire Fabre", [PDF],
     "REQUEST_IN_ATTACHMENT"),
    ("DOCX only", "Bonjour,\nci-joint le formulaire rempli.\nCordialement", [DOCX], "REQUEST_IN_ATTACHMENT"),
    ("QR code image", "Bonjour, scannez le code ci-dessous pour la demande. [cid:qr.png@01DA0000]", [QR],
     "REQUEST_IN_ATTACHMENT"),
    ("link only", "Bonjour, la demande est sur https://partage.evil.example/d/7f3a merci de la traiter.", [],
     "REQUEST_IN_LINK"),
]  # fmt: skip


@dataclass
class GraphMail:
    graph: GraphSandbox
    log: RequestLog
    ids: dict[str, str]


@pytest.fixture(scope="module")
def graph_mail(serve_graph: ServeGraph) -> Iterator[GraphMail]:
    """The Graph sandbox's shared mailbox holding the TC-15 messages, every request to it logged."""
    store = MailboxStore()
    store.ensure_mailbox(MAILBOX)
    ids: dict[str, str] = {}
    for case, body, files, _ in [*ATTACHMENT_CASES, ("request in the body", UNLOCK, [PDF], "")]:
        headers = mail(body).headers
        ids[case] = store.add_message(MAILBOX, from_address=CORR, from_name="Claire Fabre", to=[MAILBOX],
                                      subject="Demande", body=body, headers=headers, attachments=files)  # fmt: skip
    log = RequestLog()
    with serve_graph(store, wrap=lambda app: RequestLogMiddleware(app, log)) as graph:
        yield GraphMail(graph, log, ids)


def _from_mailbox(graph_mail: GraphMail, case: str) -> Request:
    mailbox = graph_mail.graph.mailbox(MAILBOX)
    try:
        return request_from_message(mailbox.get(graph_mail.ids[case]))
    finally:
        mailbox.close()


@pytest.mark.parametrize(("case", "reason"), [(c[0], c[3]) for c in ATTACHMENT_CASES],
                         ids=[c[0] for c in ATTACHMENT_CASES])
def test_tc15_a_request_only_outside_the_text_is_read_by_a_person_and_never_opened(
    world: World, graph_mail: GraphMail, case: str, reason: str
) -> None:
    request = _from_mailbox(graph_mail, case)
    assert_safe(world, request, world.handle(request), reason, reply="ack")
    assert graph_mail.log.entries(path_prefix="/v1.0/") and not [
        e for e in graph_mail.log.entries() if "/attachments" in e.path
    ], "an attachment was downloaded"


def test_tc15_a_request_in_the_body_is_handled_from_the_body_and_the_attachment_left_unopened(
    world: World, graph_mail: GraphMail
) -> None:
    request = _from_mailbox(graph_mail, "request in the body")
    assert ("X-MS-Has-Attach", "yes") in request.headers  # the mailbox did say there is an attachment
    assert world.handle(request).decision == AUTOMATED and not world.domain.locked("jdupont")
    assert not [e for e in graph_mail.log.entries() if "/attachments" in e.path]


# --- Entra ID seen by the runs: roles (active or PIM-eligible) exclude, SSPR registration answers with the link --

SSPR_APP = GraphApp.of("sesame-sspr", DEFAULT_PERMISSIONS | {"AuditLog.Read.All"}, "sspr-app-secret-for-tests")


@dataclass
class Cloud:
    identities: CloudIdentities
    store: EntraStore
    sams: dict[str, str]


@pytest.fixture(scope="module")
def cloud(domain: Domain, serve_graph: ServeGraph, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cloud]:
    """AD accounts with Entra twins (same UPN, as Entra Connect makes them) in the Graph sandbox, and the Entra
    connector the runtime builds from a ``graph`` section (``build_identities``) with SSPR registration on."""
    sams = {kind: f"{kind[:5]}{secrets.token_hex(3)}" for kind in ("active", "eligible", "plain", "sspr")}
    for kind, sam in sams.items():
        domain.create(sam, domain.ml_ou, locked=kind != "sspr")
    twins = tuple(DirectoryUser(sam=sam, upn=domain.upn(sam), mail=f"{sam}@{ML}", given_name="", surname=sam,
                                org_id="ml-lyon", ou=domain.ml_ou, privileged=kind in ("active", "eligible"))
                  for kind, sam in sorted(sams.items()))  # fmt: skip
    # from_scenario gives the first privileged user an active Global Administrator role, the second an eligible one.
    twins = tuple(sorted(twins, key=lambda u: (u.sam != sams["active"], u.sam != sams["eligible"])))
    store = EntraStore.from_scenario(Scenario(partners=(), users=twins, emails=(), tickets=()), domain="test.local")
    store.set_sspr_registered(domain.upn(sams["sspr"]), True)
    with serve_graph(MailboxStore(), entra=store, apps=[SSPR_APP]) as graph:
        connection = graph.connection(SSPR_APP.client_id, SSPR_APP.secret)
        config = tmp_path_factory.mktemp("entra") / "sesame.yaml"
        (config.parent / "partners.json").write_text("[]")
        config.write_text(yaml.safe_dump({
            "servicenow": {"url": "https://sn.example.test", "user": "bot", "password": "unused"},
            "graph": {"url": connection["graph_url"], "authority": connection["authority"],
                      "tenant": connection["tenant"], "client_id": connection["client_id"],
                      "client_secret": connection["client_secret"], "ca_file": connection["ca_file"],
                      "entra_sspr_registration": True},
            "mailbox": {"address": "support@agence.gouv.fr"},
            "directory": {"url": domain.dc.url, "bind_dn": "unused", "password": "unused", "base_dn": "DC=x"},
            "partners_file": "partners.json", "trust": {"authserv_ids": [AUTHSERV]},
        }))  # fmt: skip
        identities = build_identities(load_settings(config, environ={}))
        assert identities is not None
        try:
            yield Cloud(identities, store, sams)
        finally:
            identities.close()


@pytest.mark.parametrize("kind", ["active", "eligible"])
def test_entra_roles_active_or_eligible_keep_an_ad_account_locked(world: World, cloud: Cloud, kind: str) -> None:
    world.handler.identities = cloud.identities
    sam = cloud.sams[kind]
    world.before = world.domain.state()
    request = mail(f"Merci de débloquer le compte {sam}.")
    outcome = world.handle(request)
    assert outcome.decision == HANDED_OVER and outcome.reason == "PRIVILEGED", outcome
    assert "Entra role" in (outcome.detail or "") and world.domain.locked(sam)
    assert world.domain.state() == world.before and world.ledger.actions(request.key) == []
    assert "PRIVILEGED" in {a.reason for a in world.alerts}


def test_an_entra_user_without_roles_is_unlocked(world: World, cloud: Cloud) -> None:
    """The control: the roles read is what refused above, not Entra being configured."""
    world.handler.identities = cloud.identities
    sam = cloud.sams["plain"]
    assert world.handle(mail(f"Merci de débloquer le compte {sam}.")).decision == AUTOMATED
    assert not world.domain.locked(sam)


def test_a_user_registered_for_sspr_gets_the_link_and_nothing_is_reset(world: World, cloud: Cloud) -> None:
    world.handler.identities = cloud.identities
    sam = cloud.sams["sspr"]
    world.before = world.domain.state()
    outcome = world.handle(mail(f"Merci de réinitialiser le mot de passe de {sam}."))
    assert outcome.decision == AUTOMATED, outcome
    assert world.domain.state() == world.before and world.sms.sent == []  # pwdLastSet untouched, no password
    assert can_bind(world.domain.dc, world.domain.upn(sam), world.domain.passwords[sam])
    assert "libre-service" in world.replies[-1][1] and world.replies[-1][0] == CORR

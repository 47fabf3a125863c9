"""The password reset playbook on the fakes: out-of-band delivery to the mobile on file, nothing secret anywhere else.

The SMS gateway is a fake of ``connectors.messaging.SmsGateway``; the ledger is the real one (SQLite), searched
for the password like the canary test of the issue (TC-10, TC-20, TC-21, TC-24).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from automations.ledger import Ledger
from automations.playbooks import HandOver, Playbook, PlaybookRun, load_playbooks, run_playbook
from automations.playbooks.actions import ACTIONS
from automations.playbooks.reset_actions import mobile_number
from automations.registry import Partner
from automations.replies import Templates
from automations.request import Request
from automations.trust.exclusions import ExclusionPolicy
from automations.trust.spray import MemoryLockoutStore, SprayDetector
from connectors.directory import Account, Change
from connectors.errors import TransientError
from connectors.identity import CloudIdentity, CloudIdentityState, CloudRole
from connectors.messaging import DRY_RUN, SmsGateway, SmsReceipt
from tests.fakes import FakeDirectory

PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)
OU = "OU=Mission Locale,OU=Partenaires,DC=agence,DC=local"
PARTNER = Partner("ml", "Mission Locale", frozenset({"ml.fr"}), frozenset({"claire.fabre@ml.fr"}), OU)
KEY = "<reset-1@ml.fr>"


def account(sam: str, **changes: Any) -> Account:
    base = Account(
        dn=f"CN={sam},{OU}",
        sam=sam,
        upn=f"{sam}@agence.local",
        mail=f"{sam}@ml.fr",
        display_name=sam.title(),
        enabled=True,
        locked=False,
        mobile="06 11 22 33 44",
        created=NOW - timedelta(days=400),
        changed=NOW - timedelta(days=30),
        last_logon=NOW - timedelta(days=2),
        password_last_set=NOW - timedelta(days=60),
    )
    return replace(base, **changes)


class FakeSms:
    """``connectors.messaging.SmsGateway`` in memory: what was sent, to whom; can be made to fail."""

    def __init__(self, fail: Exception | None = None) -> None:
        self.sent: list[tuple[str, str, bool]] = []
        self.fail = fail

    def send(self, to: str, text: str, *, dry_run: bool = False) -> SmsReceipt:
        self.sent.append((to, text, dry_run))
        if self.fail is not None:
            raise self.fail
        return SmsReceipt("", DRY_RUN) if dry_run else SmsReceipt(f"sms-{len(self.sent)}", "queued")

    def close(self) -> None:
        pass


@dataclass
class FakeIdentities:
    """``connectors.identity.CloudIdentities`` for one synced user: roles, SSPR registration, revocations."""

    roles: tuple[CloudRole, ...] = ()
    sspr_registered: bool | None = False
    revoked: list[str] = field(default_factory=list)

    def find_user(self, login: str) -> CloudIdentity:
        return CloudIdentity("id-1", login, "User", None, True, True)

    def read_state(self, identity: CloudIdentity) -> CloudIdentityState:
        return CloudIdentityState(identity, self.roles, ("password",), self.sspr_registered, "seen")

    def revoke_sessions(self, identity: CloudIdentity, *, dry_run: bool = False) -> Change:
        if not dry_run:
            self.revoked.append(identity.user_principal_name)
        return Change("revoke_sessions", identity.id, {}, {"sessionsRevoked": "true"}, dry_run)

    def reset_password(
        self, identity: CloudIdentity, new_password: str, *, force_change: bool = True, dry_run: bool = False
    ) -> Change:
        raise AssertionError("a synced user is reset in AD")

    def close(self) -> None:
        pass


@pytest.fixture
def playbook() -> Playbook:
    return load_playbooks(PLAYBOOKS, frozenset(ACTIONS))["reset_password"]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger(f"sqlite:///{tmp_path / 'ledger.db'}")
    ledger.register(
        Request(
            key=KEY,
            channel="email",
            sender_address="claire.fabre@ml.fr",
            sender_name="Claire",
            subject="Mot de passe",
            text="Merci de réinitialiser le mot de passe de jdupont",
            headers=(("Message-ID", KEY),),
        )
    )
    return ledger


def make_run(
    playbook: Playbook, directory: FakeDirectory, ledger: Ledger, sms: SmsGateway | None, **extra: Any
) -> PlaybookRun:
    def record(step: str, change: Change) -> None:
        ledger.record_action(
            KEY,
            step=step,
            action=change.action,
            target=change.target,
            before=change.before,
            after=change.after,
            dry_run=change.dry_run,
        )

    values: dict[str, Any] = {
        "targets": ("jdupont",),
        "sms": sms,
        "templates": Templates(PLAYBOOKS),
        "now": lambda: NOW,
        **extra,
    }
    return PlaybookRun(
        playbook=playbook,
        partner=PARTNER,
        directory=directory,
        is_correspondent=lambda address: address in PARTNER.correspondents,
        on_change=record,
        **values,
    )


def ledger_bytes(tmp_path: Path) -> bytes:
    return b"".join(path.read_bytes() for path in tmp_path.glob("ledger.db*"))


def test_reset_sends_the_password_by_sms_to_the_mobile_on_file_only(
    playbook: Playbook, ledger: Ledger, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    directory, sms = FakeDirectory([account("jdupont")]), FakeSms()
    run = run_playbook(make_run(playbook, directory, ledger, sms))

    dn = f"CN=jdupont,{OU}"
    password = directory.passwords[dn]
    [(to, text, dry_run)] = sms.sent
    assert to == "+33611223344" and not dry_run
    assert password in text and "jdupont" in text and len(password) >= 15
    assert directory.accounts[dn].must_change_password  # read back by the playbook
    assert run.delivery == "sms" and run.completed[-1] == "deliver"
    assert len(run.secrets) == 0  # forgotten when the run ended
    assert password not in repr(run)

    # The e-mail reply and the closure notes, rendered as the handler does: no password, and no number.
    templates = Templates(PLAYBOOKS)
    values = {
        "account": run.account,
        "ticket": "INC0010001",
        "playbook": playbook.label,
        "requester": "claire.fabre@ml.fr",
        "partner": PARTNER.name,
        **run.reply_values(),
    }
    reply = templates.render_file(playbook.reply.template, **values)
    notes = templates.render_text(playbook.closure.close_notes, **values)
    for text_out in (reply, notes):
        assert password not in text_out and "33 44" not in text_out and "3344" not in text_out
    assert "SMS" in reply and "réinitialisé" in reply

    # The ledger: the reset and the delivery are recorded, with the number masked and no password anywhere.
    actions = ledger.actions(KEY)
    assert [a["action"] for a in actions] == ["reset_password", "sms_password"]
    assert actions[1]["after"]["to"] == "…44" and actions[1]["after"]["gateway_id"] == "sms-1"
    stored = ledger_bytes(tmp_path)
    assert password.encode() not in stored and b"611223344" not in stored
    assert password not in caplog.text and "611223344" not in caplog.text


@pytest.mark.parametrize("mobile", [None, "", "   ", "pas de mobile", "12"])
def test_no_usable_mobile_on_file_means_no_reset_at_all(playbook: Playbook, ledger: Ledger, mobile: str | None) -> None:
    directory, sms = FakeDirectory([account("jdupont", mobile=mobile)]), FakeSms()
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(playbook, directory, ledger, sms))
    assert refusal.value.reason == "NO_MOBILE_ON_FILE"
    assert directory.writes == [] and directory.passwords == {} and sms.sent == [] and ledger.actions(KEY) == []


def test_no_sms_gateway_means_no_reset(playbook: Playbook, ledger: Ledger) -> None:
    directory = FakeDirectory([account("jdupont")])
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(playbook, directory, ledger, None))
    assert refusal.value.reason == "SMS_NOT_CONFIGURED" and directory.writes == []


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"admin_count": 1}, "PRIVILEGED"),
        ({"service_principal_names": frozenset({"HTTP/paie.agence.local"})}, "SERVICE_ACCOUNT"),
        ({"enabled": False}, "DISABLED"),
        ({"created": NOW - timedelta(days=1)}, "RECENTLY_CREATED"),
        ({"changed": NOW - timedelta(days=2)}, "RECENTLY_CHANGED"),  # e.g. mobile changed 2 days ago (TC-21)
        ({"last_logon": NOW - timedelta(days=200)}, "DORMANT"),
        ({"mail": "claire.fabre@ml.fr"}, "target_is_correspondent"),
        ({"dn": "CN=jdupont,OU=Cap emploi,OU=Partenaires,DC=agence,DC=local"}, "out_of_scope"),
    ],
)
def test_excluded_accounts_are_handed_over_before_any_write(
    playbook: Playbook, ledger: Ledger, changes: dict[str, Any], reason: str
) -> None:
    target = account("jdupont", **changes)
    directory, sms = FakeDirectory([target]), FakeSms()
    run = make_run(playbook, directory, ledger, sms, targets=(target.sam,))
    with pytest.raises(HandOver) as refusal:
        run_playbook(run)
    assert refusal.value.reason == reason
    assert directory.writes == [] and sms.sent == []


def test_vip_list_and_configured_groups_come_from_the_policy(playbook: Playbook, ledger: Ledger) -> None:
    directory = FakeDirectory([account("jdupont")])
    run = make_run(
        playbook, directory, ledger, FakeSms(), exclusion_policy=ExclusionPolicy(vip_accounts=frozenset({"jdupont"}))
    )
    with pytest.raises(HandOver) as refusal:
        run_playbook(run)
    assert refusal.value.reason == "VIP" and refusal.value.alert and directory.writes == []


def test_sms_failure_after_the_reset_hands_over_once_without_retry(
    playbook: Playbook, ledger: Ledger, tmp_path: Path
) -> None:
    directory = FakeDirectory([account("jdupont")])
    sms = FakeSms(fail=TransientError("gateway timed out for …44", system="sms", request_id="req-9"))
    run = make_run(playbook, directory, ledger, sms)
    with pytest.raises(HandOver) as refusal:
        run_playbook(run)
    password = directory.passwords[f"CN=jdupont,{OU}"]
    assert refusal.value.reason == "RESET_DELIVERY_FAILED"
    assert "'deliver'" in refusal.value.detail and "req-9" in refusal.value.detail
    assert password not in refusal.value.detail and password not in str(refusal.value)
    assert len(sms.sent) == 1 and len(directory.writes) == 1  # one attempt each, no loop
    assert len(run.secrets) == 0 and password.encode() not in ledger_bytes(tmp_path)


class UnsureDirectory(FakeDirectory):
    """The connection dropped after sending the reset: the outcome is unknown."""

    def reset_password(
        self, account: Account, new_password: str, *, must_change: bool = True, dry_run: bool = False
    ) -> Change:
        raise TransientError("outcome unknown", system="fake")


class NoMustChangeDirectory(FakeDirectory):
    """The reset lands but pwdLastSet=0 does not (a hybrid or rights problem)."""

    def reset_password(
        self, account: Account, new_password: str, *, must_change: bool = True, dry_run: bool = False
    ) -> Change:
        return super().reset_password(account, new_password, must_change=False, dry_run=dry_run)


@pytest.mark.parametrize("directory_type", [UnsureDirectory, NoMustChangeDirectory])
def test_failures_at_or_after_the_reset_are_reset_delivery_failed(
    playbook: Playbook, ledger: Ledger, directory_type: type[FakeDirectory]
) -> None:
    sms = FakeSms()
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(playbook, directory_type([account("jdupont")]), ledger, sms))
    assert refusal.value.reason == "RESET_DELIVERY_FAILED" and sms.sent == []


def test_shadow_mode_writes_nothing_and_sends_nothing(playbook: Playbook, ledger: Ledger) -> None:
    directory, sms = FakeDirectory([account("jdupont")]), FakeSms()
    run = run_playbook(make_run(playbook, directory, ledger, sms, dry_run=True))
    assert directory.writes == [] and directory.passwords == {}
    [(to, _text, dry_run)] = sms.sent
    assert dry_run and to == "+33611223344"
    assert all(a["dry_run"] for a in ledger.actions(KEY)) and run.completed[-1] == "deliver"


def test_self_service_registered_user_gets_the_link_and_nothing_is_reset(playbook: Playbook, ledger: Ledger) -> None:
    directory, sms = FakeDirectory([account("jdupont", mobile=None)]), FakeSms()
    run = run_playbook(make_run(playbook, directory, ledger, sms, sspr_registered=True))
    assert run.delivery == "self_service" and directory.writes == [] and sms.sent == []
    reply = Templates(PLAYBOOKS).render_file(
        playbook.reply.template, account=run.account, ticket="INC1", **run.reply_values()
    )
    assert "libre-service" in reply and "SMS" not in reply


def test_with_entra_roles_count_sessions_are_revoked_and_sspr_is_read(playbook: Playbook, ledger: Ledger) -> None:
    eligible = CloudRole("Global Reader", "f2ef992c", "/", "eligible")
    directory = FakeDirectory([account("jdupont")])
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(playbook, directory, ledger, FakeSms(), identities=FakeIdentities(roles=(eligible,))))
    assert refusal.value.reason == "PRIVILEGED" and "Global Reader" in refusal.value.detail and directory.writes == []

    identities = FakeIdentities()
    run = run_playbook(make_run(playbook, directory, ledger, FakeSms(), identities=identities))
    assert identities.revoked == ["jdupont@agence.local"] and run.delivery == "sms"
    assert [a["action"] for a in ledger.actions(KEY)] == ["reset_password", "revoke_sessions", "sms_password"]

    registered = FakeIdentities(sspr_registered=True)
    run = run_playbook(
        make_run(playbook, FakeDirectory([account("jdupont")]), ledger, FakeSms(), identities=registered)
    )
    assert run.delivery == "self_service" and registered.revoked == []


def test_the_shipped_playbook_checks_everything_before_the_reset(playbook: Playbook) -> None:
    actions = [step.action for step in playbook.steps]
    reset = actions.index("directory.reset_password")
    assert actions.index("delivery.require_mobile_on_file") < reset
    # Guards run before any step, so every policy check precedes the reset.
    assert [guard.check for guard in playbook.guards] == [
        "policy.require_in_partner_scope", "policy.require_not_correspondent", "policy.require_no_exclusions"]
    assert actions[reset:] == [
        "directory.reset_password",
        "directory.verify_must_change",
        "identity.revoke_sessions",
        "delivery.sms_password",
    ]
    assert playbook.intents == ("reset_password",)


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("06 11 22 33 44", "+33611223344"),
        ("+33 6 11 22 33 44", "+33611223344"),
        ("0033611223344", "+33611223344"),
        ("07.11.22.33.44", "+33711223344"),
        ("", None),
        (None, None),
        ("06 11", None),
        ("+33 6 11 22 33 44 55 66 77", None),
    ],
)
def test_mobile_numbers_on_file_are_read_as_e164(raw: str | None, number: str | None) -> None:
    assert mobile_number(raw) == number


def _unlock_playbook(playbook: Playbook) -> Playbook:
    steps = (
        *[s for s in playbook.steps if s.id == "find_account"],
        playbook.steps[0].model_copy(update={"id": "no_spray", "action": "policy.require_no_spray"}),
    )
    return playbook.model_copy(update={"steps": steps})


def test_unlock_during_a_spray_is_handed_over_with_an_alert(playbook: Playbook, ledger: Ledger) -> None:
    detector = SprayDetector(MemoryLockoutStore(), threshold=3)
    for n in range(3):
        detector.observe_lockout(f"CN=user{n},{OU}", NOW - timedelta(minutes=n))
    directory = FakeDirectory([account("jdupont", locked=True, lockout_time=NOW - timedelta(minutes=1))])
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(_unlock_playbook(playbook), directory, ledger, None, spray=detector))
    assert refusal.value.reason == "SPRAY_SUSPECTED" and refusal.value.alert

    with pytest.raises(HandOver) as missing:
        run_playbook(make_run(_unlock_playbook(playbook), directory, ledger, None))
    assert missing.value.reason == "SPRAY_CHECK_UNAVAILABLE"

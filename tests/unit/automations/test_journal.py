"""The step journal: a run interrupted at any point resumes without repeating a completed write, closes and
answers once, and never resumes under another playbook text or after a write whose outcome is unknown.

The interruption is a ``BaseException`` raised from a connector (what a killed worker leaves behind: the steps
journaled so far, nothing else); the resume is a second handler over the same ledger, as another worker would be.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from automations.handling import DeskPolicy, RequestHandler
from automations.ledger import AUTOMATED, HANDED_OVER, Ledger
from automations.playbooks import journal as journal_module
from automations.playbooks import load_playbooks
from automations.playbooks.actions import ACTIONS
from automations.playbooks.journal import CLOSURE, REPLY, ledger_journal, restore, snapshot
from automations.registry import Partner, PartnerRegistry
from automations.replies import Templates
from automations.request import Request
from automations.trust.spray import MemoryLockoutStore, SprayDetector
from automations.understanding import get_understander
from connectors.directory import Account, Change
from connectors.tickets import Closure, TicketRef
from tests.fakes import FakeDirectory, FakeTickets

REPO_PLAYBOOKS = Path(__file__).resolve().parents[3] / "playbooks"
OU = "OU=Mission Locale,OU=Partenaires,DC=agence,DC=local"
CORRESPONDENT = "claire.fabre@ml.fr"
KEY = "<journal-1@ml.fr>"


class Crash(BaseException):
    """The worker dies here (not an error the handler could catch)."""


class CrashingTickets(FakeTickets):
    def __init__(self) -> None:
        super().__init__()
        self.closures = 0
        self.crash_in_close = False

    def resolve_and_close(self, ticket: TicketRef, closure: Closure) -> None:
        if self.crash_in_close:
            self.crash_in_close = False
            raise Crash("killed before the closure")
        self.closures += 1
        super().resolve_and_close(ticket, closure)


class CrashingDirectory(FakeDirectory):
    """Dies once, during the unlock call (after the journal marked the step as writing)."""

    crash_in_unlock = False

    def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
        if self.crash_in_unlock and not dry_run:
            self.crash_in_unlock = False
            raise Crash("killed while unlocking")
        return super().unlock(account, dry_run=dry_run)


def locked(sam: str) -> Account:
    return Account(dn=f"CN={sam},{OU}", sam=sam, upn=f"{sam}@agence.local", mail=f"{sam}@ml.fr",
                   display_name=sam.title(), enabled=True, locked=True)


def email() -> Request:
    return Request(key=KEY, channel="email", sender_address=CORRESPONDENT, sender_name="Claire",
                   subject="Compte bloqué", text="Bonjour, merci de débloquer le compte jdupont. Cordialement, Claire",
                   headers=(("Message-ID", KEY),), source_id="m1")


class World:
    def __init__(self, tmp_path: Path, ledger_url: str) -> None:
        self.playbooks = tmp_path / "playbooks"
        shutil.copytree(REPO_PLAYBOOKS, self.playbooks)
        self.directory = CrashingDirectory([locked("jdupont")])
        self.tickets = CrashingTickets()
        self.ledger = Ledger(ledger_url)
        self.replies: list[str] = []
        self.crash_in_reply = False

    def respond(self, _request: Request, text: str) -> None:
        if self.crash_in_reply:
            self.crash_in_reply = False
            raise Crash("killed while answering")
        self.replies.append(text)

    def handler(self) -> RequestHandler:
        """A new worker: a fresh handler, the playbooks as on disk now, the same ledger and systems."""
        return RequestHandler(
            tickets=self.tickets, directory=self.directory, ledger=self.ledger,
            registry=PartnerRegistry([Partner("ml", "Mission Locale", frozenset({"ml.fr"}),
                                              frozenset({CORRESPONDENT}), OU)]),
            understander=get_understander("rules"),
            playbooks=load_playbooks(self.playbooks, frozenset(ACTIONS)), templates=Templates(self.playbooks),
            desk=DeskPolicy("Automatisation", "N1", "Résolution définitive", "KB0010001", "UO-TR1.1"),
            respond=self.respond, spray=SprayDetector(MemoryLockoutStore()),
            journal=ledger_journal(self.ledger),
        )

    def handle(self) -> object:
        self.ledger.register(email())
        return self.handler().handle(email())


@pytest.fixture
def world(tmp_path: Path, database_url: str) -> Iterator[World]:
    """The same behaviours on a SQLite file and on PostgreSQL (tests/fixtures/postgres.py)."""
    made = World(tmp_path, database_url)
    yield made
    made.ledger.engine.dispose()


def test_a_run_killed_before_the_closure_resumes_without_a_second_unlock(world: World) -> None:
    world.tickets.crash_in_close = True
    with pytest.raises(Crash):
        world.handle()
    assert len(world.directory.writes) == 1 and world.tickets.closures == 0 and world.replies == []
    steps = {e.step: e for e in world.ledger.journal(KEY)}
    assert steps["unlock"].status == "done" and steps["unlock"].wrote
    assert CLOSURE not in steps

    outcome = world.handle()  # the next worker

    assert outcome.decision == AUTOMATED  # type: ignore[attr-defined]
    assert len(world.directory.writes) == 1, "the unlock was sent again"
    assert world.tickets.closures == 1 and len(world.replies) == 1
    assert "jdupont" in world.replies[0]
    assert [a["action"] for a in world.ledger.actions(KEY)] == ["unlock"]


def test_every_journal_record_names_the_playbook_version_and_hash(world: World) -> None:
    world.handle()
    playbook = load_playbooks(world.playbooks, frozenset(ACTIONS))["unlock"]
    entries = world.ledger.journal(KEY)
    assert {e.step for e in entries} >= {"unlock", CLOSURE, REPLY}
    assert {(e.playbook_id, e.playbook_version, e.playbook_hash) for e in entries} == {
        (playbook.id, playbook.version, playbook.content_hash)}
    assert len(playbook.content_hash) == 64


def test_a_run_killed_while_answering_never_sends_a_second_reply(world: World) -> None:
    world.crash_in_reply = True
    with pytest.raises(Crash):
        world.handle()
    assert world.tickets.closures == 1 and world.replies == []

    outcome = world.handle()

    # At most once: the reply's outcome is unknown, and a second e-mail is worse than the closed ticket's own word.
    assert outcome.decision == AUTOMATED  # type: ignore[attr-defined]
    assert world.tickets.closures == 1 and world.replies == [] and len(world.directory.writes) == 1


def test_a_write_with_an_unknown_outcome_is_handed_over_not_repeated(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(journal_module, "IDEMPOTENT", frozenset())  # as for a write that is not idempotent
    world.directory.crash_in_unlock = True
    with pytest.raises(Crash):
        world.handle()
    assert {e.step: e.status for e in world.ledger.journal(KEY)}["unlock"] == "writing"

    outcome = world.handle()

    assert outcome.decision == HANDED_OVER and outcome.reason == "INTERRUPTED_WRITE"  # type: ignore[attr-defined]
    assert world.directory.writes == [] and world.tickets.closures == 0


def test_an_idempotent_write_with_an_unknown_outcome_is_sent_again(world: World) -> None:
    world.directory.crash_in_unlock = True
    with pytest.raises(Crash):
        world.handle()
    outcome = world.handle()
    assert outcome.decision == AUTOMATED  # type: ignore[attr-defined]
    assert len(world.directory.writes) == 1 and world.tickets.closures == 1 and len(world.replies) == 1


def test_a_playbook_edited_after_a_write_does_not_resume(world: World) -> None:
    world.tickets.crash_in_close = True
    with pytest.raises(Crash):
        world.handle()
    path = world.playbooks / "account_unlock.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "\n# edited while a run was interrupted\n", encoding="utf-8")

    outcome = world.handle()

    assert outcome.reason == "RESUME_PLAYBOOK_CHANGED"  # type: ignore[attr-defined]
    assert len(world.directory.writes) == 1 and world.tickets.closures == 0


def test_a_playbook_edited_before_any_write_starts_again_under_the_new_version(world: World) -> None:
    world.directory.crash_in_unlock = True  # stops the first attempt before anything was written
    with pytest.raises(Crash):
        world.handle()
    # The unlock was marked "writing": make it look like the crash came before it, after the checks only.
    world.ledger.discard_journal(KEY)
    world.ledger.journal_step(KEY, "in_partner_scope", action="policy.require_in_partner_scope", status="done",
                              playbook=("account_unlock", 1, "0" * 64), result={})
    outcome = world.handle()
    assert outcome.decision == AUTOMATED  # type: ignore[attr-defined]
    current = load_playbooks(world.playbooks, frozenset(ACTIONS))["unlock"].content_hash
    assert {e.playbook_hash for e in world.ledger.journal(KEY)} == {current}


def test_the_snapshot_keeps_plain_state_and_never_a_secret(world: World) -> None:
    from automations.playbooks.runner import PlaybookRun
    from automations.secrets import new_temporary_password

    playbook = next(iter(load_playbooks(world.playbooks, frozenset(ACTIONS)).values()))
    partner = Partner("ml", "ML", frozenset({"ml.fr"}), frozenset({CORRESPONDENT}), OU)

    def run() -> PlaybookRun:
        return PlaybookRun(playbook=playbook, targets=("jdupont",), partner=partner, directory=world.directory,
                           is_correspondent=lambda _a: False, on_change=lambda _s, _c: None)

    first = run()
    account = locked("jdupont")
    first.account = account
    first.changes.append(Change("unlock", account.dn, {"locked": "true"}, {"locked": "false"}, False, "dc1"))
    first.delivery, first.password_reset = "sms", True
    secret = new_temporary_password(16)
    first.secrets.put("temporary_password", secret)
    state = snapshot(first)
    assert secret.reveal() not in repr(state)
    second = run()
    restore(second, state)
    assert second.account == account and second.changes == first.changes
    assert (second.delivery, second.password_reset) == ("sms", True)


def test_an_old_ledger_file_gets_the_new_columns_and_tables(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:  # the requests table as ledgers created before leases had it
        old.execute("CREATE TABLE requests (id INTEGER PRIMARY KEY, key VARCHAR(512) UNIQUE, channel VARCHAR(32), "
                    "sender VARCHAR(320), subject TEXT, status VARCHAR(16), intent VARCHAR(64), targets TEXT, "
                    "decision VARCHAR(16), reason VARCHAR(64), detail TEXT, understanding TEXT, "
                    "partner_id VARCHAR(128), ticket_sys_id VARCHAR(64), ticket_number VARCHAR(40), "
                    "playbook VARCHAR(200), created_at DATETIME, finished_at DATETIME)")
        old.execute("INSERT INTO requests (key, channel, sender, subject, status, targets, created_at) "
                    "VALUES ('<old@x>', 'email', 'a@x', 's', 'received', '[]', '2026-01-01 00:00:00')")
    ledger = Ledger(f"sqlite:///{path}")
    assert ledger.claim("<old@x>", "host:1:a", timedelta(minutes=5))
    assert not ledger.claim("<old@x>", "host:2:b", timedelta(minutes=5))
    ledger.journal_step("<old@x>", "s", action="a", status="done", playbook=("p", 1, "h"))
    assert [e.step for e in ledger.journal("<old@x>")] == ["s"]


def test_a_lease_is_taken_over_only_when_expired_or_its_holder_is_gone(database_url: str) -> None:
    ledger = Ledger(database_url)
    ledger.register(email())
    gone: Callable[[str], bool] = lambda holder: holder == "host:1:dead"  # noqa: E731
    assert ledger.claim(KEY, "host:1:dead", timedelta(minutes=5))
    assert ledger.claim(KEY, "host:1:dead", timedelta(minutes=5)), "the holder may claim again (a retry)"
    assert not ledger.claim(KEY, "host:2:live", timedelta(minutes=5))
    assert ledger.resumable(stale=lambda _h: False, unclaimed_for=timedelta(0)) == []
    assert ledger.resumable(stale=gone, unclaimed_for=timedelta(0)) == [KEY]
    assert ledger.claim(KEY, "host:2:live", timedelta(minutes=5), stale=gone)
    assert not ledger.claim(KEY, "host:3:other", timedelta(minutes=5), stale=gone)
    assert ledger.claim(KEY, "host:3:other", timedelta(seconds=-1)) is False
    ledger.renew(KEY, "host:2:live", timedelta(seconds=-1))  # expired now
    assert ledger.claim(KEY, "host:3:other", timedelta(minutes=5))


class DyingSms:
    """An SMS gateway whose process dies during the first send."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.die = True

    def send(self, to: str, text: str, *, dry_run: bool = False) -> object:
        if self.die:
            self.die = False
            raise Crash("killed while sending the SMS")
        self.sent.append(to)
        from connectors.messaging import SmsReceipt

        return SmsReceipt("sms-1", "queued")

    def close(self) -> None:
        pass


def test_a_reset_interrupted_before_its_sms_is_never_reset_again_and_keeps_no_password(world: World) -> None:
    from dataclasses import replace

    from automations.playbooks import HandOver, PlaybookRun, run_playbook
    from automations.playbooks.reset_actions import RESET_DELIVERY_FAILED

    playbook = load_playbooks(world.playbooks, frozenset(ACTIONS))["reset_password"]
    now = datetime.now(UTC)
    target = replace(locked("jdupont"), locked=False, mobile="06 11 22 33 44", created=now - timedelta(days=400),
                     changed=now - timedelta(days=30), last_logon=now - timedelta(days=2),
                     password_last_set=now - timedelta(days=60))
    world.directory = CrashingDirectory([target])
    world.ledger.register(email())
    sms = DyingSms()
    partner = Partner("ml", "ML", frozenset({"ml.fr"}), frozenset({CORRESPONDENT}), OU)
    factory = ledger_journal(world.ledger)

    def attempt() -> PlaybookRun:
        run = PlaybookRun(playbook=playbook, targets=("jdupont",), partner=partner, directory=world.directory,
                          is_correspondent=lambda _a: False, on_change=lambda _s, _c: None,
                          sms=sms, templates=Templates(world.playbooks),  # type: ignore[arg-type]
                          journal=factory(KEY, playbook))
        return run_playbook(run)

    with pytest.raises(Crash):
        attempt()
    resets = [c for c in world.directory.writes if c.action == "reset_password"]
    assert len(resets) == 1
    password = world.directory.passwords[target.dn]
    with world.ledger.engine.connect() as connection:
        from sqlalchemy import text

        journaled = " ".join(str(row) for row in connection.execute(text("SELECT * FROM journal")))
    assert "reset_password" in journaled and password not in journaled

    with pytest.raises(HandOver) as refusal:
        attempt()  # the next worker: the password is gone with the dead one, so no SMS and no second reset

    assert refusal.value.reason == RESET_DELIVERY_FAILED
    assert len([c for c in world.directory.writes if c.action == "reset_password"]) == 1 and sms.sent == []

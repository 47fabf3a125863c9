"""The audit trail: canonical, secret-free decision records in an HMAC chain that detects any edit (AUD-01..05)."""

from __future__ import annotations

import io
import json
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from automations import ledger as ledger_module
from automations.audit import AuditError, AuditKey, chain_hash, key_matches, verify, write_checkpoint
from automations.audit_archive import export, purge_older_than
from automations.audit_record import DecisionRecord, canonical_json, excerpt, mask_secrets, safe_state
from automations.ledger import AUTOMATED, HANDED_OVER, Ledger, Outcome
from automations.request import Request
from workers.audit_cli import BROKEN, MISCONFIGURED, OK, export_command, purge_command, verify_command

KEY = AuditKey("k" * 32 + "-unit-test-audit-key")
OTHER_KEY = AuditKey("x" * 40)
CANARY = "Canary-Secret-123"


def request(n: int, body: str = "Bonjour, merci de débloquer le compte jdupont. Cordialement") -> Request:
    return Request(
        key=f"<m{n}@partner.fr>", channel="email", sender_address="Alice@Partner.fr", sender_name="Alice",
        subject=f"Compte bloqué {n}", text=body,
        headers=(("Authentication-Results", "mx.agence.fr; dkim=pass header.d=partner.fr; dmarc=pass"),
                 ("Received", "from mx")),
        received_at=datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
    )  # fmt: skip


def finish(ledger: Ledger, n: int, body: str | None = None, detail: str = "") -> None:
    req = request(n) if body is None else request(n, body)
    assert ledger.register(req)
    ledger.record_action(req.key, step="unlock", action="unlock", target=f"CN=u{n},OU=P,DC=agence,DC=local",
                         before={"locked": "true", "lockoutTime": "133"}, after={"locked": "false"},
                         dry_run=False, server="dc1.agence.local")  # fmt: skip
    ledger.finish(req.key, Outcome(decision=AUTOMATED if not detail else HANDED_OVER, reason="r" if detail else None,
                                   detail=detail or None, intent="unlock", targets=("jdupont",), partner_id="p1",
                                   ticket_sys_id="abc", ticket_number=f"INC{n:07d}", playbook="unlock@1#abcdef",
                                   understanding={"backend": "rules", "intent": "unlock", "confidence": 0.95,
                                                  "decision": "auto", "reasons": ["rule:unlock"], "text": "no"},
                                   request_ids=("graph-req-1",)),
                  request=req)  # fmt: skip


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger(f"sqlite:///{tmp_path / 'ledger.db'}", audit_key=KEY)


def filled(ledger: Ledger, count: int = 5) -> Ledger:
    for n in range(1, count + 1):
        finish(ledger, n)
    return ledger


def sql(ledger: Ledger, statement: str, **params: object) -> None:
    with ledger.engine.begin() as connection:
        connection.execute(text(statement), params)


def rows(ledger: Ledger) -> list[tuple[int, str, str, str]]:
    with ledger.engine.connect() as connection:
        found = connection.execute(text("SELECT seq, record, prev_hash, hash FROM audit_records ORDER BY seq"))
        return [(r[0], r[1], r[2], r[3]) for r in found]


def codes(problems: list[str]) -> set[str]:
    return {problem.split(":", 1)[0] for problem in problems}


# -- the record ----------------------------------------------------------------------------------


def test_canonical_json_is_sorted_compact_utf8() -> None:
    assert canonical_json({"b": "é", "a": [1, 2]}) == '{"a":[1,2],"b":"é"}'.encode()


def test_a_finished_request_gets_one_complete_record(ledger: Ledger) -> None:
    finish(ledger, 1)
    [(seq, stored, prev, _)] = rows(ledger)
    record = json.loads(stored)
    assert (seq, prev) == (1, "0" * 64)
    assert stored.encode() == canonical_json(record)
    assert record["key"] == "<m1@partner.fr>" and record["channel"] == "email" and record["at"].endswith("Z")
    assert record["correspondent"] == "alice@partner.fr" and record["partner_id"] == "p1"
    assert len(record["body_sha256"]) == 64 and len(record["excerpt"]) <= 80
    assert record["authentication_results"] == ["mx.agence.fr; dkim=pass header.d=partner.fr; dmarc=pass"]
    assert record["understanding"] == {"backend": "rules", "intent": "unlock", "confidence": 0.95,
                                       "decision": "auto", "reasons": ["rule:unlock"]}  # fmt: skip
    assert record["decision"] == AUTOMATED and record["playbook"] == "unlock@1#abcdef"
    assert record["changes"][0]["before"] == {"locked": "true", "lockoutTime": "133"}
    assert record["changes"][0]["server"] == "dc1.agence.local"
    assert record["ticket_number"] == "INC0000001" and record["connector_request_ids"] == ["graph-req-1"]
    assert record["code_version"] and record["format"] == "sesame.decision/1"


def test_excerpt_masks_secrets_phones_and_addresses() -> None:
    assert CANARY not in excerpt(f"Bonjour, mot de passe : {CANARY} merci")
    assert CANARY not in excerpt(f"Mon MDP\n{CANARY}")
    assert CANARY not in excerpt(f"Voici {CANARY} pour jdupont")  # looks like a password even without the word
    masked = excerpt("Appelez le 06 12 34 56 78 ou jean.dupont@partner.fr")
    assert "12 34" not in masked and "…78" in masked and "j…@partner.fr" in masked
    assert len(excerpt("a " * 200)) <= 80


def test_details_and_states_never_keep_a_password() -> None:
    assert mask_secrets(f"le mot de passe est {CANARY}") == "le mot de passe est [masqué]"
    assert mask_secrets("reset_password refused by policy") == "reset_password refused by policy"
    state = safe_state({"password": CANARY, "unicodePwd": CANARY, "temp_password": CANARY, "pwdLastSet": "0",
                        "mustChangePassword": "true", "note": f"pwd={CANARY}"})  # fmt: skip
    assert state == {"pwdLastSet": "0", "mustChangePassword": "true", "note": "pwd=[masqué]"}


def test_the_canary_secret_appears_nowhere_in_the_audit_tables(ledger: Ledger) -> None:
    req = request(9, f"Bonjour,\nmot de passe : {CANARY}\nmerci")
    assert ledger.register(req)
    ledger.record_action(req.key, step="reset", action="reset_password", target="CN=u9", before={"pwdLastSet": "1"},
                         after={"pwdLastSet": "0", "password": CANARY}, dry_run=False)  # fmt: skip
    ledger.finish(req.key, Outcome(decision=HANDED_OVER, reason="unsure_understanding", detail=f"mdp = {CANARY}",
                                   understanding={"reasons": [f"password: {CANARY}"]}), request=req)  # fmt: skip
    out = io.StringIO()
    assert export(ledger.engine, None, None, out) == 1
    with ledger.engine.connect() as connection:
        dump = [str(row) for table in ("audit_records", "audit_head", "audit_anchors")
                for row in connection.execute(text(f"SELECT * FROM {table}"))]  # fmt: skip
    assert dump and not any(CANARY in row for row in dump)
    assert CANARY not in out.getvalue()


# -- the chain -----------------------------------------------------------------------------------


def test_an_intact_chain_verifies(ledger: Ledger) -> None:
    report = verify(filled(ledger, 7).engine, KEY)
    assert report.ok and report.checked == 7 and report.problems == [] and report.head_seq == 7


def test_an_empty_trail_verifies(ledger: Ledger) -> None:
    assert verify(ledger.engine, KEY).ok


def test_a_ledger_without_key_writes_no_audit_record(tmp_path: Path) -> None:
    plain = Ledger(f"sqlite:///{tmp_path / 'plain.db'}")
    finish(plain, 1)
    assert rows(plain) == []


def test_a_modified_record_is_detected_with_its_seq(ledger: Ledger) -> None:
    filled(ledger)
    sql(ledger, "UPDATE audit_records SET record = replace(record, 'jdupont', 'admin') WHERE seq = 3")
    report = verify(ledger.engine, KEY)
    assert not report.ok
    assert report.problems == ["record_modified: seq 3 (<m3@partner.fr>): the record does not match its hash"]


def test_a_modified_time_column_is_detected(ledger: Ledger) -> None:
    filled(ledger)
    sql(ledger, "UPDATE audit_records SET at = '2020-01-01 00:00:00.000000' WHERE seq = 2")
    assert codes(verify(ledger.engine, KEY).problems) == {"column_mismatch"}


def test_a_deleted_record_is_detected(ledger: Ledger) -> None:
    filled(ledger)
    sql(ledger, "DELETE FROM audit_records WHERE seq = 3")
    report = verify(ledger.engine, KEY)
    assert not report.ok and codes(report.problems) == {"record_missing", "chain_broken"}
    assert any("seq 3..3" in p for p in report.problems)


def test_deleting_the_last_record_is_detected_by_the_head(ledger: Ledger) -> None:
    filled(ledger)
    sql(ledger, "DELETE FROM audit_records WHERE seq = 5")
    assert codes(verify(ledger.engine, KEY).problems) == {"head_mismatch"}


def test_deleting_the_oldest_records_without_anchor_is_detected(ledger: Ledger) -> None:
    filled(ledger)
    sql(ledger, "DELETE FROM audit_records WHERE seq <= 2")
    assert codes(verify(ledger.engine, KEY).problems) == {"record_missing"}


def test_a_forged_record_appended_at_the_end_is_detected(ledger: Ledger) -> None:
    filled(ledger)
    [*_, (_, stored, _, head)] = rows(ledger)
    forged = json.loads(stored) | {"key": "<forged@x>", "decision": AUTOMATED}
    canonical = canonical_json(forged).decode()
    digest = chain_hash(OTHER_KEY, head, canonical.encode())
    sql(ledger, "INSERT INTO audit_records (seq, request_key, at, record, prev_hash, hash) "
                "SELECT 6, '<forged@x>', at, :record, :prev, :hash FROM audit_records WHERE seq = 5",
        record=canonical, prev=head, hash=digest)  # fmt: skip
    sql(ledger, "UPDATE audit_head SET seq = 6, hash = :hash", hash=digest)
    report = verify(ledger.engine, KEY)
    assert not report.ok and any(p.startswith("record_modified: seq 6") for p in report.problems)


def test_a_record_inserted_in_the_middle_is_detected(ledger: Ledger) -> None:
    filled(ledger)
    stored = {seq: (record, prev, digest) for seq, record, prev, digest in rows(ledger)}
    for seq in (5, 4):  # make room at seq 4, highest first (primary key)
        sql(ledger, "UPDATE audit_records SET seq = :new WHERE seq = :old", new=seq + 1, old=seq)
    forged = canonical_json(json.loads(stored[3][0]) | {"key": "<forged@x>"}).decode()
    sql(ledger, "INSERT INTO audit_records (seq, request_key, at, record, prev_hash, hash) "
                "SELECT 4, '<forged@x>', at, :record, :prev, :hash FROM audit_records WHERE seq = 3",
        record=forged, prev=stored[3][2], hash=chain_hash(OTHER_KEY, stored[3][2], forged.encode()))  # fmt: skip
    report = verify(ledger.engine, KEY)
    assert not report.ok
    assert any(p.startswith("record_modified: seq 4") for p in report.problems)
    assert any(p.startswith("chain_broken: seq 5") for p in report.problems)


def test_a_wrong_key_is_reported_as_such(ledger: Ledger) -> None:
    report = verify(filled(ledger).engine, OTHER_KEY)
    assert not report.ok and codes(report.problems) == {"wrong_key"} and len(report.problems) == 1


def test_appending_with_a_wrong_key_is_refused(ledger: Ledger) -> None:
    assert key_matches(ledger.engine, OTHER_KEY)  # nothing written yet
    filled(ledger, 1)
    assert key_matches(ledger.engine, KEY) and not key_matches(ledger.engine, OTHER_KEY)
    ledger.audit_key = OTHER_KEY
    with pytest.raises(AuditError, match="not the key"):
        finish(ledger, 2)
    assert ledger.status("<m2@partner.fr>") == "received"  # the finish was rolled back with the record
    ledger.audit_key = KEY
    assert verify(ledger.engine, KEY).ok


def test_several_workers_appending_at_once_keep_one_chain(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    Ledger(url, audit_key=KEY).engine.dispose()
    errors: list[BaseException] = []

    def worker(w: int) -> None:
        mine = Ledger(url, audit_key=KEY)
        try:
            for n in range(10):
                finish(mine, 100 * w + n)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            mine.engine.dispose()

    threads = [threading.Thread(target=worker, args=(w,)) for w in range(1, 5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    report = verify(Ledger(url).engine, KEY)
    assert report.ok and report.checked == 40


def test_verifying_while_a_worker_appends_finds_no_false_alarm(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    writer, reader = Ledger(url, audit_key=KEY), Ledger(url)
    done = threading.Event()

    def append() -> None:
        try:
            for n in range(25):
                finish(writer, n)
        finally:
            done.set()

    thread = threading.Thread(target=append)
    thread.start()
    reports = []
    while not done.is_set():
        reports.append(verify(reader.engine, KEY))
    thread.join()
    reports.append(verify(reader.engine, KEY))
    assert all(report.ok for report in reports), [r.problems for r in reports if not r.ok][:1]
    assert reports[-1].checked == 25


def test_a_record_added_behind_the_heads_back_is_detected(ledger: Ledger) -> None:
    filled(ledger, 2)
    [_, (_, stored, _, head)] = rows(ledger)
    sql(ledger, "INSERT INTO audit_records (seq, request_key, at, record, prev_hash, hash) "
                "SELECT 3, request_key, at, record, :prev, :hash FROM audit_records WHERE seq = 2",
        prev=head, hash=chain_hash(OTHER_KEY, head, stored.encode()))  # fmt: skip
    assert codes(verify(ledger.engine, KEY).problems) == {"record_modified", "head_mismatch"}


def test_an_old_actions_table_gains_the_server_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE actions (id INTEGER PRIMARY KEY, request_id INTEGER, step VARCHAR(128),"
                   " action VARCHAR(128), target TEXT, before TEXT, after TEXT, dry_run BOOLEAN, at DATETIME)")
    old = Ledger(f"sqlite:///{path}", audit_key=KEY)
    finish(old, 1)
    assert json.loads(rows(old)[0][1])["changes"][0]["server"] == "dc1.agence.local"


def test_the_key_never_shows_and_must_be_long_enough() -> None:
    assert "k" * 8 not in repr(KEY) and "k" * 8 not in str(KEY)
    with pytest.raises(AuditError, match="too short"):
        AuditKey("short")


# -- retention, checkpoints, export ----------------------------------------------------------------


def dated(ledger: Ledger, monkeypatch: pytest.MonkeyPatch, days_ago: list[int]) -> datetime:
    now = datetime(2025, 6, 1, 12, 0)
    for n, ago in enumerate(days_ago, start=1):
        monkeypatch.setattr(ledger_module, "utcnow", lambda ago=ago: now - timedelta(days=ago))
        finish(ledger, n)
    return now


def test_purge_keeps_the_chain_verifiable(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    now = dated(ledger, monkeypatch, [400, 380, 200, 10, 1])
    report = purge_older_than(ledger.engine, KEY, 365, now=now)
    assert (report.purged, report.through) == (2, 2)
    assert [seq for seq, *_ in rows(ledger)] == [3, 4, 5]
    assert verify(ledger.engine, KEY).ok
    monkeypatch.setattr(ledger_module, "utcnow", lambda: now)
    finish(ledger, 6)
    assert purge_older_than(ledger.engine, KEY, 365, now=now).through is None
    assert purge_older_than(ledger.engine, KEY, 5, now=now).through == 4
    verified = verify(ledger.engine, KEY)
    assert verified.ok and verified.first_seq == 5 and verified.head_seq == 6


def test_purging_everything_still_verifies(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    now = dated(ledger, monkeypatch, [400, 390])
    assert purge_older_than(ledger.engine, KEY, 30, now=now).purged == 2
    assert verify(ledger.engine, KEY).ok


def test_a_forged_purge_anchor_is_detected(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    dated(ledger, monkeypatch, [3, 2, 1])
    [_, (_, _, _, second), *_] = rows(ledger)
    sql(ledger, "INSERT INTO audit_anchors (purged_through, hash, at, mac) VALUES (2, :h, '2025-01-01 00:00:00', :m)",
        h=second, m="0" * 64)  # fmt: skip
    sql(ledger, "DELETE FROM audit_records WHERE seq <= 2")
    assert codes(verify(ledger.engine, KEY).problems) == {"anchor_invalid", "record_missing"}


def test_a_broken_chain_is_not_purged(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    now = dated(ledger, monkeypatch, [400, 300])
    sql(ledger, "UPDATE audit_records SET record = replace(record, 'unlock', 'reset') WHERE seq = 1")
    with pytest.raises(AuditError, match="refusing to purge"):
        purge_older_than(ledger.engine, KEY, 30, now=now)
    assert len(rows(ledger)) == 2


def test_checkpoints_catch_a_rolled_back_end(ledger: Ledger, tmp_path: Path) -> None:
    filled(ledger)
    checkpoints = tmp_path / "worm" / "checkpoints.jsonl"
    checkpoint = write_checkpoint(ledger.engine, KEY, checkpoints)
    assert (checkpoint.seq, checkpoint.count) == (5, 5)
    assert verify(ledger.engine, KEY, checkpoint_file=checkpoints).ok
    # Cut the last two records and rewind the head consistently: only the checkpoint can tell.
    [*_, (_, _, _, third), _, _] = rows(ledger)
    sql(ledger, "DELETE FROM audit_records WHERE seq > 3")
    sql(ledger, "UPDATE audit_head SET seq = 3, hash = :h", h=third)
    assert verify(ledger.engine, KEY).ok
    assert codes(verify(ledger.engine, KEY, checkpoint_file=checkpoints).problems) == {"checkpoint_mismatch"}


def test_a_tampered_checkpoint_line_is_detected(ledger: Ledger, tmp_path: Path) -> None:
    filled(ledger, 2)
    checkpoints = tmp_path / "checkpoints.jsonl"
    write_checkpoint(ledger.engine, KEY, checkpoints)
    checkpoints.write_text(checkpoints.read_text().replace('"count":2', '"count":9'))
    assert codes(verify(ledger.engine, KEY, checkpoint_file=checkpoints).problems) == {"checkpoint_invalid"}


def test_export_writes_json_lines_in_the_window(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> None:
    now = dated(ledger, monkeypatch, [20, 10, 1])
    out = io.StringIO()
    count = export(ledger.engine, (now - timedelta(days=15)).replace(tzinfo=UTC), now - timedelta(days=5), out)
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert count == 1 and [line["seq"] for line in lines] == [2]
    assert lines[0]["record"]["key"] == "<m2@partner.fr>" and len(lines[0]["hash"]) == 64


def test_record_dataclass_defaults_are_canonical() -> None:
    record = DecisionRecord(key="k", channel="email", at="2025-01-01T00:00:00.000000Z", status="done",
                            correspondent="a@b.fr")  # fmt: skip
    assert json.loads(canonical_json(record))["changes"] == []


# -- the command-line logic --------------------------------------------------------------------------


@dataclass
class AuditSection:
    key: SecretStr | None
    retention_days: int = 365
    checkpoint_file: Path | None = None


@dataclass
class Settings:
    ledger_url: str
    audit: AuditSection


def test_verify_command_reports_and_checkpoints(ledger: Ledger, tmp_path: Path) -> None:
    filled(ledger, 3)
    checkpoints = tmp_path / "cp.jsonl"
    url = str(ledger.engine.url)
    settings = Settings(url, AuditSection(SecretStr("k" * 32 + "-unit-test-audit-key"), checkpoint_file=checkpoints))
    code, message = verify_command(settings)
    assert code == OK and "3 record(s)" in message and checkpoints.read_text().count("\n") == 1
    sql(ledger, "DELETE FROM audit_records WHERE seq = 2")
    code, message = verify_command(settings)
    assert code == BROKEN and "record_missing" in message and "k" * 8 not in message
    assert verify_command(Settings(url, AuditSection(None)))[0] == MISCONFIGURED
    assert verify_command(Settings(url, AuditSection(SecretStr("short"))))[0] == MISCONFIGURED


def test_export_and_purge_commands(ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = dated(ledger, monkeypatch, [400, 1])
    settings = Settings(str(ledger.engine.url), AuditSection(SecretStr("k" * 32 + "-unit-test-audit-key")))
    output = tmp_path / "siem" / "audit.jsonl"
    assert export_command(settings, None, None, output) == (OK, f"2 audit record(s) exported to {output}")
    assert len(output.read_text().splitlines()) == 2
    code, message = purge_command(settings, now=now)
    assert code == OK and "through seq 1" in message
    assert verify_command(settings)[0] == OK

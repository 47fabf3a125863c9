"""``sesame playbook test``: run a playbook's YAML test cases through the real handler, on in-memory systems.

A case file sits next to the playbooks, in ``tests/<playbook id>.yaml``::

    playbook: account_unlock
    defaults:                         # merged into every case (mappings merged, lists replaced)
      partner: {id: ml, ou: "OU=Mission Locale,OU=Partenaires,DC=agence,DC=local", domains: [ml.fr],
                correspondents: [claire.fabre@ml.fr]}
      request: {intent: unlock, sender: claire.fabre@ml.fr, targets: [jdupont]}
      accounts: [{sam: jdupont, locked: true}]
    cases:
      - name: unlocks a locked account
        expect: {decision: automated, writes: [unlock], reply: ["déverrouillé"], closure: {tag: UO-TR1.1}}
      - name: an account that is not locked goes to people
        accounts: [{sam: jdupont, locked: false}]
        expect: {decision: handed_over, reason: account_not_locked, writes: []}

Each case builds fresh in-memory systems (directory, tickets, Entra, Intune, SMS), a ledger in a temporary
directory and the real ``RequestHandler``; the understanding is the case's ``request`` (intent, targets,
decision, confidence), so a case tests the playbook, not the text classifier. Nothing leaves the process.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from automations.ledger import Ledger
from automations.playbooks.engine import BACKOFF_SLEEP
from automations.playbooks.spec import Playbook
from automations.playbooks.validate import playbook_files, validate_file

# Keys a case may set; anything else is a typo in the test file.
CASE_KEYS = frozenset({"name", "request", "partner", "accounts", "cloud_users", "devices", "tickets", "fail",
                       "approvals", "desk", "exclusions", "mode", "expect", "ineffective"})
EXPECT_KEYS = frozenset({"decision", "reason", "detail", "writes", "reply", "closure", "note", "ticket", "raises"})
DEFAULT_DESK = {"automation_group": "Automatisation", "human_group": "N1", "close_code": "Résolution définitive",
                "kb_article": "KB0000000", "automation_tag": "UO-TR1.1"}


@dataclass
class CaseResult:
    """One case: its name, whether it passed, and the differences when it did not."""

    name: str
    ok: bool
    differences: list[str] = field(default_factory=list)


@dataclass
class Report:
    """What ``sesame playbook test`` prints and whether everything passed."""

    lines: list[str] = field(default_factory=list)
    passed: int = 0
    failed: int = 0

    @property
    def ok(self) -> bool:
        return self.failed == 0 and self.passed > 0

    @property
    def text(self) -> str:
        summary = f"{self.passed + self.failed} case(s): {self.passed} passed, {self.failed} failed"
        return "\n".join([*self.lines, summary])


def _scratch() -> tempfile.TemporaryDirectory[str]:
    """A throwaway directory for the cases' ledger, in memory (``/dev/shm``) when the system has one: the
    ledger commits every step, and nothing of it needs to survive the run."""
    shm = Path("/dev/shm")
    where = str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None
    return tempfile.TemporaryDirectory(prefix="sesame-playbook-test-", dir=where)


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base.get(key), value) if key in base else value
        return merged
    return override


def _days_ago(value: Any, now: datetime) -> datetime | None:
    return None if value is None else now - timedelta(days=float(value))


def _accounts(case: Mapping[str, Any], partner_ou: str, domain: str, now: datetime) -> list[Any]:
    from connectors.directory import Account

    accounts = []
    for raw in case.get("accounts") or []:
        item = dict(raw)
        sam = str(item.pop("sam"))
        ou = str(item.pop("ou", partner_ou))
        values: dict[str, Any] = {
            "dn": f"CN={sam},{ou}", "sam": sam, "upn": f"{sam}@agence.local", "mail": f"{sam}@{domain}",
            "display_name": sam.replace(".", " ").title(), "enabled": True, "locked": False,
            # An ordinary account by default (not new, not dormant, password not just changed): a case says
            # otherwise with created_days_ago, changed_days_ago, last_logon_days_ago, password_last_set_days_ago.
            "last_logon": now - timedelta(days=1), "created": now - timedelta(days=400),
            "changed": now - timedelta(days=30), "password_last_set": now - timedelta(days=60),
        }
        for key in ("created", "changed", "last_logon", "password_last_set"):
            if f"{key}_days_ago" in item:
                values[key] = _days_ago(item.pop(f"{key}_days_ago"), now)
        for key in ("groups", "service_principal_names"):
            if key in item:
                values[key] = frozenset(item.pop(key))
        values.update(item)
        accounts.append(Account(**values))
    return accounts


def _cloud_users(case: Mapping[str, Any]) -> list[Any]:
    from automations.playbooks.memory import MemoryCloudUser, PhonedCloudIdentity
    from connectors.identity import CloudRole

    users = []
    for index, raw in enumerate(case.get("cloud_users") or []):
        item = dict(raw)
        upn = str(item.pop("upn"))
        identity = PhonedCloudIdentity(
            id=str(item.pop("id", f"00000000-0000-0000-0000-{index + 1:012d}")), user_principal_name=upn,
            display_name=str(item.pop("display_name", upn.partition("@")[0].replace(".", " ").title())),
            mail=item.pop("mail", upn), enabled=bool(item.pop("enabled", True)),
            synced_from_ad=bool(item.pop("synced_from_ad", False)),
            on_premises_sam_account_name=item.pop("sam", None), mobile_phone=item.pop("mobile_phone", None))
        roles = tuple(CloudRole(name, f"role-{name}", "/", "active") for name in item.pop("roles", []))
        roles += tuple(CloudRole(name, f"role-{name}", "/", "eligible") for name in item.pop("eligible_roles", []))
        users.append(MemoryCloudUser(identity, roles=roles, sspr_registered=item.pop("sspr_registered", None)))
        if item:
            raise ValueError(f"cloud_users[{index}]: unknown keys {sorted(item)}")
    return users


def _devices(case: Mapping[str, Any]) -> list[Any]:
    from connectors.devices import ManagedDevice

    return [ManagedDevice(id=str(d.get("id", f"device-{i + 1}")), name=str(d["name"]), owner=str(d["owner"]),
                          operating_system=str(d.get("operating_system", "iOS")),
                          os_version=str(d.get("os_version", "17")),
                          model=str(d.get("model", "iPhone")), compliance=str(d.get("compliance", "compliant")),
                          management_state=str(d.get("management_state", "managed")))
            for i, d in enumerate(case.get("devices") or [])]


def _exclusions(raw: Any) -> Any:
    from automations.trust.exclusions import ExclusionPolicy

    values: dict[str, Any] = {k: (frozenset(v) if isinstance(v, list) else v) for k, v in dict(raw or {}).items()}
    return ExclusionPolicy(**values)


def run_case(playbook: Playbook, playbooks_dir: Path, case: Mapping[str, Any], *, ledger: Ledger | None = None,
             key: str = "<case@sesame.test>") -> dict[str, Any]:
    """Run one case through the handler; what happened (decision, reason, writes, reply, closure, note).

    ``ledger`` may be shared by the cases of a file (each has its own ``key``); a throwaway one otherwise.
    """
    if ledger is None:
        with _scratch() as scratch:
            return run_case(playbook, playbooks_dir, case, ledger=Ledger(f"sqlite:///{Path(scratch) / 'l.db'}"),
                            key=key)
    from automations.handling import DeskPolicy, RequestHandler
    from automations.playbooks.actions import ACTIONS
    from automations.playbooks.memory import MemoryDevices, MemoryDirectory, MemoryIdentities, MemorySms, MemoryTickets
    from automations.registry import Partner, PartnerRegistry
    from automations.replies import Templates
    from automations.request import Request
    from automations.trust.spray import MemoryLockoutStore, SprayDetector
    from automations.understanding import Understanding
    from connectors.tickets import NewIncident

    now = datetime.now(UTC)
    raw_partner = dict(case.get("partner") or {})
    partner = Partner(id=str(raw_partner.get("id", "partner")), name=str(raw_partner.get("name", "Partenaire")),
                      domains=frozenset(raw_partner.get("domains", ["partner.fr"])),
                      correspondents=frozenset(c.lower() for c in raw_partner.get("correspondents", [])),
                      ou=str(raw_partner.get("ou", "OU=Partner,DC=agence,DC=local")))
    domain = sorted(partner.domains)[0] if partner.domains else "partner.fr"
    request_spec = dict(case.get("request") or {})
    fail = dict(case.get("fail") or {})
    directory = MemoryDirectory(_accounts(case, partner.ou, domain, now), fail.get("directory"))
    directory.ineffective = set(case.get("ineffective") or [])
    tickets = MemoryTickets(fail.get("tickets"))
    identities = MemoryIdentities(_cloud_users(case), fail.get("identities")) if case.get("cloud_users") is not None \
        else None
    devices = MemoryDevices(_devices(case), fail.get("devices")) if case.get("devices") is not None else None
    sms = MemorySms(fail.get("sms"))
    earlier: set[str] = set()
    for existing in case.get("tickets") or []:
        probe = Request(key=str(existing["message_id"]), channel="email", sender_address="", sender_name="",
                        subject="", text="", headers=())
        earlier.add(tickets.create_incident(NewIncident(
            short_description=str(existing.get("subject", "Demande")), description="", contact_type="email",
            caller_email=None, assignment_group="Automatisation", correlation_id=probe.correlation_id)).sys_id)
    understanding = Understanding(
        intent=str(request_spec.get("intent", playbook.intents[0])),
        confidence=float(request_spec.get("confidence", 1.0)),
        targets=tuple(str(t) for t in request_spec.get("targets", [])), names=(),
        reasons=("test case",), decision=str(request_spec.get("decision", "auto")))

    class CaseUnderstander:
        name = "test-case"

        def understand(self, subject: str, body: str, *, sender: str | None = None) -> Understanding:
            return understanding

    mode = str(case.get("mode", "live"))
    tested = playbook.model_copy(update={"mode": mode})
    replies: list[str] = []
    desk = DeskPolicy(**{**DEFAULT_DESK, **dict(case.get("desk") or {})})
    approvals = frozenset(str(a) for a in case.get("approvals") or [])
    headers = [("Message-ID", key), *((str(k), str(v)) for k, v in dict(request_spec.get("headers") or {}).items())]
    request = Request(key=key, channel=str(request_spec.get("channel", "email")),
                      sender_address=str(request_spec.get("sender", next(iter(sorted(partner.correspondents)), "x@y")))
                      .lower(), sender_name="", subject=str(request_spec.get("subject", "(cas de test)")),
                      text="", headers=tuple(headers))
    handler = RequestHandler(
        tickets=tickets, directory=directory, ledger=ledger, registry=PartnerRegistry([partner]),
        understander=CaseUnderstander(), playbooks=dict.fromkeys(tested.intents, tested),
        templates=Templates(playbooks_dir), desk=desk, respond=lambda _request, text: replies.append(text),
        sms=sms, exclusion_policy=_exclusions(case.get("exclusions")),
        spray=SprayDetector(MemoryLockoutStore()), identities=identities, devices=devices,
        approvals=lambda _request, _ticket: approvals,
    )
    assert set(ACTIONS)  # the catalogue is loaded before the run
    ledger.register(request)
    waited: list[float] = []
    token = BACKOFF_SLEEP.set(waited.append)  # retries are counted, not waited for
    try:
        outcome = handler.handle(request)
    finally:
        BACKOFF_SLEEP.reset(token)
    writes = [a["action"] for a in ledger.actions(key) if not a["dry_run"]]
    ticket = tickets.tickets.get(outcome.ticket_sys_id or "")
    closure = ticket.closure if ticket else None
    actual: dict[str, Any] = {
        "decision": outcome.decision, "reason": outcome.reason, "detail": outcome.detail or "",
        "writes": writes, "reply": replies[-1] if replies else None,
        "closure": None if closure is None else {"close_code": closure.close_code, "kb_article": closure.kb_article,
                                                 "tag": closure.tag, "notes": closure.close_notes},
        "note": ticket.notes[-1] if ticket and ticket.notes else None,
        "ticket": None if ticket is None else ("existing" if ticket.ref.sys_id in earlier else "new"),
    }
    return actual


def _fragments(value: Any) -> list[str]:
    return [str(value)] if isinstance(value, str) else [str(v) for v in value]


def compare(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[str]:
    """Readable differences between what a case expects and what happened (empty when it passed)."""
    differences: list[str] = []

    def differ(key: str, want: Any, got: Any) -> None:
        if not isinstance(want, list | dict) and not isinstance(got, list | dict):
            differences.append(f"{key}: expected {want!r}, got {got!r}")
            return
        want_text = yaml.safe_dump(want, allow_unicode=True, sort_keys=False, width=100).splitlines()
        got_text = yaml.safe_dump(got, allow_unicode=True, sort_keys=False, width=100).splitlines()
        diff = difflib.unified_diff(want_text, got_text, "expected", "actual", lineterm="", n=2)
        differences.append(f"{key}:\n" + "\n".join(f"    {line}" for line in diff))

    for key, want in expected.items():
        got = actual.get(key)
        if key in ("reply", "note", "detail", "closure") and (want is None or want is False):
            if got:  # expected nothing
                differ(key, None, got)
        elif key in ("reply", "note", "detail"):
            missing = [f for f in _fragments(want) if got is None or f not in got]
            if missing:
                shown = "\n".join(f"      | {line}" for line in str(got).splitlines()) if got else "      (none)"
                differences.append(f"{key}: does not contain {missing}\n    actual:\n{shown}")
        elif key == "closure" and isinstance(want, Mapping):
            if got is None:
                differ(key, dict(want), None)
                continue
            view = {k: got.get(k) for k in want if k != "notes"}
            wanted = {k: v for k, v in want.items() if k != "notes"}
            if view != wanted:
                differ(key, wanted, view)
            missing = [f for f in _fragments(want.get("notes", [])) if f not in (got.get("notes") or "")]
            if missing:
                differences.append(f"closure.notes: does not contain {missing}\n    actual: {got.get('notes')}")
        elif got != want:
            differ(key, want, got)
    return differences


def run_cases(playbook_file: Path, cases_file: Path) -> list[CaseResult]:
    """Every case of ``cases_file`` against the playbook of ``playbook_file``."""
    problems, playbook = validate_file(playbook_file)
    errors = [p for p in problems if p.severity == "error"]
    if errors or playbook is None:
        return [CaseResult("(playbook is invalid)", False, [p.format() for p in errors])]
    data = yaml.safe_load(cases_file.read_text(encoding="utf-8")) or {}
    if data.get("playbook") != playbook.id:
        return [CaseResult("(case file)", False, [f"{cases_file}: `playbook: {playbook.id}` expected"])]
    defaults = data.get("defaults") or {}
    with _scratch() as scratch:
        ledger = Ledger(f"sqlite:///{Path(scratch) / 'ledger.db'}")
        return [_run_one(playbook, playbook_file, defaults, index, raw, ledger)
                for index, raw in enumerate(data.get("cases") or [])]


def _run_one(playbook: Playbook, playbook_file: Path, defaults: Mapping[str, Any], index: int, raw: Any,
             ledger: Ledger) -> CaseResult:
    name = str(raw.get("name", f"case {index + 1}"))
    unknown = sorted(set(raw) - CASE_KEYS) + sorted(set(raw.get("expect") or {}) - EXPECT_KEYS)
    if unknown or not raw.get("expect"):
        return CaseResult(name, False, [f"unknown keys {unknown}" if unknown else "no `expect`"])
    case = _merge(defaults, {k: v for k, v in raw.items() if k != "expect"})
    expect = dict(raw["expect"])
    try:
        actual = run_case(playbook, playbook_file.parent, case, ledger=ledger, key=f"<case-{index}@sesame.test>")
    except Exception as error:  # a broken case or fixture, or a failure the case expects: reported as such
        if expect.get("raises") == type(error).__name__:
            return CaseResult(name, True)
        return CaseResult(name, False, [f"the case raised {type(error).__name__}: {error}"])
    if "raises" in expect:
        return CaseResult(name, False, [f"expected {expect['raises']} to be raised; the case ended "
                                        f"{actual['decision']} ({actual['reason']})"])
    differences = compare(expect, actual)
    if differences and "detail" not in expect and actual.get("detail"):
        differences.append(f"(detail of the outcome: {actual['detail']})")
    return CaseResult(name, not differences, differences)


def cases_file_of(playbook_file: Path, playbook_id: str) -> Path:
    """Where the cases of a playbook live: ``tests/<id>.yaml`` beside it."""
    return playbook_file.parent / "tests" / f"{playbook_id}.yaml"


def run_test_path(path: Path, *, select: str | None = None) -> Report:
    """Run the cases of one playbook file or of every playbook of a directory; a playbook without cases fails."""
    report = Report()
    for playbook_file in playbook_files([path]):
        data = yaml.safe_load(playbook_file.read_text(encoding="utf-8")) or {}
        playbook_id = str(data.get("id", playbook_file.stem)) if isinstance(data, dict) else playbook_file.stem
        cases_file = cases_file_of(playbook_file, playbook_id)
        if not cases_file.is_file():
            report.lines.append(f"FAIL {playbook_file}: no test cases ({cases_file} is missing)")
            report.failed += 1
            continue
        results = [r for r in run_cases(playbook_file, cases_file) if select is None or select in r.name]
        passed = sum(r.ok for r in results)
        report.lines.append(f"{cases_file}: {passed}/{len(results)} passed")
        for result in results:
            if result.ok:
                report.passed += 1
                continue
            report.failed += 1
            report.lines.append(f"  FAIL {playbook_id} › {result.name}")
            report.lines.extend(f"    {line}" for text in result.differences for line in text.splitlines())
    return report

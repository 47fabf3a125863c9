"""Step semantics of a run: target, guards, when, approval, retry, timeout, on_error/compensate."""

from __future__ import annotations

import time
from typing import Any

import pytest

from automations.playbooks import HandOver, Playbook, PlaybookRun, run_playbook
from automations.playbooks.memory import MemoryDevices, MemoryDirectory
from automations.registry import Partner
from connectors.devices import ManagedDevice
from connectors.directory import Account, Change
from connectors.errors import ConnectorError, TransientError

OU = "OU=Mission Locale,OU=Partenaires,DC=agence,DC=local"
PARTNER = Partner("ml", "Mission Locale", frozenset({"ml.fr"}), frozenset({"claire@ml.fr"}), OU)
PHONE = ManagedDevice("d1", "IPHONE-J", "jdupont@agence.local", "iOS", "17", "iPhone", "compliant", "managed")


def account(**changes: Any) -> Account:
    values: dict[str, Any] = dict(dn=f"CN=jdupont,{OU}", sam="jdupont", upn="jdupont@agence.local",
                                  mail="jdupont@ml.fr", display_name="J Dupont", enabled=True, locked=True)
    values.update(changes)
    return Account(**values)


def playbook(**fields: Any) -> Playbook:
    data: dict[str, Any] = {"id": "p", "version": 1, "owner": "n1", "description": "d", "intents": ["unlock"],
                            "reply": {"template": "r.j2"}, "closure": {"close_notes": "done"}}
    data.update(fields)
    return Playbook.model_validate(data)


def make_run(book: Playbook, directory: MemoryDirectory | None = None, **extra: Any) -> PlaybookRun:
    changes: list[tuple[str, Change]] = []
    return PlaybookRun(playbook=book, targets=("jdupont",), partner=PARTNER,
                       directory=directory or MemoryDirectory([account()]), is_correspondent=lambda _a: False,
                       on_change=lambda step, change: changes.append((step, change)), sleep=lambda _s: None,
                       **extra)


def test_guards_run_before_any_step_and_a_condition_guard_names_its_reason() -> None:
    directory = MemoryDirectory([account(locked=False)])
    book = playbook(guards=[{"id": "scope", "check": "policy.require_in_partner_scope"},
                            {"id": "locked", "condition": "account.locked", "reason": "account_not_locked",
                             "detail": "not locked"}],
                    steps=[{"id": "unlock", "action": "directory.unlock"}])
    run = make_run(book, directory)
    with pytest.raises(HandOver) as refusal:
        run_playbook(run)
    assert (refusal.value.reason, refusal.value.detail) == ("account_not_locked", "not locked")
    assert run.passed == ["scope"] and directory.writes == [] and run.completed == []


def test_a_check_guard_reason_can_be_renamed_and_its_detail_is_kept() -> None:
    book = playbook(guards=[{"id": "admins", "check": "policy.require_not_privileged", "reason": "VIP_TEAM",
                             "with": {"extra_protected_groups": "${ inputs.protected }"}}],
                    inputs={"protected": {"type": "list", "default": ["Direction"]}})
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(book, MemoryDirectory([account(groups=frozenset({"Direction"}))])))
    assert refusal.value.reason == "VIP_TEAM" and "direction" in refusal.value.detail


def test_when_skips_a_step_and_outputs_feed_later_conditions() -> None:
    book = playbook(steps=[{"id": "self_service", "action": "delivery.self_service_link"},
                           {"id": "unlock", "action": "directory.unlock", "when": "steps.self_service.chosen"},
                           {"id": "verify", "action": "directory.verify_unlocked",
                            "when": "not steps.self_service.chosen and not account.locked"}])
    directory = MemoryDirectory([account()])
    run = run_playbook(make_run(book, directory))
    assert run.skipped == ["unlock", "verify"] and run.completed == ["self_service"] and directory.writes == []
    assert run.outputs["self_service"] == {"chosen": False}


def test_a_step_needing_approval_stops_before_acting_until_approved() -> None:
    book = playbook(guards=[{"id": "one_device", "check": "devices.require_one_device"}],
                    steps=[{"id": "lock", "action": "devices.remote_lock",
                            "approval": {"approvers": "N1", "note": "Vérifier {{ device.name }}"}}])
    devices = MemoryDevices([PHONE])
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(book, devices=devices))
    assert refusal.value.reason == "approval_required" and devices.writes == []
    assert "'lock'" in refusal.value.detail and "by N1" in refusal.value.detail and "IPHONE-J" in refusal.value.detail
    run = run_playbook(make_run(book, devices=devices, approvals=frozenset({"lock"})))
    assert [c.action for c in devices.writes] == ["remote_lock"] and run.completed == ["lock"]


def test_a_transient_failure_is_retried_with_backoff_for_reads_and_idempotent_writes() -> None:
    waits: list[float] = []
    directory = MemoryDirectory([account()], fail={"unlock": "transient*2"})
    book = playbook(steps=[{"id": "unlock", "action": "directory.unlock", "retry": {"attempts": 3, "backoff": 0.5}}])
    run = make_run(book, directory)
    run.sleep = waits.append
    run_playbook(run)
    assert waits == [0.5, 1.0] and directory.calls["unlock"] == 3 and len(directory.writes) == 1


def test_a_write_that_is_not_idempotent_is_never_retried_whatever_the_playbook_says() -> None:
    devices = MemoryDevices([PHONE], fail={"remote_lock": "transient*1"})
    book = playbook(guards=[{"id": "one_device", "check": "devices.require_one_device"}],
                    steps=[{"id": "lock", "action": "devices.remote_lock", "retry": {"attempts": 3}}])
    with pytest.raises(TransientError):
        run_playbook(make_run(book, devices=devices))
    assert devices.calls["remote_lock"] == 1 and devices.writes == []


def test_a_step_past_its_timeout_hands_over_and_says_the_outcome_is_unknown() -> None:
    class Slow(MemoryDirectory):
        def unlock(self, account: Account, *, dry_run: bool = False) -> Change:
            time.sleep(1.0)
            return super().unlock(account, dry_run=dry_run)

    book = playbook(steps=[{"id": "unlock", "action": "directory.unlock", "timeout": 0.1}])
    started = time.monotonic()
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(book, Slow([account()])))
    assert time.monotonic() - started < 0.9
    assert refusal.value.reason == "step_timeout" and "outcome is unknown" in refusal.value.detail


def test_on_error_compensate_runs_the_compensation_then_hands_over() -> None:
    devices = MemoryDevices([PHONE], fail={"remote_lock": "error"})
    book = playbook(guards=[{"id": "one_device", "check": "devices.require_one_device"}],
                    steps=[{"id": "lock", "action": "devices.remote_lock", "on_error": "compensate",
                            "compensate": {"action": "devices.sync"}}])
    run = make_run(book, devices=devices, approvals=frozenset({"lock"}))
    with pytest.raises(ConnectorError):
        run_playbook(run)
    assert [c.action for c in devices.writes] == ["sync"] and run.compensated == ["lock"]

    handing = playbook(steps=[{"id": "stop", "action": "flow.hand_over", "with": {"reason": "NOPE"},
                               "on_error": "compensate", "compensate": {"action": "directory.unlock"}}])
    directory = MemoryDirectory([account()])
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(handing, directory))
    assert refusal.value.reason == "NOPE" and "compensated by directory.unlock" in refusal.value.detail
    assert [c.action for c in directory.writes] == ["unlock"]


def test_an_expression_that_fails_at_run_time_is_a_playbook_error_not_a_crash() -> None:
    book = playbook(target="none", steps=[{"id": "stop", "action": "flow.hand_over", "when": "account.locked",
                                           "with": {"reason": "X"}}])
    with pytest.raises(HandOver) as refusal:
        run_playbook(make_run(book))
    assert refusal.value.reason == "playbook_error" and "steps.stop.when" in refusal.value.detail


def test_a_cloud_identity_target_is_resolved_in_entra() -> None:
    from automations.playbooks.memory import MemoryCloudUser, MemoryIdentities
    from connectors.identity import CloudIdentity

    user = CloudIdentity("u1", "l.martin@ml.fr", "L Martin", "l.martin@ml.fr", True, False)
    book = playbook(target="cloud_identity",
                    guards=[{"id": "domain", "condition": "account.mail_domain in partner.domains",
                             "reason": "out_of_scope"},
                            {"id": "cloud", "condition": "not account.synced_from_ad", "reason": "SYNCED"}])
    run = make_run(book, identities=MemoryIdentities([MemoryCloudUser(user)]))
    run.targets = ("l.martin@ml.fr",)
    run_playbook(run)
    assert run.identity == user and run.account is not None and run.account.dn == "entra:u1"
    assert run.passed == ["domain", "cloud"]
    with pytest.raises(HandOver, match="ENTRA_NOT_CONFIGURED"):
        run_playbook(make_run(book))

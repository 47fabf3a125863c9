"""The actions a playbook step may name. Each reads and updates the run; a refusal raises ``HandOver``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from automations.policy import is_under, privileged_reason
from connectors.directory import Account

if TYPE_CHECKING:
    from automations.playbooks.runner import PlaybookRun


class HandOver(Exception):
    """The playbook stops and a human takes over; ``reason`` is a stable code, ``detail`` says why in words,
    ``alert`` when the security team must be told as well (privileged target, spray…)."""

    def __init__(self, reason: str, detail: str, *, alert: bool = False) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.alert = alert


# An action may return plain data, read by later steps as ``steps.<id>.*``.
Action = Callable[["PlaybookRun", dict[str, Any]], "dict[str, Any] | None"]


def _account(run: PlaybookRun) -> Account:
    if run.account is None:
        raise HandOver("playbook_error", "a step needs the account, but no earlier step found it")
    return run.account


def find_account(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """Resolve every identifier the request gives to one and the same directory account, or hand over.

    A request may name one person twice (login and address); it may not name two people or an unknown one.
    """
    accounts: dict[str, Account] = {}
    for target in run.targets:
        found = run.directory.find_accounts(target)
        if not found:
            raise HandOver("account_not_found", f"no account matches {target!r} exactly")
        if len(found) > 1:
            raise HandOver("ambiguous_account", f"{len(found)} accounts match {target!r}")
        accounts[found[0].dn.lower()] = found[0]
    if len(accounts) > 1:
        names = ", ".join(sorted(a.sam for a in accounts.values()))
        raise HandOver("several_targets", f"the request names {len(accounts)} accounts: {names}")
    run.account = next(iter(accounts.values()), None)
    if run.account is None:
        raise HandOver("no_target_identifier", "the request names no login or e-mail address of the account")


def require_in_partner_scope(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """The account must sit under the requesting partner's OU."""
    account = _account(run)
    if not is_under(account.dn, run.partner.ou):
        raise HandOver("out_of_scope", f"{account.sam} is not under the OU of partner {run.partner.id!r}")


def require_not_privileged(run: PlaybookRun, args: dict[str, Any]) -> None:
    """Privileged accounts are never automated."""
    extra = frozenset(str(g) for g in args.get("extra_protected_groups", ()))
    reason = privileged_reason(_account(run), extra)
    if reason:
        raise HandOver("privileged_account", f"{_account(run).sam}: {reason}")


def require_not_correspondent(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """A correspondent's own account is not unlocked on an e-mail (it could be the attacker's way in)."""
    account = _account(run)
    if any(run.is_correspondent(a) for a in (account.mail or "", account.upn)):
        raise HandOver("target_is_correspondent", f"{account.sam} is a registered correspondent")


def require_enabled(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """Disabled accounts stay disabled; enabling is never automated."""
    if not _account(run).enabled:
        raise HandOver("account_disabled", f"{_account(run).sam} is disabled")


def require_locked(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """An unlock request for an account that is not locked needs a person to find the real problem."""
    if not _account(run).locked:
        raise HandOver("account_not_locked", f"{_account(run).sam} is not locked out")


def unlock(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """Clear the lockout (nothing is written in dry run)."""
    run.guard_writes()
    change = run.directory.unlock(_account(run), dry_run=run.dry_run)
    run.changes.append(change)
    run.on_change("unlock", change)


def verify_unlocked(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """Read the account back: the unlock counts only if the directory shows it."""
    if run.dry_run:
        return
    fresh = run.directory.read_account(_account(run).dn)
    if fresh.locked:
        raise HandOver("unlock_not_effective", f"{fresh.sam} still reads as locked after the unlock")
    run.account = fresh


ACTIONS: dict[str, Action] = {
    "directory.find_account": find_account,
    "policy.require_in_partner_scope": require_in_partner_scope,
    "policy.require_not_privileged": require_not_privileged,
    "policy.require_not_correspondent": require_not_correspondent,
    "policy.require_enabled": require_enabled,
    "policy.require_locked": require_locked,
    "directory.unlock": unlock,
    "directory.verify_unlocked": verify_unlocked,
}

# Password reset with out-of-band delivery, exclusions and unlock safety; imported last because they raise HandOver.
from automations.playbooks.reset_actions import RESET_ACTIONS  # noqa: E402

ACTIONS.update(RESET_ACTIONS)

# Entra ID, Intune and flow actions, for the same reason.
from automations.playbooks.cloud_actions import CLOUD_ACTIONS  # noqa: E402
from automations.playbooks.device_actions import DEVICE_ACTIONS  # noqa: E402
from automations.playbooks.flow_actions import FLOW_ACTIONS  # noqa: E402

ACTIONS.update(CLOUD_ACTIONS)
ACTIONS.update(DEVICE_ACTIONS)
ACTIONS.update(FLOW_ACTIONS)

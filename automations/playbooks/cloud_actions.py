"""Playbook actions on Entra ID users: directory roles, self-service registration, cloud-only password reset.

A cloud-only reset follows the AD reset's rules: every check before the write, a random temporary password
that must be changed at next sign-in and stays in ``run.secrets`` only, delivery by SMS to the number the
directory holds (never one from the request), and any failure after the write is ``RESET_DELIVERY_FAILED``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from automations.playbooks.actions import Action, HandOver
from automations.playbooks.reset_actions import PASSWORD, SELF_SERVICE, _cloud_identity, after_reset_failure
from automations.secrets import new_temporary_password
from connectors.errors import TransientError
from connectors.identity import CloudIdentity, MustUseActiveDirectoryError

if TYPE_CHECKING:
    from automations.playbooks.runner import PlaybookRun

ENTRA_NOT_CONFIGURED = "ENTRA_NOT_CONFIGURED"
NOT_REGISTERED_FOR_SELF_SERVICE = "NOT_REGISTERED_FOR_SELF_SERVICE"
SYNCED_FROM_AD = "SYNCED_FROM_AD"


def _identity(run: PlaybookRun) -> CloudIdentity:
    if run.identities is None:
        raise HandOver(ENTRA_NOT_CONFIGURED, "no Entra ID connection is configured")
    if run.identity is not None:
        return run.identity
    if run.account is None:
        raise HandOver("playbook_error", "a step needs the account, but no earlier step found it")
    identity = _cloud_identity(run, run.account)
    if identity is None:
        raise HandOver("account_not_found", f"Entra ID has no user {run.account.upn!r}")
    run.identity = identity
    return identity


def require_no_cloud_roles(run: PlaybookRun, _args: dict[str, Any]) -> dict[str, Any]:
    """No Entra directory role, active or eligible (PIM): privileged users always go to a person."""
    identity = _identity(run)
    assert run.identities is not None
    roles = run.identities.read_state(identity).roles
    if roles:
        names = ", ".join(sorted({f"{r.name} ({r.kind})" for r in roles}))
        raise HandOver("PRIVILEGED", f"{identity.user_principal_name} holds directory roles: {names}", alert=True)
    return {"roles": 0}


def sspr_registration(run: PlaybookRun) -> bool | None:
    """Whether the target is registered for self-service reset: the run's own knowledge first, then Entra."""
    if run.sspr_registered is not None:
        return run.sspr_registered
    if run.identities is None or run.account is None:
        return None
    identity = run.identity or _cloud_identity(run, run.account)
    return None if identity is None else run.identities.read_state(identity).sspr_registered


def require_sspr_registered(run: PlaybookRun, _args: dict[str, Any]) -> dict[str, Any]:
    """The user is registered for self-service password reset (SSPR), or hand over."""
    registered = sspr_registration(run)
    if registered is not True:
        state = "is not registered" if registered is False else "could not be confirmed as registered"
        raise HandOver(NOT_REGISTERED_FOR_SELF_SERVICE, f"the user {state} for self-service password reset")
    return {"registered": True}


def reset_cloud_password(run: PlaybookRun, args: dict[str, Any]) -> dict[str, Any]:
    """Set a random temporary password on a cloud-only Entra user, to change at next sign-in.

    ``with: {length: 16}``. Skipped when the self-service link was chosen. A user synchronised from AD is
    refused by Entra (``SYNCED_FROM_AD``: the AD playbook applies).
    """
    if run.delivery == SELF_SERVICE:
        return {"reset": False}
    identity = _identity(run)
    assert run.identities is not None
    run.guard_writes()
    secret = new_temporary_password(int(args.get("length", 16)))
    run.secrets.put(PASSWORD, secret)
    try:
        change = run.identities.reset_password(identity, secret.reveal(), force_change=True, dry_run=run.dry_run)
    except MustUseActiveDirectoryError as refusal:
        raise HandOver(SYNCED_FROM_AD, f"{identity.user_principal_name} is synchronised from AD: {refusal}") from None
    except TransientError as error:
        run.password_reset = True  # the outcome is unknown: treated as reset, never retried
        raise after_reset_failure(run, "reset_cloud_password", error) from None
    run.password_reset = True
    run.changes.append(change)
    run.on_change("reset_cloud_password", change)
    return {"reset": True}


CLOUD_ACTIONS: dict[str, Action] = {
    "policy.require_no_cloud_roles": require_no_cloud_roles,
    "policy.require_sspr_registered": require_sspr_registered,
    "identity.reset_password": reset_cloud_password,
}

"""Playbook actions for a password reset delivered out of band, and the trust checks reset and unlock share.

The reset playbook runs: checks → (self-service link instead, when the user is registered) → mobile on file →
reset with a random temporary password and must-change → read back → revoke cloud sessions (Entra, optional)
→ SMS to the account's own mobile → the handler's e-mail reply, which never holds the password.

The password exists only in ``run.secrets`` (masked, never serialised, cleared at the end of the run). The
number it goes to is the ``mobile`` the directory holds, never one from the request. Once the reset was sent
to the directory, any failure is one ``RESET_DELIVERY_FAILED`` hand-over, never a retry: the runner enforces it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from automations.playbooks.actions import Action, HandOver
from automations.secrets import Secret, new_temporary_password
from automations.trust import Refusal
from automations.trust.exclusions import ExclusionPolicy
from connectors.directory import Account, Change
from connectors.errors import ConnectorError, NotFoundError, TransientError

if TYPE_CHECKING:
    from automations.playbooks.runner import PlaybookRun
    from connectors.identity import CloudIdentity

NO_MOBILE_ON_FILE = "NO_MOBILE_ON_FILE"
SMS_NOT_CONFIGURED = "SMS_NOT_CONFIGURED"
RESET_DELIVERY_FAILED = "RESET_DELIVERY_FAILED"
SPRAY_CHECK_UNAVAILABLE = "SPRAY_CHECK_UNAVAILABLE"
MUST_CHANGE_NOT_SET = "MUST_CHANGE_NOT_SET"
PASSWORD = "temporary_password"
SELF_SERVICE = "self_service"
SMS = "sms"
DEFAULT_SMS_TEMPLATE = "reset_sms.fr.txt.j2"
_E164 = re.compile(r"\+[1-9]\d{7,14}")
_NATIONAL = re.compile(r"0[1-9]\d{8}")
_SEPARATORS = re.compile(r"[\s.\-()/\u00a0]")


def _account(run: PlaybookRun) -> Account:
    if run.account is None:
        raise HandOver("playbook_error", "a step needs the account, but no earlier step found it")
    return run.account


def hand_over(refusals: Sequence[Refusal]) -> HandOver:
    """One hand-over for several refusals: the first names it, the others are appended to its detail."""
    head, *rest = refusals
    detail = head.detail + "".join(f" — also {r.reason}: {r.detail}" for r in rest)
    return HandOver(head.reason, detail, alert=any(r.alert for r in refusals))


def after_reset_failure(run: PlaybookRun, step: str, error: BaseException) -> HandOver:
    """The hand-over for a failure once the password was reset: the person has a password nobody gave them."""
    sam = run.account.sam if run.account else "the account"
    if isinstance(error, HandOver):
        why = f"{error.reason}: {error.detail}"
    elif isinstance(error, ConnectorError):
        # Connector messages never hold a secret; the request id lets people trace the call.
        why = f"{error.system or 'system'} error ({type(error).__name__}): {error}"
        if error.request_id:
            why += f" [request id {error.request_id}]"
    else:
        why = f"unexpected {type(error).__name__}"  # the message could hold anything: not repeated
    return HandOver(RESET_DELIVERY_FAILED,
                    f"the password of {sam} was reset (must change at next logon) but step {step!r} failed — {why}. "
                    "The temporary password is lost on purpose: do not retry; help the person through the desk's "
                    "verified procedure (a new reset by a person).", alert=False)  # fmt: skip


def mobile_number(raw: str | None, country_code: str = "+33") -> str | None:
    """The directory's ``mobile`` as E.164, or None when it is empty or not a usable number.

    A national number (``06 11 22 33 44``) takes ``country_code``; ``00`` becomes ``+``.
    """
    text = _SEPARATORS.sub("", raw or "")
    if text.startswith("00"):
        text = "+" + text[2:]
    elif _NATIONAL.fullmatch(text):
        text = country_code + text[1:]
    return text if _E164.fullmatch(text) else None


def masked_number(number: str) -> str:
    """A phone number as records may show it: its last two digits only (AUD-04)."""
    digits = re.sub(r"\D", "", number)
    return f"…{digits[-2:]}" if len(digits) >= 2 else "…"


def _cloud_identity(run: PlaybookRun, account: Account) -> CloudIdentity | None:
    """The Entra user of ``account``, None when Entra is not configured or has no such user."""
    if run.identities is None:
        return None
    try:
        return run.identities.find_user(account.upn)
    except NotFoundError:
        return None


def require_no_exclusions(run: PlaybookRun, args: dict[str, Any]) -> None:
    """Privileged, service, VIP, disabled, new, recently changed (reset only) or dormant accounts go to a person.

    ``with: {action: reset|unlock}`` (default reset). Entra roles, active or eligible, count when Entra is set up.
    """
    account = _account(run)
    action = str(args.get("action", "reset"))
    if action not in ("reset", "unlock"):
        raise HandOver(
            "playbook_error", f"policy.require_no_exclusions: action must be reset or unlock, not {action!r}"
        )
    roles: tuple[str, ...] = ()
    identity = _cloud_identity(run, account)
    if identity is not None and run.identities is not None:
        roles = tuple(role.name for role in run.identities.read_state(identity).roles)
    policy = run.exclusion_policy or ExclusionPolicy()
    refusals = policy.exclusions(
        account, now=run.now(), cloud_roles=roles, action="unlock" if action == "unlock" else "reset"
    )
    if refusals:
        raise hand_over(refusals)


def require_no_spray(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """No automatic unlock while many accounts lock together or for an account that keeps locking (ACT-02)."""
    account = _account(run)
    if run.spray is None:
        raise HandOver(SPRAY_CHECK_UNAVAILABLE, "the playbook asks for the spray check but no lockout history is "
                                                "configured; unlock by hand after checking")  # fmt: skip
    refusals = run.spray.unlock_refusals(account, now=run.now())
    if refusals:
        raise hand_over(refusals)


def offer_self_service(run: PlaybookRun) -> bool:
    """Choose the self-service link when the user is registered for SSPR; False (and nothing done) otherwise.

    Registration comes from ``run.sspr_registered`` or, when unknown, from Entra. With AD only, neither says
    anything: this is a no-op returning False and the reset goes on by SMS.
    """
    registered = run.sspr_registered
    if registered is None:
        account = _account(run)
        identity = _cloud_identity(run, account)
        if identity is not None and run.identities is not None:
            registered = run.identities.read_state(identity).sspr_registered
    if registered is True:
        run.delivery = SELF_SERVICE
        return True
    return False


def self_service_link(run: PlaybookRun, _args: dict[str, Any]) -> dict[str, Any]:
    """Answer with the self-service reset link instead of resetting, when the user can do it alone (ACT-01).

    ``steps.<id>.chosen`` says whether the link was chosen (every later reset step is then a no-op).
    """
    return {"chosen": offer_self_service(run)}


def _sms_template(args: dict[str, Any]) -> str:
    return str(args.get("template", DEFAULT_SMS_TEMPLATE))


def require_mobile_on_file(run: PlaybookRun, args: dict[str, Any]) -> None:
    """Before any reset: a usable mobile on file, an SMS gateway and a renderable SMS text, or hand over.

    ``with: {template: reset_sms.fr.txt.j2, country_code: "+33"}``. Skipped when the self-service link was chosen.
    """
    if run.delivery == SELF_SERVICE:
        return
    account = _account(run)
    if mobile_number(account.mobile, str(args.get("country_code", "+33"))) is None:
        state = "no mobile number" if not (account.mobile or "").strip() else "a mobile number that is not usable"
        raise HandOver(NO_MOBILE_ON_FILE, f"the directory holds {state} for {account.sam}: the temporary password "
                                          "cannot be delivered out of band; nothing was reset. A number given in a "
                                          "request is never used.")  # fmt: skip
    if run.sms is None or run.templates is None:
        raise HandOver(SMS_NOT_CONFIGURED, "no SMS gateway is configured for password delivery; nothing was reset")
    # Render once with a placeholder now, so a broken template stops the run before the password changes.
    run.templates.render_file(_sms_template(args), password="X" * 16, account=account)


def reset_password(run: PlaybookRun, args: dict[str, Any]) -> None:
    """Set a new random password that must be changed at next logon; it stays in ``run.secrets`` only.

    ``with: {length: 16}`` (at least 15). Skipped when the self-service link was chosen.
    """
    if run.delivery == SELF_SERVICE:
        return
    account = _account(run)
    run.guard_writes()
    secret = new_temporary_password(int(args.get("length", 16)))
    run.secrets.put(PASSWORD, secret)
    try:
        change = run.directory.reset_password(account, secret.reveal(), must_change=True, dry_run=run.dry_run)
    except TransientError as error:
        # The outcome is unknown: the password may be set. Treat it as reset (no retry, a person checks).
        run.password_reset = True
        raise after_reset_failure(run, "reset_password", error) from None
    run.password_reset = True
    run.changes.append(change)
    run.on_change("reset_password", change)


def verify_must_change(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """Read the account back: the reset counts only if the directory shows must-change at next logon."""
    if run.delivery == SELF_SERVICE or run.dry_run:
        return
    fresh = run.directory.read_account(_account(run).dn)
    if not fresh.must_change_password:
        raise HandOver(MUST_CHANGE_NOT_SET, f"{fresh.sam} does not read as must-change-password after the reset")
    run.account = fresh


def revoke_sessions(run: PlaybookRun, _args: dict[str, Any]) -> None:
    """Revoke the user's Entra sessions after a reset; a no-op without Entra or for a user Entra does not know."""
    if run.delivery == SELF_SERVICE or run.identities is None:
        return
    account = _account(run)
    identity = _cloud_identity(run, account)
    if identity is None:
        return
    change = run.identities.revoke_sessions(identity, dry_run=run.dry_run)
    run.changes.append(change)
    run.on_change("revoke_sessions", change)


def sms_password(run: PlaybookRun, args: dict[str, Any]) -> None:
    """Send the temporary password by SMS to the mobile on file; the record keeps the last two digits only."""
    if run.delivery == SELF_SERVICE:
        return
    account = _account(run)
    secret = run.secrets.get(PASSWORD)
    number = mobile_number(account.mobile, str(args.get("country_code", "+33")))
    if not isinstance(secret, Secret) or number is None or run.sms is None or run.templates is None:
        raise HandOver("playbook_error", "delivery.sms_password needs directory.reset_password and "
                                         "delivery.require_mobile_on_file before it")  # fmt: skip
    text = run.templates.render_file(_sms_template(args), password=secret.reveal(), account=account).strip()
    receipt = run.sms.send(number, text, dry_run=run.dry_run)
    del text
    run.delivery = SMS
    change = Change("sms_password", account.dn, {}, {"to": masked_number(number), "gateway_id": receipt.id,
                                                     "status": receipt.status}, run.dry_run)  # fmt: skip
    run.changes.append(change)
    run.on_change("sms_password", change)


RESET_ACTIONS: dict[str, Action] = {
    "policy.require_no_exclusions": require_no_exclusions,
    "policy.require_no_spray": require_no_spray,
    "delivery.self_service_link": self_service_link,
    "delivery.require_mobile_on_file": require_mobile_on_file,
    "directory.reset_password": reset_password,
    "directory.verify_must_change": verify_must_change,
    "identity.revoke_sessions": revoke_sessions,
    "delivery.sms_password": sms_password,
}

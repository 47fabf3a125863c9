"""Step semantics of a run: the target, the guards, then each step's ``when``, approval, retry, timeout, on_error.

``runner.run_playbook`` drives the order and the journal; this module says what one guard or one step does.
Values read by expressions are built fresh as plain data (``values``), never Python objects.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from contextvars import ContextVar
from datetime import datetime
from typing import TYPE_CHECKING, Any

import structlog

from automations.playbooks.actions import HandOver, find_account
from automations.playbooks.catalog import CATALOG
from automations.playbooks.device_actions import device_values
from automations.playbooks.expressions import ExpressionError, argument_expression, parse
from automations.playbooks.spec import Guard, Playbook, Step
from connectors.directory import Account
from connectors.errors import NotFoundError, TransientError
from connectors.identity import AmbiguousIdentityError, CloudIdentity

if TYPE_CHECKING:
    from automations.playbooks.runner import PlaybookRun

log = structlog.get_logger(__name__)

# How a retry waits; `sesame playbook test` swaps in a clock that does not wait (the delay is still computed).
BACKOFF_SLEEP: ContextVar[Callable[[float], None]] = ContextVar("backoff_sleep", default=time.sleep)
APPROVAL_REQUIRED = "approval_required"
STEP_TIMEOUT = "step_timeout"
PLAYBOOK_ERROR = "playbook_error"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set | tuple | list):
        return sorted(_plain(v) for v in value) if isinstance(value, frozenset | set) else [_plain(v) for v in value]
    return value


# What expressions may read of the request and of the account, with their types (for the validator).
REQUEST_FIELDS = {"intent": "string", "channel": "string", "sender": "string", "sender_domain": "string",
                  "targets": "list", "confidence": "number", "decision": "string"}
ACCOUNT_FIELDS = {
    "dn": "string", "sam": "string", "upn": "string", "mail": "string", "mail_domain": "string",
    "display_name": "string", "enabled": "boolean", "locked": "boolean", "admin_count": "integer", "groups": "list",
    "bad_password_count": "integer", "must_change_password": "boolean", "password_never_expires": "boolean",
    "mobile_on_file": "boolean", "source": "string", "synced_from_ad": "boolean",
}


def request_values(*, intent: str, channel: str, sender: str, targets: tuple[str, ...], confidence: float,
                   decision: str) -> dict[str, Any]:
    """``request.*`` for expressions: what was understood, never the e-mail's own text."""
    return {"intent": intent, "channel": channel, "sender": sender.lower(),
            "sender_domain": sender.rpartition("@")[2].lower(), "targets": list(targets),
            "confidence": confidence, "decision": decision}


def account_values(account: Account | None, *, source: str = "directory", synced: bool = True) -> dict[str, Any] | None:
    """What expressions may read of the account: its state, never its mobile number (only whether there is one)."""
    if account is None:
        return None
    domain = (account.mail or account.upn).rpartition("@")[2].lower()
    return {
        "dn": account.dn, "sam": account.sam, "upn": account.upn, "mail": account.mail or "", "mail_domain": domain,
        "display_name": account.display_name, "enabled": account.enabled, "locked": account.locked,
        "admin_count": account.admin_count, "groups": _plain(account.groups),
        "bad_password_count": account.bad_password_count, "must_change_password": account.must_change_password,
        "password_never_expires": account.password_never_expires, "mobile_on_file": bool(account.mobile),
        "source": source, "synced_from_ad": synced,
    }


def values(run: PlaybookRun) -> dict[str, Any]:
    """Every value an expression of this run may read, as plain data."""
    cloud = run.identity is not None and run.playbook.target == "cloud_identity"
    inputs = {name: spec.default for name, spec in run.playbook.inputs.items()}
    return {
        "request": dict(run.request),
        "account": account_values(run.account, source="entra" if cloud else "directory",
                                  synced=run.identity.synced_from_ad if cloud and run.identity else True),
        "partner": {"id": run.partner.id, "name": run.partner.name, "ou": run.partner.ou,
                    "domains": sorted(run.partner.domains)},
        "inputs": inputs,
        "steps": {name: dict(output) for name, output in run.outputs.items()},
    }


def evaluate(run: PlaybookRun, source: str, where: str) -> Any:
    """The value of ``source``; a failure hands over with ``playbook_error`` (the playbook is wrong, not the case)."""
    try:
        return parse(source).evaluate(values(run))
    except ExpressionError as error:
        raise HandOver(PLAYBOOK_ERROR, f"{where}: {source!r}: {error}") from None


def arguments(run: PlaybookRun, raw: dict[str, Any], where: str) -> dict[str, Any]:
    """The step's arguments with every ``${…}`` expression evaluated."""
    resolved: dict[str, Any] = {}
    for name, value in raw.items():
        source = argument_expression(value)
        resolved[name] = value if source is None else evaluate(run, source, f"{where}.with.{name}")
    return resolved


# ----- target ----------------------------------------------------------------------------------------------------


def cloud_account(identity: CloudIdentity) -> Account:
    """An Entra user as the account the checks and templates read (no AD DN: ``entra:<object id>``)."""
    sam = identity.on_premises_sam_account_name or identity.user_principal_name.partition("@")[0]
    return Account(dn=f"entra:{identity.id}", sam=sam, upn=identity.user_principal_name, mail=identity.mail,
                   display_name=identity.display_name, enabled=identity.enabled, locked=False,
                   created=identity.created_at, password_last_set=identity.password_changed_at,
                   # The Entra connector reads no phone number today; a future one may expose ``mobile_phone``.
                   mobile=getattr(identity, "mobile_phone", None))


def resolve_target(run: PlaybookRun) -> None:
    """Resolve the request's identifiers to the one account (AD) or user (Entra) the playbook acts on."""
    if run.playbook.target == "account":
        find_account(run, {})
        return
    if run.playbook.target != "cloud_identity":
        return
    if run.identities is None:
        raise HandOver("ENTRA_NOT_CONFIGURED", "the playbook acts on Entra ID users but no Entra connection is set up")
    found: dict[str, CloudIdentity] = {}
    for target in run.targets:
        try:
            identity = run.identities.find_user(target)
        except NotFoundError:
            raise HandOver("account_not_found", f"no Entra ID user matches {target!r} exactly") from None
        except AmbiguousIdentityError as error:
            raise HandOver("ambiguous_account", f"{len(error.candidates)} Entra ID users match {target!r}") from None
        found[identity.id] = identity
    if len(found) > 1:
        raise HandOver("several_targets", f"the request names {len(found)} users")
    if not found:
        raise HandOver("no_target_identifier", "the request names no login or e-mail address of the account")
    run.identity = next(iter(found.values()))
    run.account = cloud_account(run.identity)


# ----- guards ----------------------------------------------------------------------------------------------------


def run_guard(run: PlaybookRun, guard: Guard) -> bool:
    """Check one guard; False when its ``when`` skipped it; a failure raises ``HandOver`` with its reason."""
    where = f"guards.{guard.id}"
    run.step = guard.id  # what a connector failure names
    if guard.when is not None and not evaluate(run, guard.when, f"{where}.when"):
        return False
    if guard.check is not None:
        try:
            output = CATALOG[guard.check].run(run, arguments(run, dict(guard.with_), where))
        except HandOver as refusal:
            if guard.reason is None:
                raise
            raise HandOver(guard.reason, guard.detail or refusal.detail, alert=refusal.alert) from None
        run.outputs[guard.id] = dict(output or {})
        return True
    assert guard.condition is not None and guard.reason is not None  # the model requires them
    if not evaluate(run, guard.condition, f"{where}.condition"):
        raise HandOver(guard.reason, guard.detail or f"guard {guard.id!r} failed: {guard.condition}")
    run.outputs[guard.id] = {"passed": True}
    return True


# ----- steps -----------------------------------------------------------------------------------------------------


def approval_note(run: PlaybookRun, step: Step) -> str:
    """What the work note asks a person to approve, in words."""
    assert step.approval is not None
    subject = run.account.sam if run.account else "the request"
    device = f" on device {run.device.name!r}" if run.device is not None else ""
    note = step.approval.note
    if note and run.templates is not None:
        note = run.templates.render_text(note, account=run.account, device=device_values(run.device)
                                         if run.device else None, playbook=run.playbook.label)
    who = f" by {step.approval.approvers}" if step.approval.approvers else ""
    return (f"step {step.id!r} ({step.action}) for {subject}{device} needs approval{who} before it runs; "
            f"nothing was done by this step. {note}".strip())


def _call(run: PlaybookRun, step: Step, args: dict[str, Any]) -> dict[str, Any] | None:
    """Run the action, abandoning it after ``step.timeout`` seconds (a write's outcome is then unknown)."""
    action = CATALOG[step.action].run
    if step.timeout is None:
        return action(run, args)
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"step-{step.id}")
    try:
        return pool.submit(action, run, args).result(timeout=step.timeout)
    except concurrent.futures.TimeoutError:
        unknown = " Its outcome is unknown: check the system before doing it again." if \
            CATALOG[step.action].kind == "write" else ""
        raise HandOver(STEP_TIMEOUT, f"step {step.id!r} ({step.action}) took more than {step.timeout:g} s.{unknown}"
                       ) from None
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def _attempts(step: Step) -> int:
    spec = CATALOG[step.action]
    if step.retry is None or (spec.kind == "write" and not spec.idempotent):
        return 1  # a write that is not idempotent is sent at most once, whatever the playbook says
    return step.retry.attempts


def _compensate(run: PlaybookRun, step: Step, error: BaseException) -> str:
    """Run the step's compensation (best effort); what happened, for the hand-over's detail."""
    assert step.compensate is not None
    try:
        CATALOG[step.compensate.action].run(run, arguments(run, dict(step.compensate.with_), f"steps.{step.id}"))
    except Exception as failure:
        log.warning("playbook.compensation_failed", step=step.id, error=type(failure).__name__)
        return f"; compensation {step.compensate.action} FAILED ({type(failure).__name__}): check by hand"
    run.compensated.append(step.id)
    return f"; compensated by {step.compensate.action}"


def execute_step(run: PlaybookRun, step: Step) -> bool:
    """Run one step with its semantics; False when ``when`` skipped it. A failure raises (``HandOver`` or the
    connector's error) after the compensation when ``on_error: compensate``."""
    where = f"steps.{step.id}"
    run.step = step.id  # the journal's "writing" mark and a connector failure name it
    if step.when is not None and not evaluate(run, step.when, f"{where}.when"):
        run.skipped.append(step.id)
        return False
    if step.approval is not None and step.approval.required and step.id not in run.approvals:
        raise HandOver(APPROVAL_REQUIRED, approval_note(run, step))
    args = arguments(run, dict(step.with_), where)
    attempts = _attempts(step)
    for attempt in range(1, attempts + 1):
        try:
            output = _call(run, step, args)
        except TransientError as error:
            if attempt < attempts:
                assert step.retry is not None
                delay = step.retry.backoff * 2 ** (attempt - 1)
                log.info("playbook.step_retry", step=step.id, attempt=attempt, delay=delay, error=type(error).__name__)
                (run.sleep or BACKOFF_SLEEP.get())(delay)
                continue
            _on_error(run, step, error)
            raise
        except Exception as error:
            _on_error(run, step, error)
            raise
        run.outputs[step.id] = dict(output or {})
        return True
    raise AssertionError("unreachable: the last attempt returns or raises")


def _on_error(run: PlaybookRun, step: Step, error: BaseException) -> None:
    if step.on_error != "compensate":
        return
    said = _compensate(run, step, error)
    if isinstance(error, HandOver):
        error.detail += said
        error.args = (f"{error.reason}: {error.detail}",)


def prepare(run: PlaybookRun, *, resumed: bool = False) -> None:
    """Before the steps: resolve the target (always: it is a read) and check the guards (not on a resume — they
    passed before the interrupted run's first step, and its own writes may change what they read)."""
    resolve_target(run)
    if resumed:
        return
    for guard in run.playbook.guards:
        if run_guard(run, guard):
            run.passed.append(guard.id)
    run.step = None


def step_outputs_schema(playbook: Playbook) -> dict[str, Any]:
    """What ``steps.<id>.*`` may read, for the validator: each guard's and step's declared outputs."""
    schema: dict[str, Any] = {}
    for guard in playbook.guards:
        schema[guard.id] = dict(CATALOG[guard.check].outputs) if guard.check in CATALOG else {"passed": "boolean"}
    for step in playbook.steps:
        if step.action in CATALOG:
            schema[step.id] = dict(CATALOG[step.action].outputs)
    return schema


__all__ = ["APPROVAL_REQUIRED", "STEP_TIMEOUT", "execute_step", "prepare", "values"]

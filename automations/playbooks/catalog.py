"""The catalogue of actions a playbook may name: what each does, its arguments and their types, its outputs.

The validator checks every ``check``/``action`` and its ``with`` against this catalogue; the runner reads
``kind`` and ``idempotent`` to decide what may be retried; the docs' action table says the same in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from automations.playbooks.actions import ACTIONS, Action
from automations.playbooks.expressions import ANY

ArgType = Literal["string", "integer", "number", "boolean", "list", "template"]
Kind = Literal["read", "check", "write", "flow"]

_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str, "template": str, "integer": int, "number": (int, float), "boolean": bool, "list": list,
}


@dataclass(frozen=True)
class Arg:
    """One argument of an action; ``template`` is a file name of ``playbooks/templates``."""

    type: ArgType
    required: bool = False
    choices: tuple[Any, ...] = ()
    minimum: float | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit this argument, or None."""
        expected = _PYTHON_TYPES[self.type]
        if not isinstance(value, expected) or (self.type in ("integer", "number") and isinstance(value, bool)):
            return f"expected {self.type}, got {type(value).__name__} {value!r}"
        if self.choices and value not in self.choices:
            return f"expected one of {', '.join(map(str, self.choices))}, got {value!r}"
        if self.minimum is not None and isinstance(value, int | float) and value < self.minimum:
            return f"expected at least {self.minimum:g}, got {value!r}"
        return None


@dataclass(frozen=True)
class ActionSpec:
    """An action: ``kind`` read/check/write/flow; a write is retried only when ``idempotent``."""

    name: str
    kind: Kind
    summary: str
    args: Mapping[str, Arg] = field(default_factory=dict)
    outputs: Mapping[str, Any] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()
    needs_account: bool = True
    idempotent: bool = True
    # Always hands over: the steps after an unconditional one can never run.
    terminal: bool = False

    @property
    def run(self) -> Action:
        return ACTIONS[self.name]


_SMS = {"template": Arg("template"), "country_code": Arg("string")}

_SPECS = [
    ActionSpec("directory.find_account", "read", "Resolve the request's identifiers to one AD account.",
               reasons=("account_not_found", "ambiguous_account", "several_targets", "no_target_identifier"),
               needs_account=False),
    ActionSpec("policy.require_in_partner_scope", "check", "The account is below the partner's OU.",
               reasons=("out_of_scope",)),
    ActionSpec("policy.require_not_privileged", "check", "No adminCount, no protected group.",
               args={"extra_protected_groups": Arg("list")}, reasons=("privileged_account",)),
    ActionSpec("policy.require_not_correspondent", "check", "The account is not a registered correspondent's.",
               reasons=("target_is_correspondent",)),
    ActionSpec("policy.require_enabled", "check", "The account is enabled.", reasons=("account_disabled",)),
    ActionSpec("policy.require_locked", "check", "The account is locked out.", reasons=("account_not_locked",)),
    ActionSpec("policy.require_no_exclusions", "check", "No exclusion (privileged, service, VIP, recent, dormant).",
               args={"action": Arg("string", choices=("reset", "unlock"))},
               reasons=("PRIVILEGED", "SERVICE_ACCOUNT", "VIP", "DISABLED", "RECENTLY_CREATED", "RECENTLY_CHANGED",
                        "DORMANT")),
    ActionSpec("policy.require_no_spray", "check", "No password-spray pattern, no repeated lockouts.",
               reasons=("SPRAY_SUSPECTED", "REPEATED_LOCKOUTS", "SPRAY_CHECK_UNAVAILABLE")),
    ActionSpec("policy.require_no_cloud_roles", "check", "No Entra directory role, active or eligible.",
               reasons=("PRIVILEGED", "ENTRA_NOT_CONFIGURED")),
    ActionSpec("policy.require_sspr_registered", "check", "The user is registered for self-service reset.",
               reasons=("NOT_REGISTERED_FOR_SELF_SERVICE",), outputs={"registered": "boolean"}),
    ActionSpec("delivery.require_mobile_on_file", "check", "A usable mobile on file, an SMS gateway, a template.",
               args=_SMS, reasons=("NO_MOBILE_ON_FILE", "SMS_NOT_CONFIGURED")),
    ActionSpec("devices.require_one_device", "check", "The user has exactly one managed device.",
               args={"operating_system": Arg("string")}, outputs={"count": "integer", "device": ANY},
               reasons=("DEVICES_NOT_CONFIGURED", "NO_DEVICE", "SEVERAL_DEVICES")),
    ActionSpec("delivery.self_service_link", "read", "Choose the self-service link when the user is registered.",
               outputs={"chosen": "boolean"}),
    ActionSpec("directory.unlock", "write", "Clear the lockout (lockoutTime = 0)."),
    ActionSpec("directory.verify_unlocked", "read", "Read back: the account is no longer locked.",
               reasons=("unlock_not_effective",)),
    ActionSpec("directory.reset_password", "write", "Random temporary password, must change at next logon.",
               args={"length": Arg("integer", minimum=15)}, reasons=("RESET_DELIVERY_FAILED",), idempotent=False),
    ActionSpec("directory.verify_must_change", "read", "Read back: must change password at next logon.",
               reasons=("MUST_CHANGE_NOT_SET",)),
    ActionSpec("identity.reset_password", "write", "Entra cloud-only reset, must change at next sign-in.",
               args={"length": Arg("integer", minimum=15)}, outputs={"reset": "boolean"},
               reasons=("SYNCED_FROM_AD", "ENTRA_NOT_CONFIGURED", "RESET_DELIVERY_FAILED"), idempotent=False),
    ActionSpec("identity.revoke_sessions", "write", "Revoke the user's Entra sessions (no-op without Entra)."),
    ActionSpec("delivery.sms_password", "write", "Send the temporary password by SMS to the mobile on file.",
               args=_SMS, reasons=("RESET_DELIVERY_FAILED",), idempotent=False),
    ActionSpec("devices.sync", "write", "Ask the device to check in with the MDM.",
               outputs={"sent": "boolean", "device": "string"}),
    ActionSpec("devices.remote_lock", "write", "Lock the device's screen now.",
               outputs={"sent": "boolean", "device": "string"}, idempotent=False),
    ActionSpec("devices.reset_passcode", "write", "Remove the device's passcode.",
               outputs={"sent": "boolean", "device": "string"}, idempotent=False),
    ActionSpec("flow.hand_over", "flow", "Hand the request to people with `reason` and `detail`.",
               args={"reason": Arg("string", required=True), "detail": Arg("string")}, needs_account=False,
               terminal=True),
]

CATALOG: dict[str, ActionSpec] = {spec.name: spec for spec in _SPECS}

# Every registered action is described, and nothing is described that does not exist.
assert set(CATALOG) == set(ACTIONS), sorted(set(CATALOG) ^ set(ACTIONS))

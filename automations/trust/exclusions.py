"""Accounts the bot never acts on by itself (security note PRIV-01, AUTHZ-02): each exclusion is a ``Refusal``.

Every rule reads the account as the directory returned it, never the request. A value the directory does not
give (``created``, ``changed``, ``last_logon`` = None) counts against the account: no positive evidence, no act.

``RECENTLY_CHANGED`` reads AD's ``whenChanged``, which moves on *any* write to the object, including a lockout,
an unlock (ours too), a ``lastLogonTimestamp`` refresh (every ~14 days) or a password change. It is therefore
checked for a reset only (``action="reset"``): for an unlock it would refuse every locked account, since the
lockout itself wrote ``lockoutTime``. Even for a reset it is a coarse, over-cautious stand-in for AUTHZ-02's
"no change to mobile, otherMobile, mail, otherMails in 7 days": a locked account changed within ``recent_days``
goes to a person. The precise rule needs the per-attribute times of ``msDS-ReplAttributeMetaData``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from automations.policy import PROTECTED_GROUPS
from automations.trust import Refusal
from connectors.directory import Account

PRIVILEGED = "PRIVILEGED"
SERVICE_ACCOUNT = "SERVICE_ACCOUNT"
VIP = "VIP"
DISABLED = "DISABLED"
RECENTLY_CREATED = "RECENTLY_CREATED"
RECENTLY_CHANGED = "RECENTLY_CHANGED"
DORMANT = "DORMANT"
# The order refusals come out in: the first is the one a hand-over is filed under.
REASONS = (PRIVILEGED, SERVICE_ACCOUNT, VIP, DISABLED, RECENTLY_CREATED, RECENTLY_CHANGED, DORMANT)
DEFAULT_SERVICE_NAME_PATTERNS = (r"^svc[-_.]", r"^adm[-_.]")

Purpose = Literal["reset", "unlock"]


def _lowered(values: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip().lower() for v in values if v.strip())


@dataclass(frozen=True)
class ExclusionPolicy:
    """What the organisation excludes on top of the built-in rules; values come from configuration.

    ``protected_groups`` add to AD's built-in protected groups (Tier-0/1 groups, bot operators…), compared
    without case on the names of every group the account belongs to, nested included. ``vip_accounts`` are
    sAMAccountNames, UPNs or DNs. ``service_name_patterns`` are regular expressions searched (ignoring case) in
    the sAMAccountName and in the local part of the UPN.
    """

    protected_groups: frozenset[str] = frozenset()
    vip_accounts: frozenset[str] = frozenset()
    service_name_patterns: tuple[str, ...] = DEFAULT_SERVICE_NAME_PATTERNS
    recent_days: int = 7
    dormant_days: int = 180
    _patterns: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.recent_days < 0 or self.dormant_days < 1:
            raise ValueError("recent_days must be ≥ 0 and dormant_days ≥ 1")
        object.__setattr__(self, "protected_groups", _lowered(self.protected_groups))
        object.__setattr__(self, "vip_accounts", _lowered(self.vip_accounts))
        try:
            patterns = tuple(re.compile(p, re.IGNORECASE) for p in self.service_name_patterns)
        except re.error as exc:
            raise ValueError(f"invalid service account name pattern: {exc}") from None
        object.__setattr__(self, "_patterns", patterns)

    def exclusions(
        self, account: Account, *, now: datetime, cloud_roles: Sequence[str] = (), action: Purpose = "reset"
    ) -> list[Refusal]:
        """Every reason the bot must not act on ``account``, in ``REASONS`` order; empty when it may.

        ``cloud_roles`` are the names of the Entra directory roles the user holds, active or eligible (PIM).
        ``action`` = "unlock" checks who the account is (privileged, service, VIP) but not its age:
        an unlock gives the holder back their own credential and changes no secret, while a lockout itself moves
        ``whenChanged`` and a never-used account cannot be dormant in any useful sense.
        """
        if now.tzinfo is None:
            raise ValueError("now must be an aware datetime (UTC)")
        found = [
            self._privileged(account, cloud_roles),
            self._service(account),
            self._vip(account),
            # For an unlock the playbook's own `policy.require_enabled` step says it (account_disabled).
            None if account.enabled or action == "unlock"
            else Refusal(DISABLED, f"{account.sam} is disabled; enabling is never automated"),
            self._recently_created(account, now) if action == "reset" else None,
            self._recently_changed(account, now) if action == "reset" else None,
            self._dormant(account, now) if action == "reset" else None,
        ]
        return [refusal for refusal in found if refusal is not None]

    def _privileged(self, account: Account, cloud_roles: Sequence[str]) -> Refusal | None:
        why: list[str] = []
        if account.admin_count:
            why.append("adminCount is set (a protected group member now or in the past)")
        groups = sorted(_lowered(account.groups) & (PROTECTED_GROUPS | self.protected_groups))
        if groups:
            why.append("member of protected group(s) " + ", ".join(groups))
        roles = sorted({r.strip() for r in cloud_roles if r.strip()})
        if roles:
            why.append("holds Entra role(s), active or eligible: " + ", ".join(roles))
        if not why:
            return None
        return Refusal(PRIVILEGED, f"{account.sam} is privileged: {'; '.join(why)}; a person must verify the "
                                   "requester by a strong method before acting", alert=True)  # fmt: skip

    def _service(self, account: Account) -> Refusal | None:
        why: list[str] = []
        if account.service_principal_names:
            why.append(f"has {len(account.service_principal_names)} servicePrincipalName(s)")
        if account.password_never_expires:
            why.append("password set never to expire (DONT_EXPIRE_PASSWORD)")
        if account.password_not_required:
            why.append("password not required (PASSWD_NOTREQD)")
        if account.sam.endswith("$"):
            why.append("machine or managed service account name (ends in $)")
        names = (account.sam, account.upn.partition("@")[0])
        matched = sorted({p.pattern for p in self._patterns for name in names if name and p.search(name)})
        if matched:
            why.append("name matches service naming rule(s) " + ", ".join(matched))
        if not why:
            return None
        return Refusal(SERVICE_ACCOUNT, f"{account.sam} looks like a service account: {'; '.join(why)}",
                       alert=True)  # fmt: skip

    def _vip(self, account: Account) -> Refusal | None:
        if not {account.sam.lower(), account.upn.lower(), account.dn.lower()} & self.vip_accounts:
            return None
        return Refusal(VIP, f"{account.sam} is on the VIP list; only a person acts on it, after strong "
                            "verification", alert=True)  # fmt: skip

    def _recently_created(self, account: Account, now: datetime) -> Refusal | None:
        if account.created is None:
            return Refusal(RECENTLY_CREATED, f"the directory gives no creation date (whenCreated) for {account.sam}")
        if now - account.created < timedelta(days=self.recent_days):
            return Refusal(RECENTLY_CREATED, f"{account.sam} was created on {account.created:%Y-%m-%d %H:%M} UTC, "
                                             f"less than {self.recent_days} days ago")  # fmt: skip
        return None

    def _recently_changed(self, account: Account, now: datetime) -> Refusal | None:
        if account.changed is None:
            return Refusal(RECENTLY_CHANGED, f"the directory gives no last change date (whenChanged) for "
                                             f"{account.sam}")  # fmt: skip
        if now - account.changed < timedelta(days=self.recent_days):
            return Refusal(RECENTLY_CHANGED, f"{account.sam} was modified on {account.changed:%Y-%m-%d %H:%M} UTC, "
                                             f"less than {self.recent_days} days ago (contact details may have "
                                             "changed); check the recent changes before resetting")  # fmt: skip
        return None

    def _dormant(self, account: Account, now: datetime) -> Refusal | None:
        if account.last_logon is None:
            return Refusal(DORMANT, f"no logon recorded for {account.sam} (lastLogonTimestamp)")
        if now - account.last_logon > timedelta(days=self.dormant_days):
            return Refusal(DORMANT, f"{account.sam} last logged on {account.last_logon:%Y-%m-%d} (lastLogonTimestamp), "
                                    f"more than {self.dormant_days} days ago")  # fmt: skip
        return None


def exclusions(
    account: Account,
    *,
    now: datetime,
    cloud_roles: Sequence[str] = (),
    policy: ExclusionPolicy | None = None,
    action: Purpose = "reset",
) -> list[Refusal]:
    """``policy.exclusions(...)`` with the default policy when none is given."""
    return (policy or ExclusionPolicy()).exclusions(account, now=now, cloud_roles=cloud_roles, action=action)

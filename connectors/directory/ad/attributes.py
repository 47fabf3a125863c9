"""AD attribute values as ldap3 returns them without a schema (lists of str, or bytes), made typed."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from connectors.directory import Account

UF_ACCOUNTDISABLE = 0x2
UF_LOCKOUT = 0x10
UF_PASSWD_NOTREQD = 0x20
UF_DONT_EXPIRE_PASSWD = 0x10000
# LDAP_MATCHING_RULE_IN_CHAIN: the DC walks nested group membership for us (Samba supports it too).
IN_CHAIN = "1.2.840.113556.1.4.1941"
USER_FILTER = "(objectCategory=person)(objectClass=user)"
ACCOUNT_ATTRIBUTES = [
    "sAMAccountName",
    "userPrincipalName",
    "mail",
    "displayName",
    "cn",
    "userAccountControl",
    "msDS-User-Account-Control-Computed",
    "adminCount",
    "lockoutTime",
    "badPwdCount",
    "pwdLastSet",
    "servicePrincipalName",
    "whenCreated",
    "whenChanged",
    "lastLogonTimestamp",
    "mobile",
]
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)
_FILETIME_NEVER = 0x7FFFFFFFFFFFFFFF

Attributes = dict[str, Any]


def first(attributes: Attributes, name: str) -> str:
    """First value of an attribute as text; "" when absent."""
    value = attributes.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return "" if value is None else str(value)


def integer(attributes: Attributes, name: str) -> int:
    """An integer attribute; 0 when absent or not a number."""
    try:
        return int(first(attributes, name))
    except ValueError:
        return 0


def texts(attributes: Attributes, name: str) -> frozenset[str]:
    """Every value of a multi-valued text attribute."""
    values = attributes.get(name) or []
    return frozenset(str(value) for value in (values if isinstance(values, list) else [values]))


def filetime(attributes: Attributes, name: str) -> datetime | None:
    """A FILETIME attribute (100 ns since 1601, UTC) as a datetime; None for 0, "never" or absent."""
    ticks = integer(attributes, name)
    if ticks <= 0 or ticks >= _FILETIME_NEVER:
        return None
    return _FILETIME_EPOCH + timedelta(microseconds=ticks // 10)


def generalized_time(attributes: Attributes, name: str) -> datetime | None:
    """A GeneralizedTime attribute ("20240131120000.0Z") as an aware UTC datetime."""
    text = first(attributes, name)
    if not text:
        return None
    try:
        return datetime.strptime(text.split(".")[0].rstrip("Z"), "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def sid_text(raw: bytes) -> str:
    """A binary SID as S-1-5-21-…."""
    revision, count = raw[0], raw[1]
    authority = int.from_bytes(raw[2:8], "big")
    subs = struct.unpack(f"<{count}I", raw[8 : 8 + 4 * count])
    return f"S-{revision}-{authority}" + "".join(f"-{sub}" for sub in subs)


def binary_values(attributes: Attributes, name: str) -> list[bytes]:
    """Every value of a binary attribute."""
    values = attributes.get(name) or []
    return [value for value in (values if isinstance(values, list) else [values]) if isinstance(value, bytes)]


def is_locked(attributes: Attributes) -> bool:
    """The DC's own computation of the lockout (``lockoutTime`` alone lies once the duration has passed)."""
    return bool(integer(attributes, "msDS-User-Account-Control-Computed") & UF_LOCKOUT)


def lock_state(attributes: Attributes) -> dict[str, str]:
    """Lockout state for a Change's before/after."""
    locked = "true" if is_locked(attributes) else "false"
    return {"locked": locked, "lockoutTime": first(attributes, "lockoutTime") or "0"}


def password_state(attributes: Attributes) -> dict[str, str]:
    """Password state for a Change's before/after (never the password)."""
    pwd_last_set = first(attributes, "pwdLastSet") or "0"
    return {"pwdLastSet": pwd_last_set, "mustChangePassword": "true" if pwd_last_set == "0" else "false"}


def account(dn: str, attributes: Attributes, groups: Iterable[str]) -> Account:
    """The ``Account`` of one user entry."""
    sam = first(attributes, "sAMAccountName")
    uac = integer(attributes, "userAccountControl")
    return Account(
        dn=dn,
        sam=sam,
        upn=first(attributes, "userPrincipalName"),
        mail=first(attributes, "mail") or None,
        display_name=first(attributes, "displayName") or first(attributes, "cn") or sam,
        enabled=not uac & UF_ACCOUNTDISABLE,
        locked=is_locked(attributes),
        admin_count=integer(attributes, "adminCount"),
        groups=frozenset(groups),
        bad_password_count=integer(attributes, "badPwdCount"),
        lockout_time=filetime(attributes, "lockoutTime"),
        password_last_set=filetime(attributes, "pwdLastSet"),
        must_change_password=first(attributes, "pwdLastSet") == "0",
        password_never_expires=bool(uac & UF_DONT_EXPIRE_PASSWD),
        password_not_required=bool(uac & UF_PASSWD_NOTREQD),
        service_principal_names=texts(attributes, "servicePrincipalName"),
        created=generalized_time(attributes, "whenCreated"),
        changed=generalized_time(attributes, "whenChanged"),
        last_logon=filetime(attributes, "lastLogonTimestamp"),
        user_account_control=uac,
        mobile=first(attributes, "mobile").strip() or None,
    )

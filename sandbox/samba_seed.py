"""Fill a Samba DC with a scenario's OUs and users, over LDAPS only, in the states the scenario asks for."""

from __future__ import annotations

import contextlib
import re
import ssl
import struct
import subprocess
from collections.abc import Iterable, Sequence

import ldap3
from ldap3.core.exceptions import LDAPEntryAlreadyExistsResult, LDAPInvalidCredentialsResult
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn, parse_dn

from sandbox.samba_dc import LDAPS_PORT, SambaDC, SambaError, generate_password
from sandbox.scenario import DirectoryUser

DEFAULT_REALM = "TEST.LOCAL"
UF_ACCOUNTDISABLE = 0x2
UF_NORMAL_ACCOUNT = 0x200
UF_LOCKOUT = 0x10
_MAX_BAD_BINDS = 10
_STATE_ATTRIBUTES = ["msDS-User-Account-Control-Computed", "userAccountControl", "lockoutTime"]


def realm_from_ous(ous: Iterable[str]) -> str:
    """The realm implied by the ``DC=`` components of OU DNs ("OU=X,DC=agence,DC=local" → AGENCE.LOCAL)."""
    for ou in ous:
        labels = [value for attr, value, _ in parse_dn(ou) if attr.upper() == "DC"]
        if labels:
            return ".".join(labels).upper()
    return DEFAULT_REALM


def admin_connection(dc: SambaDC) -> ldap3.Connection:
    """An LDAPS connection bound as the DC's Administrator (certificate not checked: a local test DC)."""
    return _connection(dc, dc.bind_dn, dc.password)


def _connection(dc: SambaDC, user: str, password: str) -> ldap3.Connection:
    tls = ldap3.Tls(validate=ssl.CERT_NONE)
    server = ldap3.Server("127.0.0.1", port=LDAPS_PORT, use_ssl=True, tls=tls, get_info=ldap3.NONE, connect_timeout=5)
    return ldap3.Connection(
        server, user=user, password=password, auto_bind=True, raise_exceptions=True, receive_timeout=10
    )


def can_bind(dc: SambaDC, user: str, password: str) -> bool:
    """True when ``user`` (UPN or DN) binds over LDAPS with ``password``."""
    try:
        _connection(dc, user, password).unbind()
    except LDAPInvalidCredentialsResult:
        return False
    return True


def absolute_dn(dn: str, base_dn: str) -> str:
    """``dn`` itself when it already ends with ``base_dn``, else ``dn`` placed under ``base_dn``."""
    if not dn:
        return base_dn
    if _normalised(dn).endswith(_normalised(base_dn)):
        return dn
    if any(attr.upper() == "DC" for attr, _, _ in parse_dn(dn)):
        raise ValueError(f"{dn!r} is outside the DC's domain {base_dn!r}; provision the realm it names")
    return f"{dn},{base_dn}"


def _unescape(value: str) -> str:
    return re.sub(r"\\([0-9a-fA-F]{2}|.)", lambda m: chr(int(m[1], 16)) if len(m[1]) == 2 else m[1], value)


def _normalised(dn: str) -> str:
    return ",".join(f"{attr.upper()}={value.lower()}" for attr, value, _ in parse_dn(dn))


def ensure_ou(connection: ldap3.Connection, dn: str) -> None:
    """Create the organisational unit ``dn`` and every missing parent OU; existing ones are kept."""
    parts = parse_dn(dn)
    for index in range(len(parts) - 1, -1, -1):
        attr, value, _ = parts[index]
        if attr.upper() != "OU":
            continue
        rdns = [f"{a}={v}" for a, v, _ in parts[index:]]  # parse_dn keeps values escaped
        with contextlib.suppress(LDAPEntryAlreadyExistsResult):
            connection.add(",".join(rdns), ["top", "organizationalUnit"], {"ou": _unescape(value)})


def create_user(dc: SambaDC, connection: ldap3.Connection, user: DirectoryUser, ou_dn: str, password: str) -> str:
    """Add one user (disabled when the scenario says so) with ``password`` under ``ou_dn``; return its DN."""
    display_name = " ".join(part for part in (user.given_name, user.surname) if part) or user.sam
    dn = f"CN={escape_rdn(display_name)},{ou_dn}"
    attributes: dict[str, object] = {
        "sAMAccountName": user.sam,
        "userPrincipalName": user_upn(dc, user),
        "displayName": display_name,
        "unicodePwd": f'"{password}"'.encode("utf-16-le"),
        "userAccountControl": str(UF_NORMAL_ACCOUNT | (UF_ACCOUNTDISABLE if user.disabled else 0)),
    }
    optional = {"mail": user.mail, "givenName": user.given_name, "sn": user.surname, "mobile": user.mobile}
    attributes.update({key: value for key, value in optional.items() if value})
    connection.add(dn, ["top", "person", "organizationalPerson", "user"], attributes)
    return dn


def user_upn(dc: SambaDC, user: DirectoryUser) -> str:
    """The user's UPN: the scenario's, else ``sam@realm``."""
    return user.upn or f"{user.sam}@{dc.realm.lower()}"


def add_to_group(connection: ldap3.Connection, base_dn: str, group_sam: str, member_dn: str) -> None:
    """Add ``member_dn`` to the group whose sAMAccountName is ``group_sam``."""
    connection.search(
        base_dn, f"(&(objectClass=group)(sAMAccountName={escape_filter_chars(group_sam)}))", attributes=["cn"]
    )
    if not connection.response:
        raise SambaError(f"group {group_sam!r} not found under {base_dn}")
    group_dn = connection.response[0]["dn"]
    connection.modify(group_dn, {"member": [(ldap3.MODIFY_ADD, [member_dn])]})


def account_state(connection: ldap3.Connection, dn: str) -> dict[str, int]:
    """``userAccountControl``, the computed flags and ``lockoutTime`` of ``dn``, as integers."""
    connection.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=_STATE_ATTRIBUTES)
    raw = connection.response[0]["attributes"]
    state: dict[str, int] = {}
    for name in _STATE_ATTRIBUTES:
        value = raw.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        state[name] = int(value) if value not in (None, "") else 0
    return state


def is_locked(connection: ldap3.Connection, dn: str) -> bool:
    """True when the DC computes UF_LOCKOUT for ``dn``."""
    return bool(account_state(connection, dn)["msDS-User-Account-Control-Computed"] & UF_LOCKOUT)


def lock_out(dc: SambaDC, connection: ldap3.Connection, upn: str, dn: str) -> None:
    """Lock ``upn`` the way a real user does: bad LDAPS binds until the DC locks it out."""
    wrong = generate_password()
    for _ in range(_MAX_BAD_BINDS):
        if is_locked(connection, dn):
            return
        if can_bind(dc, upn, wrong):
            raise SambaError(f"{upn} accepted a random password; cannot lock it")
    if not is_locked(connection, dn):
        raise SambaError(f"{upn} still not locked after {_MAX_BAD_BINDS} bad binds; check the lockout policy")


def seed_directory(dc: SambaDC, users: Sequence[DirectoryUser], ous: Iterable[str] = ()) -> dict[str, str]:
    """Create the OUs and users of a scenario in ``dc``; return each user's sAMAccountName → password."""
    connection = admin_connection(dc)
    passwords: dict[str, str] = {}
    try:
        for ou in [*ous, *(user.ou for user in users)]:
            ensure_ou(connection, absolute_dn(ou, dc.base_dn))
        to_lock: list[tuple[str, str]] = []
        for user in users:
            password = generate_password()
            dn = create_user(dc, connection, user, absolute_dn(user.ou, dc.base_dn), password)
            passwords[user.sam] = password
            if user.privileged:
                add_to_group(connection, dc.base_dn, "Domain Admins", dn)
            if user.locked:
                to_lock.append((user_upn(dc, user), dn))
        # Locking comes last so that no later write (Samba clears lockoutTime on a UAC write) undoes it;
        # bad binds count even against a disabled account.
        for upn, dn in to_lock:
            lock_out(dc, connection, upn, dn)
    finally:
        connection.unbind()
    return passwords


# Rights the bot needs on user objects below a partner OU (security note §3.1), as object ACEs inherited by users.
USER_CLASS = "bf967aba-0de6-11d0-a285-00aa003049e2"
RESET_PASSWORD = "00299570-246d-11d0-a768-00aa006e0529"
PWD_LAST_SET = "bf967a0a-0de6-11d0-a285-00aa003049e2"
LOCKOUT_TIME = "28630ebf-41d5-11d1-a9c1-0000f80367c1"
BOT_RIGHTS = ("reset", "pwdLastSet", "lockoutTime")


def object_sid(connection: ldap3.Connection, dn: str) -> str:
    """The ``S-1-5-…`` form of ``dn``'s objectSid."""
    connection.search(dn, "(objectClass=*)", ldap3.BASE, attributes=["objectSid"])
    raw = connection.response[0]["attributes"]["objectSid"]
    raw = raw[0] if isinstance(raw, list) else raw
    if isinstance(raw, str):
        return raw  # ldap3 with schema already formats it
    count = raw[1]
    subs = struct.unpack(f"<{count}I", raw[8 : 8 + 4 * count])
    return f"S-{raw[0]}-{int.from_bytes(raw[2:8], 'big')}" + "".join(f"-{sub}" for sub in subs)


def delegate(dc: SambaDC, ou: str, sid: str, *rights: str) -> None:
    """Grant ``sid`` the named rights on the users below ``ou``, as an AD admin's ``dsacls`` would."""
    aces = {
        "reset": f"(OA;CIIO;CR;{RESET_PASSWORD};{USER_CLASS};{sid})",
        "pwdLastSet": f"(OA;CIIO;RPWP;{PWD_LAST_SET};{USER_CLASS};{sid})",
        "lockoutTime": f"(OA;CIIO;RPWP;{LOCKOUT_TIME};{USER_CLASS};{sid})",
    }
    for right in rights:
        subprocess.run(["samba-tool", "dsacl", "set", "-s", str(dc.smb_conf), f"--objectdn={ou}",
                        f"--sddl={aces[right]}"], check=True, capture_output=True, timeout=60)


def create_bot_account(dc: SambaDC, ous: Iterable[str], sam: str = "svc-sesame") -> tuple[str, str]:
    """A least-privilege service account for Sésame: a plain user holding only ``BOT_RIGHTS`` below ``ous``.

    Returns its UPN and password. This is the delegation the setup guide describes, done on the sandbox DC.
    """
    password = generate_password()
    connection = admin_connection(dc)
    try:
        dn = create_user(dc, connection, DirectoryUser(sam=sam, upn="", mail="", given_name="Sésame",
                                                       surname="Service", org_id="", ou=""), f"CN=Users,{dc.base_dn}",
                         password)
        sid = object_sid(connection, dn)
    finally:
        connection.unbind()
    for ou in dict.fromkeys(absolute_dn(ou, dc.base_dn) for ou in ous):
        delegate(dc, ou, sid, *BOT_RIGHTS)
    return f"{sam}@{dc.realm.lower()}", password

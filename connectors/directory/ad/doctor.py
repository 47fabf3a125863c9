"""``ActiveDirectory.doctor``'s checks: each DC reachable and accepting the bot, and exactly the rights needed
in each partner OU — read, write ``lockoutTime`` and ``pwdLastSet``, Reset Password — and nothing more.

Attribute writes are read from ``allowedAttributesEffective`` and permission changes from ``sDRightsEffective``
on an ordinary user below the OU (the DC computes both for the bound account, on AD and Samba); Reset Password
is an extended right no attribute reports, so it is read from the user's DACL against the bot's token SIDs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ldap3
from ldap3.protocol.microsoft import security_descriptor_control
from ldap3.utils.conv import escape_filter_chars

from connectors.directory.ad.attributes import USER_FILTER, Attributes, binary_values, first, integer, sid_text
from connectors.directory.ad.rights import (
    AUTHENTICATED_USERS,
    DACL_ONLY,
    EVERYONE,
    RESET_PASSWORD,
    holds_extended_right,
)
from connectors.directory.ad.servers import SYSTEM
from connectors.errors import ConnectorError, NotFoundError
from connectors.health import Finding

# (base, filter, scope, attributes, controls, size_limit) -> [(dn, attributes)]
Search = Callable[[str, str, str, list[str], list[object] | None, int], list[tuple[str, Attributes]]]

NEEDED_WRITES = ("lockoutTime", "pwdLastSet")
# Rights the bot must not hold on partner users (security.md §3.1); userAccountControl has its own check.
EXCESS_WRITES = (
    "msDS-AllowedToActOnBehalfOfOtherIdentity",
    "msDS-KeyCredentialLink",
    "servicePrincipalName",
    "altSecurityIdentities",
)
_SD_OWNER, _SD_DACL = 0x1, 0x4
SETUP_GUIDE = "see the least-privilege setup guide (docs), AD delegation"


@dataclass(frozen=True)
class BotIdentity:
    """The bound service account: its DN, a name for dsacls, and every SID its token holds."""

    dn: str
    principal: str
    sids: frozenset[str]
    admin_count: int


def bot_identity(search: Search, bind_dn: str, base_dn: str) -> BotIdentity:
    """Find the bot's own entry (bind DN, UPN or DOMAIN\\name) and its token groups."""
    wanted = ["objectSid", "sAMAccountName", "userPrincipalName", "adminCount"]
    if "=" in bind_dn:
        found = search(bind_dn, "(objectClass=user)", ldap3.BASE, wanted, None, 2)
    else:
        name = bind_dn.split("\\", 1)[-1]
        # A UPN bind also works with the implicit UPN sAMAccountName@dns-domain (Administrator has no UPN).
        candidates = [("userPrincipalName", name), ("sAMAccountName", name.split("@", 1)[0])] if "@" in name else [
            ("sAMAccountName", name)
        ]
        found = []
        for attribute, value in candidates:
            found = search(base_dn, f"(&(objectClass=user)({attribute}={escape_filter_chars(value)}))", ldap3.SUBTREE,
                           wanted, None, 2)  # fmt: skip
            if found:
                break
    if len(found) != 1:
        raise NotFoundError(f"the bot's own account {bind_dn!r} was not found under {base_dn}", system=SYSTEM)
    dn, attributes = found[0]
    # tokenGroups is computed only on a BASE search of the account itself.
    [(_, token)] = search(dn, "(objectClass=*)", ldap3.BASE, ["tokenGroups"], None, 1)
    sids = {sid_text(raw) for raw in binary_values(attributes, "objectSid") + binary_values(token, "tokenGroups")}
    principal = first(attributes, "userPrincipalName") or first(attributes, "sAMAccountName") or bind_dn
    return BotIdentity(dn, principal, frozenset(sids | {EVERYONE, AUTHENTICATED_USERS}),
                       integer(attributes, "adminCount"))  # fmt: skip


def identity_findings(bot: BotIdentity) -> list[Finding]:
    """The bot must be an ordinary account: a protected (adminCount=1) one holds far more than it needs."""
    if bot.admin_count:
        return [Finding(SYSTEM, "service account is not privileged", False,
                        f"{bot.principal} has adminCount=1: it is or was in a protected group (Domain Admins, …)",
                        f"use a dedicated account (a gMSA) in no privileged group, delegated per OU; {SETUP_GUIDE}")]
    return [Finding(SYSTEM, "service account is not privileged", True, f"{bot.principal} is an ordinary account")]


def ou_findings(search: Search, bot: BotIdentity, ou: str) -> list[Finding]:
    """Read, unlock, must-change and reset rights below ``ou``, and the absence of excess rights."""
    try:
        search(ou, "(objectClass=*)", ldap3.BASE, ["objectClass"], None, 1)
    except NotFoundError:
        return [Finding(SYSTEM, f"read {ou}", False, f"the OU does not exist or {bot.principal} may not see it",
                        "check the partner's OU in the registry, and that the bot can read it (Authenticated Users "
                        "have read access by default)")]  # fmt: skip
    sample = _ordinary_user(search, bot, ou)
    if sample is None:
        return [
            Finding(SYSTEM, f"read {ou}", True, "the OU is readable"),
            Finding(SYSTEM, f"rights in {ou}", False,
                    "no ordinary user account below the OU to check the bot's effective rights on",
                    "check the delegation by hand, or run doctor again once the OU holds a user"),
        ]  # fmt: skip
    [(_, effective)] = search(sample, "(objectClass=*)", ldap3.BASE,
                              ["allowedAttributesEffective", "sDRightsEffective"], None, 1)  # fmt: skip
    [(_, acl)] = search(sample, "(objectClass=*)", ldap3.BASE, ["nTSecurityDescriptor"],
                        list(security_descriptor_control(sdflags=DACL_ONLY)), 1)  # fmt: skip
    writable = {name.lower() for name in effective.get("allowedAttributesEffective") or []}
    descriptor = b"".join(binary_values(acl, "nTSecurityDescriptor")[:1])
    on = f"users of {ou} (checked on {sample})"
    findings = [Finding(SYSTEM, f"read {ou}", True, f"the OU and its users are readable ({sample})")]

    missing = [name for name in NEEDED_WRITES if name.lower() not in writable]
    findings.append(Finding(
        SYSTEM, f"write lockoutTime and pwdLastSet in {ou}", not missing,
        f"{bot.principal} cannot write {', '.join(missing)} on {on}" if missing
        else f"{bot.principal} can write lockoutTime (unlock) and pwdLastSet (must change at next logon) on {on}",
        "" if not missing else " ; ".join(
            f'dsacls "{ou}" /I:S /G "{bot.principal}:RPWP;{name};user"' for name in missing
        ) + f" ({SETUP_GUIDE})",
    ))  # fmt: skip

    can_reset = bool(descriptor) and holds_extended_right(descriptor, bot.sids, RESET_PASSWORD)
    findings.append(Finding(
        SYSTEM, f"reset password in {ou}", can_reset,
        f"{bot.principal} holds the Reset Password right on {on}" if can_reset
        else f"{bot.principal} does not hold the Reset Password extended right on {on}"
        + ("" if descriptor else " (its DACL could not be read)"),
        "" if can_reset else f'dsacls "{ou}" /I:S /G "{bot.principal}:CA;Reset Password;user" ({SETUP_GUIDE})',
    ))  # fmt: skip

    uac = "useraccountcontrol" in writable
    findings.append(Finding(
        SYSTEM, f"cannot write userAccountControl in {ou}", not uac,
        f"{bot.principal} can write userAccountControl on {on}: more than needed (it could enable accounts, "
        "drop the password requirement or make passwords never expire)" if uac
        else f"{bot.principal} cannot write userAccountControl on {on}",
        "" if not uac else f"remove what grants it to {bot.principal} on {ou}: Write userAccountControl, Write "
        "Account Restrictions, GenericWrite/GenericAll or membership of a privileged group; keep only Reset "
        f"Password and Read/Write lockoutTime and pwdLastSet ({SETUP_GUIDE})",
    ))  # fmt: skip

    excess = [name for name in EXCESS_WRITES if name.lower() in writable]
    sd_rights = integer(effective, "sDRightsEffective")
    if sd_rights & _SD_DACL:
        excess.append("the permissions (WriteDACL)")
    if sd_rights & _SD_OWNER:
        excess.append("the owner (WriteOwner)")
    findings.append(Finding(
        SYSTEM, f"no other excess rights in {ou}", not excess,
        f"{bot.principal} can also change {', '.join(excess)} on {on}: more than needed" if excess
        else f"{bot.principal} holds no other write right security.md forbids on {on}",
        "" if not excess else f"remove those rights of {bot.principal} on {ou} ({SETUP_GUIDE})",
    ))  # fmt: skip
    return findings


def _ordinary_user(search: Search, bot: BotIdentity, ou: str) -> str | None:
    """A user below ``ou`` that is neither the bot (SELF rights) nor protected (SDProp resets its ACL)."""
    search_filter = f"(&{USER_FILTER}(!(adminCount=1)))"
    for dn, _ in search(ou, search_filter, ldap3.SUBTREE, ["cn"], None, 20):
        if dn.lower() != bot.dn.lower():
            return dn
    return None


def failed(check: str, error: ConnectorError, fix: str) -> Finding:
    """A finding for a check that could not run."""
    return Finding(SYSTEM, check, False, str(error), fix)

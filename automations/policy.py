"""Policy checks on directory accounts: scope of a partner, privileged accounts. Decisions, never actions."""

from __future__ import annotations

from connectors.directory import Account

# Built-in AD groups whose members are protected by AdminSDHolder, plus other groups that administer the domain;
# a bot must never act on their members (security note PRIV-01).
PROTECTED_GROUPS = frozenset(
    name.lower()
    for name in (
        "Domain Admins", "Enterprise Admins", "Schema Admins", "Administrators", "Account Operators",
        "Server Operators", "Backup Operators", "Print Operators", "Domain Controllers",
        "Read-only Domain Controllers", "Group Policy Creator Owners", "Cert Publishers", "Key Admins",
        "Enterprise Key Admins", "DnsAdmins", "Replicator",
    )
)


def _rdns(dn: str) -> list[str]:
    """Split a DN into normalised RDNs; escaped commas stay inside their RDN."""
    parts, current, escaped = [], [], False
    for char in dn:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    normalised = []
    for part in parts:
        attr, _, value = part.partition("=")
        normalised.append(f"{attr.strip().lower()}={' '.join(value.split()).lower()}")
    return [p for p in normalised if p != "="]


def is_under(dn: str, ou: str) -> bool:
    """Whether ``dn`` sits strictly below ``ou``; an OU written without DC= parts is taken relative to the domain."""
    child, parent = _rdns(dn), _rdns(ou)
    if not parent or not child:
        return False
    if not any(rdn.startswith("dc=") for rdn in parent):
        child = [rdn for rdn in child if not rdn.startswith("dc=")]
    return len(child) > len(parent) and child[-len(parent):] == parent


def privileged_reason(account: Account, extra_groups: frozenset[str] = frozenset()) -> str | None:
    """Why ``account`` counts as privileged, or None: adminCount set, or a member of a protected group."""
    if account.admin_count:
        return "adminCount is set (member of a protected group now or in the past)"
    groups = {g.lower() for g in account.groups}
    hit = sorted(groups & (PROTECTED_GROUPS | {g.lower() for g in extra_groups}))
    if hit:
        return "member of protected group(s): " + ", ".join(hit)
    return None

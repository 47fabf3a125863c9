"""Table ACLs as data (which roles may read, create, write, delete each table) and the roles a user holds."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, get_args

from sandbox.servicenow.errors import AclDeniedError, NotAuthorizedError

if TYPE_CHECKING:
    from sandbox.servicenow.store import TableStore

Operation = Literal["read", "create", "write", "delete"]
OPERATIONS: tuple[Operation, ...] = get_args(Operation)
ADMIN = "admin"
ANY_USER: frozenset[str] = frozenset()  # an empty requirement: any authenticated user passes

# The instance's wording of a refused write names the database operation.
_VERBS: dict[Operation, str] = {"create": "Insert", "write": "Update", "delete": "Delete"}

# Roles that contain others, as in the out-of-box role hierarchy (admin is handled apart: it passes every ACL).
ROLE_INCLUDES: dict[str, frozenset[str]] = {
    "itil_admin": frozenset({"itil"}),
    "sn_incident_write": frozenset({"sn_incident_read"}),
    "knowledge_admin": frozenset({"knowledge"}),
}


@dataclass(frozen=True)
class TableAcl:
    """For each operation, the roles any one of which grants it (``ANY_USER``: every authenticated user)."""

    read: frozenset[str]
    create: frozenset[str]
    write: frozenset[str]
    delete: frozenset[str]

    def needs(self, operation: Operation) -> frozenset[str]:
        """The roles that grant ``operation``."""
        needed: frozenset[str] = getattr(self, operation)
        return needed


def _acl(read: set[str], change: set[str]) -> TableAcl:
    changing = frozenset(change)
    return TableAcl(read=frozenset(read), create=changing, write=changing, delete=changing)


_ITIL = {"itil"}
_ADMIN_ONLY = {ADMIN}
_EVERYONE: set[str] = set()

TABLE_ACLS: dict[str, TableAcl] = {
    "incident": TableAcl(
        read=frozenset({"itil", "sn_incident_read"}),
        create=frozenset({"itil", "sn_incident_write"}),
        write=frozenset({"itil", "sn_incident_write"}),
        delete=frozenset({"itil", "sn_incident_write"}),
    ),
    "problem": _acl(_ITIL, _ITIL),
    "sc_request": _acl(_ITIL, _ITIL),
    "sc_req_item": _acl(_ITIL, _ITIL),
    "sc_task": _acl(_ITIL, _ITIL),
    "m2m_kb_task": _acl(_ITIL, _ITIL),
    "sys_journal_field": _acl(_ITIL, _ITIL),
    # Agents read the e-mails of the tasks they work; only the instance (its inbound actions) writes them.
    "sys_email": _acl(_ITIL, _ADMIN_ONLY),
    "sys_user": _acl(_EVERYONE, _ADMIN_ONLY),
    "sys_user_group": _acl(_EVERYONE, _ADMIN_ONLY),
    "sys_user_grmember": _acl(_EVERYONE, _ADMIN_ONLY),
    "sys_user_role": _acl(_EVERYONE, _ADMIN_ONLY),
    "sys_user_has_role": _acl(_EVERYONE, _ADMIN_ONLY),
    "sys_group_has_role": _acl(_EVERYONE, _ADMIN_ONLY),
    "sys_choice": _acl(_EVERYONE, _ADMIN_ONLY),
    "kb_knowledge": _acl(_EVERYONE, {"knowledge"}),
    "label": _acl(_EVERYONE, _EVERYONE),
    "label_entry": _acl(_EVERYONE, _EVERYONE),
    # The instance checks an attachment against its parent record too: routes call authorize() on both.
    "sys_attachment": _acl(_EVERYONE, _EVERYONE),
}
# A table without ACL rows is, as on an instance with "deny by default", for admins only.
DEFAULT_ACL = _acl(_ADMIN_ONLY, _ADMIN_ONLY)


def roles_of(store: TableStore, user_name: str) -> frozenset[str]:
    """The roles held by a user: ``sys_user_has_role`` -> ``sys_user_role.name``, ``sys_user.roles``, included roles."""
    user = store.user_by_name(user_name)
    if user is None:
        return frozenset()
    held = {role.strip() for role in user.get("roles", "").split(",") if role.strip()}
    if "sys_user_has_role" in store.schemas and "sys_user_role" in store.schemas:
        for grant in store.find("sys_user_has_role", user=user["sys_id"]):
            granted = store.get("sys_user_role", grant["role"]) if grant.get("role") else None
            if granted is not None and granted.get("name"):
                held.add(granted["name"])
    for name in list(held):
        held |= ROLE_INCLUDES.get(name, frozenset())
    return frozenset(held)


class Authorizer:
    """Checks a user's roles against the table ACLs; raises the instance's 403 when they fall short."""

    def __init__(self, store: TableStore, acls: Mapping[str, TableAcl] | None = None) -> None:
        self.store = store
        self.acls = dict(TABLE_ACLS if acls is None else acls)

    def __call__(self, user: str, table: str, operation: str) -> None:
        """Pass silently or raise ``NotAuthorizedError`` (read) / ``AclDeniedError`` (create, write, delete)."""
        if operation not in OPERATIONS:
            raise ValueError(f"unknown ACL operation {operation!r}: use one of {', '.join(OPERATIONS)}")
        checked = next(known for known in OPERATIONS if known == operation)  # narrows str to Operation
        needed = self.acls.get(table, DEFAULT_ACL).needs(checked)
        if not needed:
            return
        held = roles_of(self.store, user)
        if ADMIN in held or needed & held:
            return
        wanted = tuple(sorted(needed))
        if checked == "read":
            raise NotAuthorizedError(table, wanted)
        raise AclDeniedError(table, _VERBS[checked], wanted)

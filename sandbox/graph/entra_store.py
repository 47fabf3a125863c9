"""Entra ID directory data of the Graph emulator: users, groups, roles, authentication methods, operations.

Objects are kept as Graph JSON (property names from the v1.0 CSDL) so routes only pick and project.
Passwords are never stored: only a salted hash, enough to check in a test that a reset happened.
State is persisted as one JSON file, rewritten atomically after every change, when ``persist_to`` is given.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import string
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sandbox.scenario import DirectoryUser, Partner, Scenario

JsonObject = dict[str, Any]

PASSWORD_METHOD_ID = "28c10230-6103-485e-b985-444c60001490"  # the same for every user, as in Entra
MOBILE_PHONE_METHOD_ID = "3179e48a-750b-4051-897c-87b9720928f7"  # Entra's fixed id of the 'mobile' phone method
# Built-in role templates: (templateId, displayName, description) as Entra ID publishes them.
BUILT_IN_ROLES = (
    ("62e90394-69f5-4237-9190-012177145e10", "Global Administrator",
     "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities."),
    ("fe930be7-5e62-47db-91af-98c3a49a38b1", "User Administrator",
     "Can manage all aspects of users and groups, including resetting passwords for limited admins."),
    ("729827e3-9c14-49f7-bb1b-9608f156bbb8", "Helpdesk Administrator",
     "Can reset passwords for non-administrators and Helpdesk Administrators."),
    ("966707d0-3269-4727-9be2-8c3a10f19b9d", "Password Administrator",
     "Can reset passwords for non-administrators and Password Administrators."),
    ("c4e39bd9-1100-46d3-8c65-fb160da0071f", "Authentication Administrator",
     "Can access to view, set and reset authentication method information for any non-admin user."),
    ("f2ef992c-3afb-46b9-b7cf-a126ee74c451", "Global Reader",
     "Can read everything that a Global Administrator can, but not update anything."),
)
GLOBAL_ADMINISTRATOR = BUILT_IN_ROLES[0][0]
# Operation statuses in the order successive polls report them (CSDL enum longRunningOperationStatus).
OPERATION_STEPS = ("notStarted", "running", "succeeded")
PASSWORD_COMPLEXITY_MESSAGE = (
    "The specified password does not comply with password complexity requirements. Please provide a different password."
)
_SYMBOLS = "!@#$%^&*-_+=?."


class EntraStoreError(ValueError):
    """A change the directory cannot make; the message says which object and why."""


def user_id_for(upn: str) -> str:
    """The object id the sandbox gives the user with this UPN (Intune device owners use the same)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "sesame-sandbox-user:" + upn.lower()))


def password_problem(password: str, upn: str) -> str | None:
    """Why Entra would refuse ``password`` for the user ``upn`` (its default policy), or None."""
    classes = sum(
        any(test(c) for c in password)
        for test in (str.islower, str.isupper, str.isdigit, lambda c: not c.isalnum())
    )
    local_part = upn.split("@", 1)[0].lower()
    if len(password) < 8 or len(password) > 256 or classes < 3 or (local_part and local_part in password.lower()):
        return PASSWORD_COMPLEXITY_MESSAGE
    return None


def generated_password(upn: str = "") -> str:
    """A random password meeting Entra's policy for ``upn``, as the service makes for a reset without one."""
    alphabet = string.ascii_letters + string.digits + _SYMBOLS
    while True:
        candidate = "".join(secrets.choice(alphabet) for _ in range(16))
        if password_problem(candidate, upn) is None:
            return candidate


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hash(password: str, salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 1000).hex()


class EntraStore:
    """The directory of one sandbox tenant; thread-safe, persisted when ``persist_to`` is set."""

    def __init__(self, state: JsonObject | None = None, *, persist_to: str | Path | None = None) -> None:
        empty: JsonObject = {"users": {}, "groups": {}, "members": {}, "roleAssignments": [],
                             "roleEligibilitySchedules": [], "methods": {}, "passwords": {}, "operations": {},
                             "revocations": {}}
        self._state: JsonObject = {**empty, **(state or {})}
        self._persist_to = Path(persist_to) if persist_to else None
        self._lock = threading.RLock()

    # ----- creation and persistence -------------------------------------------------------------

    @classmethod
    def from_scenario(cls, scenario: Scenario, *, domain: str, persist_to: str | Path | None = None) -> EntraStore:
        """A directory seeded from the scenario: its users, a group per partner, roles of privileged users.

        Privileged users alternate between an active Global Administrator assignment (first, third…) and
        only an eligibility for it (second, fourth…), so both kinds of privilege detection can be rehearsed.
        """
        store = cls(persist_to=persist_to)
        created = _now()
        with store._lock:
            for index, user in enumerate(scenario.users):
                store._add_user(user, domain=domain, created=created, with_authenticator=index % 2 == 0)
            for partner in scenario.partners:
                members = [user_id_for(_upn(u, domain)) for u in scenario.users if u.org_id == partner.id]
                store._add_partner_group(partner, members, created)
            privileged = [user_id_for(_upn(u, domain)) for u in scenario.users if u.privileged]
            for index, user_id in enumerate(privileged):
                if index % 2 == 0:
                    store.add_role_assignment(user_id, GLOBAL_ADMINISTRATOR)
                else:
                    store.add_role_eligibility(user_id, GLOBAL_ADMINISTRATOR)
            store._save()
        return store

    @classmethod
    def load(cls, path: str | Path, *, persist_to: str | Path | None = None) -> EntraStore:
        """A directory read back from a file written by ``persist_to``."""
        state = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(state, dict):
            raise EntraStoreError(f"{path}: not an Entra sandbox state file")
        return cls(state, persist_to=persist_to)

    def _save(self) -> None:
        if self._persist_to is None:
            return
        temporary = self._persist_to.with_suffix(self._persist_to.suffix + ".tmp")
        temporary.write_text(json.dumps(self._state, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self._persist_to)

    def _add_user(self, user: DirectoryUser, *, domain: str, created: str, with_authenticator: bool) -> None:
        upn = _upn(user, domain)
        user_id = user_id_for(upn)
        synced = "DC=" in user.ou.upper()
        display_name = " ".join(filter(None, [user.given_name, user.surname])) or user.sam
        self._state["users"][user_id] = {
            "id": user_id,
            "userPrincipalName": upn,
            "mail": user.mail or None,
            "givenName": user.given_name or None,
            "surname": user.surname or None,
            "displayName": display_name,
            "mailNickname": user.sam,
            "accountEnabled": not user.disabled,
            "mobilePhone": user.mobile or None,
            "businessPhones": [],
            "jobTitle": None,
            "officeLocation": None,
            "preferredLanguage": None,
            "otherMails": [],
            "companyName": user.org_id or None,
            "userType": "Member",
            "createdDateTime": created,
            "lastPasswordChangeDateTime": created,
            "signInSessionsValidFromDateTime": created,
            "onPremisesSyncEnabled": synced,
            "onPremisesSamAccountName": user.sam if synced else None,
            "onPremisesDistinguishedName": _distinguished_name(user) if synced else None,
            "onPremisesUserPrincipalName": upn if synced else None,
            "onPremisesDomainName": _dns_domain(user.ou) if synced else None,
            "onPremisesImmutableId": base64.b64encode(uuid.UUID(user_id).bytes_le).decode() if synced else None,
            "onPremisesLastSyncDateTime": created if synced else None,
            "passwordPolicies": "DisablePasswordExpiration" if synced else None,
            "passwordProfile": None,  # write-only: Graph never returns it
        }
        methods: list[JsonObject] = [{
            "@odata.type": "#microsoft.graph.passwordAuthenticationMethod",
            "id": PASSWORD_METHOD_ID, "createdDateTime": created, "password": None,
        }]
        if user.mobile:
            methods.append({
                "@odata.type": "#microsoft.graph.phoneAuthenticationMethod",
                "id": MOBILE_PHONE_METHOD_ID, "phoneNumber": user.mobile, "phoneType": "mobile",
                "smsSignInState": "notAllowedByPolicy",
            })
        if with_authenticator or user.privileged:
            methods.append({
                "@odata.type": "#microsoft.graph.microsoftAuthenticatorAuthenticationMethod",
                "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "sesame-sandbox-authenticator:" + upn.lower())),
                "createdDateTime": created, "displayName": f"Phone of {display_name}",
                "deviceTag": "SoftwareTokenActivated", "phoneAppVersion": "6.2401.0119",
            })
        self._state["methods"][user_id] = methods

    def _add_partner_group(self, partner: Partner, members: list[str], created: str) -> None:
        group_id = str(uuid.uuid5(uuid.NAMESPACE_URL, "sesame-sandbox-group:" + partner.id.lower()))
        self._state["groups"][group_id] = {
            "id": group_id,
            "displayName": f"Partner users - {partner.name or partner.id}",
            "description": f"Accounts of partner organisation {partner.id} (scope of the helpdesk delegation).",
            "mailNickname": f"partner-{partner.id}",
            "mail": None,
            "mailEnabled": False,
            "securityEnabled": True,
            "groupTypes": [],
            "createdDateTime": created,
        }
        self._state["members"][group_id] = members

    # ----- users ---------------------------------------------------------------------------------

    def users(self) -> list[JsonObject]:
        """Every user (copies), in creation order."""
        with self._lock:
            return [dict(u) for u in self._state["users"].values()]

    def user(self, key: str) -> JsonObject | None:
        """The user with this object id or userPrincipalName (case-insensitive), or None."""
        with self._lock:
            found = self._find(key)
            return dict(found) if found else None

    def _find(self, key: str) -> JsonObject | None:
        users: dict[str, JsonObject] = self._state["users"]
        if key.lower() in users:
            return users[key.lower()]
        return next((u for u in users.values() if u["userPrincipalName"].lower() == key.lower()), None)

    def _required(self, key: str) -> JsonObject:
        found = self._find(key)
        if found is None:
            raise EntraStoreError(f"no user '{key}' in the sandbox directory")
        return found

    def set_account_enabled(self, key: str, enabled: bool) -> None:
        """Enable or block sign-in of a user."""
        with self._lock:
            self._required(key)["accountEnabled"] = enabled
            self._save()

    def set_password(self, key: str, password: str | None, *, force_change: bool | None = None) -> None:
        """Record a new password (hashed) and/or the must-change flag, as a passwordProfile write does."""
        with self._lock:
            user = self._required(key)
            record = self._state["passwords"].setdefault(user["id"], {"forceChangePasswordNextSignIn": False})
            if password is not None:
                salt = secrets.token_hex(8)
                record.update(salt=salt, hash=_hash(password, salt))
                user["lastPasswordChangeDateTime"] = _now()
            if force_change is not None:
                record["forceChangePasswordNextSignIn"] = force_change
            self._save()

    def password_matches(self, key: str, password: str) -> bool:
        """Whether ``password`` is the last one set through the sandbox (for tests and demos)."""
        with self._lock:
            record = self._state["passwords"].get(self._required(key)["id"], {})
            return "hash" in record and secrets.compare_digest(record["hash"], _hash(password, record["salt"]))

    def must_change_password(self, key: str) -> bool:
        """Whether the user must change the password at next sign-in."""
        with self._lock:
            record = self._state["passwords"].get(self._required(key)["id"], {})
            return bool(record.get("forceChangePasswordNextSignIn", False))

    def set_other_mails(self, key: str, addresses: list[str]) -> None:
        """Replace the user's alternate e-mail addresses (``otherMails``), as an admin would in the portal."""
        with self._lock:
            self._required(key)["otherMails"] = list(addresses)
            self._save()

    def revoke_sign_in_sessions(self, key: str) -> str:
        """Invalidate the user's refresh tokens and session cookies now; returns the time recorded."""
        with self._lock:
            user = self._required(key)
            stamp = _now()
            user["signInSessionsValidFromDateTime"] = stamp
            self._state["revocations"].setdefault(user["id"], []).append(stamp)
            self._save()
            return stamp

    def revocations(self, key: str) -> list[str]:
        """When the user's sessions were revoked through the sandbox, oldest first."""
        with self._lock:
            return list(self._state["revocations"].get(self._required(key)["id"], []))

    def set_sspr_registered(self, key: str, registered: bool) -> None:
        """Mark the user registered (or not) for self-service password reset, as the registration report shows."""
        with self._lock:
            self._state.setdefault("sspr", {})[self._required(key)["id"]] = registered
            self._save()

    def registration_details(self, key: str) -> JsonObject | None:
        """The user's row of the authentication methods registration report, or None when there is no such user."""
        with self._lock:
            user = self._find(key)
            if user is None:
                return None
            registered = bool(self._state.get("sspr", {}).get(user["id"], False))
            methods = [m.get("@odata.type", "").rsplit(".", 1)[-1] for m in self._state["methods"].get(user["id"], [])]
            return {"id": user["id"], "userPrincipalName": user["userPrincipalName"],
                    "userDisplayName": user["displayName"], "userType": "member", "isAdmin": False,
                    "isSsprRegistered": registered, "isSsprEnabled": registered, "isSsprCapable": registered,
                    "isMfaRegistered": len(methods) > 1, "isMfaCapable": len(methods) > 1,
                    "isPasswordlessCapable": False, "methodsRegistered": methods}

    # ----- groups and roles ----------------------------------------------------------------------

    def groups(self) -> list[JsonObject]:
        """Every group (copies)."""
        with self._lock:
            return [dict(g) for g in self._state["groups"].values()]

    def member_of(self, key: str) -> list[JsonObject]:
        """Groups and activated directory roles the user belongs to, each with its ``@odata.type``."""
        with self._lock:
            user_id = self._required(key)["id"]
            groups = [
                {"@odata.type": "#microsoft.graph.group", **self._state["groups"][group_id]}
                for group_id, members in self._state["members"].items() if user_id in members
            ]
            roles = [
                _directory_role(a["roleDefinitionId"])
                for a in self._state["roleAssignments"] if a["principalId"] == user_id and a["directoryScopeId"] == "/"
            ]
            return groups + roles

    def role_definitions(self) -> list[JsonObject]:
        """The built-in role definitions (id = templateId, as Entra has it for built-in roles)."""
        return [_role_definition(template_id) for template_id, _, _ in BUILT_IN_ROLES]

    def role_definition(self, definition_id: str) -> JsonObject | None:
        """One built-in role definition, or None."""
        known = {template_id for template_id, _, _ in BUILT_IN_ROLES}
        return _role_definition(definition_id) if definition_id in known else None

    def add_role_assignment(self, key: str, role_definition_id: str, directory_scope_id: str = "/") -> JsonObject:
        """Assign a role to a user (active, permanent) and return the unifiedRoleAssignment."""
        with self._lock:
            user_id = self._required(key)["id"]
            assignment = {
                "id": _assignment_id(role_definition_id, user_id),
                "principalId": user_id,
                "roleDefinitionId": role_definition_id,
                "directoryScopeId": directory_scope_id,
                "appScopeId": None,
                "condition": None,
                "principalOrganizationId": None,
            }
            self._state["roleAssignments"].append(assignment)
            self._save()
            return dict(assignment)

    def add_role_eligibility(self, key: str, role_definition_id: str, directory_scope_id: str = "/") -> JsonObject:
        """Make a user eligible (PIM) for a role, without expiry, and return the eligibility schedule."""
        with self._lock:
            user_id = self._required(key)["id"]
            name = f"sesame-sandbox-eligibility:{role_definition_id}:{user_id}"
            schedule_id = str(uuid.uuid5(uuid.NAMESPACE_URL, name))
            stamp = _now()
            schedule = {
                "id": schedule_id,
                "principalId": user_id,
                "roleDefinitionId": role_definition_id,
                "directoryScopeId": directory_scope_id,
                "appScopeId": None,
                "createdDateTime": stamp,
                "modifiedDateTime": None,
                "createdUsing": schedule_id,
                "status": "Provisioned",
                "memberType": "Direct",
                "scheduleInfo": {
                    "startDateTime": stamp,
                    "recurrence": None,
                    "expiration": {"type": "noExpiration", "endDateTime": None, "duration": None},
                },
            }
            self._state["roleEligibilitySchedules"].append(schedule)
            self._save()
            return dict(schedule)

    def role_assignments(self) -> list[JsonObject]:
        """Active role assignments (unifiedRoleAssignment JSON)."""
        with self._lock:
            return [dict(a) for a in self._state["roleAssignments"]]

    def role_eligibility_schedules(self) -> list[JsonObject]:
        """PIM eligibility schedules (unifiedRoleEligibilitySchedule JSON)."""
        with self._lock:
            return [json.loads(json.dumps(s)) for s in self._state["roleEligibilitySchedules"]]

    def role_eligibility_schedule_instances(self) -> list[JsonObject]:
        """The current instance of each eligibility schedule (unifiedRoleEligibilityScheduleInstance JSON)."""
        with self._lock:
            return [
                {
                    "id": s["id"] + "-instance",
                    "principalId": s["principalId"],
                    "roleDefinitionId": s["roleDefinitionId"],
                    "directoryScopeId": s["directoryScopeId"],
                    "appScopeId": s["appScopeId"],
                    "startDateTime": s["scheduleInfo"]["startDateTime"],
                    "endDateTime": s["scheduleInfo"]["expiration"]["endDateTime"],
                    "memberType": s["memberType"],
                    "roleEligibilityScheduleId": s["id"],
                }
                for s in self._state["roleEligibilitySchedules"]
            ]

    # ----- authentication methods and operations -------------------------------------------------

    def authentication_methods(self, key: str) -> list[JsonObject]:
        """The user's registered authentication methods, each with its ``@odata.type``."""
        with self._lock:
            return [dict(m) for m in self._state["methods"].get(self._required(key)["id"], [])]

    def start_password_reset(self, key: str, method_id: str, new_password: str | None) -> tuple[JsonObject, str | None]:
        """Queue a reset of the password method; returns the operation and the generated password, if any.

        The password is applied when a poll moves the operation to ``succeeded``.
        """
        with self._lock:
            user = self._required(key)
            if method_id.lower() != PASSWORD_METHOD_ID:
                raise EntraStoreError(f"method '{method_id}' is not the password method of {user['userPrincipalName']}")
            generated = None if new_password else generated_password(user["userPrincipalName"])
            stamp = _now()
            operation = {
                "id": str(uuid.uuid4()),
                "createdDateTime": stamp,
                "lastActionDateTime": stamp,
                "status": OPERATION_STEPS[0],
                "statusDetail": None,
                "resourceLocation": f"/v1.0/users/{user['id']}/authentication/passwordMethods/{PASSWORD_METHOD_ID}",
            }
            salt = secrets.token_hex(8)
            self._state["operations"][operation["id"]] = {
                "userId": user["id"], "operation": operation, "salt": salt,
                "hash": _hash(new_password or generated or "", salt),
            }
            self._save()
            return dict(operation), generated

    def poll_operation(self, key: str, operation_id: str) -> JsonObject | None:
        """The operation as this poll sees it (notStarted, then running, then succeeded), or None if unknown.

        The password is applied the first time a poll reports ``succeeded``.
        """
        with self._lock:
            user_id = self._required(key)["id"]
            entry = self._state["operations"].get(operation_id)
            if entry is None or entry["userId"] != user_id:
                return None
            operation = entry["operation"]
            status = OPERATION_STEPS[min(entry.get("polls", 0), len(OPERATION_STEPS) - 1)]
            entry["polls"] = entry.get("polls", 0) + 1
            if status != operation["status"]:
                operation.update(status=status, lastActionDateTime=_now())
                if status == "succeeded":
                    record = self._state["passwords"].setdefault(user_id, {"forceChangePasswordNextSignIn": False})
                    record.update(salt=entry["salt"], hash=entry["hash"])
                    self._state["users"][user_id]["lastPasswordChangeDateTime"] = operation["lastActionDateTime"]
            self._save()
            return dict(operation)

def _upn(user: DirectoryUser, domain: str) -> str:
    """The scenario's UPN; a user without one gets ``sam@`` the tenant's domain."""
    return user.upn or f"{user.sam}@{domain}"


def _distinguished_name(user: DirectoryUser) -> str:
    display = " ".join(filter(None, [user.given_name, user.surname])) or user.sam
    return f"CN={display},{user.ou}"


def _dns_domain(ou: str) -> str:
    parts = [p.split("=", 1)[1] for p in ou.split(",") if p.strip().upper().startswith("DC=")]
    return ".".join(parts)


def _assignment_id(role_definition_id: str, principal_id: str) -> str:
    """Entra's assignment ids look like base64url(roleDefinitionId bytes + principalId bytes) + '-1'."""
    raw = uuid.UUID(role_definition_id).bytes_le + uuid.UUID(principal_id).bytes_le
    return base64.urlsafe_b64encode(raw).decode().rstrip("=") + "-1"


def _role_definition(template_id: str) -> JsonObject:
    _, name, description = next(r for r in BUILT_IN_ROLES if r[0] == template_id)
    return {
        "id": template_id,
        "templateId": template_id,
        "displayName": name,
        "description": description,
        "isBuiltIn": True,
        "isEnabled": True,
        "resourceScopes": ["/"],
        "version": "1",
        "rolePermissions": [],
    }


def _directory_role(template_id: str) -> JsonObject:
    """The activated directoryRole of a template, as memberOf lists it (its own id, not the template's)."""
    _, name, description = next(r for r in BUILT_IN_ROLES if r[0] == template_id)
    return {
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "sesame-sandbox-directory-role:" + template_id)),
        "deletedDateTime": None,
        "displayName": name,
        "description": description,
        "roleTemplateId": template_id,
    }

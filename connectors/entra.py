"""Entra ID over Microsoft Graph (msgraph-sdk): find a user, read its state, revoke sessions, reset cloud passwords.

Least privilege (security note §3.2): ``User.Read.All``, ``RoleManagement.Read.Directory``,
``UserAuthenticationMethod.Read.All``, ``User.RevokeSessions.All``, ``User-PasswordProfile.ReadWrite.All``;
``AuditLog.Read.All`` only if SSPR registration is read. A user synchronised from AD is never written here:
``MustUseActiveDirectoryError`` tells the caller to act in AD, as Entra itself refuses the write.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import structlog
from kiota_abstractions.api_error import APIError
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph import GraphServiceClient
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.user import User
from msgraph.generated.role_management.directory.role_assignments.role_assignments_request_builder import (
    RoleAssignmentsRequestBuilder,
)
from msgraph.generated.role_management.directory.role_eligibility_schedules.role_eligibility_schedules_request_builder import (  # noqa: E501
    RoleEligibilitySchedulesRequestBuilder,
)
from msgraph.generated.users.item.user_item_request_builder import UserItemRequestBuilder
from msgraph.generated.users.users_request_builder import UsersRequestBuilder

from connectors.errors import (
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PolicyRefusalError,
)
from connectors.graph_client import (
    PROBE_USER,
    GraphConnector,
    PermissionProbe,
    graph_error,
    graph_error_code,
)
from connectors.identity import (
    AmbiguousIdentityError,
    Change,
    CloudIdentity,
    CloudIdentityState,
    CloudRole,
    MustUseActiveDirectoryError,
)

SYSTEM = "entra"
log = structlog.get_logger(__name__)

USER_FIELDS = [
    "id", "userPrincipalName", "displayName", "mail", "accountEnabled", "onPremisesSyncEnabled",
    "onPremisesSamAccountName", "onPremisesDistinguishedName", "createdDateTime", "lastPasswordChangeDateTime",
    "signInSessionsValidFromDateTime",
]
MAX_MATCHES = 10
# Feature -> the least-privileged application permission it needs.
FEATURES: dict[str, str] = {
    "read": "User.Read.All",
    "roles": "RoleManagement.Read.Directory",
    "authentication_methods": "UserAuthenticationMethod.Read.All",
    "sspr_registration": "AuditLog.Read.All",
    "revoke_sessions": "User.RevokeSessions.All",
    "password_reset": "User-PasswordProfile.ReadWrite.All",
}
DEFAULT_FEATURES = frozenset(FEATURES) - {"sspr_registration"}
SYNCED_REFUSAL = "on-premises mastered"  # in Entra's 400 for a cloud write to a synced user
COMPLEXITY_REFUSAL = "password complexity"


def _quoted(value: str) -> str:
    """An OData string literal: single quotes doubled."""
    return "'" + value.replace("'", "''") + "'"


def _method_type(odata_type: str | None) -> str:
    """``#microsoft.graph.phoneAuthenticationMethod`` -> ``phone``."""
    name = (odata_type or "").rsplit(".", 1)[-1]
    return name.removesuffix("AuthenticationMethod") or "unknown"


def _identity(user: User) -> CloudIdentity:
    return CloudIdentity(
        id=user.id or "",
        user_principal_name=user.user_principal_name or "",
        display_name=user.display_name or "",
        mail=user.mail,
        enabled=bool(user.account_enabled),
        synced_from_ad=bool(user.on_premises_sync_enabled),
        on_premises_sam_account_name=user.on_premises_sam_account_name,
        on_premises_distinguished_name=user.on_premises_distinguished_name,
        created_at=user.created_date_time,
        password_changed_at=user.last_password_change_date_time,
    )


def _stamp(value: datetime | None) -> str:
    return value.isoformat() if value else ""


async def _probe_read(sdk: GraphServiceClient) -> None:
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(select=["id"], top=1)
    await sdk.users.get(RequestConfiguration(query_parameters=query))


async def _probe_roles(sdk: GraphServiceClient) -> None:
    query = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
        filter=f"principalId eq '{PROBE_USER}'")
    await sdk.role_management.directory.role_assignments.get(RequestConfiguration(query_parameters=query))


async def _probe_methods(sdk: GraphServiceClient) -> None:
    await sdk.users.by_user_id(PROBE_USER).authentication.methods.get()


async def _probe_sspr(sdk: GraphServiceClient) -> None:
    details = sdk.reports.authentication_methods.user_registration_details
    await details.by_user_registration_details_id(PROBE_USER).get()


async def _probe_revoke(sdk: GraphServiceClient) -> None:
    await sdk.users.by_user_id(PROBE_USER).revoke_sign_in_sessions.post()


async def _probe_password(sdk: GraphServiceClient) -> None:
    # No password in the probe: only the flag, on a user that does not exist.
    await sdk.users.by_user_id(PROBE_USER).patch(
        User(password_profile=PasswordProfile(force_change_password_next_sign_in=True)))


_PROBES = (
    PermissionProbe("read", FEATURES["read"], _probe_read),
    PermissionProbe("roles", FEATURES["roles"], _probe_roles),
    PermissionProbe("authentication_methods", FEATURES["authentication_methods"], _probe_methods),
    PermissionProbe("sspr_registration", FEATURES["sspr_registration"], _probe_sspr),
    PermissionProbe("revoke_sessions", FEATURES["revoke_sessions"], _probe_revoke),
    PermissionProbe("password_reset", FEATURES["password_reset"], _probe_password),
)


class EntraIdentities(GraphConnector, system=SYSTEM, product="Entra", features=FEATURES,
                      default_features=DEFAULT_FEATURES, probes=_PROBES):
    """``connectors.identity.CloudIdentities`` for Entra ID, with application permissions.

    ``features`` names what is enabled (keys of ``FEATURES``); ``doctor()`` checks exactly their permissions.
    """

    # ----- reads ---------------------------------------------------------------------------------

    def find_user(self, login: str) -> CloudIdentity:
        """The one user whose UPN, mail, on-premises sAMAccountName or other mails equal ``login``."""
        value = _quoted(login.strip())
        query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
            filter=(f"userPrincipalName eq {value} or mail eq {value} or onPremisesSamAccountName eq {value} "
                    f"or otherMails/any(m:m eq {value})"),
            select=USER_FIELDS, count=True, top=MAX_MATCHES,
        )
        config = RequestConfiguration(query_parameters=query)
        config.headers.add("ConsistencyLevel", "eventual")  # otherMails/any needs an advanced query

        async def work(sdk: GraphServiceClient) -> list[User]:
            page = await sdk.users.get(config)
            return list(page.value or []) if page else []

        users = self._client.call("find_user", work, action=f"find user {login!r}", needs=[FEATURES["read"]],
                                  system=SYSTEM)
        if not users:
            raise NotFoundError(f"no Entra ID user has {login!r} as UPN, mail, sAMAccountName or other mail",
                                system=SYSTEM)
        if len(users) > 1:
            names = tuple(sorted(u.user_principal_name or u.id or "?" for u in users))
            raise AmbiguousIdentityError(f"{len(users)} Entra ID users match {login!r}: {', '.join(names)}",
                                         candidates=names, system=SYSTEM)
        return _identity(users[0])

    def read_user(self, user_id: str) -> CloudIdentity:
        """Fresh identity of one user by object id or UPN; ``NotFoundError`` when absent."""
        return _identity(self._user(user_id))

    def read_state(self, identity: CloudIdentity) -> CloudIdentityState:
        """Fresh state: enabled, synced, roles active or eligible, authentication methods, SSPR registration."""
        fresh = self.read_user(identity.id)
        roles = self._roles(fresh.id) if "roles" in self.features else ()
        methods = self._methods(fresh.id) if "authentication_methods" in self.features else ()
        sspr, detail = self._sspr(fresh.id)
        return CloudIdentityState(identity=fresh, roles=roles, authentication_methods=methods,
                                  sspr_registered=sspr, sspr_detail=detail)

    def _user(self, user_id: str) -> User:
        query = UserItemRequestBuilder.UserItemRequestBuilderGetQueryParameters(select=USER_FIELDS)

        async def work(sdk: GraphServiceClient) -> User:
            user = await sdk.users.by_user_id(user_id).get(RequestConfiguration(query_parameters=query))
            if user is None:
                raise NotFoundError(f"Graph returned no body for user {user_id}", system=SYSTEM)
            return user

        return self._client.call("read_user", work, action=f"read user {user_id}", needs=[FEATURES["read"]],
                                 system=SYSTEM)

    def _roles(self, user_id: str) -> tuple[CloudRole, ...]:
        principal = f"principalId eq {_quoted(user_id)}"
        active_query = RoleAssignmentsRequestBuilder.RoleAssignmentsRequestBuilderGetQueryParameters(
            filter=principal, expand=["roleDefinition"])
        schedules = RoleEligibilitySchedulesRequestBuilder
        eligible_query = schedules.RoleEligibilitySchedulesRequestBuilderGetQueryParameters(
            filter=principal, expand=["roleDefinition"])

        async def work(sdk: GraphServiceClient) -> tuple[CloudRole, ...]:
            directory = sdk.role_management.directory
            active = await directory.role_assignments.get(RequestConfiguration(query_parameters=active_query))
            eligible = await directory.role_eligibility_schedules.get(
                RequestConfiguration(query_parameters=eligible_query))
            roles = [_role(a, "active") for a in (active.value if active else None) or []]
            roles += [_role(e, "eligible") for e in (eligible.value if eligible else None) or []]
            return tuple(roles)

        return self._client.call("read_roles", work, action=f"read the directory roles of user {user_id}",
                                 needs=[FEATURES["roles"]], system=SYSTEM)

    def _methods(self, user_id: str) -> tuple[str, ...]:
        async def work(sdk: GraphServiceClient) -> tuple[str, ...]:
            page = await sdk.users.by_user_id(user_id).authentication.methods.get()
            return tuple(sorted({_method_type(m.odata_type) for m in (page.value if page else None) or []}))

        return self._client.call("read_authentication_methods", work,
                                 action=f"read the authentication methods of user {user_id}",
                                 needs=[FEATURES["authentication_methods"]], system=SYSTEM)

    def _sspr(self, user_id: str) -> tuple[bool | None, str]:
        if "sspr_registration" not in self.features:
            return None, ("not read: the sspr_registration feature is off "
                          f"(it needs {FEATURES['sspr_registration']})")

        async def work(sdk: GraphServiceClient) -> bool | None:
            details = sdk.reports.authentication_methods.user_registration_details
            found = await details.by_user_registration_details_id(user_id).get()
            return found.is_sspr_registered if found else None

        try:
            registered = self._client.call("read_sspr_registration", work,
                                           action=f"read the SSPR registration of user {user_id}",
                                           needs=[FEATURES["sspr_registration"]], system=SYSTEM)
        except PermissionMissingError as exc:
            return None, f"not obtainable: {exc}"
        except (InvalidRequestError, NotFoundError) as exc:
            return None, f"not obtainable from this service: {exc}"
        return registered, "from the authentication methods registration report"

    # ----- writes --------------------------------------------------------------------------------

    def revoke_sessions(self, identity: CloudIdentity, *, dry_run: bool = False) -> Change:
        """Invalidate the user's refresh tokens and session cookies (``revokeSignInSessions``)."""
        before = {"signInSessionsValidFromDateTime": self._sessions_valid_from(identity.id)}
        if dry_run:
            return Change(action="revoke_sessions", target=identity.user_principal_name, before=before,
                          after={"signInSessionsValidFromDateTime": "now"}, dry_run=True)

        async def work(sdk: GraphServiceClient) -> None:
            await sdk.users.by_user_id(identity.id).revoke_sign_in_sessions.post()

        self._client.call("revoke_sessions", work, action=f"revoke the sessions of {identity.user_principal_name}",
                          write=True, needs=[FEATURES["revoke_sessions"]], system=SYSTEM)
        after = {"signInSessionsValidFromDateTime": self._sessions_valid_from(identity.id)}
        log.info("entra.revoke_sessions", system=SYSTEM, target=identity.user_principal_name)
        return Change(action="revoke_sessions", target=identity.user_principal_name, before=before, after=after)

    def _sessions_valid_from(self, user_id: str) -> str:
        user = self._user(user_id)
        return _stamp(user.sign_in_sessions_valid_from_date_time)

    def reset_password(self, identity: CloudIdentity, new_password: str, *, force_change: bool = True,
                       dry_run: bool = False) -> Change:
        """Set a cloud-only user's password (``passwordProfile``), must-change at next sign-in by default.

        Raises ``MustUseActiveDirectoryError`` for a user synchronised from AD (dry run included: it would not
        change it either) and ``PolicyRefusalError`` when the password breaks the tenant's rules. The password
        is never logged nor returned; ``before``/``after`` carry only the change time and the flag.
        """
        fresh = self.read_user(identity.id)
        if fresh.synced_from_ad:
            raise self._in_ad(fresh)
        before = {"lastPasswordChangeDateTime": _stamp(fresh.password_changed_at)}
        flag = {"forceChangePasswordNextSignIn": str(force_change).lower()}
        if dry_run:
            return Change(action="reset_password", target=fresh.user_principal_name, before=before,
                          after={"lastPasswordChangeDateTime": "now", **flag}, dry_run=True)
        body = User(password_profile=PasswordProfile(password=new_password,
                                                     force_change_password_next_sign_in=force_change))

        async def work(sdk: GraphServiceClient) -> None:
            try:
                await sdk.users.by_user_id(fresh.id).patch(body)
            except APIError as exc:
                raise self._refusal(exc, fresh) from exc

        self._client.call("reset_password", work, action=f"reset the password of {fresh.user_principal_name}",
                          write=True, needs=[FEATURES["password_reset"]], system=SYSTEM)
        after = {"lastPasswordChangeDateTime": _stamp(self.read_user(fresh.id).password_changed_at), **flag}
        log.info("entra.reset_password", system=SYSTEM, target=fresh.user_principal_name, **flag)
        return Change(action="reset_password", target=fresh.user_principal_name, before=before, after=after)

    def _in_ad(self, identity: CloudIdentity, request_id: str | None = None) -> MustUseActiveDirectoryError:
        where = identity.on_premises_distinguished_name or identity.on_premises_sam_account_name or "AD"
        return MustUseActiveDirectoryError(
            f"{identity.user_principal_name} is synchronised from Active Directory ({where}): "
            "change it in AD, Entra ID refuses cloud writes to it", identity=identity, system=SYSTEM,
            request_id=request_id)

    def _refusal(self, exc: APIError, identity: CloudIdentity) -> ConnectorError:
        mapped = graph_error(exc, f"reset the password of {identity.user_principal_name}", system=SYSTEM,
                             needs=(FEATURES["password_reset"],))
        _, message = graph_error_code(exc)
        if exc.response_status_code == 400 and SYNCED_REFUSAL in message.lower():
            return self._in_ad(identity, mapped.request_id)
        if exc.response_status_code == 400 and COMPLEXITY_REFUSAL in message.lower():
            return PolicyRefusalError(f"Entra ID refused the new password of {identity.user_principal_name}: "
                                      f"{message}", system=SYSTEM, request_id=mapped.request_id)
        return mapped


def _role(item: Any, kind: str) -> CloudRole:
    definition = getattr(item, "role_definition", None)
    name = getattr(definition, "display_name", None) or item.role_definition_id or "unknown role"
    return CloudRole(name=name, role_definition_id=item.role_definition_id or "",
                     scope=item.directory_scope_id or "/", kind="active" if kind == "active" else "eligible")

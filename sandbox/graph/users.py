"""Entra ID routes of the Graph emulator: users, their groups and roles, role management, authentication methods.

Paths, JSON and errors follow Graph v1.0 as ``msgraph-sdk`` sends and reads them (names from the v1.0 CSDL).
Each route first checks the caller's application permissions (the least-privileged ones Graph documents,
plus the broader ones that also grant the call), then the object, then the change: Graph's own order.
Like Graph, a user list or read without ``$select`` returns only the default properties.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.graph.entra_store import EntraStore, EntraStoreError, JsonObject, password_problem
from sandbox.graph.errors import GraphError
from sandbox.graph.odata import parse_filter
from sandbox.graph.permissions import require_permission

# Properties of the v1.0 ``user`` entity this sandbox stores and serves.
USER_PROPERTIES = (
    "id", "accountEnabled", "businessPhones", "companyName", "createdDateTime", "department", "displayName",
    "employeeId", "givenName", "jobTitle", "lastPasswordChangeDateTime", "mail", "mailNickname", "mobilePhone",
    "officeLocation", "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesImmutableId",
    "onPremisesLastSyncDateTime", "onPremisesSamAccountName", "onPremisesSyncEnabled", "onPremisesUserPrincipalName",
    "otherMails", "passwordPolicies", "passwordProfile", "preferredLanguage", "signInSessionsValidFromDateTime",
    "surname", "usageLocation", "userPrincipalName", "userType",
)
# What Graph returns for a user when the request has no $select.
DEFAULT_USER_PROPERTIES = (
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
    "preferredLanguage", "surname", "userPrincipalName", "id",
)
# Properties a PATCH /users/{id} may change here, and the parameters of the actions served.
USER_UPDATABLE = ("accountEnabled", "passwordProfile")
PASSWORD_PROFILE_PROPERTIES = ("forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa", "password")
RESET_PASSWORD_PARAMETERS = ("newPassword",)
# $filter on users: properties that take ``eq`` / ``startswith`` as a default query, and ``any`` (advanced).
FILTER_EQ = ("id", "mail", "userPrincipalName", "onPremisesSamAccountName", "accountEnabled", "displayName",
             "givenName", "surname", "mailNickname", "userType")
FILTER_STARTSWITH = ("displayName", "mail", "userPrincipalName", "givenName", "surname", "mailNickname")
FILTER_ANY = ("otherMails",)

# Application permissions accepted per route: the least-privileged first, then those that include it.
# The registration report (who registered for SSPR/MFA) needs the audit log permission.
READ_REPORTS = ("AuditLog.Read.All",)
READ_USERS = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")
WRITE_PASSWORD_PROFILE = ("User-PasswordProfile.ReadWrite.All",)  # User.ReadWrite.All alone is refused by Entra
ENABLE_DISABLE = ("User.EnableDisableAccount.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
REVOKE_SESSIONS = ("User.RevokeSessions.All", "User.ReadWrite.All", "Directory.ReadWrite.All")
READ_MEMBERSHIP = ("GroupMember.Read.All", "Group.Read.All", "Directory.Read.All", "Directory.ReadWrite.All")
READ_ROLES = ("RoleManagement.Read.Directory", "RoleManagement.Read.All", "RoleManagement.ReadWrite.Directory",
              "Directory.Read.All", "Directory.ReadWrite.All")
READ_ELIGIBILITY = ("RoleEligibilitySchedule.Read.Directory", "RoleEligibilitySchedule.ReadWrite.Directory",
                    *READ_ROLES)
READ_AUTH_METHODS = ("UserAuthenticationMethod.Read.All", "UserAuthenticationMethod.ReadWrite.All")
RESET_PASSWORD = ("UserAuthenticationMethod.ReadWrite.All",)

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 999
RESET_RETRY_AFTER_SECONDS = 1
SYNCED_OBJECT_MESSAGE = (
    "Unable to update the specified properties for on-premises mastered Directory Sync objects or objects "
    "currently undergoing migration."
)


# ----- $filter on users ------------------------------------------------------------------------------------

Predicate = Callable[[JsonObject], bool]
_TOKEN = re.compile(r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<punct>[(),:/])|(?P<word>[A-Za-z_][\w.\-]*))")


@dataclass(frozen=True)
class UserFilter:
    """A parsed ``$filter`` over users and the properties in it that need an advanced query."""

    predicate: Predicate
    advanced: tuple[str, ...]


def _canonical(name: str, allowed: Collection[str]) -> str | None:
    return next((p for p in allowed if p.lower() == name.lower()), None)


def _unsupported(prop: str) -> GraphError:
    return GraphError(
        400, "Request_UnsupportedQuery",
        f"Unsupported or invalid query filter clause specified for property '{prop}' of resource 'User'.",
    )


def _same(value: Any, literal: Any) -> bool:
    """Directory string comparisons ignore case."""
    if isinstance(value, str) and isinstance(literal, str):
        return value.lower() == literal.lower()
    return bool(value == literal)


class _UserFilterParser:
    """``eq``, ``startswith(p,'v')``, ``p/any(x:x eq 'v')`` combined with ``and``/``or`` and parentheses."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        self.advanced: list[str] = []
        pos = 0
        while text[pos:].strip():
            match = _TOKEN.match(text, pos)
            if not match:
                raise self._invalid(f"cannot read '{text[pos:].strip()}'")
            kind = match.lastgroup or ""
            self.tokens.append((kind, match.group(kind)))
            pos = match.end()
        self.pos = 0

    def _invalid(self, why: str) -> GraphError:
        return GraphError(400, "BadRequest", f"Invalid filter clause: {why} in '{self.text}'.")

    def parse(self) -> UserFilter:
        predicate = self._or()
        if self.pos != len(self.tokens):
            raise self._invalid(f"unexpected '{self.tokens[self.pos][1]}'")
        return UserFilter(predicate, tuple(self.advanced))

    def _peek(self) -> str:
        return self.tokens[self.pos][1].lower() if self.pos < len(self.tokens) else ""

    def _take(self, expected: str | None = None) -> str:
        if self.pos >= len(self.tokens):
            raise self._invalid("it ends too early")
        value = self.tokens[self.pos][1]
        if expected is not None and value.lower() != expected:
            raise self._invalid(f"expected '{expected}', got '{value}'")
        self.pos += 1
        return value

    def _string(self) -> str:
        if self.pos >= len(self.tokens) or self.tokens[self.pos][0] != "string":
            raise self._invalid("expected a quoted string")
        return self._take()[1:-1].replace("''", "'")

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._peek() == "or":
            self._take()
            parts.append(self._and())
        return parts[0] if len(parts) == 1 else (lambda user: any(p(user) for p in parts))

    def _and(self) -> Predicate:
        parts = [self._term()]
        while self._peek() == "and":
            self._take()
            parts.append(self._term())
        return parts[0] if len(parts) == 1 else (lambda user: all(p(user) for p in parts))

    def _term(self) -> Predicate:
        if self._peek() == "(":
            self._take()
            inner = self._or()
            self._take(")")
            return inner
        word = self._take()
        if word.lower() == "startswith" and self._peek() == "(":
            return self._startswith()
        if self._peek() == "/":
            return self._any(word)
        prop = _canonical(word, FILTER_EQ)
        if prop is None:
            raise _unsupported(word)
        operator = self._take()
        if operator.lower() != "eq":
            raise _unsupported(prop)
        literal = self._literal()
        return lambda user: _same(user.get(prop), literal)

    def _literal(self) -> Any:
        if self.pos < len(self.tokens) and self.tokens[self.pos][0] == "string":
            return self._string()
        word = self._take().lower()
        if word not in {"true", "false", "null"}:
            raise self._invalid(f"'{word}' is not a literal")
        return {"true": True, "false": False, "null": None}[word]

    def _startswith(self) -> Predicate:
        self._take("(")
        word = self._take()
        prop = _canonical(word, FILTER_STARTSWITH)
        if prop is None:
            raise _unsupported(word)
        self._take(",")
        prefix = self._string().lower()
        self._take(")")
        return lambda user: str(user.get(prop) or "").lower().startswith(prefix)

    def _any(self, word: str) -> Predicate:
        prop = _canonical(word, FILTER_ANY)
        if prop is None:
            raise _unsupported(word)
        self._take("/")
        self._take("any")
        self._take("(")
        variable = self._take().lower()
        self._take(":")
        if self._take().lower() != variable:
            raise self._invalid(f"the lambda must compare its variable '{variable}'")
        self._take("eq")
        literal = self._string()
        self._take(")")
        self.advanced.append(prop)
        return lambda user: any(_same(v, literal) for v in user.get(prop) or [])


def parse_user_filter(text: str) -> UserFilter:
    """Parse a ``$filter`` on users; raise Graph's 400 for what Entra does not support."""
    return _UserFilterParser(text).parse()


# ----- helpers --------------------------------------------------------------------------------------------


def _select(text: str | None, allowed: Sequence[str], entity: str) -> tuple[str, ...] | None:
    if text is None:
        return None
    names: list[str] = []
    for raw in filter(None, (n.strip() for n in text.split(","))):
        name = _canonical(raw, allowed)
        if name is None:
            raise GraphError(400, "Request_BadRequest",
                             f"Could not find a property named '{raw}' on type 'microsoft.graph.{entity}'.")
        names.append(name)
    return tuple(names)


def _project(item: JsonObject, select: tuple[str, ...] | None, default: Sequence[str] | None = None) -> JsonObject:
    """Only the selected properties (``@odata.type`` kept), or the default ones without ``$select``."""
    names = select if select is not None else (default if default is not None else list(item))
    shown = {"@odata.type": item["@odata.type"]} if "@odata.type" in item else {}
    shown.update({name: item.get(name) for name in names if name != "@odata.type"})
    return shown


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise GraphError(400, "BadRequest", f"Invalid JSON body: {exc.msg} at line {exc.lineno}.") from exc
    if not isinstance(data, dict):
        raise GraphError(400, "BadRequest", "The request body must be a JSON object.")
    return data


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    """Keys lower-cased, OData annotations such as ``@odata.type`` dropped (the SDK adds them to bodies)."""
    return {k.lower(): v for k, v in data.items() if not k.startswith("@")}


def _skiptoken(offset: int) -> str:
    return base64.urlsafe_b64encode(f"sesame-users:{offset}".encode()).decode().rstrip("=")


def _offset(token: str | None) -> int:
    if token is None:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix == "sesame-users" and number.isdigit():
            return int(number)
    except (ValueError, UnicodeDecodeError):
        pass
    raise GraphError(400, "Request_BadRequest", "The specified page token value has expired or is invalid.")


def _expand(text: str | None) -> bool:
    """Whether ``$expand=roleDefinition`` was asked for; other expansions are not served here."""
    if text is None:
        return False
    names = {n.strip().lower() for n in text.split(",") if n.strip()}
    if names - {"roledefinition"}:
        raise GraphError(400, "BadRequest", f"Expanding {sorted(names - {'roledefinition'})} is not supported here; "
                         "this sandbox expands roleDefinition only.")
    return bool(names)


# ----- routes ---------------------------------------------------------------------------------------------


class DirectoryRoutes:
    """``/v1.0/users``, ``/v1.0/roleManagement/directory/…`` and authentication methods over an ``EntraStore``."""

    def __init__(self, store: EntraStore, *, origin: Callable[[Request], str]) -> None:
        self.store = store
        self._origin = origin

    def routes(self) -> list[Route]:
        """Starlette routes of the directory."""
        user = "/v1.0/users/{user}"
        methods = user + "/authentication/methods"
        roles = "/v1.0/roleManagement/directory"
        return [
            Route("/v1.0/users", self.list_users, methods=["GET"]),
            Route(user, self.user, methods=["GET", "PATCH"]),
            Route(user + "/revokeSignInSessions", self.revoke_sign_in_sessions, methods=["POST"]),
            Route(user + "/memberOf", self.member_of, methods=["GET"]),
            Route(user + "/transitiveMemberOf", self.member_of, methods=["GET"]),
            Route(methods, self.authentication_methods, methods=["GET"]),
            Route(methods + "/{method}", self.authentication_method, methods=["GET"]),
            Route(methods + "/{method}/resetPassword", self.reset_password, methods=["POST"]),
            Route(user + "/authentication/operations/{operation}", self.operation, methods=["GET"]),
            Route(roles + "/roleDefinitions", self.role_definitions, methods=["GET"]),
            Route(roles + "/roleDefinitions/{definition}", self.role_definition, methods=["GET"]),
            Route(roles + "/roleAssignments", self.role_assignments, methods=["GET"]),
            Route(roles + "/roleEligibilitySchedules", self.role_eligibility_schedules, methods=["GET"]),
            Route(roles + "/roleEligibilityScheduleInstances", self.role_eligibility_instances, methods=["GET"]),
            Route("/v1.0/reports/authenticationMethods/userRegistrationDetails/{user}", self.registration_details,
                  methods=["GET"]),
        ]

    def _context(self, request: Request, fragment: str) -> str:
        return f"{self._origin(request)}/v1.0/$metadata#{fragment}"

    def _found(self, request: Request) -> JsonObject:
        key = str(request.path_params["user"])
        user = self.store.user(key)
        if user is None:
            raise GraphError(404, "Request_ResourceNotFound",
                             f"Resource '{key}' does not exist or one of its queried reference-property objects "
                             "are not present.")
        return user

    async def registration_details(self, request: Request) -> Response:
        """One user's row of the authentication methods registration report (SSPR and MFA registration)."""
        require_permission(request, *READ_REPORTS)
        key = str(request.path_params["user"])
        details = self.store.registration_details(key)
        if details is None:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{key}' does not exist.")
        context = self._context(request, "reports/authenticationMethods/userRegistrationDetails/$entity")
        return JSONResponse({"@odata.context": context, **details})

    # ----- users -------------------------------------------------------------------------------------

    async def list_users(self, request: Request) -> Response:
        """A page of users, filtered, selected and counted as Entra does, with an absolute nextLink."""
        require_permission(request, *READ_USERS)
        params = dict(request.query_params)
        for option in ("$orderby", "$search", "$skip", "$expand"):
            if option in params:
                raise GraphError(400, "Request_BadRequest", f"'{option}' is not supported by this sandbox on users.")
        eventual = request.headers.get("consistencylevel", "").strip().lower() == "eventual"
        count = params.get("$count", "false").lower() == "true"
        if count and not eventual:
            raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
        wanted = parse_user_filter(params["$filter"]) if params.get("$filter") else None
        if wanted is not None and wanted.advanced and not (eventual and count):
            # Advanced queries need both ConsistencyLevel: eventual and $count=true.
            raise _unsupported(wanted.advanced[0])
        select = _select(params.get("$select"), USER_PROPERTIES, "user")
        top = params.get("$top", str(DEFAULT_PAGE_SIZE))
        if not top.isdigit() or not 1 <= int(top) <= MAX_PAGE_SIZE:
            raise GraphError(400, "Request_BadRequest", f"Invalid page size specified: '{top}'. Must be between "
                             f"1 and {MAX_PAGE_SIZE} inclusive.")
        users = [u for u in self.store.users() if wanted is None or wanted.predicate(u)]
        offset = _offset(params.get("$skiptoken"))
        page = users[offset: offset + int(top)]
        fragment = f"users({','.join(select)})" if select else "users"
        payload: dict[str, Any] = {"@odata.context": self._context(request, fragment)}
        if count:
            payload["@odata.count"] = len(users)
        if offset + int(top) < len(users):
            query = {k: v for k, v in params.items() if k != "$skiptoken"}
            query["$skiptoken"] = _skiptoken(offset + int(top))
            payload["@odata.nextLink"] = (f"{self._origin(request)}/v1.0/users?"
                                          f"{urlencode(query, quote_via=quote, safe='$,')}")
        payload["value"] = [_project(u, select, DEFAULT_USER_PROPERTIES) for u in page]
        return JSONResponse(payload)

    async def user(self, request: Request) -> Response:
        """Read one user (by id or userPrincipalName), or update it (``PATCH`` → 204)."""
        if request.method == "PATCH":
            return await self._update(request)
        require_permission(request, *READ_USERS)
        user = self._found(request)
        select = _select(request.query_params.get("$select"), USER_PROPERTIES, "user")
        fragment = f"users({','.join(select)})/$entity" if select else "users/$entity"
        return JSONResponse({"@odata.context": self._context(request, fragment),
                             **_project(user, select, DEFAULT_USER_PROPERTIES)})

    async def _update(self, request: Request) -> Response:
        changes = _plain(await _json_object(request))
        unknown = [k for k in changes if _canonical(k, USER_UPDATABLE) is None]
        if unknown:
            raise GraphError(400, "Request_BadRequest", f"This sandbox does not update {unknown} on users; "
                             f"it updates {list(USER_UPDATABLE)}.")
        if "passwordprofile" in changes:
            require_permission(request, *WRITE_PASSWORD_PROFILE)
        if "accountenabled" in changes:
            require_permission(request, *ENABLE_DISABLE)
        user = self._found(request)
        if changes and user.get("onPremisesSyncEnabled"):
            raise GraphError(400, "Request_BadRequest", SYNCED_OBJECT_MESSAGE)
        enabled = changes.get("accountenabled")
        if "accountenabled" in changes and not isinstance(enabled, bool):
            raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'accountEnabled' of "
                             "resource 'User'.")
        profile = self._password_profile(changes.get("passwordprofile"), user) if "passwordprofile" in changes else None
        if isinstance(enabled, bool):
            self.store.set_account_enabled(user["id"], enabled)
        if profile is not None:
            self.store.set_password(user["id"], profile.get("password"),
                                    force_change=profile.get("forcechangepasswordnextsignin"))
        return Response(status_code=204)

    @staticmethod
    def _password_profile(value: Any, user: JsonObject) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'passwordProfile' of "
                             "resource 'User'.")
        profile = _plain(value)
        unknown = [k for k in profile if _canonical(k, PASSWORD_PROFILE_PROPERTIES) is None]
        password = profile.get("password")
        flags = [profile.get(k) for k in ("forcechangepasswordnextsignin", "forcechangepasswordnextsigninwithmfa")]
        if unknown or not isinstance(password, str | None) or not all(isinstance(f, bool | None) for f in flags):
            raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'passwordProfile' of "
                             "resource 'User'.")
        if password is not None:
            problem = password_problem(password, user["userPrincipalName"])
            if problem:
                raise GraphError(400, "Request_BadRequest", problem)
        return profile

    async def revoke_sign_in_sessions(self, request: Request) -> Response:
        """Invalidate the user's sessions; Graph answers with an OData boolean."""
        require_permission(request, *REVOKE_SESSIONS)
        user = self._found(request)
        self.store.revoke_sign_in_sessions(user["id"])
        return JSONResponse({"@odata.context": self._context(request, "Edm.Boolean"), "value": True})

    async def member_of(self, request: Request) -> Response:
        """Groups and directory roles of the user (no nested groups here, so transitive is the same list)."""
        require_permission(request, *READ_MEMBERSHIP)
        user = self._found(request)
        select = request.query_params.get("$select")
        names = tuple(n.strip() for n in select.split(",") if n.strip()) if select else None
        items = [_project(o, names) for o in self.store.member_of(user["id"])]
        return JSONResponse({"@odata.context": self._context(request, "directoryObjects"), "value": items})

    # ----- role management ---------------------------------------------------------------------------

    def _role_collection(self, request: Request, items: list[JsonObject], fragment: str) -> Response:
        params = request.query_params
        expand = _expand(params.get("$expand"))
        if params.get("$filter"):
            wanted = parse_filter(params["$filter"])
            items = [i for i in items if wanted(i)]
        if expand:
            items = [{**i, "roleDefinition": self.store.role_definition(i["roleDefinitionId"])} for i in items]
            fragment += "(roleDefinition())"
        return JSONResponse({"@odata.context": self._context(request, fragment), "value": items})

    async def role_definitions(self, request: Request) -> Response:
        """The built-in directory role definitions."""
        require_permission(request, *READ_ROLES)
        items = self.store.role_definitions()
        if request.query_params.get("$filter"):
            wanted = parse_filter(request.query_params["$filter"])
            items = [i for i in items if wanted(i)]
        return JSONResponse({"@odata.context": self._context(request, "roleManagement/directory/roleDefinitions"),
                             "value": items})

    async def role_definition(self, request: Request) -> Response:
        """One role definition by id (= its templateId for built-in roles)."""
        require_permission(request, *READ_ROLES)
        definition_id = str(request.path_params["definition"])
        found = self.store.role_definition(definition_id)
        if found is None:
            raise GraphError(404, "Request_ResourceNotFound", f"Resource '{definition_id}' does not exist or one of "
                             "its queried reference-property objects are not present.")
        context = self._context(request, "roleManagement/directory/roleDefinitions/$entity")
        return JSONResponse({"@odata.context": context, **found})

    async def role_assignments(self, request: Request) -> Response:
        """Active role assignments, ``$filter=principalId eq '…'`` and ``$expand=roleDefinition`` supported."""
        require_permission(request, *READ_ROLES)
        return self._role_collection(request, self.store.role_assignments(), "roleManagement/directory/roleAssignments")

    async def role_eligibility_schedules(self, request: Request) -> Response:
        """PIM eligibility schedules, filtered and expanded like role assignments."""
        require_permission(request, *READ_ELIGIBILITY)
        return self._role_collection(request, self.store.role_eligibility_schedules(),
                                     "roleManagement/directory/roleEligibilitySchedules")

    async def role_eligibility_instances(self, request: Request) -> Response:
        """Current instances of the eligibility schedules."""
        require_permission(request, *READ_ELIGIBILITY)
        return self._role_collection(request, self.store.role_eligibility_schedule_instances(),
                                     "roleManagement/directory/roleEligibilityScheduleInstances")

    # ----- authentication methods --------------------------------------------------------------------

    async def authentication_methods(self, request: Request) -> Response:
        """The user's methods, each with the ``@odata.type`` the SDK needs to pick the model."""
        require_permission(request, *READ_AUTH_METHODS)
        user = self._found(request)
        context = self._context(request, f"users('{user['id']}')/authentication/methods")
        return JSONResponse({"@odata.context": context, "value": self.store.authentication_methods(user["id"])})

    def _method(self, request: Request, user: JsonObject) -> JsonObject:
        method_id = str(request.path_params["method"]).lower()
        found = next((m for m in self.store.authentication_methods(user["id"]) if m["id"] == method_id), None)
        if found is None:
            raise GraphError(404, "itemNotFound", f"Authentication method '{method_id}' was not found for user "
                             f"'{user['id']}'.")
        return found

    async def authentication_method(self, request: Request) -> Response:
        """One authentication method of the user."""
        require_permission(request, *READ_AUTH_METHODS)
        user = self._found(request)
        method = self._method(request, user)
        context = self._context(request, f"users('{user['id']}')/authentication/methods/$entity")
        return JSONResponse({"@odata.context": context, **method})

    async def reset_password(self, request: Request) -> Response:
        """Start a password reset: 202 with the operation's ``Location``; a generated password comes in the body."""
        require_permission(request, *RESET_PASSWORD)
        user = self._found(request)
        method = self._method(request, user)
        new_password = _plain(await _json_object(request)).get("newpassword")
        if new_password is not None and not isinstance(new_password, str):
            raise GraphError(400, "Request_BadRequest", "The parameter 'newPassword' must be a string.")
        if new_password:
            problem = password_problem(new_password, user["userPrincipalName"])
            if problem:
                raise GraphError(400, "Request_BadRequest", problem)
        try:
            operation, generated = self.store.start_password_reset(user["id"], method["id"], new_password or None)
        except EntraStoreError as exc:
            raise GraphError(400, "Request_BadRequest", f"resetPassword applies to the password method only: {exc}.") \
                from exc
        headers = {
            "Location": f"{self._origin(request)}/v1.0/users/{user['id']}/authentication/operations/{operation['id']}",
            "Retry-After": str(RESET_RETRY_AFTER_SECONDS),
        }
        if generated is None:
            return Response(status_code=202, headers=headers)
        body = {"@odata.context": self._context(request, "microsoft.graph.passwordResetResponse"),
                "newPassword": generated}
        return JSONResponse(body, status_code=202, headers=headers)

    async def operation(self, request: Request) -> Response:
        """A long-running operation, moved one step along by each poll."""
        require_permission(request, *READ_AUTH_METHODS)
        user = self._found(request)
        operation_id = str(request.path_params["operation"])
        operation = self.store.poll_operation(user["id"], operation_id)
        if operation is None:
            raise GraphError(404, "itemNotFound", f"Operation '{operation_id}' was not found for user '{user['id']}'.")
        operation["resourceLocation"] = self._origin(request) + operation["resourceLocation"]
        context = self._context(request, f"users('{user['id']}')/authentication/operations/$entity")
        return JSONResponse({"@odata.context": context, **operation})

"""The Starlette application of the emulated instance: Table API, OAuth token endpoint, auth and ACLs.

Other routes (batch, attachment, aggregate) rely on ``app.state``: ``store``, ``authenticate(request) -> user_name``
and ``authorize(user, table, operation)``; a ``TableApiError`` they raise becomes ServiceNow's error JSON.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.servicenow import aggregate, batch
from sandbox.servicenow import attachments as attachment_api
from sandbox.servicenow.acl import Authorizer, TableAcl
from sandbox.servicenow.asgi import failure_body, json_response
from sandbox.servicenow.attachments import AttachmentStore
from sandbox.servicenow.auth import Authenticator, decode_basic
from sandbox.servicenow.display import values_from_display, without_masked_passwords, zone_of
from sandbox.servicenow.errors import (
    MalformedRequestError,
    NoMatchingRecordsError,
    RecordNotFoundError,
    TableApiError,
)
from sandbox.servicenow.oauth import OAuthClient, TokenEndpoint, TokenRegistry
from sandbox.servicenow.render import DisplayMode, RenderOptions, parse_fields, render
from sandbox.servicenow.schema import TableSchema
from sandbox.servicenow.store import TableStore

DEFAULT_LIMIT = 10000
TABLE_API_VERSIONS = ("", "/v1", "/v2")  # unversioned is the latest (v2) behaviour
Endpoint = Callable[[Request], Awaitable[Response]]
Authenticate = Callable[[Request], str]
Authorize = Callable[[str, str, str], None]

_VERSION = re.compile(r"^/api/now/(v\d+)/")


def error_response(status: int, message: str, detail: str | None) -> Response:
    """ServiceNow's error envelope."""
    headers = {"WWW-Authenticate": 'BASIC realm="Service-now"'} if status == 401 else {}
    return json_response(failure_body(message, detail), status, headers)


def is_true(raw: str | None) -> bool:
    """A ``sysparm_*`` flag as the instance reads it: only ``true`` (any case) is true."""
    return (raw or "").strip().lower() == "true"


class TableApi:
    """Request handlers of the Table API over one ``TableStore``."""

    def __init__(self, store: TableStore, authenticate: Authenticate, authorize: Authorize) -> None:
        self.store = store
        self.authenticate = authenticate
        self.authorize = authorize

    async def collection(self, request: Request) -> Response:
        """GET lists records, POST creates one."""
        user = self.authenticate(request)
        table = request.path_params["table"]
        schema = self.store.schema(table)
        options = _render_options(request, self.store, user)
        if request.method == "POST":
            self.authorize(user, table, "create")
            values = await self._values(request, schema, options)
            record = self.store.insert(table, values, user=user)
            self.store.save_if_persistent()
            location = f"{options.api_root}/table/{table}/{record['sys_id']}"
            if is_true(request.headers.get("x-no-response-body")):
                return Response(status_code=201, headers={"Location": location})
            return json_response({"result": render(self.store, schema, record, options)}, 201, {"Location": location})
        self.authorize(user, table, "read")
        params = request.query_params
        limit = _integer(params.get("sysparm_limit"), "sysparm_limit", DEFAULT_LIMIT)
        offset = _integer(params.get("sysparm_offset"), "sysparm_offset", 0)
        selection = self.store.select(table, _query_of(params, schema.fields), limit=limit, offset=offset, user=user)
        if not selection.rows and _version(request) == "v1":
            raise NoMatchingRecordsError()
        counted = not is_true(params.get("sysparm_no_count"))
        headers = {"X-Total-Count": str(selection.total)} if counted else {}
        if not is_true(params.get("sysparm_suppress_pagination_header")):
            known_total = selection.total if counted else None
            link = pagination_link(request, limit, offset, len(selection.rows), known_total)
            if link:
                headers["Link"] = link
        rows = [render(self.store, schema, record, options) for record in selection.rows]
        return json_response({"result": rows}, 200, headers)

    async def member(self, request: Request) -> Response:
        """GET, PATCH/PUT or DELETE one record by sys_id."""
        user = self.authenticate(request)
        table, sys_id = request.path_params["table"], request.path_params["sys_id"]
        schema = self.store.schema(table)
        if request.method == "DELETE":
            self.authorize(user, table, "delete")
            self.store.delete(table, sys_id)
            self.store.save_if_persistent()
            return Response(status_code=204)
        options = _render_options(request, self.store, user)
        if request.method in ("PATCH", "PUT"):
            self.authorize(user, table, "write")
            values = await self._values(request, schema, options)
            record = self.store.update(table, sys_id, values, user=user)
            self.store.save_if_persistent()
        else:
            self.authorize(user, table, "read")
            found = self.store.get(table, sys_id)
            if found is None:
                raise RecordNotFoundError(table, sys_id)
            record = found
        return json_response({"result": render(self.store, schema, record, options)})

    async def _values(self, request: Request, schema: TableSchema, options: RenderOptions) -> dict[str, Any]:
        values = without_masked_passwords(schema, await _json_object(request))
        if is_true(request.query_params.get("sysparm_input_display_value")):
            return values_from_display(self.store, schema, values, options.zone)
        return values


def build_app(
    store: TableStore,
    *,
    users: dict[str, str],
    oauth_clients: dict[str, OAuthClient] | None = None,
    acls: Mapping[str, TableAcl] | None = None,
    attachments: AttachmentStore | None = None,
) -> Starlette:
    """The emulated instance: Table API under ``/api/now[/v1|/v2]/table`` and ``POST /oauth_token.do``.

    ``users`` maps user_name to password (Basic and the password grant); ``oauth_clients`` maps client_id to
    its registry entry; ``acls`` replaces the table ACLs (default ``acl.TABLE_ACLS``); ``attachments`` holds
    the Attachment API's files (in memory when not given). Batch and Aggregate APIs are served too.
    """
    tokens = TokenRegistry(lambda: store.clock().timestamp())  # token expiry follows the instance's clock
    authenticate = Authenticator(store, users, tokens)
    authorize = Authorizer(store, acls)
    api = TableApi(store, authenticate, authorize)
    token_endpoint = TokenEndpoint(oauth_clients or {}, authenticate.check_password, tokens, decode_basic)
    routes = [Route("/oauth_token.do", token_endpoint.respond, methods=["POST"])]
    for version in TABLE_API_VERSIONS:
        prefix = f"/api/now{version}/table"
        routes.append(Route(prefix + "/{table}", api.collection, methods=["GET", "POST"]))
        routes.append(Route(prefix + "/{table}/{sys_id}", api.member, methods=["GET", "PATCH", "PUT", "DELETE"]))
    routes += [*batch.routes(), *attachment_api.routes(), *aggregate.routes()]
    app = Starlette(
        routes=routes,
        exception_handlers={TableApiError: _table_api_error, HTTPException: _http_error},
    )
    app.state.store = store
    app.state.authenticate = authenticate
    app.state.authorize = authorize
    app.state.tokens = tokens
    app.state.attachments = attachments if attachments is not None else AttachmentStore()
    return app


async def _table_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TableApiError)
    return error_response(exc.status, exc.message, exc.detail)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return error_response(400, "Requested URI does not represent any resource", None)
    if exc.status_code == 405:
        return error_response(405, "Method not Supported", f"{request.method} is not supported on this resource")
    return error_response(exc.status_code, str(exc.detail), None)


def _version(request: Request) -> str:
    """The API version in the path (``v1``, ``v2``), or "" for the unversioned path."""
    found = _VERSION.match(request.url.path)
    return found.group(1) if found else ""


def api_root(request: Request) -> str:
    """Where links point: the request's scheme, host and API version, as the instance's links do."""
    version = _version(request)
    return f"{request.url.scheme}://{request.url.netloc}/api/now" + (f"/{version}" if version else "")


def _render_options(request: Request, store: TableStore, user: str) -> RenderOptions:
    params = request.query_params
    return RenderOptions(
        display=DisplayMode.from_param(params.get("sysparm_display_value")),
        exclude_reference_link=is_true(params.get("sysparm_exclude_reference_link")),
        fields=parse_fields(params.get("sysparm_fields")),
        api_root=api_root(request),
        zone=zone_of(store, user),
    )


async def _json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedRequestError("Exception while reading request", "The payload is not valid JSON.") from exc
    if not isinstance(body, dict):
        raise MalformedRequestError("Exception while reading request", "The payload must be a JSON object.")
    return body


def _integer(raw: str | None, name: str, default: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        number = int(raw)
    except ValueError as exc:
        raise MalformedRequestError(f"Invalid {name}", f"{name} must be a whole number, got {raw!r}") from exc
    if number < 0:
        raise MalformedRequestError(f"Invalid {name}", f"{name} must not be negative, got {number}")
    return number


def _query_of(params: Mapping[str, str], fields: Mapping[str, object]) -> str:
    """``sysparm_query`` plus ``field=value`` parameters, which the Table API also filters on."""
    conditions = [f"{name}={value}" for name, value in params.items() if name in fields]
    return "^".join([*conditions, params.get("sysparm_query", "")])


def pagination_link(request: Request, limit: int, offset: int, returned: int, total: int | None) -> str:
    """The ``Link`` header: first, prev, next, last pages (no last without a count; nothing for a single page)."""
    has_next = offset + limit < total if total is not None else returned >= limit > 0
    if limit <= 0 or (offset == 0 and not has_next):
        return ""
    pages = [("first", 0)]
    if offset > 0:
        pages.append(("prev", max(offset - limit, 0)))
    if has_next:
        pages.append(("next", offset + limit))
    if total is not None:
        pages.append(("last", max(total - 1, 0) // limit * limit))
    base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("sysparm_limit", "sysparm_offset")]
    links = []
    for rel, page_offset in pages:
        query = urlencode([*kept, ("sysparm_limit", str(limit)), ("sysparm_offset", str(page_offset))])
        links.append(f'<{base}?{query}>;rel="{rel}"')
    return ",".join(links)

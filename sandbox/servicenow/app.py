"""The Starlette application serving the emulated Table API (``/api/now[/v1]/table/...``)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.servicenow.errors import (
    MalformedRequestError,
    NotAuthenticatedError,
    RecordNotFoundError,
    TableApiError,
)
from sandbox.servicenow.render import DisplayMode, RenderOptions, parse_fields, render
from sandbox.servicenow.store import TableStore

JSON_TYPE = "application/json;charset=UTF-8"
DEFAULT_LIMIT = 10000
Endpoint = Callable[[Request], Awaitable[Response]]


def json_response(payload: object, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A JSON response typed the way the instance types it."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(body, status_code=status, headers=dict(headers or {}), media_type=JSON_TYPE)


def error_response(status: int, message: str, detail: str | None) -> Response:
    """ServiceNow's error envelope."""
    headers = {"WWW-Authenticate": 'BASIC realm="Service-now"'} if status == 401 else {}
    return json_response({"error": {"message": message, "detail": detail}, "status": "failure"}, status, headers)


class BasicAuthenticator:
    """Checks HTTP Basic credentials against the configured users, in constant time."""

    def __init__(self, users: Mapping[str, str]) -> None:
        self._users = dict(users)

    def user_of(self, request: Request) -> str:
        """The authenticated user_name; ``NotAuthenticatedError`` otherwise."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            raise NotAuthenticatedError()
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise NotAuthenticatedError() from exc
        expected = self._users.get(user)
        if expected is None or not hmac.compare_digest(expected.encode(), password.encode()):
            raise NotAuthenticatedError()
        return user


class TableApi:
    """Request handlers of the Table API over one ``TableStore``."""

    def __init__(self, store: TableStore, authenticator: BasicAuthenticator) -> None:
        self.store = store
        self.auth = authenticator

    async def collection(self, request: Request) -> Response:
        """GET lists records, POST creates one."""
        user = self.auth.user_of(request)
        table = request.path_params["table"]
        schema = self.store.schema(table)
        options = _render_options(request)
        if request.method == "POST":
            record = self.store.insert(table, await _json_object(request), user=user)
            self.store.save_if_persistent()
            location = f"{options.api_root}/table/{table}/{record['sys_id']}"
            if request.headers.get("x-no-response-body", "").lower() == "true":
                return Response(status_code=201, headers={"Location": location})
            return json_response({"result": render(self.store, schema, record, options)}, 201, {"Location": location})
        params = request.query_params
        limit = _integer(params.get("sysparm_limit"), "sysparm_limit", DEFAULT_LIMIT)
        offset = _integer(params.get("sysparm_offset"), "sysparm_offset", 0)
        selection = self.store.select(table, _query_of(params, schema.fields), limit=limit, offset=offset)
        headers = {"X-Total-Count": str(selection.total)}
        if params.get("sysparm_suppress_pagination_header", "").lower() != "true":
            link = _pagination_link(request, limit, offset, selection.total)
            if link:
                headers["Link"] = link
        rows = [render(self.store, schema, record, options) for record in selection.rows]
        return json_response({"result": rows}, 200, headers)

    async def member(self, request: Request) -> Response:
        """GET, PATCH/PUT or DELETE one record by sys_id."""
        user = self.auth.user_of(request)
        table, sys_id = request.path_params["table"], request.path_params["sys_id"]
        schema = self.store.schema(table)
        if request.method == "DELETE":
            self.store.delete(table, sys_id)
            self.store.save_if_persistent()
            return Response(status_code=204)
        if request.method in ("PATCH", "PUT"):
            record = self.store.update(table, sys_id, await _json_object(request), user=user)
            self.store.save_if_persistent()
        else:
            found = self.store.get(table, sys_id)
            if found is None:
                raise RecordNotFoundError(table, sys_id)
            record = found
        return json_response({"result": render(self.store, schema, record, _render_options(request))})


def build_app(store: TableStore, *, users: dict[str, str]) -> Starlette:
    """The emulated instance: Table API routes under ``/api/now/table`` and ``/api/now/v1/table``."""
    api = TableApi(store, BasicAuthenticator(users))
    routes = []
    for prefix in ("/api/now/table", "/api/now/v1/table"):
        routes.append(Route(prefix + "/{table}", api.collection, methods=["GET", "POST"]))
        routes.append(Route(prefix + "/{table}/{sys_id}", api.member, methods=["GET", "PATCH", "PUT", "DELETE"]))
    app = Starlette(
        routes=routes,
        exception_handlers={TableApiError: _table_api_error, HTTPException: _http_error},
    )
    app.state.store = store
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


def _api_root(request: Request) -> str:
    # Links follow the request's host and API version, as the instance's do.
    versioned = "/api/now/v1/" in request.url.path
    return f"{request.url.scheme}://{request.url.netloc}/api/now" + ("/v1" if versioned else "")


def _render_options(request: Request) -> RenderOptions:
    params = request.query_params
    return RenderOptions(
        display=DisplayMode.from_param(params.get("sysparm_display_value")),
        exclude_reference_link=params.get("sysparm_exclude_reference_link", "").lower() == "true",
        fields=parse_fields(params.get("sysparm_fields")),
        api_root=_api_root(request),
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


def _pagination_link(request: Request, limit: int, offset: int, total: int) -> str:
    if limit <= 0 or (offset == 0 and total <= limit):
        return ""
    last = max(total - 1, 0) // limit * limit
    pages = [("first", 0)]
    if offset > 0:
        pages.append(("prev", max(offset - limit, 0)))
    if offset + limit < total:
        pages.append(("next", offset + limit))
    pages.append(("last", last))
    base = f"{request.url.scheme}://{request.url.netloc}{request.url.path}"
    kept = [(k, v) for k, v in request.query_params.multi_items() if k not in ("sysparm_limit", "sysparm_offset")]
    links = []
    for rel, page_offset in pages:
        query = urlencode([*kept, ("sysparm_limit", str(limit)), ("sysparm_offset", str(page_offset))])
        links.append(f'<{base}?{query}>;rel="{rel}"')
    return ",".join(links)

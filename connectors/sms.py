"""A generic HTTP SMS gateway: URL, authentication and JSON body template come from configuration.

The body template is JSON whose string values may hold the placeholders ``{to}``, ``{text}`` and ``{sender}``
(``{{`` and ``}}`` for literal braces). It is parsed once; each send substitutes values into the parsed
structure and serialises it, so a value can never break out of its string: no formatting of JSON text, no
evaluation. Any other placeholder is refused when the gateway is built.

The text carries half of a temporary password: it is never logged, never put in an error, never returned.
Phone numbers appear in errors masked to their last two digits. A send is a write: it is retried only when the
gateway throttled it (it did nothing); a timeout or a 5xx raises at once, since the message may be on its way.
"""

from __future__ import annotations

import base64
import json
import re
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from connectors.errors import (
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    ThrottledError,
    TransientError,
)
from connectors.health import Finding
from connectors.messaging import DRY_RUN, SmsReceipt
from connectors.observability import observed
from connectors.resilience import RetryPolicy, call_with_retries, retry_after_seconds

SYSTEM = "sms"
PLACEHOLDERS = frozenset({"to", "text", "sender"})
DEFAULT_TEMPLATE = '{"to": "{to}", "text": "{text}", "from": "{sender}"}'
E164 = re.compile(r"\+[1-9]\d{7,14}")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
AuthScheme = Literal["bearer", "basic", "header"]


@dataclass(frozen=True)
class SmsAuth:
    """How the gateway authenticates us: ``bearer`` token, HTTP ``basic`` (``user`` + secret), or an API key
    sent in the header named ``header``."""

    scheme: AuthScheme
    secret: str = field(repr=False)
    user: str = ""
    header: str = "X-API-Key"

    def headers(self) -> dict[str, str]:
        """The request headers carrying the credentials."""
        if self.scheme == "bearer":
            return {"Authorization": f"Bearer {self.secret}"}
        if self.scheme == "basic":
            pair = base64.b64encode(f"{self.user}:{self.secret}".encode()).decode("ascii")
            return {"Authorization": f"Basic {pair}"}
        return {self.header: self.secret}


class BodyTemplate:
    """A JSON body with ``{to}``, ``{text}``, ``{sender}`` placeholders in its string values."""

    def __init__(self, template: str) -> None:
        try:
            self._shape: Any = _parse_json(template)
        except ValueError as exc:
            raise ValueError(f"the SMS body template is not valid JSON: {exc}") from None
        used: set[str] = set()
        _walk(self._shape, lambda s: _names(s, used))
        if not {"to", "text"} <= used:
            raise ValueError("the SMS body template must place both {to} and {text} in its string values")

    def render(self, values: Mapping[str, str]) -> Any:
        """The body as a JSON-ready structure with every placeholder replaced by its (plain string) value."""
        return _walk(self._shape, lambda s: _substitute(s, values))


class HttpSmsGateway:
    """``connectors.messaging.SmsGateway`` over a gateway's HTTPS API (one pooled client, reused)."""

    def __init__(
        self,
        url: str,
        *,
        auth: SmsAuth,
        body_template: str = DEFAULT_TEMPLATE,
        sender: str = "SESAME",
        check_url: str | None = None,
        id_field: str = "id",
        status_field: str = "status",
        ca_file: str | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
            raise ValueError(f"sms.url must be an https URL (the text carries a password), got {_origin(url)!r}")
        self._url = url
        self._check_url = check_url
        self._template = BodyTemplate(body_template)
        self._sender = sender
        self._id_field = id_field
        self._status_field = status_field
        self._auth = auth
        self._retry = retry or RetryPolicy(attempts=3, deadline=30.0)
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=ca_file) if ca_file else True
        self._client = httpx.Client(verify=verify, timeout=timeout, headers=auth.headers(), follow_redirects=False)
        self._secrets = tuple(s for s in (auth.secret,) if s)

    def __repr__(self) -> str:
        return f"HttpSmsGateway({_origin(self._url)}, auth={self._auth.scheme})"

    # ----- SmsGateway ---------------------------------------------------------------------------

    def send(self, to: str, text: str, *, dry_run: bool = False) -> SmsReceipt:
        """Send ``text`` to the E.164 number ``to``; ``dry_run`` validates and renders the body but sends nothing."""
        number = check_number(to)
        if not isinstance(text, str) or not text:
            raise InvalidRequestError("the SMS text is empty", system=SYSTEM)
        body = self._template.render({"to": number, "text": text, "sender": self._sender})
        if dry_run:
            return SmsReceipt(id="", status=DRY_RUN)
        with observed(SYSTEM, "send"):
            return call_with_retries(lambda: self._post(body, number, text), policy=self._retry, system=SYSTEM,
                                     operation="send", write=True)

    def close(self) -> None:
        """Close the pooled connections."""
        self._client.close()

    def __enter__(self) -> HttpSmsGateway:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ----- doctor -------------------------------------------------------------------------------

    def doctor(self) -> list[Finding]:
        """Reachable over verified TLS and credentials accepted (by a GET of ``check_url``); sends nothing."""
        where = _origin(self._url)
        target = self._check_url or self._url
        try:
            with observed(SYSTEM, "doctor"):
                # Without a check URL, a HEAD of the send URL: it changes nothing, and a 401 still tells.
                response = self._client.get(target) if self._check_url else self._client.head(target)
        except ssl.SSLError as exc:
            return [Finding(SYSTEM, "reachable", False, f"TLS to {where} failed: {_reason(exc)}",
                            "set sms.ca_file to the CA that signed the gateway's certificate")]
        except httpx.HTTPError as exc:
            if isinstance(exc.__cause__, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
                return [Finding(SYSTEM, "reachable", False, f"the TLS certificate of {where} is not trusted",
                                "set sms.ca_file to the CA that signed the gateway's certificate")]
            return [Finding(SYSTEM, "reachable", False, f"{where} did not answer: {type(exc).__name__}",
                            "check sms.url, DNS, the firewall and any proxy between Sésame and the gateway")]
        findings = [Finding(SYSTEM, "reachable", True, f"{where} answered over verified TLS")]
        if response.status_code in (401, 403):
            findings.append(Finding(
                SYSTEM, "authenticated", False,
                f"the gateway refused our credentials ({response.status_code}, {self._auth.scheme} auth)",
                "check sms.api_key (SESAME_SMS_API_KEY), sms.auth_scheme and, for 'header', sms.auth_header",
            ))
        elif self._check_url is None:
            findings.append(Finding(SYSTEM, "authenticated", True,
                                    "not fully checked: no sms.check_url configured (the first send will tell)"))
        elif response.is_success:
            findings.append(Finding(SYSTEM, "authenticated", True,
                                    f"GET {urlsplit(target).path or '/'} accepted our credentials"))
        else:
            findings.append(Finding(
                SYSTEM, "authenticated", False, f"GET {urlsplit(target).path or '/'} answered {response.status_code}",
                "set sms.check_url to a harmless GET endpoint of the gateway (account, balance, message list) "
                "or leave it empty",
            ))
        return findings

    # ----- HTTP ---------------------------------------------------------------------------------

    def _post(self, body: Any, number: str, text: str) -> SmsReceipt:
        try:
            response = self._client.post(self._url, json=body)
        except httpx.TimeoutException as exc:
            raise TransientError(f"the SMS gateway {_origin(self._url)} did not answer in time "
                                 f"({type(exc).__name__}); the message to {_masked(number)} may have been sent",
                                 system=SYSTEM) from None
        except httpx.HTTPError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc):
                raise ConnectorError(f"the TLS certificate of {_origin(self._url)} is not trusted; set sms.ca_file "
                                     "to the CA that signed it", system=SYSTEM) from None
            raise TransientError(f"the SMS gateway {_origin(self._url)} is unreachable ({type(exc).__name__})",
                                 system=SYSTEM) from None
        request_id = _request_id(response)
        if response.is_success:
            data = _json(response)
            message_id = _dig(data, self._id_field) or response.headers.get("location", "").rstrip("/").rsplit("/")[-1]
            status = _dig(data, self._status_field) or "accepted"
            return SmsReceipt(id=str(message_id), status=str(status))
        reason = self._scrub(_gateway_reason(response), number, text)
        what = f"the SMS gateway answered {response.status_code} to a send to {_masked(number)}: {reason}"
        code = response.status_code
        if code == 429:
            wait = retry_after_seconds(response.headers.get("retry-after"))
            raise ThrottledError(what, retry_after=wait, system=SYSTEM, request_id=request_id)
        if code >= 500:
            raise TransientError(what, system=SYSTEM, request_id=request_id)
        if code in (401, 403):
            raise PermissionMissingError(f"{what}; check sms.api_key (SESAME_SMS_API_KEY) and the auth scheme",
                                         system=SYSTEM, request_id=request_id)
        if code == 404:
            raise NotFoundError(f"{what}; check sms.url", system=SYSTEM, request_id=request_id)
        raise InvalidRequestError(what, system=SYSTEM, request_id=request_id)

    def _scrub(self, reason: str, number: str, text: str) -> str:
        """The gateway's own words, minus anything secret it might echo back."""
        for secret in (*self._secrets, text):
            if secret:
                reason = reason.replace(secret, "[redacted]")
        return reason.replace(number, _masked(number))


def check_number(number: str) -> str:
    """``number`` if it is E.164 (``+``, country code, 8 to 15 digits, no spaces); else InvalidRequestError."""
    if isinstance(number, str) and E164.fullmatch(number):
        return number
    raise InvalidRequestError(
        f"{_masked(number) if isinstance(number, str) else type(number).__name__} is not an E.164 mobile number "
        "(e.g. +33612345678: '+', country code, then the number without spaces or leading 0)",
        system=SYSTEM,
    )


# ----- template -------------------------------------------------------------------------------------


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{exc.msg} at position {exc.pos}") from None


def _walk(value: Any, on_string: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return on_string(value)
    if isinstance(value, dict):
        return {key: _walk(item, on_string) for key, item in value.items()}
    if isinstance(value, list):
        return [_walk(item, on_string) for item in value]
    return value


def _names(text: str, used: set[str]) -> str:
    for match in _TOKEN.finditer(text):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None or name not in PLACEHOLDERS:
            raise ValueError(f"the SMS body template may only use {{to}}, {{text}} and {{sender}} "
                             f"(write {{{{ or }}}} for a literal brace), found {token!r}")
        used.add(name)
    return text


def _substitute(text: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return values[match.group(1)]

    return _TOKEN.sub(replace, text)


# ----- responses ------------------------------------------------------------------------------------


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _dig(data: Any, path: str) -> Any:
    """``a.b.0.c`` inside decoded JSON, or None."""
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        else:
            return None
    return data if data not in ("", None) else None


def _gateway_reason(response: httpx.Response) -> str:
    data = _json(response)
    for path in ("error.message", "message", "error_description", "error", "detail"):
        found = _dig(data, path)
        if isinstance(found, str):
            return found[:200]
    return response.reason_phrase or "no reason given"


def _request_id(response: httpx.Response) -> str | None:
    for name in ("x-request-id", "request-id", "x-correlation-id"):
        if name in response.headers:
            return response.headers[name]
    return None


def _masked(number: str) -> str:
    """A phone number as logs and errors may show it: its last two digits only."""
    digits = re.sub(r"\D", "", number)
    return f"…{digits[-2:]}" if len(digits) >= 2 else "an empty number"


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}"


def _reason(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

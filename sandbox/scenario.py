"""Load a scenario directory: partners, directory users, e-mails and pre-existing tickets.

The format is stable (outside checks write scenarios with it); unknown extra keys are ignored.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import Any


class ScenarioError(ValueError):
    """A scenario file is missing or malformed; the message names the file, line and key."""


@dataclass(frozen=True)
class Partner:
    id: str
    name: str
    domains: tuple[str, ...]
    correspondents: tuple[str, ...]
    ou: str


@dataclass(frozen=True)
class DirectoryUser:
    sam: str
    upn: str
    mail: str
    given_name: str
    surname: str
    org_id: str
    ou: str
    locked: bool = False
    disabled: bool = False
    privileged: bool = False
    mobile: str = ""


@dataclass(frozen=True)
class EmailAttachment:
    name: str
    content_type: str
    content: bytes
    is_inline: bool = False


@dataclass(frozen=True)
class Email:
    id: str
    from_address: str
    from_name: str
    to: str
    subject: str
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    # Optional ``"attachments": [{"name", "content_type", "content_base64"[, "is_inline"]}]``.
    attachments: tuple[EmailAttachment, ...] = ()


@dataclass(frozen=True)
class Ticket:
    id: str
    caller_sam: str
    short_description: str
    description: str = ""
    contact_type: str = ""


@dataclass(frozen=True)
class GraphAppSpec:
    """An app registration of the Graph sandbox and the application permissions granted to it."""

    client_id: str
    permissions: tuple[str, ...]
    client_secret: str = ""


@dataclass(frozen=True)
class Scenario:
    partners: tuple[Partner, ...]
    users: tuple[DirectoryUser, ...]
    emails: tuple[Email, ...]
    tickets: tuple[Ticket, ...]
    # Optional ``graph_apps.json``; without it the sandbox registers Sésame's app with its usual permissions.
    graph_apps: tuple[GraphAppSpec, ...] = ()

    @property
    def mailbox(self) -> str:
        """The shared mailbox: the ``to`` of the e-mails, or a default when there are none."""
        for email in self.emails:
            if email.to:
                return email.to.lower()
        return "support@sandbox.test"


def _require(record: dict[str, Any], key: str, where: str) -> Any:
    if key not in record:
        raise ScenarioError(f"{where}: missing key {key!r}")
    return record[key]


def _text(record: dict[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = record.get(key, default) if default is not None else _require(record, key, where)
    if value is None:
        return ""
    if not isinstance(value, str | int):
        raise ScenarioError(f"{where}: key {key!r} must be a string, got {type(value).__name__}")
    return str(value)


def _flag(record: dict[str, Any], key: str) -> bool:
    value = record.get(key, False)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "oui"}
    return bool(value)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from exc


def _read_jsonl(path: Path) -> list[tuple[str, dict[str, Any]]]:
    rows: list[tuple[str, dict[str, Any]]] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{where}:{exc.colno}: invalid JSON: {exc.msg}") from exc
        if not isinstance(record, dict):
            raise ScenarioError(f"{where}: each line must be a JSON object")
        rows.append((where, record))
    return rows


def _partner(record: dict[str, Any], where: str) -> Partner:
    return Partner(
        id=_text(record, "id", where),
        name=_text(record, "name", where, ""),
        domains=tuple(str(d).lower() for d in record.get("domains", [])),
        correspondents=tuple(str(c).lower() for c in record.get("correspondents", [])),
        ou=_text(record, "ou", where),
    )


def _user(record: dict[str, Any], where: str) -> DirectoryUser:
    return DirectoryUser(
        sam=_text(record, "sam", where),
        upn=_text(record, "upn", where, ""),
        mail=_text(record, "mail", where, ""),
        given_name=_text(record, "given_name", where, ""),
        surname=_text(record, "surname", where, ""),
        org_id=_text(record, "org_id", where, ""),
        ou=_text(record, "ou", where),
        locked=_flag(record, "locked"),
        disabled=_flag(record, "disabled"),
        privileged=_flag(record, "privileged"),
        mobile=_text(record, "mobile", where, ""),
    )


def _attachments(records: Any, where: str) -> tuple[EmailAttachment, ...]:
    if records is None:
        return ()
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise ScenarioError(f"{where}: key 'attachments' must be a list of objects")
    found = []
    for index, record in enumerate(records):
        try:
            content = base64.b64decode(str(record["content_base64"]), validate=True)
        except KeyError as exc:
            raise ScenarioError(f"{where}: attachment {index} lacks {exc.args[0]!r}") from None
        except (binascii.Error, ValueError):
            raise ScenarioError(f"{where}: attachment {index}: 'content_base64' is not base64") from None
        found.append(EmailAttachment(
            name=_text(record, "name", f"{where}: attachment {index}"),
            content_type=str(record.get("content_type") or "application/octet-stream"),
            content=content,
            is_inline=_flag(record, "is_inline"),
        ))
    return tuple(found)


def _email(record: dict[str, Any], where: str) -> Email:
    headers = record.get("headers") or {}
    if not isinstance(headers, dict):
        raise ScenarioError(f"{where}: key 'headers' must be an object of name: value")
    return Email(
        id=_text(record, "id", where),
        from_address=_text(record, "from", where),
        from_name=_text(record, "from_name", where, ""),
        to=_text(record, "to", where, ""),
        subject=_text(record, "subject", where, ""),
        body=_text(record, "body", where, ""),
        headers={str(k): str(v) for k, v in headers.items()},
        attachments=_attachments(record.get("attachments"), where),
    )


def _ticket(record: dict[str, Any], where: str) -> Ticket:
    return Ticket(
        id=_text(record, "id", where),
        caller_sam=_text(record, "caller_sam", where, ""),
        short_description=_text(record, "short_description", where, ""),
        description=_text(record, "description", where, ""),
        contact_type=_text(record, "contact_type", where, ""),
    )


def _graph_app(record: dict[str, Any], where: str) -> GraphAppSpec:
    permissions = record.get("permissions", [])
    if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
        raise ScenarioError(f"{where}: 'permissions' must be a list of permission names")
    return GraphAppSpec(
        client_id=_text(record, "client_id", where),
        permissions=tuple(permissions),
        client_secret=_text(record, "client_secret", where, ""),
    )


def _listed(path: Path) -> list[tuple[str, dict[str, Any]]]:
    data = _read_json(path)
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise ScenarioError(f"{path}: must be a JSON list of objects")
    return [(f"{path}[{i}]", r) for i, r in enumerate(data)]


def load_scenario(directory: str | Path) -> Scenario:
    """Read a scenario directory; raise ``ScenarioError`` naming the file and key on bad input."""
    root = Path(directory)
    if not root.is_dir():
        raise ScenarioError(f"{root}: scenario directory not found")
    for required in ("partners.json", "directory.json"):
        if not (root / required).is_file():
            raise ScenarioError(f"{root / required}: required scenario file is missing")
    emails_path, tickets_path, apps_path = root / "emails.jsonl", root / "tickets.jsonl", root / "graph_apps.json"
    return Scenario(
        partners=tuple(_partner(r, w) for w, r in _listed(root / "partners.json")),
        users=tuple(_user(r, w) for w, r in _listed(root / "directory.json")),
        emails=tuple(_email(r, w) for w, r in _read_jsonl(emails_path)) if emails_path.exists() else (),
        tickets=tuple(_ticket(r, w) for w, r in _read_jsonl(tickets_path)) if tickets_path.exists() else (),
        graph_apps=tuple(_graph_app(r, w) for w, r in _listed(apps_path)) if apps_path.exists() else (),
    )


def receiving_authserv_ids(scenario: Scenario) -> list[str]:
    """The authserv-id the scenario's receiving server writes: the most common one on top of its e-mails.

    The sandbox plays that server, so Sésame's configuration for the sandbox trusts exactly this id; forged
    headers a scenario adds to attacks are in the minority and are not trusted.
    """
    counts: dict[str, int] = {}
    for email in scenario.emails:
        for name, value in email.headers.items():
            if name.lower() == "authentication-results":
                authserv_id = value.split(";", 1)[0].strip().split()[0].lower() if value.strip() else ""
                if authserv_id:
                    counts[authserv_id] = counts.get(authserv_id, 0) + 1
                break
    if not counts:
        return []
    top = max(counts.values())
    return sorted(i for i, n in counts.items() if n == top)


def delivered_now(scenario: Scenario, now: datetime) -> Scenario:
    """The scenario as if its newest e-mail arrived ``now``: every ``Date`` shifted by the same amount.

    Scenarios are written once and replayed any day; shifting keeps their spacing, so an e-mail written five days
    before the others still looks five days old (a replay) while the rest are fresh.
    """
    dated = {e.id: _date_of(e) for e in scenario.emails}
    newest = max((d for d in dated.values() if d is not None), default=None)
    if newest is None:
        return scenario
    shift = now - newest
    emails = []
    for email in scenario.emails:
        when = dated[email.id]
        if when is None:
            emails.append(email)
            continue
        headers = {k: (format_datetime(when + shift) if k.lower() == "date" else v) for k, v in email.headers.items()}
        emails.append(replace(email, headers=headers))
    return replace(scenario, emails=tuple(emails))


def _date_of(email: Email) -> datetime | None:
    for name, value in email.headers.items():
        if name.lower() == "date":
            try:
                when = parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            return when if when.tzinfo else when.replace(tzinfo=UTC)
    return None

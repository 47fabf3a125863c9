"""ServiceNow incidents over the official ``pysnc`` client: the ``TicketSystem`` the domain uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pysnc
import requests
from pysnc import exceptions as snc

from connectors.errors import (
    ConnectorError,
    InvalidRequestError,
    NotFoundError,
    PermissionMissingError,
    PolicyRefusalError,
    ThrottledError,
    TransientError,
)
from connectors.tickets import Closure, NewIncident, TicketRef

SYSTEM = "servicenow"
SHORT_DESCRIPTION_MAX = 160
RESOLVED, CLOSED = "6", "7"
TAG_VISIBLE_TO_EVERYONE = "everyone"


class _BotSession(requests.Session):
    """Basic auth, a default timeout, no environment overrides, and the last answer kept for error mapping.

    ``trust_env=False`` because requests lets ``REQUESTS_CA_BUNDLE`` override ``verify=`` (our CA file).
    """

    def __init__(self, user: str, password: str, timeout: float) -> None:
        super().__init__()
        self.trust_env = False
        self.auth = requests.auth.HTTPBasicAuth(user, password)
        self.timeout = timeout
        self.last_status: int | None = None
        self.last_retry_after: float | None = None

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send with the default timeout and remember the status (pysnc hides it on some errors)."""
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        response = super().send(request, **kwargs)
        self.last_status = response.status_code
        retry_after = response.headers.get("Retry-After", "")
        self.last_retry_after = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None
        return response


class ServiceNowTickets:
    """Incidents opened, annotated, handed over and closed through the Table API."""

    def __init__(self, url: str, user: str, password: str, *, ca_file: str | None, timeout: float = 30.0) -> None:
        self._session = _BotSession(user, password, timeout)
        try:
            self._client = pysnc.ServiceNowClient(url, self._session, verify=ca_file)
        except snc.InstanceException as exc:
            raise InvalidRequestError(f"ServiceNow URL {url!r} is not usable: {exc}", system=SYSTEM) from exc

    # -- TicketSystem ----------------------------------------------------------------------------

    def find_by_correlation(self, correlation_id: str) -> TicketRef | None:
        """The incident opened earlier for this request, so a retry never opens a second one."""
        with self._translated("looking up an incident by correlation_id"):
            found = self._first("incident", f"correlation_id={_literal(correlation_id)}", ["number"])
        return TicketRef(found["sys_id"], found["number"]) if found else None

    def create_incident(self, incident: NewIncident) -> TicketRef:
        """Open an incident; the caller is looked up by e-mail (left empty when unknown)."""
        with self._translated("creating an incident"):
            caller = (
                self._first("sys_user", f"email={_literal(incident.caller_email)}") if incident.caller_email else None
            )
            group_id = self._group_id(incident.assignment_group)
            gr = self._client.GlideRecord("incident")
            gr.initialize()
            gr.short_description = incident.short_description[:SHORT_DESCRIPTION_MAX]
            gr.description = incident.description
            gr.contact_type = incident.contact_type
            gr.caller_id = caller["sys_id"] if caller else ""
            gr.assignment_group = group_id
            gr.correlation_id = incident.correlation_id
            sys_id = gr.insert()
            if not sys_id:
                raise TransientError("ServiceNow accepted the incident but returned no sys_id", system=SYSTEM)
            return TicketRef(str(sys_id), str(gr.get_value("number")))

    def add_work_note(self, ticket: TicketRef, note: str) -> None:
        """Append an internal work note."""
        with self._translated(f"adding a work note to {ticket.number}"):
            gr = self._fresh(ticket)
            gr.work_notes = note
            gr.update()

    def hand_to_humans(self, ticket: TicketRef, group: str, note: str) -> None:
        """Assign the ticket to a human group (nobody in particular) with a work note that says why."""
        with self._translated(f"handing {ticket.number} to {group!r}"):
            group_id = self._group_id(group)
            gr = self._fresh(ticket)
            gr.assignment_group = group_id
            gr.assigned_to = ""
            gr.work_notes = note
            gr.update()

    def resolve_and_close(self, ticket: TicketRef, closure: Closure) -> None:
        """Resolve then close with close code and notes, link the KB article, add the tag.

        Everything is looked up before the first write, so a bad code or unknown article changes nothing;
        each step is skipped when already done, so calling again after a crash finishes the job once.
        """
        with self._translated(f"closing {ticket.number}"):
            self._check_close_code(closure.close_code)
            article = self._article_id(closure.kb_article) if closure.kb_article else None
            gr = self._fresh(ticket)
            if gr.get_value("state") not in (RESOLVED, CLOSED):
                gr.state = RESOLVED
                gr.close_code = closure.close_code
                gr.close_notes = closure.close_notes
                if closure.comment:
                    gr.comments = closure.comment
                gr.update()
            if gr.get_value("state") != CLOSED:
                gr.state = CLOSED
                gr.update()
            if article:
                self._link_article(ticket, article)
            if closure.tag:
                self._tag(ticket, closure.tag)

    def close(self) -> None:
        """Release connections."""
        self._session.close()

    # -- helpers ---------------------------------------------------------------------------------

    def _fresh(self, ticket: TicketRef) -> pysnc.GlideRecord:
        # A full record (no ``fields``): pysnc silently drops writes to fields it did not fetch.
        gr = self._client.GlideRecord("incident")
        if not gr.get(ticket.sys_id):
            raise NotFoundError(f"incident {ticket.number} ({ticket.sys_id}) not found in ServiceNow", system=SYSTEM)
        return gr

    def _first(self, table: str, query: str, fields: list[str] | None = None) -> dict[str, str] | None:
        gr = self._client.GlideRecord(table, batch_size=1)
        if fields:
            gr.fields = ["sys_id", *fields]
        gr.add_encoded_query(query)
        gr.limit = 1
        gr.query()
        if not gr.next():
            return None
        return {"sys_id": str(gr.get_value("sys_id")), **{f: str(gr.get_value(f)) for f in fields or []}}

    def _group_id(self, name: str) -> str:
        group = self._first("sys_user_group", f"name={_literal(name)}")
        if group is None:
            raise NotFoundError(
                f"assignment group {name!r} does not exist in ServiceNow (sys_user_group)", system=SYSTEM
            )
        return group["sys_id"]

    def _article_id(self, number: str) -> str:
        article = self._first("kb_knowledge", f"number={_literal(number)}")
        if article is None:
            raise NotFoundError(
                f"knowledge article {number} does not exist in ServiceNow (kb_knowledge)", system=SYSTEM
            )
        return article["sys_id"]

    def _check_close_code(self, code: str) -> None:
        gr = self._client.GlideRecord("sys_choice")
        gr.fields = ["value"]
        gr.add_encoded_query("name=incident^element=close_code^inactive=false")
        gr.query()
        allowed = [str(choice.get_value("value")) for choice in gr]
        if code not in allowed:
            raise InvalidRequestError(
                f"close code {code!r} is not a ServiceNow incident close code; allowed: {', '.join(allowed)}",
                system=SYSTEM,
            )

    def _link_article(self, ticket: TicketRef, article_id: str) -> None:
        if self._first("m2m_kb_task", f"kb_knowledge={article_id}^task={ticket.sys_id}"):
            return
        self._insert("m2m_kb_task", {"kb_knowledge": article_id, "task": ticket.sys_id})

    def _tag(self, ticket: TicketRef, name: str) -> None:
        label = self._first("label", f"name={_literal(name)}")
        label_id = (
            label["sys_id"] if label else self._insert("label", {"name": name, "viewable_by": TAG_VISIBLE_TO_EVERYONE})
        )
        if self._first("label_entry", f"label={label_id}^table=incident^table_key={ticket.sys_id}"):
            return
        self._insert(
            "label_entry", {"label": label_id, "table": "incident", "table_key": ticket.sys_id, "title": ticket.number}
        )

    def _insert(self, table: str, values: dict[str, str]) -> str:
        gr = self._client.GlideRecord(table)
        gr.initialize()
        for name, value in values.items():
            gr.set_value(name, value)
        sys_id = gr.insert()
        if not sys_id:
            raise TransientError(f"ServiceNow accepted a {table} record but returned no sys_id", system=SYSTEM)
        return str(sys_id)

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        """Turn pysnc/requests failures into ``connectors.errors`` naming what was being done."""
        self._session.last_status = None
        try:
            yield
        except ConnectorError:
            raise
        except snc.AuthenticationException as exc:
            raise PermissionMissingError(
                f"ServiceNow refused our credentials (401) while {action}: check the service account", system=SYSTEM
            ) from exc
        except snc.RoleException as exc:
            if "Data Policy Exception" in str(exc) or "Business Rule" in str(exc):
                raise PolicyRefusalError(f"ServiceNow policy refused {action}: {_detail(exc)}", system=SYSTEM) from exc
            raise PermissionMissingError(
                f"ServiceNow refused {action} (403): the service account lacks a role or ACL; {_detail(exc)}",
                system=SYSTEM,
            ) from exc
        except snc.NotFoundException as exc:
            raise NotFoundError(f"ServiceNow found nothing while {action}: {_detail(exc)}", system=SYSTEM) from exc
        except requests.exceptions.SSLError as exc:
            raise ConnectorError(
                f"TLS verification failed while {action}: check ca_file points to the instance's CA", system=SYSTEM
            ) from exc
        except requests.exceptions.RetryError as exc:
            if "429" in str(exc):
                raise ThrottledError(f"ServiceNow kept throttling (429) while {action}", system=SYSTEM) from exc
            raise TransientError(f"ServiceNow kept failing while {action}: {exc}", system=SYSTEM) from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
            raise TransientError(f"ServiceNow unreachable while {action}: {type(exc).__name__}", system=SYSTEM) from exc
        except (snc.RequestException, snc.RestException) as exc:
            raise self._by_status(action, exc) from exc

    def _by_status(self, action: str, exc: Exception) -> ConnectorError:
        status = getattr(exc, "status_code", None) or self._session.last_status
        text = f"ServiceNow answered {status} while {action}: {_detail(exc)}"
        if status == 429:
            return ThrottledError(text, retry_after=self._session.last_retry_after, system=SYSTEM)
        if status is None or status >= 500:
            return TransientError(text, system=SYSTEM)
        if status in (401, 403):
            return PermissionMissingError(text, system=SYSTEM)
        if status == 404:
            return NotFoundError(text, system=SYSTEM)
        return InvalidRequestError(text, system=SYSTEM)


def _literal(value: str) -> str:
    """A value safe inside an encoded query: '^' would let e-mail content add conditions of its own."""
    if "^" in value:
        raise InvalidRequestError(f"value {value!r} contains '^', which ServiceNow queries cannot carry", system=SYSTEM)
    return value


def _detail(exc: Exception) -> str:
    return " ".join(str(part) for part in exc.args if not isinstance(part, Exception)) or type(exc).__name__

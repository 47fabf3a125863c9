"""ServiceNow incidents over the official ``pysnc`` client: the ``TicketSystem`` and ``TicketQueue`` the domain uses.

Every HTTP step runs under ``observed("servicenow", op)`` and ``call_with_retries`` (see ``client.py``). Writes are
retried only when throttled; after any other failure that may have been applied (5xx, timeout) the state is
re-read and the write repeated only if it did not happen ("re-read and decide"). Incidents are created with a
client-side ``sys_id``, so that re-read is a single GET. Records are fetched with exactly the fields read and
written: pysnc silently drops a write to a field it did not fetch.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Literal, TypeVar, overload

import pysnc
import redis

from connectors.errors import (
    InvalidRequestError,
    NotFoundError,
    ThrottledError,
    TransientError,
)
from connectors.health import Finding
from connectors.mailbox import InboundMessage
from connectors.resilience import RetryPolicy
from connectors.servicenow import doctor as checks
from connectors.servicenow.claims import Leases, claim_note
from connectors.servicenow.client import DEFAULT_POLICY, SYSTEM, ServiceNowClient, literal
from connectors.servicenow.emails import EMAIL_FIELDS, EMAIL_TABLE, RECEIVED, inbound_message
from connectors.servicenow.queue import QUEUE_FIELDS, InMemorySeenTickets, SeenTickets, queue_query
from connectors.tickets import Claim, Closure, NewIncident, QueueBatch, QueuedTicket, TicketChange, TicketRef

T = TypeVar("T")
SHORT_DESCRIPTION_MAX = 160
NEW, IN_PROGRESS, RESOLVED, CLOSED = "1", "2", "6", "7"
TAG_VISIBLE_TO_EVERYONE = "everyone"
JOURNALS = ("work_notes", "comments")


class _Lookups:
    """Reference data looked up once and kept ``ttl`` seconds (groups, choices, articles, labels, users)."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._values: dict[tuple[str, str], tuple[float, object]] = {}

    def get(self, kind: str, key: str, load: Callable[[], T | None]) -> T | None:
        """The cached value, else ``load()`` (a None result is not cached: it may exist soon)."""
        now = time.monotonic()
        kept = self._values.get((kind, key))
        if kept is not None and kept[0] > now:
            return kept[1]  # type: ignore[return-value]
        value = load()
        if value is not None:
            self._values[(kind, key)] = (now + self.ttl, value)
        return value

    def put(self, kind: str, key: str, value: object) -> None:
        """Remember a value we just created."""
        self._values[(kind, key)] = (time.monotonic() + self.ttl, value)


class ServiceNowTickets:
    """Incidents opened, polled, claimed, annotated, handed over and closed through the Table API.

    ``redis_client`` is needed for claims (leases) and, unless ``seen`` is given, de-duplicates polls across the
    fleet; without it polls de-duplicate in this process only. ``assignment_groups`` are checked by ``doctor``.
    The claim token goes to ``claim_field`` (``correlation_display`` by default: ``correlation_id`` holds the
    Message-ID of e-mail tickets, which ``find_by_correlation`` relies on) and into a work note.
    """

    def __init__(
        self,
        url: str,
        user: str,
        password: str,
        *,
        ca_file: str | None,
        timeout: float = 30.0,
        policy: RetryPolicy = DEFAULT_POLICY,
        redis_client: redis.Redis | None = None,
        seen: SeenTickets | None = None,
        claim_ttl_seconds: float = 300.0,
        claim_field: str = "correlation_display",
        overlap_seconds: float = 5.0,
        poll_limit: int = 100,
        assignment_groups: Sequence[str] = (),
        lookup_ttl_seconds: float = 3600.0,
    ) -> None:
        self._sn = ServiceNowClient(url, user, password, ca_file=ca_file, timeout=timeout, policy=policy)
        self._policy = policy
        self._leases = Leases(redis_client, ttl_ms=int(claim_ttl_seconds * 1000)) if redis_client else None
        if seen is None and redis_client is not None:
            from connectors.servicenow.queue import RedisSeenTickets

            seen = RedisSeenTickets(redis_client)
        self._seen: SeenTickets = seen or InMemorySeenTickets()
        self._claim_field = claim_field
        self._overlap = overlap_seconds
        self._poll_limit = poll_limit
        self._groups = tuple(assignment_groups)
        self._lookups = _Lookups(lookup_ttl_seconds)

    # -- TicketSystem ----------------------------------------------------------------------------

    def find_by_correlation(self, correlation_id: str) -> TicketRef | None:
        """The incident opened earlier for this request, so a retry never opens a second one."""
        found = self._first("incident", f"correlation_id={literal(correlation_id)}", ["number"], "find_by_correlation")
        return TicketRef(found["sys_id"], found["number"]) if found else None

    @overload
    def create_incident(self, incident: NewIncident, *, dry_run: Literal[False] = False) -> TicketRef: ...
    @overload
    def create_incident(self, incident: NewIncident, *, dry_run: Literal[True]) -> TicketChange: ...
    @overload
    def create_incident(self, incident: NewIncident, *, dry_run: bool) -> TicketRef | TicketChange: ...

    def create_incident(self, incident: NewIncident, *, dry_run: bool = False) -> TicketRef | TicketChange:
        """Open an incident; the caller is looked up by e-mail (left empty when unknown)."""
        values = {
            "short_description": incident.short_description[:SHORT_DESCRIPTION_MAX],
            "description": incident.description,
            "contact_type": incident.contact_type,
            "caller_id": self._caller_id(incident.caller_email) if incident.caller_email else "",
            "assignment_group": self._group_id(incident.assignment_group),
            "correlation_id": incident.correlation_id,
        }
        if dry_run:
            return TicketChange("create_incident", "incident", {}, values, dry_run=True)
        sys_id = uuid.uuid4().hex  # ours, so a failed POST is checked with one GET instead of repeated blindly

        def insert() -> TicketRef:
            gr = self._sn.record("incident")
            gr.initialize()
            gr.set_new_guid_value(sys_id)
            for name, value in values.items():
                gr.set_value(name, value)
            if not gr.insert():
                raise TransientError("ServiceNow accepted the incident but returned no sys_id", system=SYSTEM)
            return TicketRef(sys_id, str(gr.get_value("number")))

        def created() -> TicketRef | None:
            found = self._get_record("incident", sys_id, ["number"])
            return TicketRef(sys_id, str(found.get_value("number"))) if found else None

        return self._write_verified("create_incident", "creating an incident", insert, created)

    @overload
    def add_work_note(self, ticket: TicketRef, note: str, *, dry_run: Literal[False] = False) -> None: ...
    @overload
    def add_work_note(self, ticket: TicketRef, note: str, *, dry_run: Literal[True]) -> TicketChange: ...

    def add_work_note(self, ticket: TicketRef, note: str, *, dry_run: bool = False) -> TicketChange | None:
        """Append an internal work note."""
        change = self._update(ticket, "add_work_note", {"work_notes": note}, dry_run=dry_run)
        return change if dry_run else None

    def add_comment(self, ticket: TicketRef, text: str, *, dry_run: bool = False) -> TicketChange:
        """Append a customer-visible comment (ServiceNow e-mails it to the caller)."""
        return self._update(ticket, "add_comment", {"comments": text}, dry_run=dry_run)

    @overload
    def hand_to_humans(self, ticket: TicketRef, group: str, note: str, *, dry_run: Literal[False] = False) -> None: ...
    @overload
    def hand_to_humans(self, ticket: TicketRef, group: str, note: str, *, dry_run: Literal[True]) -> TicketChange: ...

    def hand_to_humans(self, ticket: TicketRef, group: str, note: str, *, dry_run: bool = False) -> TicketChange | None:
        """Assign the ticket to a human group (nobody in particular) with a work note that says why."""
        values = {"assignment_group": self._group_id(group), "assigned_to": "", "work_notes": note}
        change = self._update(ticket, "hand_to_humans", values, dry_run=dry_run)
        return change if dry_run else None

    @overload
    def resolve_and_close(self, ticket: TicketRef, closure: Closure, *, dry_run: Literal[False] = False) -> None: ...
    @overload
    def resolve_and_close(self, ticket: TicketRef, closure: Closure, *, dry_run: Literal[True]) -> TicketChange: ...

    def resolve_and_close(self, ticket: TicketRef, closure: Closure, *, dry_run: bool = False) -> TicketChange | None:
        """Resolve then close with close code and notes, link the KB article, add the tag.

        Everything is looked up before the first write, so a bad code or unknown article changes nothing;
        each step is skipped when already done, so calling again after a crash finishes the job once. When
        this call is the one that resolves the ticket, no earlier run got as far as linking or tagging, so
        those existence checks are skipped (two GETs fewer per ticket).
        """
        self._check_close_code(closure.close_code)
        article = self._article_id(closure.kb_article) if closure.kb_article else None
        fields = ["number", "state", "close_code", "close_notes", "sys_mod_count", "comments"]
        gr = self._record("incident", ticket.sys_id, fields, number=ticket.number)
        current = _row(gr, fields)
        was_open = current["state"] not in (RESOLVED, CLOSED)
        resolve = {"state": RESOLVED, "close_code": closure.close_code, "close_notes": closure.close_notes}
        if closure.comment:
            resolve["comments"] = closure.comment
        if dry_run:
            after = {**(resolve if was_open else {}), "state": CLOSED}
            if article:
                after["kb_article"] = closure.kb_article or ""
            if closure.tag:
                after["tag"] = closure.tag
            before = {k: current.get(k, "") for k in ("state", "close_code", "close_notes")}
            return TicketChange("resolve_and_close", ticket.number, before, after, dry_run=True)
        if was_open:
            gr = self._patch(ticket, "resolve", gr, resolve)
        if str(gr.get_value("state")) != CLOSED:
            self._patch(ticket, "close", gr, {"state": CLOSED})
        if article:
            self._link(ticket, article, check_first=not was_open)
        if closure.tag:
            self._tag(ticket, closure.tag, check_first=not was_open)
        return None

    def link_article(self, ticket: TicketRef, kb_number: str, *, dry_run: bool = False) -> TicketChange:
        """Link a knowledge article to the ticket (``m2m_kb_task``), once."""
        article = self._article_id(kb_number)
        change = TicketChange("link_article", ticket.number, {}, {"kb_article": kb_number}, dry_run=dry_run)
        if not dry_run:
            self._link(ticket, article, check_first=True)
        return change

    def add_tag(self, ticket: TicketRef, name: str, *, dry_run: bool = False) -> TicketChange:
        """Tag the ticket (``label`` created visible to everyone when missing, one ``label_entry``)."""
        change = TicketChange("add_tag", ticket.number, {}, {"tag": name}, dry_run=dry_run)
        if not dry_run:
            self._tag(ticket, name, check_first=True)
        return change

    def inbound_email(self, ticket: TicketRef) -> InboundMessage | None:
        """The e-mail an inbound e-mail action created ``ticket`` from (the first ``sys_email`` received for it), with
        its raw headers, or None when there is none (the ticket did not come from an e-mail, or it was purged)."""
        query = f"instance={literal(ticket.sys_id)}^type={RECEIVED}^ORDERBYsys_created_on"
        row = self._first(EMAIL_TABLE, query, EMAIL_FIELDS, "inbound_email")
        return inbound_message(row) if row is not None else None

    def count(self, table: str, query: str = "", group_by: str | None = None) -> int | dict[str, int]:
        """Records matching ``query`` through the Aggregate API: a number, or counts by ``group_by`` value."""
        params = {"sysparm_count": "true", "sysparm_query": query}
        if group_by:
            params["sysparm_group_by"] = group_by
        result = self._sn.read("count", f"counting {table}", lambda: self._sn.stats(table, params))
        if not group_by:
            return int(result["stats"]["count"])
        counts: dict[str, int] = {}
        for group in result:
            key = next((f["value"] for f in group.get("groupby_fields", []) if f.get("field") == group_by), "")
            counts[str(key)] = int(group["stats"]["count"])
        return counts

    # -- TicketQueue -----------------------------------------------------------------------------

    def poll_queue(self, group: str, *, since_watermark: str | None) -> QueueBatch:
        """Waiting, unassigned tickets of ``group`` changed since the watermark, each version handed out once.

        ``since_watermark=None`` reads the whole queue (start-up, or a reconciliation poll). The returned
        watermark is the newest ``sys_updated_on`` seen, or the one given when nothing came back.
        """
        query = queue_query(self._group_id(group), since_watermark, self._overlap)

        def fetch() -> list[dict[str, str]]:
            gr = self._sn.record("incident", fields=QUEUE_FIELDS, batch_size=self._poll_limit)
            gr.add_encoded_query(query)
            gr.limit = self._poll_limit
            gr.query()
            return [{f: str(gr.get_value(f) or "") for f in ["sys_id", *QUEUE_FIELDS]} for _ in gr]

        rows = self._sn.read("poll_queue", f"polling the queue of {group!r}", fetch)
        watermark = since_watermark
        fresh: list[QueuedTicket] = []
        for row in rows:
            watermark = max(watermark or "", row["sys_updated_on"]) or watermark
            mod_count = int(row["sys_mod_count"] or 0)
            if self._seen.first_time(row["sys_id"], mod_count):
                fresh.append(_queued(row, mod_count))
        return QueueBatch(tuple(fresh), watermark)

    def claim(self, ticket: TicketRef, worker_id: str) -> Claim | None:
        """Take the ticket for this worker: Redis lease, then assign + token + note in one PATCH, then re-read."""
        leases = self._require_leases()
        taken = leases.take(ticket.sys_id, worker_id)
        if taken is None:
            return None
        token, expires_at = taken
        try:
            fields = ["number", "state", "active", "assigned_to", self._claim_field, "sys_mod_count", "work_notes"]
            gr = self._record("incident", ticket.sys_id, fields, number=ticket.number)
            current = _row(gr, fields)
            if current["active"] != "true" or current["state"] not in (NEW, IN_PROGRESS) or current["assigned_to"]:
                leases.give_back(ticket.sys_id, token)
                return None
            values = {"assigned_to": self._me(), "state": IN_PROGRESS, self._claim_field: token,
                      "work_notes": claim_note(worker_id, token)}  # fmt: skip
            self._patch(ticket, "claim", gr, values)
            claim = Claim(ticket, worker_id, token, expires_at)
            if self.still_ours(claim):
                return claim
        except BaseException:
            leases.give_back(ticket.sys_id, token)
            raise
        leases.give_back(ticket.sys_id, token)
        return None

    def still_ours(self, claim: Claim) -> bool:
        """Re-read the ticket: True while it carries our claim token and our user; check before every side effect."""
        gr = self._record(
            "incident", claim.ticket.sys_id, ["assigned_to", self._claim_field], number=claim.ticket.number
        )
        return str(gr.get_value(self._claim_field)) == claim.token and str(gr.get_value("assigned_to")) == self._me()

    def renew(self, claim: Claim) -> Claim | None:
        """Extend the lease while the work goes on; None when it was lost (expired and taken by another)."""
        expires_at = self._require_leases().renew(claim.ticket.sys_id, claim.token)
        return Claim(claim.ticket, claim.worker_id, claim.token, expires_at) if expires_at else None

    def release(self, claim: Claim) -> None:
        """Give the lease back (the ticket stays assigned as it is: hand it over or close it first)."""
        self._require_leases().give_back(claim.ticket.sys_id, claim.token)

    # -- doctor ----------------------------------------------------------------------------------

    def doctor(self) -> list[Finding]:
        """Reachable, authenticated, roles (itil or sn_incident_write, never admin), reference data, groups."""
        return checks.run(self._sn, self._groups, self._first)

    def close(self) -> None:
        """Release connections."""
        self._sn.close()

    # -- reads -----------------------------------------------------------------------------------

    def _first(self, table: str, query: str, fields: list[str], operation: str = "lookup") -> dict[str, str] | None:
        def fetch() -> dict[str, str] | None:
            gr = self._sn.record(table, fields=fields, batch_size=1)
            gr.add_encoded_query(query)
            gr.limit = 1
            gr.query()
            if not gr.next():
                return None
            return {f: str(gr.get_value(f) or "") for f in ["sys_id", *fields]}

        return self._sn.read(operation, f"reading {table}", fetch)

    def _record(self, table: str, sys_id: str, fields: list[str], *, number: str = "") -> pysnc.GlideRecord:
        """One record with exactly ``fields`` (plus sys_id), ready to be changed; NotFoundError when absent."""

        def fetch() -> pysnc.GlideRecord:
            gr = self._sn.record(table, fields=fields)
            if not gr.get(sys_id):  # raised inside the call, so the error carries the instance's request id
                raise NotFoundError(f"{table} {number or sys_id} ({sys_id}) not found in ServiceNow", system=SYSTEM)
            return gr

        return self._sn.read(f"get_{table}", f"reading {table} {number or sys_id}", fetch)

    def _get_record(self, table: str, sys_id: str, fields: list[str], number: str = "") -> pysnc.GlideRecord | None:
        def fetch() -> pysnc.GlideRecord | None:
            gr = self._sn.record(table, fields=fields)
            return gr if gr.get(sys_id) else None

        return self._sn.read(f"get_{table}", f"reading {table} {number or sys_id}", fetch)

    def _me(self) -> str:
        me = self._lookups.get(
            "user", self._sn.user, lambda: self._first("sys_user", f"user_name={literal(self._sn.user)}", ["user_name"])
        )
        if me is None:
            raise NotFoundError(f"integration user {self._sn.user!r} not found in sys_user", system=SYSTEM)
        return me["sys_id"]

    def _caller_id(self, email: str) -> str:
        found = self._lookups.get(
            "caller", email.lower(), lambda: self._first("sys_user", f"email={literal(email)}", ["email"])
        )
        return found["sys_id"] if found else ""

    def _group_id(self, name: str) -> str:
        group = self._lookups.get(
            "group", name, lambda: self._first("sys_user_group", f"name={literal(name)}", ["name"])
        )
        if group is None:
            raise NotFoundError(
                f"assignment group {name!r} does not exist in ServiceNow (sys_user_group)", system=SYSTEM
            )
        return group["sys_id"]

    def _article_id(self, number: str) -> str:
        article = self._lookups.get(
            "kb", number, lambda: self._first("kb_knowledge", f"number={literal(number)}", ["number"])
        )
        if article is None:
            raise NotFoundError(
                f"knowledge article {number} does not exist in ServiceNow (kb_knowledge)", system=SYSTEM
            )
        return article["sys_id"]

    def close_codes(self) -> list[str]:
        """The active incident close codes, from ``sys_choice`` (cached)."""

        def load() -> list[str]:
            def fetch() -> list[str]:
                gr = self._sn.record("sys_choice", fields=["value"])
                gr.add_encoded_query("name=incident^element=close_code^inactive=false^ORDERBYsequence")
                gr.query()
                return [str(choice.get_value("value")) for choice in gr]

            return self._sn.read("close_codes", "reading the incident close codes (sys_choice)", fetch)

        return self._lookups.get("choices", "incident.close_code", load) or []

    def _check_close_code(self, code: str) -> None:
        allowed = self.close_codes()
        if code not in allowed:
            raise InvalidRequestError(
                f"close code {code!r} is not a ServiceNow incident close code; allowed: {', '.join(allowed)}",
                system=SYSTEM,
            )

    def _require_leases(self) -> Leases:
        if self._leases is None:
            raise InvalidRequestError(
                "claiming tickets needs Redis: give ServiceNowTickets a redis_client (fleet setting redis_url)",
                system=SYSTEM,
            )
        return self._leases

    # -- writes ----------------------------------------------------------------------------------

    def _update(self, ticket: TicketRef, operation: str, values: Mapping[str, str], *, dry_run: bool) -> TicketChange:
        fields = ["number", "sys_mod_count", *values]
        gr = self._record("incident", ticket.sys_id, fields, number=ticket.number)
        before = {k: str(gr.get_value(k) or "") for k in values if k not in JOURNALS}
        change = TicketChange(operation, ticket.number, before, dict(values), dry_run=dry_run)
        if not dry_run:
            self._patch(ticket, operation, gr, values)
        return change

    def _patch(
        self, ticket: TicketRef, operation: str, gr: pysnc.GlideRecord, values: Mapping[str, str]
    ) -> pysnc.GlideRecord:
        """PATCH ``values`` onto ``gr``, fetched with them in its field list; verified instead of blindly repeated.

        Returns the record as ServiceNow answered (or re-read), ready for a further change.
        """
        fields = list(dict.fromkeys(["number", "sys_mod_count", *values]))
        target = [gr]

        def write() -> pysnc.GlideRecord:
            record = target[0]
            for name, value in values.items():
                record.set_value(name, value)
            record.update()
            return record

        def applied() -> pysnc.GlideRecord | None:
            before = int(target[0].get_value("sys_mod_count") or 0)
            fresh = self._record("incident", ticket.sys_id, fields, number=ticket.number)
            plain_ok = all(str(fresh.get_value(k) or "") == v for k, v in values.items() if k not in JOURNALS)
            journal_ok = not any(k in JOURNALS for k in values) or int(fresh.get_value("sys_mod_count") or 0) > before
            if plain_ok and journal_ok:
                return fresh
            target[0] = fresh
            return None

        return self._write_verified(operation, f"{operation} on {ticket.number}", write, applied)

    def _insert(self, table: str, values: Mapping[str, str], applied: Callable[[], str | None]) -> str:
        def write() -> str:
            gr = self._sn.record(table)
            gr.initialize()
            for name, value in values.items():
                gr.set_value(name, value)
            sys_id = gr.insert()
            if not sys_id:
                raise TransientError(f"ServiceNow accepted a {table} record but returned no sys_id", system=SYSTEM)
            return str(sys_id)

        return self._write_verified(f"insert_{table}", f"creating a {table} record", write, applied)

    def _write_verified(
        self, operation: str, action: str, write: Callable[[], T], applied: Callable[[], T | None]
    ) -> T:
        """Run a write; after a failure that may have been applied, re-read and write again only if it was not."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._sn.write(operation, action, write)
            except ThrottledError:
                raise  # the policy already waited and retried as long as it allows
            except TransientError as exc:
                if attempt >= self._policy.attempts:
                    raise
                time.sleep(max(self._policy.wait(attempt, exc), self._sn.session.last.retry_after or 0.0))
                done = applied()
                if done is not None:
                    return done

    def _link(self, ticket: TicketRef, article_id: str, *, check_first: bool) -> None:
        query = f"kb_knowledge={article_id}^task={ticket.sys_id}"

        def existing() -> str | None:
            found = self._first("m2m_kb_task", query, ["task"], "find_kb_link")
            return found["sys_id"] if found else None

        if check_first and existing():
            return
        self._insert("m2m_kb_task", {"kb_knowledge": article_id, "task": ticket.sys_id}, existing)

    def _tag(self, ticket: TicketRef, name: str, *, check_first: bool) -> None:
        # Find-then-create races when workers (processes, hosts) close tickets at once: each may find no label
        # and create one. A lock cannot span workers, so everyone converges instead: the label used is always the
        # *oldest* of that name (creation time, then sys_id), read again after creating one. Whatever the
        # interleaving, the workers tag with the same label; a duplicate left behind carries nothing and is
        # harmless (the reports read every label of the name: servicenow.stats).
        oldest = f"name={literal(name)}^ORDERBYsys_created_on^ORDERBYsys_id"

        def find_label() -> str | None:
            found = self._first("label", oldest, ["name"], "find_label")
            return found["sys_id"] if found else None

        label_id = self._lookups.get("label", name, find_label)
        if label_id is None:
            created = self._insert("label", {"name": name, "viewable_by": TAG_VISIBLE_TO_EVERYONE}, find_label)
            label_id = find_label() or created
            self._lookups.put("label", name, label_id)
        query = f"label={label_id}^table=incident^table_key={ticket.sys_id}"

        def existing() -> str | None:
            found = self._first("label_entry", query, ["label"], "find_tag")
            return found["sys_id"] if found else None

        if check_first and existing():
            return
        entry = {"label": label_id, "table": "incident", "table_key": ticket.sys_id, "title": ticket.number}
        self._insert("label_entry", entry, existing)


def _row(gr: pysnc.GlideRecord, fields: Sequence[str]) -> dict[str, str]:
    return {f: str(gr.get_value(f) or "") for f in ["sys_id", *fields]}


def _queued(row: Mapping[str, str], mod_count: int) -> QueuedTicket:
    return QueuedTicket(
        ref=TicketRef(row["sys_id"], row["number"]),
        short_description=row["short_description"],
        description=row["description"],
        caller_id=row["caller_id"],
        contact_type=row["contact_type"],
        state=row["state"],
        correlation_id=row["correlation_id"],
        updated_on=row["sys_updated_on"],
        mod_count=mod_count,
    )

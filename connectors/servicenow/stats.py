"""What ServiceNow itself says about the service desk: the requests of a period and the automation's tickets.

Two reads for the managers' figures, both on the connector's one HTTP client (``client.ServiceNowClient``: the
same session, CA file, retries and error taxonomy as the fleet):

- ``ServiceDeskStats.count_requests``: every service-desk request opened in a period, counted by the Aggregate API
  (``GET /api/now/stats/{table}?sysparm_count=true``, which pysnc lacks) over the configured assignment groups and
  tables (``incident``, plus ``sc_req_item`` where catalogue requests count). This is the denominator of the
  contract's automated-resolution rate (UO-TR1.1 tickets ÷ all service-desk requests).
- ``ServiceDeskStats.tickets`` / ``tagged`` / ``closed_by_automation``: the facts the reconciliation compares with
  the ledger (state, who created and who closed each ticket, whether it carries the UO-TR1.1 tag), read through
  the Table API with values only.

Periods are given as UTC instants ``[start, end)``; ServiceNow stores and compares date-times in UTC
(``YYYY-MM-DD HH:MM:SS``), so a Paris day is two UTC instants, converted by the caller.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from connectors.errors import NotFoundError
from connectors.resilience import RetryPolicy
from connectors.servicenow.client import DEFAULT_POLICY, SYSTEM, ServiceNowClient, literal

CLOSED_STATES = frozenset({"7"})  # incident "Closed"; "6" Resolved is not closed yet (administrative closure)
# Ticket numbers (or sys_ids) per ``IN`` query: keeps every URL far below the instance's ~16 KB limit.
CHUNK = 100
TICKET_FIELDS = ["number", "state", "sys_created_by", "closed_by", "opened_at", "closed_at", "assignment_group"]


def sn_time(instant: datetime) -> str:
    """A naive or aware UTC instant as ServiceNow writes date-times in queries."""
    return instant.strftime("%Y-%m-%d %H:%M:%S")


@dataclass(frozen=True)
class SnTicket:
    """One incident as ServiceNow holds it, reduced to what the reconciliation checks."""

    sys_id: str
    number: str
    state: str
    created_by: str  # sys_created_by: the user_name of whoever created the record
    closed_by: str  # user_name of closed_by ("" while not closed)
    opened_at: str  # UTC "YYYY-MM-DD HH:MM:SS"
    closed_at: str
    tagged: bool

    @property
    def closed(self) -> bool:
        return self.state in CLOSED_STATES


class ServiceDeskStats:
    """Read-only figures of one ServiceNow instance for the service desk's ``groups`` (names) and ``tables``."""

    def __init__(self, client: ServiceNowClient, *, groups: Sequence[str], tables: Sequence[str] = ("incident",),
                 tag: str = "UO-TR1.1") -> None:
        if not groups:
            raise ValueError("the service desk needs at least one assignment group to count its requests")
        self._sn = client
        self._groups = tuple(groups)
        self._tables = tuple(tables)
        self._tag = tag
        self._group_ids: list[str] | None = None

    @classmethod
    def connect(cls, url: str, user: str, password: str, *, ca_file: str | None, timeout: float = 30.0,
                policy: RetryPolicy = DEFAULT_POLICY, groups: Sequence[str], tables: Sequence[str] = ("incident",),
                tag: str = "UO-TR1.1") -> ServiceDeskStats:
        client = ServiceNowClient(url, user, password, ca_file=ca_file, timeout=timeout, policy=policy)
        return cls(client, groups=groups, tables=tables, tag=tag)

    @property
    def user(self) -> str:
        """The integration user: the automation that creates and closes UO-TR1.1 tickets."""
        return self._sn.user

    def close(self) -> None:
        self._sn.close()

    # -- the denominator -------------------------------------------------------------------------

    def count_requests(self, start: datetime, end: datetime) -> int:
        """Service-desk requests opened in ``[start, end)`` (UTC) in the configured groups, over every table."""
        query = self.requests_query(start, end)
        return sum(self._count(table, query) for table in self._tables)

    def requests_query(self, start: datetime, end: datetime) -> str:
        """The encoded query the denominator counts (shown by ``sesame report`` so the figure can be re-checked)."""
        groups = ",".join(self._resolved_groups())
        return f"assignment_groupIN{groups}^opened_at>={sn_time(start)}^opened_at<{sn_time(end)}"

    def _count(self, table: str, query: str) -> int:
        params = {"sysparm_count": "true", "sysparm_query": query}
        result = self._sn.read("stats_count", f"counting {table} requests", lambda: self._sn.stats(table, params))
        return int(result["stats"]["count"])

    def _resolved_groups(self) -> list[str]:
        if self._group_ids is None:
            names = ",".join(literal(name) for name in self._groups)
            found = self._rows("sys_user_group", f"nameIN{names}", ["name"], "reading the service desk groups")
            by_name = {row["name"]: row["sys_id"] for row in found}
            missing = [name for name in self._groups if name not in by_name]
            if missing:
                raise NotFoundError(f"assignment group(s) {', '.join(map(repr, missing))} do not exist in ServiceNow "
                                    "(sys_user_group): check desk.service_desk_groups", system=SYSTEM)
            self._group_ids = [by_name[name] for name in self._groups]
        return self._group_ids

    # -- the reconciliation's facts ----------------------------------------------------------------

    def tickets(self, numbers: Iterable[str]) -> dict[str, SnTicket]:
        """The incidents with these numbers, by number (absent numbers are simply missing)."""
        rows: list[dict[str, str]] = []
        wanted = sorted({literal(n) for n in numbers if n})
        for chunk in _chunks(wanted):
            rows += self._rows("incident", f"numberIN{','.join(chunk)}", TICKET_FIELDS, "reading tickets")
        return {t.number: t for t in self._facts(rows)}

    def tagged(self, since: datetime) -> dict[str, SnTicket]:
        """Incidents tagged with the UO-TR1.1 tag since ``since`` (UTC; a tag is added when the ticket closes)."""
        labels = self._label_ids()
        if not labels:
            return {}
        entries = self._rows("label_entry", f"labelIN{labels}^table=incident^sys_created_on>={sn_time(since)}",
                             ["table_key"], "reading UO-TR1.1 tags")
        return self._by_sys_id({e["table_key"] for e in entries})

    def closed_by_automation(self, start: datetime, end: datetime) -> dict[str, SnTicket]:
        """Incidents the integration user closed in ``[start, end)`` (UTC), whoever created them."""
        me = self._user_id()
        query = f"closed_by={me}^closed_at>={sn_time(start)}^closed_at<{sn_time(end)}"
        return {t.number: t for t in self._facts(self._rows("incident", query, TICKET_FIELDS, "reading closures"))}

    def _by_sys_id(self, sys_ids: Iterable[str]) -> dict[str, SnTicket]:
        rows: list[dict[str, str]] = []
        for chunk in _chunks(sorted(sys_ids)):
            rows += self._rows("incident", f"sys_idIN{','.join(chunk)}", TICKET_FIELDS, "reading tagged tickets")
        return {t.number: t for t in self._facts(rows)}

    def _facts(self, rows: list[dict[str, str]]) -> list[SnTicket]:
        """Rows of incidents as ``SnTicket``: closers' user names and tags looked up in two reads."""
        closers = {row["closed_by"] for row in rows if row["closed_by"]}
        names = self._user_names(closers)
        tagged = self._tagged_among([row["sys_id"] for row in rows])
        return [SnTicket(sys_id=row["sys_id"], number=row["number"], state=row["state"],
                         created_by=row["sys_created_by"], closed_by=names.get(row["closed_by"], row["closed_by"]),
                         opened_at=row["opened_at"], closed_at=row["closed_at"], tagged=row["sys_id"] in tagged)
                for row in rows]

    def _tagged_among(self, sys_ids: Sequence[str]) -> set[str]:
        labels = self._label_ids()
        if not labels or not sys_ids:
            return set()
        found: set[str] = set()
        for chunk in _chunks(sorted(set(sys_ids))):
            query = f"labelIN{labels}^table=incident^table_keyIN{','.join(chunk)}"
            found |= {e["table_key"] for e in self._rows("label_entry", query, ["table_key"], "reading tags")}
        return found

    def _user_names(self, sys_ids: set[str]) -> dict[str, str]:
        names: dict[str, str] = {}
        for chunk in _chunks(sorted(sys_ids)):
            for row in self._rows("sys_user", f"sys_idIN{','.join(chunk)}", ["user_name"], "reading users"):
                names[row["sys_id"]] = row["user_name"]
        return names

    def _user_id(self) -> str:
        found = self._rows("sys_user", f"user_name={literal(self.user)}", ["user_name"], "reading the bot user")
        if not found:
            raise NotFoundError(f"integration user {self.user!r} not found in sys_user", system=SYSTEM)
        return found[0]["sys_id"]

    def _label_ids(self) -> str:
        """Every label with the tag's name, comma-separated: two workers closing at once may each create one."""
        found = self._rows("label", f"name={literal(self._tag)}", ["name"], "reading the UO-TR1.1 label")
        return ",".join(row["sys_id"] for row in found)

    def _rows(self, table: str, query: str, fields: list[str], action: str) -> list[dict[str, str]]:
        def fetch() -> list[dict[str, str]]:
            gr = self._sn.record(table, fields=fields, batch_size=500)
            gr.add_encoded_query(query)
            gr.query()
            return [{f: str(gr.get_value(f) or "") for f in ["sys_id", *fields]} for _ in gr]

        return self._sn.read(f"read_{table}", action, fetch)


def _chunks(values: Sequence[str]) -> Iterable[Sequence[str]]:
    for index in range(0, len(values), CHUNK):
        yield values[index:index + CHUNK]

"""``sesame report shadow --since DATE``: what shadow playbooks would have done against what people did.

For every plan recorded in shadow mode (``automations.playbooks.shadow``), the ticket's final state is read from
ServiceNow (reads only) and the planned outcome is compared with the people's resolution:

- the ticket is still open: **pending**, left out of the rate;
- the plan would have acted and closed with close code C: **agree** when people resolved or closed the ticket
  with C, **disagree** (``wrong_action``) otherwise — the kind that must be understood before going live;
- the plan would have handed over: **agree** when people closed it otherwise than the playbook would (another
  close code), **disagree** (``missed``) when they closed it with the playbook's own code: the bot refused what
  people did.

The agreement rate is agreements over resolved tickets, in total and per playbook version.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import click

from automations.ledger import AUTOMATED, Ledger, ShadowPlan
from connectors.resilience import RetryPolicy

RESOLVED_STATES = frozenset({"6", "7"})  # incident Resolved, Closed
AGREE, DISAGREE, PENDING = "agree", "disagree", "pending"


@dataclass(frozen=True)
class HumanResolution:
    """How people left the ticket, as ServiceNow holds it."""

    number: str
    state: str
    close_code: str
    close_notes: str
    assignment_group: str

    @property
    def resolved(self) -> bool:
        return self.state in RESOLVED_STATES


class TicketReader(Protocol):
    """Reads the final state of tickets by sys_id (reads only)."""

    def resolutions(self, sys_ids: Sequence[str]) -> dict[str, HumanResolution]:
        """The tickets found, by sys_id."""
        ...


class ServiceNowResolutions:
    """``TicketReader`` over the ServiceNow Table API, in chunks of 100 sys_ids."""

    FIELDS = ("number", "state", "close_code", "close_notes", "assignment_group")

    def __init__(self, url: str, user: str, password: str, *, ca_file: str | None, timeout: float = 30.0,
                 policy: RetryPolicy | None = None) -> None:
        from connectors.servicenow.client import ServiceNowClient

        self._sn = ServiceNowClient(url, user, password, ca_file=ca_file, timeout=timeout,
                                    policy=policy or RetryPolicy())

    def resolutions(self, sys_ids: Sequence[str]) -> dict[str, HumanResolution]:
        found: dict[str, HumanResolution] = {}
        wanted = sorted({s for s in sys_ids if s})
        for start in range(0, len(wanted), 100):
            chunk = wanted[start:start + 100]

            def fetch(chunk: Sequence[str] = chunk) -> list[tuple[str, HumanResolution]]:
                gr = self._sn.record("incident", fields=list(self.FIELDS), batch_size=100)
                gr.add_encoded_query(f"sys_idIN{','.join(chunk)}")
                gr.query()
                rows = []
                for _ in gr:
                    group = gr.get_element("assignment_group")
                    rows.append((str(gr.get_value("sys_id")), HumanResolution(
                        number=str(gr.get_value("number") or ""), state=str(gr.get_value("state") or ""),
                        close_code=str(gr.get_value("close_code") or ""),
                        close_notes=str(gr.get_value("close_notes") or ""),
                        assignment_group=str(group.get_display_value() or group.get_value() or ""))))
                return rows

            found.update(self._sn.read("read_incident", "reading shadow-mode tickets", fetch))
        return found

    def close(self) -> None:
        self._sn.close()


@dataclass
class Comparison:
    """One plan against the people's resolution."""

    ticket: str | None
    request_key: str
    playbook: str
    planned: str  # "automated (close: C)" or "handed over (REASON)"
    people: str
    verdict: str  # agree, disagree, pending
    kind: str = ""  # for a disagreement: wrong_action or missed
    detail: str = ""


@dataclass
class ShadowReport:
    since: datetime
    plans: int
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def decided(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.verdict != PENDING]

    def rate(self, comparisons: Iterable[Comparison] | None = None) -> float | None:
        chosen = list(self.decided if comparisons is None else comparisons)
        decided = [c for c in chosen if c.verdict != PENDING]
        if not decided:
            return None
        return round(100.0 * sum(1 for c in decided if c.verdict == AGREE) / len(decided), 1)

    def by_playbook(self) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[Comparison]] = defaultdict(list)
        for comparison in self.comparisons:
            groups[comparison.playbook].append(comparison)
        return {label: {"plans": len(items), "resolved": sum(1 for c in items if c.verdict != PENDING),
                        "agree": sum(1 for c in items if c.verdict == AGREE), "agreement_pct": self.rate(items)}
                for label, items in sorted(groups.items())}

    def to_json(self) -> dict[str, Any]:
        decided = self.decided
        return {
            "since": self.since.isoformat(), "plans": self.plans, "resolved_by_people": len(decided),
            "pending": sum(1 for c in self.comparisons if c.verdict == PENDING),
            "agree": sum(1 for c in decided if c.verdict == AGREE), "agreement_pct": self.rate(),
            "by_playbook": self.by_playbook(),
            "disagreements": [asdict(c) for c in self.comparisons if c.verdict == DISAGREE],
            "pending_tickets": [c.ticket for c in self.comparisons if c.verdict == PENDING],
        }

    def format(self) -> str:
        data = self.to_json()
        rate = "n/a" if data["agreement_pct"] is None else f"{data['agreement_pct']} %"
        lines = [f"Shadow mode since {self.since:%Y-%m-%d %H:%M} UTC: {self.plans} plan(s), "
                 f"{data['resolved_by_people']} resolved by people, {data['pending']} still open",
                 f"Agreement  {data['agree']}/{data['resolved_by_people']} ({rate})"]
        for label, figures in data["by_playbook"].items():
            pct = "n/a" if figures["agreement_pct"] is None else f"{figures['agreement_pct']} %"
            lines.append(f"  {label}: {figures['agree']}/{figures['resolved']} ({pct}), {figures['plans']} plan(s)")
        disagreements = [c for c in self.comparisons if c.verdict == DISAGREE]
        lines.append(f"Disagreements ({len(disagreements)})" if disagreements else "Disagreements: none")
        for c in disagreements:
            lines.append(f"  {c.ticket or c.request_key}  [{c.kind}] bot: {c.planned} — people: {c.people}"
                         + (f" — {c.detail}" if c.detail else ""))
        if data["pending_tickets"]:
            lines.append("Still open: " + ", ".join(t or "?" for t in data["pending_tickets"]))
        return "\n".join(lines)


def compare(plan: ShadowPlan, human: HumanResolution | None) -> Comparison:
    """One plan against how people left its ticket."""
    label = f"{plan.playbook_id}@{plan.playbook_version}#{plan.playbook_hash[:12]}"
    planned = (f"automated (close: {plan.close_code})" if plan.outcome == AUTOMATED
               else f"handed over ({plan.reason})")
    if human is None:
        return Comparison(plan.ticket_number, plan.request_key, label, planned, "ticket not found in ServiceNow",
                          PENDING)
    if not human.resolved:
        return Comparison(plan.ticket_number, plan.request_key, label, planned,
                          f"open (state {human.state}, group {human.assignment_group or '-'})", PENDING)
    people = f"closed: {human.close_code or '(no close code)'}"
    same_code = bool(plan.close_code) and human.close_code.strip().casefold() == (plan.close_code or "").casefold()
    if plan.outcome == AUTOMATED:
        if same_code:
            return Comparison(human.number, plan.request_key, label, planned, people, AGREE)
        return Comparison(human.number, plan.request_key, label, planned, people, DISAGREE, "wrong_action",
                          human.close_notes[:200])
    if same_code:
        return Comparison(human.number, plan.request_key, label, planned, people, DISAGREE, "missed",
                          f"people resolved it as the playbook would; the bot refused: {plan.detail or plan.reason}")
    return Comparison(human.number, plan.request_key, label, planned, people, AGREE)


def shadow_report(ledger: Ledger, reader: TicketReader, since: datetime) -> ShadowReport:
    """Every shadow plan since ``since`` (UTC) compared with its ticket's state now."""
    naive = since.astimezone(UTC).replace(tzinfo=None) if since.tzinfo else since
    plans = ledger.shadow_plans(naive)
    found = reader.resolutions([p.ticket_sys_id for p in plans if p.ticket_sys_id])
    return ShadowReport(since=naive, plans=len(plans),
                        comparisons=[compare(p, found.get(p.ticket_sys_id or "")) for p in plans])


@click.command("shadow")
@click.option("--since", type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]),
              required=True, help="First moment included (UTC), e.g. 2026-11-01.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SESAME_CONFIG",
              required=True, help="Sésame YAML configuration (or $SESAME_CONFIG): ledger and ServiceNow.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def shadow_command(since: datetime, config_path: Path, as_json: bool) -> None:
    """Compare what shadow-mode playbooks would have done with how people resolved the same tickets."""
    from connectors.errors import ConnectorError
    from workers.config import ConfigError, load_settings
    from workers.runtime import configure_logging

    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    configure_logging("WARNING")
    sn = settings.servicenow
    reader = ServiceNowResolutions(sn.url, sn.user, sn.password.get_secret_value(),
                                   ca_file=str(sn.ca_file) if sn.ca_file else None, timeout=sn.timeout_seconds,
                                   policy=RetryPolicy(attempts=sn.retry_attempts, deadline=sn.retry_deadline_seconds))
    ledger = Ledger(settings.ledger_url)
    try:
        report = shadow_report(ledger, reader, since.replace(tzinfo=UTC))
    except ConnectorError as error:
        raise click.ClickException(str(error)) from None
    finally:
        reader.close()
        ledger.engine.dispose()
    click.echo(json.dumps(report.to_json(), ensure_ascii=False, indent=2) if as_json else report.format())

"""``sesame playbook plan --request FILE``: what Sésame would do with one request, and no write anywhere.

The request (JSON ``{"from", "subject", "body", "headers"?}`` or an ``.eml`` file) goes through the same
understanding, trust checks, decision and playbook steps as in the fleet, against the configured systems, with
every write replaced by a read or left out:

- the steps run in dry run: directory reads happen, no unlock, reset, SMS or session revoke is sent;
- the ticket is looked up (by the request's correlation id) but not created, handed over or closed: the
  ServiceNow connector's dry runs say what would change;
- no reply is sent: its text is shown;
- the ledger is not opened (not even created), nothing is journaled or audited;
- Redis is only read: the replay guard looks whether the Message-ID is held without claiming it, the rate limits
  and the burst counts are read without counting this request, the lockout history is read without recording
  the account's lockout, the kill switch is read;
- alerts a check would raise are listed, not sent.
"""

from __future__ import annotations

import email
import email.policy
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, is_dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from pathlib import Path
from typing import Any, cast

import click
import redis

from automations.handling import ACTION_OF_INTENT, MIN_CONFIDENCE, DeskPolicy, RequestHandler
from automations.ledger import Ledger
from automations.playbooks import HandOver, PlaybookRun, load_playbooks, run_playbook
from automations.playbooks import actions as action_registry
from automations.playbooks.engine import request_values
from automations.playbooks.spec import Step
from automations.registry import PartnerRegistry
from automations.replies import Templates
from automations.request import Request
from automations.trust import Refusal
from automations.trust.collective import CollectiveDetector, CollectiveVerdict
from automations.trust.gate import SILENT_REASONS, TrustChecks
from automations.trust.killswitch import WritesPaused
from automations.trust.replay import PREFIX, ReplayGuard, ReplayStoreUnavailable, delivery_token, replay_keys
from automations.trust.spray import LockoutStore, MemoryLockoutStore, SprayDetector
from automations.understanding import get_understander
from automations.understanding.headers import understand_message
from connectors.errors import ConnectorError
from connectors.tickets import Closure, TicketRef, TicketSystem

# --- read-only stand-ins for the checks that record as they check ---------------------------------------------


class PeekReplayGuard:
    """Whether another delivery holds the message's keys, read without claiming them (a plan is not a delivery)."""

    def __init__(self, client: redis.Redis, prefix: str = PREFIX) -> None:
        self._redis, self._prefix = client, prefix

    def seen_before(self, request: Request) -> bool:
        keys = [self._prefix + key for key in replay_keys(request)]
        if not keys:
            return False
        try:
            holders = self._redis.mget(keys)
        except redis.RedisError as exc:
            raise ReplayStoreUnavailable(f"the replay store (Redis) cannot be read: {type(exc).__name__}") from None
        token = delivery_token(request)
        return any(h is not None and (h.decode() if isinstance(h, bytes) else str(h)) != token for h in holders)


class PeekCollective(CollectiveDetector):
    """The burst counts as they would be with this request, without adding it."""

    def __init__(self, inner: CollectiveDetector) -> None:
        self.__dict__.update(inner.__dict__)

    def observe(self, request_key: str, *, intent: str, partner: str | None,
                application: str | None) -> CollectiveVerdict:
        counts = [(group, len({*self.members(group), request_key}))
                  for group in self.groups(intent=intent, partner=partner, application=application)]
        group, count = max(counts, key=lambda pair: pair[1])
        return CollectiveVerdict(count >= self.threshold, group, count)


class OverlayLockouts:
    """The lockout history read from the fleet's store; what the check would record stays in this process."""

    def __init__(self, inner: LockoutStore) -> None:
        self._inner, self._mine = inner, MemoryLockoutStore()

    def record(self, account: str, when: datetime, *, keep: timedelta) -> None:
        self._mine.record(account, when, keep=keep)

    def since(self, start: datetime) -> list[tuple[str, datetime]]:
        return sorted({*self._inner.since(start), *self._mine.since(start)}, key=lambda item: item[1])


class NoLedger:
    """The plan must not touch the ledger: any use is a bug, said loudly."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"a plan must not use the ledger (tried ledger.{name})")


# --- the report -------------------------------------------------------------------------------------------------


@dataclass
class Check:
    """One check on the way to a decision."""

    name: str
    passed: bool | None  # None: not reached (an earlier check decided)
    detail: str = ""


@dataclass
class StepPlan:
    """One playbook step (or guard) as it ran in dry run."""

    step: str
    action: str
    arguments: dict[str, Any]
    result: str  # "ok", "refused", "error"
    detail: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Plan:
    """Everything ``plan`` found out; ``decision`` is "automated", "handed_over", "shadow", "ignored" (auto-replies)
    or "attached" (a note on the conversation's ticket)."""

    request: dict[str, Any]
    understanding: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    playbook: str | None = None
    mode: str | None = None
    target: dict[str, Any] | None = None
    steps: list[StepPlan] = field(default_factory=list)
    decision: str = "handed_over"
    reason: str | None = None
    detail: str | None = None
    ticket: dict[str, Any] = field(default_factory=dict)
    reply: str | None = None
    alerts: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return _plain(asdict(self))

    def format(self) -> str:
        """The plan as an operator reads it."""
        lines = [f"Request  {self.request['key']} from {self.request['from']}: {self.request['subject']!r}",
                 f"Understood  intent={self.understanding['intent']} confidence={self.understanding['confidence']:.2f}"
                 f" decision={self.understanding['decision']} "
                 f"targets={', '.join(self.understanding['targets']) or '-'}"]
        for reason in self.understanding["reasons"]:
            lines.append(f"    · {reason}")
        lines.append(f"Playbook  {self.playbook or 'none'}" + (f" (mode {self.mode})" if self.mode else ""))
        lines.append("Checks")
        for check in self.checks:
            mark = {True: "pass", False: "FAIL", None: "----"}[check.passed]
            lines.append(f"  [{mark}] {check.name}" + (f" — {check.detail}" if check.detail else ""))
        if self.target:
            lines.append("Target  " + ", ".join(f"{k}={v}" for k, v in self.target.items()))
        if self.steps:
            lines.append("Guards and steps (dry run: reads only)")
            for step in self.steps:
                args = json.dumps(step.arguments, ensure_ascii=False, default=str) if step.arguments else ""
                lines.append(f"  [{step.result:^7}] {step.step}: {step.action} {args}".rstrip()
                             + (f" — {step.detail}" if step.detail else ""))
                for change in step.changes:
                    lines.append(f"      would write {change['action']} on {change['target']}: "
                                 f"{json.dumps(change['before'], ensure_ascii=False)} -> "
                                 f"{json.dumps(change['after'], ensure_ascii=False)}")
        verdict = {"automated": "AUTOMATED", "handed_over": "HANDED TO PEOPLE", "shadow": "SHADOW (plans only)",
                   "ignored": "IGNORED (recorded only)", "attached": "ATTACHED TO THE CONVERSATION'S TICKET"}
        lines.append(f"Decision  {verdict.get(self.decision, self.decision)}"
                     + (f": {self.reason} — {self.detail}" if self.reason else ""))
        lines.append("Ticket")
        for key, value in self.ticket.items():
            text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
            lines.append(f"  {key}: {text.replace(chr(10), ' / ')}")
        lines.append("Reply" + (" (not sent)" if self.reply else ": none"))
        if self.reply:
            lines += [f"  | {line}" for line in self.reply.rstrip().splitlines()]
        for alert in self.alerts:
            lines.append(f"Alert (not sent)  {alert}")
        lines.append("Nothing was written.")
        return "\n".join(lines)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


# --- reading the request ----------------------------------------------------------------------------------------


class RequestFileError(ValueError):
    """The request file cannot be read; the message says what is expected."""


def read_request(path: Path) -> Request:
    """A request from JSON ``{"from", "subject", "body", "headers"?}`` (``from_name``, ``id`` optional) or ``.eml``."""
    raw = path.read_bytes()
    if path.suffix.lower() == ".eml":
        message = email.message_from_bytes(raw, policy=email.policy.default)
        name, address = parseaddr(str(message.get("From", "")))
        part = message.get_body(preferencelist=("plain",))
        body = part.get_content() if part is not None else ""
        headers = tuple((k, str(v)) for k, v in message.items())
        subject = str(message.get("Subject", ""))
    else:
        try:
            data = json.loads(raw)
        except ValueError as error:
            raise RequestFileError(f"{path}: not JSON ({error}); give JSON or an .eml file") from None
        if not isinstance(data, dict) or not data.get("from"):
            raise RequestFileError(f'{path}: expected {{"from", "subject", "body", "headers"?}}')
        name, address = parseaddr(str(data["from"]))
        name = str(data.get("from_name") or name)
        body, subject = str(data.get("body", "")), str(data.get("subject", ""))
        given = data.get("headers") or {}
        headers = tuple((str(k), str(v)) for k, v in (given.items() if isinstance(given, dict) else given))
        if not any(k.lower() == "from" for k, _ in headers):
            # As a mailbox shows it: the From header is evidence the sender checks read.
            headers = (("From", str(data["from"])), *headers)
    message_id = next((v.strip() for k, v in headers if k.lower() == "message-id" and v.strip()), "")
    return Request(key=message_id or f"plan:{path.name}", channel="email", sender_address=address.strip().lower(),
                   sender_name=name, subject=subject, text=body, headers=headers)


# --- planning ---------------------------------------------------------------------------------------------------


class _Recorder:
    """Sees every step through the run's journal hooks and every action call (with the arguments it got)."""

    def __init__(self, plan: Plan) -> None:
        self.plan, self.current = plan, ""

    # RunJournal: the plan journals nothing; it only learns which step runs.
    def replay(self, run: PlaybookRun, step: Step) -> bool:
        self.current = step.id
        return False

    def writing(self, run: PlaybookRun) -> None:
        return None

    def done(self, run: PlaybookRun, step: Step) -> None:
        return None

    def once(self, name: str, action: str, do: Callable[[], None], *, repeatable: bool = True) -> bool:
        return False

    @contextmanager
    def watching_actions(self) -> Iterator[None]:
        """Wrap every registered action for the plan's duration (a one-shot command: nobody else runs them)."""
        originals = dict(action_registry.ACTIONS)

        def wrap(name: str, action: Callable[..., Any]) -> Callable[..., Any]:
            def watched(run: PlaybookRun, args: dict[str, Any], *rest: Any, **kw: Any) -> Any:
                before = len(run.changes)
                # The engine names the guard or step it runs in ``run.step``; the journal hook as a fallback.
                entry = StepPlan(run.step or self.current or name, name, _plain(dict(args)), "ok")
                self.plan.steps.append(entry)
                try:
                    result = action(run, args, *rest, **kw)
                except HandOver as refusal:
                    entry.result, entry.detail = "refused", f"{refusal.reason}: {refusal.detail}"
                    raise
                except Exception as error:
                    entry.result, entry.detail = "error", f"{type(error).__name__}: {error}"
                    raise
                finally:
                    entry.changes = [_plain(asdict(c)) for c in run.changes[before:]]
                return result

            return watched

        for name, action in originals.items():
            action_registry.ACTIONS[name] = wrap(name, action)
        try:
            yield
        finally:
            action_registry.ACTIONS.clear()
            action_registry.ACTIONS.update(originals)


@dataclass
class Planner:
    """The fleet's parts, built to read only."""

    handler: RequestHandler
    tickets: TicketSystem
    desk: DeskPolicy

    def plan(self, request: Request) -> Plan:
        handler = self.handler
        understanding = understand_message(handler.understander, request.subject, request.text,
                                           sender=request.sender_address, headers=dict(request.headers))
        plan = Plan(
            request={"key": request.key, "from": request.sender_address, "subject": request.subject},
            understanding={"backend": getattr(handler.understander, "name", ""), "intent": understanding.intent,
                           "confidence": understanding.confidence, "decision": understanding.decision,
                           "targets": list(understanding.targets), "reasons": list(understanding.reasons)},
        )

        def would_alert(refusal: Refusal, _request: Request) -> None:
            text = f"{refusal.reason}: {refusal.detail}"
            if text not in plan.alerts:  # the origin checks run twice: for the list of checks, then to decide
                plan.alerts.append(text)

        handler.trust.alert = would_alert
        partner = handler.registry.partner_of(request.sender_address)
        origin = handler.trust.origin(request, partner)
        playbook = handler.playbooks.get(understanding.intent)
        plan.playbook = playbook.label if playbook else None
        plan.mode = playbook.mode if playbook else None
        # The playbook's own thresholds when it sets them (part of the playbook format), else the handler's.
        wanted = getattr(playbook, "understanding", None)
        minimum = float(getattr(wanted, "min_confidence", MIN_CONFIDENCE))
        decisions = tuple(getattr(wanted, "decisions", ("auto",)))
        sure = understanding.confidence >= minimum and understanding.decision in decisions
        needs_account = getattr(playbook, "target", "account") != "none"
        plan.checks = [
            Check("sender verified (authentication, replay, look-alikes)", not origin,
                  "; ".join(f"{r.reason}: {r.detail}" for r in origin)),
            Check("sender is a registered correspondent", partner is not None,
                  f"partner {partner.id}" if partner else f"{request.sender_address} is not registered"),
            Check("a live playbook handles the intent", playbook is not None,
                  f"{playbook.label}" if playbook else f"no playbook for {understanding.intent!r}"),
            Check("the playbook handles the channel", playbook is not None and request.channel in playbook.channels,
                  request.channel),
            Check("understanding sure enough", sure, f"{understanding.decision} at {understanding.confidence:.2f} "
                                                     f"(needs {'/'.join(decisions)} and ≥ {minimum})"),
            Check("names the account", (bool(understanding.targets) and
                                        len(understanding.targets) <= handler.trust.max_targets) or not needs_account,
                  f"{len(understanding.targets)} identifier(s), at most {handler.trust.max_targets}" if needs_account
                  else "the playbook acts on no account"),
        ]
        if (playbook is not None and getattr(playbook, "ticket", "new") == "none"
                and request.channel in playbook.channels and sure):  # auto-replies: recorded in the ledger only
            plan.decision, plan.reason = "ignored", "ignored_by_playbook"
            plan.detail = playbook.description.strip()
            return plan
        decision = handler.decide(request, understanding)
        if decision.playbook is not None and getattr(decision.playbook, "ticket", "new") == "existing":
            # Thanks or closure messages: a work note on the conversation's ticket, no new ticket, no reply.
            plan.decision, plan.reason = "attached", "attached_to_thread"
            plan.detail = "a work note on the conversation's ticket (or a new ticket when none is found); no reply"
            plan.ticket["work note"] = str(getattr(decision.playbook, "work_note", "") or "")
            return plan
        ticket = self._ticket(request, partner is not None, plan)
        if decision.playbook is None or decision.partner is None:
            return self._hand_over(plan, request, ticket, decision.reason or "undecided", decision.detail or "",
                                   partner is not None)
        action = ACTION_OF_INTENT.get(understanding.intent, understanding.intent)
        limited = handler.trust.volume(request, action=action, targets=decision.targets,
                                       partner_id=decision.partner.id, intent=understanding.intent)
        plan.checks.append(Check("rate limits and bursts (read, not counted)", not limited,
                                 "; ".join(f"{r.reason}: {r.detail}" for r in limited)))
        if limited:
            return self._hand_over(plan, request, ticket, limited[0].reason,
                                   "; ".join(f"{r.reason}: {r.detail}" for r in limited), True)
        try:
            if handler.trust.kill_switch is not None:
                handler.trust.kill_switch.guard()
            plan.checks.append(Check("kill switch released", True))
        except WritesPaused as paused:
            plan.checks.append(Check("kill switch released", False, paused.detail))
            if decision.playbook.mode != "shadow":
                return self._hand_over(plan, request, ticket, paused.reason, paused.detail, True)
        recorder = _Recorder(plan)
        run = PlaybookRun(
            playbook=decision.playbook, targets=decision.targets, partner=decision.partner,
            directory=handler.directory, is_correspondent=handler.registry.is_correspondent,
            on_change=lambda _step, _change: None, dry_run=True, sms=handler.sms, templates=handler.templates,
            exclusion_policy=handler.exclusion_policy, spray=handler.spray, journal=recorder,
            identities=handler.identities, devices=handler.devices,
            approvals=handler.approvals(request, ticket) if handler.approvals and ticket else frozenset(),
            request=request_values(intent=understanding.intent, channel=request.channel,
                                   sender=request.sender_address, targets=decision.targets,
                                   confidence=understanding.confidence, decision=understanding.decision),
        )
        try:
            with recorder.watching_actions():
                run_playbook(run)
        except HandOver as refusal:
            self._target(plan, run)
            if refusal.alert:
                would_alert(Refusal(refusal.reason, refusal.detail, alert=True), request)
            return self._hand_over(plan, request, ticket, refusal.reason, refusal.detail, True)
        except ConnectorError as error:
            return self._hand_over(plan, request, ticket, "system_error", f"{error.system or 'system'} error: {error}",
                                   True)
        self._target(plan, run)
        if decision.playbook.mode == "shadow":
            plan.decision = "shadow"
            plan.reason, plan.detail = "shadow_mode", "the plan would be recorded; people handle the ticket"
            plan.ticket["would hand to"] = self.desk.human_group
            return plan
        return self._automated(plan, request, ticket, run)

    @staticmethod
    def _target(plan: Plan, run: PlaybookRun) -> None:
        account = run.account
        if account is not None:
            plan.target = {"sam": account.sam, "dn": account.dn, "enabled": account.enabled,
                           "locked": account.locked}

    def _ticket(self, request: Request, registered: bool, plan: Plan) -> TicketRef | None:
        existing = self.tickets.find_by_correlation(request.correlation_id)
        if existing is not None:
            plan.ticket["existing"] = existing.number
            return existing
        plan.ticket["would create"] = {
            "short_description": request.subject.strip() or f"Demande reçue de {request.sender_address}",
            "assignment_group": self.desk.automation_group, "contact_type": "email",
            "caller": request.sender_address if registered else None, "correlation_id": request.correlation_id}
        return None

    def _hand_over(self, plan: Plan, request: Request, ticket: TicketRef | None, reason: str, detail: str,
                   registered: bool) -> Plan:
        plan.decision, plan.reason, plan.detail = "handed_over", reason, detail
        plan.ticket["would hand to"] = self.desk.human_group
        plan.ticket["work note"] = f"Raison : {reason}\nDétail : {detail}"
        if registered and reason not in SILENT_REASONS:
            plan.reply = self.handler.templates.render_file("handed_over.fr.txt.j2",
                                                            ticket=ticket.number if ticket else "INC…")
        return plan

    def _automated(self, plan: Plan, request: Request, ticket: TicketRef | None, run: PlaybookRun) -> Plan:
        playbook, desk = run.playbook, self.desk
        values = {"account": run.account, "ticket": ticket.number if ticket else "INC…", "playbook": playbook.label,
                  "requester": request.sender_address, "partner": run.partner.name, **run.reply_values()}
        closure_spec = playbook.closure
        closure = Closure(
            close_code=(closure_spec.close_code if closure_spec else None) or desk.close_code,
            close_notes=self.handler.templates.render_text(closure_spec.close_notes, **values) if closure_spec else "",
            kb_article=(closure_spec.kb_article if closure_spec else None) or desk.kb_article,
            tag=desk.automation_tag if closure_spec is None or closure_spec.count_as_automated else None,
        )
        plan.decision = "automated"
        tickets: Any = self.tickets  # the ServiceNow connector's dry run (reads the ticket, writes nothing)
        if ticket is not None:
            try:
                plan.ticket["would close"] = _plain(tickets.resolve_and_close(ticket, closure, dry_run=True))
            except TypeError:  # a ticket system without dry run: say what would be set
                plan.ticket["would close"] = _plain(closure)
        else:
            plan.ticket["would close"] = _plain(closure)
        template = playbook.reply.template if playbook.reply else None
        plan.reply = self.handler.templates.render_file(template, **values) if template else None
        return plan


def build_planner(settings: Any, playbooks_dir: Path | None = None) -> Planner:
    """The fleet's connectors and checks from ``settings``, every recording part replaced by a read."""
    from automations.playbooks.actions import ACTIONS
    from workers.pause import kill_switch_url, trust_redis
    from workers.runtime import (
        build_directory,
        build_exclusion_policy,
        build_identities,
        build_sms_gateway,
        build_tickets,
        build_trust,
    )

    directory_of_playbooks = playbooks_dir or settings.playbooks_dir
    registry = PartnerRegistry.load(settings.partners_file)
    trust: TrustChecks = build_trust(settings, registry)
    url = kill_switch_url(settings)
    shared = url.startswith(("redis://", "rediss://", "unix://"))
    if isinstance(trust.replay_guard, ReplayGuard) and shared:
        trust.replay_guard = PeekReplayGuard(trust_redis(url))
    if trust.collective is not None:
        trust.collective = PeekCollective(trust.collective)
    spray = SprayDetector(OverlayLockouts(_lockout_store(url) if shared else MemoryLockoutStore()))
    desk = settings.desk
    desk_policy = DeskPolicy(automation_group=desk.automation_group, human_group=desk.human_group,
                             close_code=desk.close_code, kb_article=desk.kb_article,
                             automation_tag=desk.automation_tag)
    tickets = build_tickets(settings)
    handler = RequestHandler(
        tickets=tickets, directory=build_directory(settings), ledger=cast(Ledger, NoLedger()), registry=registry,
        understander=get_understander(settings.understander),
        playbooks=load_playbooks(directory_of_playbooks, frozenset(ACTIONS)),
        templates=Templates(directory_of_playbooks), desk=desk_policy,
        respond=_never_respond, trust=trust, sms=build_sms_gateway(settings),
        exclusion_policy=build_exclusion_policy(settings), spray=spray, identities=build_identities(settings),
    )
    return Planner(handler, tickets, desk_policy)


def _lockout_store(url: str) -> LockoutStore:
    from automations.trust.spray import RedisLockoutStore
    from workers.pause import trust_redis

    return RedisLockoutStore(trust_redis(url))


def _never_respond(_request: Request, _text: str) -> None:
    raise RuntimeError("a plan must not send a reply")


@click.command("plan")
@click.option("--request", "request_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help='The request: JSON {"from", "subject", "body", "headers"?} or an .eml file.')
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path), envvar="SESAME_CONFIG",
              required=True, help="Sésame YAML configuration (or $SESAME_CONFIG).")
@click.option("--playbooks", "playbooks_dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              default=None, help="Plan with the playbooks of this directory (default: the configured one).")
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
def plan_command(request_file: Path, config_path: Path, playbooks_dir: Path | None, as_json: bool) -> None:
    """Dry run on one request against the configured systems: which playbook, each check, each step with its
    arguments, the reply and the ticket changes. Reads only: nothing is written anywhere."""
    from automations.playbooks import PlaybookError
    from workers.config import ConfigError, load_settings
    from workers.runtime import configure_logging

    try:
        settings = load_settings(config_path)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    configure_logging("WARNING")
    try:
        request = read_request(request_file)
        planner = build_planner(settings, playbooks_dir)
        plan = planner.plan(request)
    except (RequestFileError, PlaybookError, ConnectorError) as error:
        raise click.ClickException(str(error)) from None
    finally:
        if "planner" in locals():
            for connector in (planner.tickets, planner.handler.directory):
                connector.close()
    click.echo(json.dumps(plan.to_json(), ensure_ascii=False, indent=2) if as_json else plan.format())

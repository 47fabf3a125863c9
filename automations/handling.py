"""Handle one request end to end: understand, trust, open the ticket, run the playbook, answer, close, record.

Every path ends either automated (ticket resolved and closed, tagged for UO-TR1.1) or handed to the level-1
group with a work note giving the reason. The bot acts only on positive evidence; anything else is a hand-over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from automations.ledger import AUTOMATED, HANDED_OVER, Ledger, Outcome
from automations.playbooks import HandOver, Playbook, PlaybookRun, run_playbook
from automations.registry import Partner, PartnerRegistry
from automations.replies import Templates
from automations.request import Request
from automations.trust import Refusal
from automations.trust.exclusions import ExclusionPolicy
from automations.trust.gate import SILENT_REASONS, TrustChecks
from automations.trust.killswitch import WritesPaused
from automations.trust.spray import SprayDetector
from automations.understanding import Understander, Understanding
from automations.understanding.headers import understand_message
from connectors.directory import Change, Directory
from connectors.errors import ConnectorError
from connectors.messaging import SmsGateway
from connectors.tickets import Closure, NewIncident, TicketRef, TicketSystem

log = structlog.get_logger(__name__)

# Below this the understanding backend is not sure enough to act on; the request goes to a person.
MIN_CONFIDENCE = 0.8
# The rate-limit action counted for an intent.
ACTION_OF_INTENT = {"unlock": "unlock", "reset_password": "reset", "unlock_and_reset": "reset"}


@dataclass(frozen=True)
class DeskPolicy:
    """The desk's organisation in ServiceNow and its closure conventions."""

    automation_group: str
    human_group: str
    close_code: str
    kb_article: str | None
    automation_tag: str


@dataclass(frozen=True)
class Decision:
    """Why the bot will or will not act; ``reason`` is a stable code counted in the reports."""

    playbook: Playbook | None
    partner: Partner | None
    targets: tuple[str, ...]
    reason: str | None = None
    detail: str | None = None


Responder = Callable[[Request, str], None]


class RequestHandler:
    """The domain's single entry point for one request; connectors come in through their interfaces."""

    def __init__(
        self,
        *,
        tickets: TicketSystem,
        directory: Directory,
        ledger: Ledger,
        registry: PartnerRegistry,
        understander: Understander,
        playbooks: dict[str, Playbook],
        templates: Templates,
        desk: DeskPolicy,
        respond: Responder,
        trust: TrustChecks | None = None,
        sms: SmsGateway | None = None,
        exclusion_policy: ExclusionPolicy | None = None,
        spray: SprayDetector | None = None,
    ) -> None:
        self.tickets, self.directory, self.ledger = tickets, directory, ledger
        self.registry, self.understander, self.playbooks = registry, understander, playbooks
        self.templates, self.desk, self.respond = templates, desk, respond
        self.trust = trust or TrustChecks()
        self.sms, self.exclusion_policy, self.spray = sms, exclusion_policy, spray

    def decide(self, request: Request, understanding: Understanding) -> Decision:
        """Check everything that can be checked before touching the directory."""
        partner = self.registry.partner_of(request.sender_address)
        refusals = self.trust.origin(request, partner)
        if refusals:
            return Decision(None, None, (), refusals[0].reason, "; ".join(f"{r.reason}: {r.detail}" for r in refusals))
        if partner is None:
            return Decision(None, None, (), "unknown_sender",
                            f"{request.sender_address} is not a registered partner correspondent")
        playbook = self.playbooks.get(understanding.intent)
        if playbook is None:
            return Decision(None, partner, (), "intent_not_automated",
                            f"intent {understanding.intent!r} has no live playbook")
        if request.channel not in playbook.channels:
            return Decision(None, partner, (), "channel_not_automated",
                            f"playbook {playbook.id} does not handle {request.channel}")
        if understanding.confidence < MIN_CONFIDENCE or understanding.decision != "auto":
            # The backend's own verdict on the text comes first: a guard (negation, question, forward,
            # injection…) makes it "human" even when the intent itself is clear.
            return Decision(None, partner, (), "unsure_understanding",
                            f"text judged {understanding.decision!r} at confidence {understanding.confidence:.2f} "
                            f"for {understanding.intent!r}: " + "; ".join(understanding.reasons))
        if not understanding.targets:
            return Decision(None, partner, (), "no_target_identifier",
                            "the request names no login or e-mail address of the account")
        if len(understanding.targets) > self.trust.max_targets:
            return Decision(None, partner, (), "several_targets",
                            f"{len(understanding.targets)} identifiers named: {', '.join(understanding.targets)}")
        return Decision(playbook, partner, understanding.targets)

    def handle(self, request: Request) -> Outcome:
        """Take the request to its end and record the outcome in the ledger."""
        # Transport headers (Auto-Submitted, X-Autoreply) overrule the text for automatic replies.
        understanding = understand_message(self.understander, request.subject, request.text,
                                           sender=request.sender_address, headers=dict(request.headers))
        decision = self.decide(request, understanding)
        ticket = self._open_ticket(request, decision.partner)
        base = Outcome(decision=HANDED_OVER, intent=understanding.intent, targets=understanding.targets,
                       understanding={"backend": getattr(self.understander, "name", ""),
                                      "intent": understanding.intent, "confidence": understanding.confidence,
                                      "decision": understanding.decision, "reasons": list(understanding.reasons)},
                       partner_id=decision.partner.id if decision.partner else None,
                       ticket_sys_id=ticket.sys_id, ticket_number=ticket.number)
        if decision.playbook is None or decision.partner is None:
            return self._hand_over(request, ticket, base, decision.reason or "undecided", decision.detail or "")
        run = PlaybookRun(
            playbook=decision.playbook, targets=decision.targets, partner=decision.partner,
            directory=self.directory, is_correspondent=self.registry.is_correspondent,
            on_change=lambda step, change: self._record_change(request, step, change),
            dry_run=decision.playbook.mode == "shadow",
            sms=self.sms, templates=self.templates, exclusion_policy=self.exclusion_policy, spray=self.spray,
            kill_switch=self.trust.kill_switch,
        )
        base = replace(base, playbook=decision.playbook.label)
        action = ACTION_OF_INTENT.get(understanding.intent, understanding.intent)
        limited = self.trust.volume(request, action=action, targets=decision.targets, partner_id=decision.partner.id,
                                    intent=understanding.intent)
        if limited:
            detail = "; ".join(f"{r.reason}: {r.detail}" for r in limited)
            if limited[0].group is not None:
                detail += f" — attached to the collective incident {self._collective_parent(limited[0].group)}"
            return self._hand_over(request, ticket, base, limited[0].reason, detail)
        try:
            run.guard_writes()  # before the first step, and again right before each write
            run_playbook(run)
        except WritesPaused as paused:
            return self._hand_over(request, ticket, base, paused.reason, paused.detail)
        except HandOver as refusal:
            if refusal.alert:
                self.trust.alert(Refusal(refusal.reason, refusal.detail, alert=True), request)
            return self._hand_over(request, ticket, base, refusal.reason, refusal.detail)
        except ConnectorError as error:
            # The message carries no secret (connectors guarantee it); the request id lets people trace the call.
            detail = f"{error.system or 'system'} error during {run.completed[-1:] or 'start'}: {error}"
            base = replace(base, request_ids=(error.request_id,) if error.request_id else ())
            return self._hand_over(request, ticket, base, "system_error", detail)
        if run.dry_run:
            return self._hand_over(request, ticket, base, "shadow_mode",
                                   f"playbook {decision.playbook.id} is in shadow mode; it would have acted")
        if run.account is not None:
            self.trust.record(request, action=action, target=run.account.sam, partner_id=decision.partner.id)
        return self._close_automated(request, ticket, base, run)

    def _collective_parent(self, group: str) -> str:
        """One parent incident per burst, for the level-1 group, that each similar request points to."""

        def open_parent() -> str:
            parent = self.tickets.create_incident(NewIncident(
                short_description=f"Incident collectif : demandes similaires en rafale ({group})",
                description="Sésame a détecté une rafale de demandes similaires (tender §7.3.3.2.3). Elles ne sont "
                            "pas traitées une à une : chaque demande est rattachée à cet incident par une note.",
                contact_type="email", caller_email=None, assignment_group=self.desk.human_group,
                correlation_id="sesame-collective-" + hashlib.sha256(group.encode()).hexdigest()[:24],
            ))
            return parent.number

        return self.trust.collective_parent(group, open_parent)

    def _open_ticket(self, request: Request, partner: Partner | None) -> TicketRef:
        existing = self.tickets.find_by_correlation(request.correlation_id)
        if existing is not None:
            return existing
        sender = f"{request.sender_name} <{request.sender_address}>" if request.sender_name else request.sender_address
        return self.tickets.create_incident(NewIncident(
            short_description=request.subject.strip() or f"Demande reçue de {request.sender_address}",
            description=f"De : {sender}\nObjet : {request.subject}\n\n{request.text}",
            contact_type="email",
            # Only a registered correspondent becomes the caller: a sys_user found by an unverified address
            # would let anyone open tickets in someone else's name.
            caller_email=request.sender_address if partner else None,
            assignment_group=self.desk.automation_group,
            correlation_id=request.correlation_id,
        ))

    def _record_change(self, request: Request, step: str, change: Change) -> None:
        self.ledger.record_action(request.key, step=step, action=change.action, target=change.target,
                                  before=change.before, after=change.after, dry_run=change.dry_run,
                                  server=change.server)

    def _hand_over(self, request: Request, ticket: TicketRef, base: Outcome, reason: str, detail: str) -> Outcome:
        note = (
            "Sésame n'a pas traité cette demande automatiquement ; elle est transmise au niveau 1.\n"
            f"Raison : {reason}\nDétail : {detail}\n"
            f"Intention détectée : {base.intent or 'inconnue'} ; comptes cités : {', '.join(base.targets) or 'aucun'}"
        )
        self.tickets.hand_to_humans(ticket, self.desk.human_group, note)
        if base.partner_id is not None and reason not in SILENT_REASONS:
            # Registered, verified correspondents get a neutral acknowledgement; anyone else gets nothing back.
            self._respond(request, self.templates.render_file("handed_over.fr.txt.j2", ticket=ticket.number))
        outcome = replace(base, reason=reason, detail=detail)
        self.ledger.finish(request.key, outcome, request=request)
        log.info("request.handed_over", key=request.key, reason=reason, ticket=ticket.number)
        return outcome

    def _close_automated(self, request: Request, ticket: TicketRef, base: Outcome, run: PlaybookRun) -> Outcome:
        playbook = run.playbook
        values = {"account": run.account, "ticket": ticket.number, "playbook": playbook.label,
                  "requester": request.sender_address, "partner": run.partner.name, **run.reply_values()}
        closure = Closure(
            close_code=playbook.closure.close_code or self.desk.close_code,
            close_notes=self.templates.render_text(playbook.closure.close_notes, **values),
            kb_article=playbook.closure.kb_article or self.desk.kb_article,
            tag=self.desk.automation_tag if playbook.closure.count_as_automated else None,
        )
        self.tickets.resolve_and_close(ticket, closure)
        self._respond(request, self.templates.render_file(playbook.reply.template, **values))
        outcome = replace(base, decision=AUTOMATED)
        self.ledger.finish(request.key, outcome, request=request)
        log.info("request.automated", key=request.key, ticket=ticket.number, playbook=playbook.label)
        return outcome

    def _respond(self, request: Request, text: str) -> None:
        try:
            self.respond(request, text)
        except ConnectorError as error:
            # The ticket already holds the truth; a lost reply must not undo or repeat the work.
            log.warning("request.reply_failed", key=request.key, error=str(error))

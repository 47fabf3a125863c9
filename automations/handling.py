"""Handle one request end to end: understand, trust, open the ticket, run the playbook, answer, close, record.

Every path ends either automated (ticket resolved and closed, tagged for UO-TR1.1) or handed to the level-1
group with a work note giving the reason. The bot acts only on positive evidence; anything else is a hand-over.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, replace

import structlog

from automations.closure import DeskPolicy, counts_as_uo_tr11, this_worker
from automations.ledger import AUTOMATED, HANDED_OVER, Ledger, Outcome, TicketProvenance, utcnow
from automations.playbooks import HandOver, Playbook, PlaybookRun, run_playbook
from automations.playbooks.conversation import ATTACHED, IGNORED, IGNORED_BY_PLAYBOOK, NO_EXISTING_TICKET, thread_ticket
from automations.playbooks.engine import request_values
from automations.playbooks.journal import CLOSURE, REPLY, JournalFactory
from automations.playbooks.shadow import SHADOW_MODE, record_shadow_plan, shadow_note
from automations.registry import Partner, PartnerRegistry
from automations.replies import Templates
from automations.request import Request
from automations.trust import Refusal
from automations.trust.content import outside_body
from automations.trust.exclusions import ExclusionPolicy
from automations.trust.gate import SILENT_REASONS, TrustChecks
from automations.trust.killswitch import WritesPaused
from automations.trust.spray import SprayDetector
from automations.understanding import Understander, Understanding
from automations.understanding.headers import understand_message
from connectors.devices import DeviceManagement
from connectors.directory import Change, Directory
from connectors.errors import ConnectorError
from connectors.identity import CloudIdentities
from connectors.messaging import SmsGateway
from connectors.tickets import NewIncident, TicketRef, TicketSystem

log = structlog.get_logger(__name__)

# Below this the understanding backend is not sure enough to act on; the request goes to a person.
MIN_CONFIDENCE = 0.8
# The rate-limit action counted for an intent.
ACTION_OF_INTENT = {"unlock": "unlock", "reset_password": "reset", "unlock_and_reset": "reset"}


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
        journal: JournalFactory | None = None,
        identities: CloudIdentities | None = None,
        devices: DeviceManagement | None = None,
        approvals: Callable[[Request, TicketRef], frozenset[str]] | None = None,
        worker: str | None = None,
    ) -> None:
        self.tickets, self.directory, self.ledger = tickets, directory, ledger
        self.registry, self.understander, self.playbooks = registry, understander, playbooks
        self.templates, self.desk, self.respond = templates, desk, respond
        self.trust = trust or TrustChecks()
        self.sms, self.exclusion_policy, self.spray = sms, exclusion_policy, spray
        # The step journal of live runs (shadow runs write nothing to resume): see automations.playbooks.journal.
        self.journal = journal
        # Entra ID and Intune, for the playbooks that act on cloud users and managed devices (None: hand over).
        self.identities, self.devices = identities, devices
        # The steps a person approved in the ticket (a step with `approval` stops the run until approved).
        self.approvals = approvals
        # Who this process is in the tickets' provenance (the ledger records which worker created and closed each).
        self.worker = worker or this_worker()

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
        wanted = playbook.understanding  # by default: decision "auto" at MIN_CONFIDENCE or more
        if understanding.confidence < wanted.min_confidence or understanding.decision not in wanted.decisions:
            # The backend's own verdict on the text comes first: a guard (negation, question, forward,
            # injection…) makes it "human" even when the intent itself is clear.
            return Decision(None, partner, (), "unsure_understanding",
                            f"text judged {understanding.decision!r} at confidence {understanding.confidence:.2f} "
                            f"for {understanding.intent!r}: " + "; ".join(understanding.reasons))
        if playbook.target == "none":  # answers that act on no account (out of scope, thanks…)
            return Decision(playbook, partner, ())
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
        ignored = self._ignore(request, understanding)
        if ignored is not None:
            return ignored
        decision = self.decide(request, understanding)
        if decision.playbook is None and decision.partner is not None and not understanding.targets:
            hidden = outside_body(request)  # TC-15: the request is likely in what Sésame never opens
            if hidden is not None:
                decision = replace(decision, reason=hidden.reason, detail=hidden.detail)
        if decision.playbook is not None and decision.playbook.ticket == "existing":
            return self._attach_to_thread(request, understanding, decision)
        ticket, provenance = self._open_ticket(request, decision.partner)
        base = Outcome(decision=HANDED_OVER, intent=understanding.intent, targets=understanding.targets,
                       understanding={"backend": getattr(self.understander, "name", ""),
                                      "intent": understanding.intent, "confidence": understanding.confidence,
                                      "decision": understanding.decision, "reasons": list(understanding.reasons)},
                       partner_id=decision.partner.id if decision.partner else None,
                       ticket_sys_id=ticket.sys_id, ticket_number=ticket.number, provenance=provenance)
        if decision.playbook is None or decision.partner is None:
            return self._hand_over(request, ticket, base, decision.reason or "undecided", decision.detail or "")
        run = PlaybookRun(
            playbook=decision.playbook, targets=decision.targets, partner=decision.partner,
            directory=self.directory, is_correspondent=self.registry.is_correspondent,
            on_change=lambda step, change: self._record_change(request, step, change),
            dry_run=decision.playbook.mode == "shadow",
            sms=self.sms, templates=self.templates, exclusion_policy=self.exclusion_policy, spray=self.spray,
            kill_switch=self.trust.kill_switch, identities=self.identities, devices=self.devices,
            approvals=self.approvals(request, ticket) if self.approvals is not None else frozenset(),
            request=request_values(intent=understanding.intent, channel=request.channel,
                                   sender=request.sender_address, targets=decision.targets,
                                   confidence=understanding.confidence, decision=understanding.decision),
            journal=self.journal(request.key, decision.playbook)
            if self.journal is not None and decision.playbook.mode == "live" else None,
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
            if run.dry_run:
                record_shadow_plan(self.ledger, request, ticket, run, intent=understanding.intent,
                                   reason=refusal.reason, detail=refusal.detail, close_code=self.desk.close_code,
                                   kb_article=self.desk.kb_article)
            return self._hand_over(request, ticket, base, refusal.reason, refusal.detail)
        except ConnectorError as error:
            # The message carries no secret (connectors guarantee it); the request id lets people trace the call.
            detail = f"{error.system or 'system'} error during {run.step or run.completed[-1:] or 'start'}: {error}"
            base = replace(base, request_ids=(error.request_id,) if error.request_id else ())
            return self._hand_over(request, ticket, base, "system_error", detail)
        if run.dry_run:
            record_shadow_plan(self.ledger, request, ticket, run, intent=understanding.intent,
                               close_code=self.desk.close_code, kb_article=self.desk.kb_article)
            return self._hand_over(request, ticket, base, SHADOW_MODE, shadow_note(run))
        if run.account is not None:
            self.trust.record(request, action=action, target=run.account.sam, partner_id=decision.partner.id)
        return self._close_automated(request, ticket, base, run)

    def _ignore(self, request: Request, understanding: Understanding) -> Outcome | None:
        """A message a ``ticket: none`` playbook ignores (auto-replies): recorded in the ledger, nothing else."""
        playbook = self.playbooks.get(understanding.intent)
        if playbook is None or playbook.ticket != "none" or request.channel not in playbook.channels:
            return None
        if understanding.decision not in playbook.understanding.decisions or \
                understanding.confidence < playbook.understanding.min_confidence:
            return None
        outcome = Outcome(decision=IGNORED, reason=IGNORED_BY_PLAYBOOK, detail=playbook.description.strip(),
                          intent=understanding.intent, playbook=playbook.label,
                          understanding={"backend": getattr(self.understander, "name", ""),
                                         "intent": understanding.intent, "confidence": understanding.confidence,
                                         "decision": understanding.decision, "reasons": list(understanding.reasons)})
        self.ledger.finish(request.key, outcome, request=request)
        log.info("request.ignored", key=request.key, playbook=playbook.label)
        return outcome

    def _attach_to_thread(self, request: Request, understanding: Understanding, decision: Decision) -> Outcome:
        """Thanks or closure: a work note on the conversation's ticket, no new ticket, no reply."""
        playbook = decision.playbook
        assert playbook is not None and playbook.work_note is not None  # the model requires it for this kind
        work_note = playbook.work_note
        base = Outcome(decision=HANDED_OVER, intent=understanding.intent, playbook=playbook.label,
                       partner_id=decision.partner.id if decision.partner else None,
                       understanding={"backend": getattr(self.understander, "name", ""),
                                      "intent": understanding.intent, "confidence": understanding.confidence,
                                      "decision": understanding.decision, "reasons": list(understanding.reasons)})
        existing = thread_ticket(self.tickets, request)
        if existing is None:
            ticket, provenance = self._open_ticket(request, decision.partner)
            base = replace(base, ticket_sys_id=ticket.sys_id, ticket_number=ticket.number, provenance=provenance)
            return self._hand_over(request, ticket, base, NO_EXISTING_TICKET,
                                   f"a {understanding.intent} message that answers no ticket of Sésame's")
        note = self.templates.render_text(work_note, ticket=existing.number, playbook=playbook.label,
                                          requester=request.sender_address, intent=understanding.intent,
                                          partner=decision.partner.name if decision.partner else "")
        self.tickets.add_work_note(existing, note)
        outcome = replace(base, decision=IGNORED, reason=ATTACHED, detail=f"work note added to {existing.number}",
                          ticket_sys_id=existing.sys_id, ticket_number=existing.number)
        self.ledger.finish(request.key, outcome, request=request)
        log.info("request.attached", key=request.key, ticket=existing.number, playbook=playbook.label)
        return outcome

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

    def _open_ticket(self, request: Request, partner: Partner | None) -> tuple[TicketRef, TicketProvenance]:
        """The request's ticket, opened now or by an earlier attempt (found by the request's correlation id, which
        only the automation sets: either way the automation created it)."""
        automation_user = self.desk.automation_user
        existing = self.tickets.find_by_correlation(request.correlation_id)
        if existing is not None:
            return existing, TicketProvenance(created_by_automation=True, automation_user=automation_user)
        sender = f"{request.sender_name} <{request.sender_address}>" if request.sender_name else request.sender_address
        created_at = utcnow()
        ticket = self.tickets.create_incident(NewIncident(
            short_description=request.subject.strip() or f"Demande reçue de {request.sender_address}",
            description=f"De : {sender}\nObjet : {request.subject}\n\n{request.text}",
            contact_type="email",
            # Only a registered correspondent becomes the caller: a sys_user found by an unverified address
            # would let anyone open tickets in someone else's name.
            caller_email=request.sender_address if partner else None,
            assignment_group=self.desk.automation_group,
            correlation_id=request.correlation_id,
        ))
        return ticket, TicketProvenance(created_by_automation=True, created_by=self.worker, created_at=created_at,
                                        automation_user=automation_user)

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
        if playbook.closure is None or playbook.reply is None:  # a hand-over playbook whose hand-over did not run
            return self._hand_over(request, ticket, base, "playbook_error",
                                   f"playbook {playbook.id} ended without handing over, and has no reply or closure")
        values = {"account": run.account, "ticket": ticket.number, "playbook": playbook.label,
                  "requester": request.sender_address, "partner": run.partner.name, **run.reply_values()}
        notes = self.templates.render_text(playbook.closure.close_notes, **values)
        closure = self.desk.closure(playbook.closure, notes)  # the conventions: automations.closure
        reply = self.templates.render_file(playbook.reply.template, **values)
        if run.journal is None:
            self.tickets.resolve_and_close(ticket, closure)
            self._respond(request, reply)
        else:  # a resumed run closes and answers once: closing again is harmless, a second e-mail is not
            run.journal.once(CLOSURE, "resolve_and_close", lambda: self.tickets.resolve_and_close(ticket, closure))
            run.journal.once(REPLY, "reply", lambda: self._respond(request, reply), repeatable=False)
        created = base.provenance or TicketProvenance(created_by_automation=True)
        provenance = replace(created, closed_by_automation=True, closed_by=self.worker, closed_at=utcnow(),
                             automation_user=self.desk.automation_user, tag=closure.tag)
        outcome = replace(base, decision=AUTOMATED, provenance=provenance, uo_tr11=counts_as_uo_tr11(provenance))
        self.ledger.finish(request.key, outcome, request=request)
        log.info("request.automated", key=request.key, ticket=ticket.number, playbook=playbook.label,
                 uo_tr11=outcome.uo_tr11)
        return outcome

    def _respond(self, request: Request, text: str) -> None:
        try:
            self.respond(request, text)
        except ConnectorError as error:
            # The ticket already holds the truth; a lost reply must not undo or repeat the work.
            log.warning("request.reply_failed", key=request.key, error=str(error))

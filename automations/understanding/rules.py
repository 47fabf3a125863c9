"""The rules backend: a French regex grammar decides the intent, guards veto it, mentions give the targets."""

from __future__ import annotations

from dataclasses import dataclass

from automations.understanding import AUTOMATABLE, Understanding
from automations.understanding.decision import decide
from automations.understanding.grammar import (
    ACCESS,
    ACCESS_SYMPTOM,
    CUES,
    GUARDS,
    NEGATED,
    RESET,
    UNLOCK,
    Cue,
    Guard,
    Strength,
)
from automations.understanding.mentions import find_mentions, mask_greetings
from automations.understanding.normalise import NormalisedText, normalise
from automations.understanding.topics import (
    APP,
    AUTO_REPLY,
    AUTO_REPLY_BODY,
    AUTO_REPLY_SUBJECT,
    CLOSURE,
    HARDWARE,
    INFO,
    LINK,
    MDM,
    MFA,
    PHISHING,
    SPAM,
    THANKS,
    TOPICS,
)

# A forwarded request was written by someone the mailbox never authenticated (security notes VER-07). The forwarder
# vouches for it: the domain automates only senders who are registered partner correspondents, so a *clean*
# forward (empty new part, a clear request in the forwarded body, a target, no guard, link or hidden text) is
# judged like a direct request. True sends every forward to a person.
FORWARDS_NEED_A_PERSON = False
# A forward is one step removed from its author: never more sure than this.
_FORWARD_CAP = 0.88
_CLEAR = 0.95
_BOTH_CLEAR = 0.93
_STATE_ONLY = 0.85
_HINT_ONLY = 0.7
_TOPIC = 0.8
_NOTHING_FOUND = 0.6
_CONFLICT = 0.4
_LONG_TEXT_WORDS = 300
# A routed topic named alongside an account request wins: MFA, devices and other systems are never automated.
_TOPIC_OVER_ACCOUNT = (MFA, MDM)
_TOPIC_ORDER = (MFA, MDM, APP, HARDWARE, INFO)


@dataclass(frozen=True)
class _Hit:
    cue: Cue
    in_subject: bool


def _hits(text: NormalisedText, masked: str) -> list[_Hit]:
    hits: list[_Hit] = []
    # Subject and body are matched apart so that one match never spans both and hides a cue in the body.
    spans = ((0, text.body_start), (text.body_start, len(masked)))
    for cue in CUES:
        for match in (m for start, end in spans for m in cue.pattern.finditer(masked, start, end)):
            if cue.intent == ACCESS and ACCESS_SYMPTOM.search(masked[max(0, match.start() - 20) : match.start()]):
                continue
            hits.append(_Hit(cue, match.start() < text.body_start))
    return hits


def _intents(hits: list[_Hit]) -> dict[str, Strength]:
    """The strongest cue per intent; a lone hint counts only when nothing else is asked."""
    order = [Strength.STRONG, Strength.STATE, Strength.HINT]
    best: dict[str, Strength] = {}
    for hit in hits:
        current = best.get(hit.cue.intent)
        if current is None or order.index(hit.cue.strength) < order.index(current):
            best[hit.cue.intent] = hit.cue.strength
    if best.get(UNLOCK) is Strength.HINT and len(best) > 1:
        del best[UNLOCK]
    return best


def _account_intent(intents: dict[str, Strength]) -> tuple[str, float] | None:
    if not intents:
        return None
    if UNLOCK in intents and RESET in intents:
        clear = intents[UNLOCK] is Strength.STRONG or intents[RESET] is Strength.STRONG
        return "unlock_and_reset", _BOTH_CLEAR if clear else _STATE_ONLY
    if (UNLOCK in intents or RESET in intents) and ACCESS in intents:
        return None
    ((intent, strength),) = intents.items()
    return intent, {Strength.STRONG: _CLEAR, Strength.STATE: _STATE_ONLY, Strength.HINT: _HINT_ONLY}[strength]


class RulesUnderstander:
    """Rule-based French understanding: no model, every decision explained by the rules that fired."""

    name = "rules"

    def understand(self, subject: str, body: str, *, sender: str | None = None) -> Understanding:
        """Classify the request, extract its targets and names, and judge whether the text alone is clear."""
        text = normalise(subject, body)
        masked = mask_greetings(text.text, text.folded)
        body_part = masked[text.body_start :]
        hits = _hits(text, masked)
        intents = _intents(hits)
        for intent_name, denial in NEGATED.items():
            if intent_name in intents and len(intents) > 1 and denial.search(masked):
                # "débloquer, sans le réinitialiser": the denied half is not asked.
                del intents[intent_name]
                hits = [hit for hit in hits if hit.cue.intent != intent_name]
        reasons = [f"{hit.cue.intent}: {hit.cue.label}" for hit in hits]
        topics = {}
        for topic in TOPICS:
            if topic.intent not in topics and topic.pattern.search(masked):
                topics[topic.intent] = topic.label
                reasons.append(f"{topic.intent}: {topic.label}")
        guards = [guard for guard in GUARDS if guard.pattern.search(masked)]
        reasons += [
            f"guard {g.name} ({'route to ' + g.route if g.route else 'no automation'}): {g.label}" for g in guards
        ]
        blockers = [g for g in guards if g.route is None]
        caps = [g.confidence for g in blockers]

        body_hits = [hit for hit in hits if not hit.in_subject]
        thanks_only = bool(intents) and not body_hits and bool(THANKS.search(body_part))
        thanks_only = thanks_only or (not intents and not topics and bool(THANKS.search(body_part)))
        if intents and not body_hits:
            if text.reply_subject:
                reasons.append("intent only in the subject of a reply: may repeat an earlier request")
                caps.append(0.6)
            else:
                reasons.append("intent only in the subject")
                caps.append(0.8)
        if text.hidden_text_found:
            reasons.append("hidden characters were removed from the message")
            caps.append(0.6)
        # Caps are doubts that forbid automation; the ceiling only bounds confidence (a clean forward).
        ceiling = 1.0
        if text.forwarded:
            reasons.append("request taken from a forwarded message: the sender is not its author")
            clear = any(hit.cue.strength is not Strength.HINT for hit in body_hits)
            if FORWARDS_NEED_A_PERSON or not clear:
                caps.append(0.8)
            else:
                ceiling = _FORWARD_CAP
        if LINK.search(masked):
            reasons.append("the message carries a link")
            caps.append(0.8)
        if len(text.folded.split()) > _LONG_TEXT_WORDS:
            reasons.append(f"long message (over {_LONG_TEXT_WORDS} words): keywords may mislead")
            caps.append(0.8)
        reasons += [f"removed: {what}" for what in text.removed]

        mentions = find_mentions(text.text, text.folded, sender=sender)
        intent, confidence, why = self._intent(text, masked, intents, topics, guards, thanks_only)
        account = _account_intent(intents)
        if intent == CLOSURE and account is not None and mentions.targets and not thanks_only:
            # "le mdp de faure-m a été réinitialisé hier": a report about a named account, for a person to read.
            intent, confidence, why = (
                account[0],
                min(account[1], 0.6),
                f"intent {account[0]}: report on a named account",
            )
        reasons.append(why)
        if intent in AUTOMATABLE:
            confidence = min([confidence, ceiling, *caps])

        reasons += [f"target: {cue}" for cue in mentions.cues]
        if not mentions.mentions:
            reasons.append("no account identifier or name found")
        blocked = bool(caps) or any(g.route is not None for g in guards)
        decision, decision_reason = decide(intent, confidence, mentions.mentions, blocked=blocked)
        reasons.append(decision_reason)
        return Understanding(
            intent=intent,
            confidence=confidence,
            targets=mentions.targets,
            names=mentions.names,
            reasons=tuple(dict.fromkeys(reasons)),
            decision=decision,
            mentions=mentions.mentions,
        )

    @staticmethod
    def _intent(
        text: NormalisedText,
        masked: str,
        intents: dict[str, Strength],
        topics: dict[str, str],
        guards: list[Guard],
        thanks_only: bool,
    ) -> tuple[str, float, str]:
        """The intent, how sure, and which rule chose it; the first rule that applies wins."""
        if AUTO_REPLY_SUBJECT.match(text.folded[: len(text.subject)]) or AUTO_REPLY_BODY.search(masked):
            return AUTO_REPLY, 0.9, "intent auto_reply: out-of-office wording"
        if PHISHING.search(masked):
            return SPAM, 0.85, "intent spam_phishing: phishing or advertising wording"
        account = _account_intent(intents)
        routed = [g for g in guards if g.route is not None]
        if routed:
            guard = routed[0]
            if guard.route == APP and not (account or APP in topics):
                pass
            elif guard.route == INFO and MFA in topics:
                return MFA, _TOPIC, "intent mfa: question about the second factor"
            else:
                return guard.route or "other", guard.confidence, f"intent {guard.route} by guard {guard.name}"
        if thanks_only:
            return CLOSURE, 0.8, "intent thanks_or_closure: the body only thanks"
        for topic in _TOPIC_OVER_ACCOUNT:
            if topic in topics and account is not None:
                return topic, _TOPIC, f"intent {topic}: named with an account request, never automated"
        if account is not None:
            return account[0], account[1], f"intent {account[0]} from the grammar"
        if intents:
            return "other", _CONFLICT, "intent other: access request mixed with unlock/reset"
        for topic in _TOPIC_ORDER:
            if topic in topics:
                return topic, _TOPIC, f"intent {topic}: {topics[topic]}"
        if "?" in masked[text.body_start :]:
            return INFO, _NOTHING_FOUND, "intent info_request: a question with no known request"
        return "other", _NOTHING_FOUND, "intent other: no unlock, password reset or access wording found"

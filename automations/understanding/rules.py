"""The rules backend: a French regex grammar decides the intent, guards veto it, mentions give the targets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from automations.understanding import Understanding
from automations.understanding.grammar import (
    ACCESS,
    ACCESS_SYMPTOM,
    CUES,
    GUARDS,
    RESET,
    UNLOCK,
    Cue,
    Effect,
    Strength,
)
from automations.understanding.mentions import find_mentions, mask_greetings
from automations.understanding.normalise import NormalisedText, normalise

_THANKS = re.compile(r"\b(?:merci|remercie\w*|thanks|thank you)\b(?!\s+(?:d'avance|par avance|de\b|d'))")
_CLEAR = 0.95
_BOTH_CLEAR = 0.93
_STATE_ONLY = 0.85
_HINT_ONLY = 0.7
_NOTHING_FOUND = 0.7
_CONFLICT = 0.4
_LONG_TEXT_WORDS = 300


@dataclass(frozen=True)
class _Hit:
    cue: Cue
    in_subject: bool


def _hits(text: NormalisedText, masked: str) -> list[_Hit]:
    hits: list[_Hit] = []
    for cue in CUES:
        for match in cue.pattern.finditer(masked):
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


class RulesUnderstander:
    """Rule-based French understanding: no model, every decision explained by the rules that fired."""

    name = "rules"

    def understand(self, subject: str, body: str, *, sender: str | None = None) -> Understanding:
        """Classify the request and extract its targets and names."""
        text = normalise(subject, body)
        masked = mask_greetings(text.text, text.folded)
        hits = _hits(text, masked)
        intents = _intents(hits)
        reasons = [f"{hit.cue.intent}: {hit.cue.label}" for hit in hits]

        force_other: list[float] = []
        caps: list[float] = []
        for guard in GUARDS:
            if guard.pattern.search(masked):
                reasons.append(f"guard {guard.name} ({guard.effect.value}): {guard.label}")
                (force_other if guard.effect is Effect.FORCE_OTHER else caps).append(guard.confidence)
        body_hits = [hit for hit in hits if not hit.in_subject]
        if intents and not body_hits and _THANKS.search(masked[text.body_start :]):
            reasons.append("guard thanks_only (force other): the body only thanks, the request is in the subject")
            force_other.append(0.8)
        if (UNLOCK in intents or RESET in intents) and ACCESS in intents:
            reasons.append("guard conflict (force other): access request mixed with unlock/reset")
            force_other.append(_CONFLICT)
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
        if text.forwarded:
            reasons.append("request taken from a forwarded message: the sender is not its author")
            caps.append(0.8)
        if len(text.folded.split()) > _LONG_TEXT_WORDS:
            reasons.append(f"long message (over {_LONG_TEXT_WORDS} words): keywords may mislead")
            caps.append(0.8)
        reasons += [f"removed: {what}" for what in text.removed]

        mentions = find_mentions(text.text, text.folded, sender=sender)
        reasons += [f"target: {cue}" for cue in mentions.cues]
        if not mentions.targets:
            reasons.append("no account identifier found")

        intent, confidence = self._decide(intents, force_other, caps)
        if not intents:
            reasons.append("no unlock, password reset or access wording found")
        return Understanding(
            intent=intent,
            confidence=confidence,
            targets=mentions.targets,
            names=mentions.names,
            reasons=tuple(dict.fromkeys(reasons)),
        )

    @staticmethod
    def _decide(intents: dict[str, Strength], force_other: list[float], caps: list[float]) -> tuple[str, float]:
        if force_other:
            return "other", min(force_other)
        if not intents:
            return "other", _NOTHING_FOUND
        if UNLOCK in intents and RESET in intents:
            intent = "unlock_and_reset"
            clear = intents[UNLOCK] is Strength.STRONG or intents[RESET] is Strength.STRONG
            confidence = _BOTH_CLEAR if clear else _STATE_ONLY
        else:
            ((intent, strength),) = intents.items()
            confidence = {Strength.STRONG: _CLEAR, Strength.STATE: _STATE_ONLY, Strength.HINT: _HINT_ONLY}[strength]
        return intent, min([confidence, *caps])

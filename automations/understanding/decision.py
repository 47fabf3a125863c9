"""Judge the text alone: "auto" when clear enough to automate, "ignore" when there is nothing to do, else "human"."""

from __future__ import annotations

from automations.understanding import AUTO, AUTOMATABLE, HUMAN, IGNORABLE, IGNORE, Mention

# Below this the grammar's evidence is not strong enough to act without a person.
AUTO_MIN_CONFIDENCE = 0.85
IGNORE_MIN_CONFIDENCE = 0.8
# More accounts than this in one message is a bulk request: a person checks it (security notes, rate limits).
MAX_AUTO_TARGETS = 5


def decide(intent: str, confidence: float, mentions: tuple[Mention, ...], *, blocked: bool) -> tuple[str, str]:
    """The decision and its reason; ``blocked`` means a guard or a doubt (hidden text, forward...) fired."""
    if intent in IGNORABLE:
        if confidence >= IGNORE_MIN_CONFIDENCE:
            return IGNORE, f"decision ignore: {intent} needs nothing from the desk"
        return HUMAN, f"decision human: {intent} but not sure enough to ignore"
    if intent not in AUTOMATABLE:
        return HUMAN, f"decision human: {intent} is not automated"
    if blocked:
        return HUMAN, "decision human: a guard or a doubt forbids automation"
    if confidence < AUTO_MIN_CONFIDENCE:
        return HUMAN, f"decision human: confidence {confidence:.2f} below {AUTO_MIN_CONFIDENCE:.2f}"
    if not mentions:
        return HUMAN, "decision human: no account named"
    if len({m for m in mentions if m.kind != "name"}) > MAX_AUTO_TARGETS:
        return HUMAN, f"decision human: more than {MAX_AUTO_TARGETS} accounts named"
    return AUTO, f"decision auto: clear {intent} with {len(mentions)} account mention(s)"

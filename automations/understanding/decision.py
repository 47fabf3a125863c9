"""Judge the text alone: "auto" when clear enough to automate, "ignore" when there is nothing to do, else "human".

Precision first: any doubt ("blocked") gives "human". Forwarded chains: a forward whose new part is empty or only
"pour traitement" / "voir ci-dessous" is judged on the forwarded request, like a direct one, but only when that
request is clear on its own (an unlock/reset cue in the forwarded body, not just its subject), names a target,
and no guard, link or hidden text fired; its confidence is capped below the direct-request level (rules.py
``_FORWARD_CAP``) and its reasons say it was forwarded. The forwarder vouches for it: the domain automates only
registered partner correspondents (automations/handling.py), which is how the corpus labels such forwards
``auto``. A forward carrying the forwarder's own words is judged on those words only; quoted history never counts.
"""

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
    # Count people both ways: a list of names without logins is as many accounts as a list of logins.
    logins = len({m for m in mentions if m.kind != "name"})
    names = len({m for m in mentions if m.kind == "name"})
    if max(logins, names) > MAX_AUTO_TARGETS:
        return HUMAN, f"decision human: more than {MAX_AUTO_TARGETS} accounts named"
    return AUTO, f"decision auto: clear {intent} with {len(mentions)} account mention(s)"

"""The French intent grammar: cue and guard regexes over folded text (lower case, no accents)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

UNLOCK = "unlock"
RESET = "reset_password"
ACCESS = "access_request"

_PASSWORD = r"(?:mots? de passe|mot-de-passe|mdp|password|pwd)"
_GAP = r"(?:\W+\w+){0,5}?\W+"
_SHORT_GAP = r"(?:\W+\w+){0,3}?\W+"
UNLOCK_VERB = r"de-?(?:bloqu|bloc|blok|bolqu|blqu|bloq)\w*|deve?r{1,2}o?u?il{1,2}\w*|unlock\w*"
RESET_VERB = r"re-?initiali[sz]\w*|reinit\w*|reset\w*|remettre a zero|raz"
_LOCKED = r"(?:bloque|verr?ouill?e|locked)(?:e|s|es)?\b"


class Strength(Enum):
    """How much one cue says: a request verb, a described state, or a hint that needs company."""

    STRONG = "strong"
    STATE = "state"
    HINT = "hint"


@dataclass(frozen=True)
class Cue:
    """One way of asking for an intent."""

    intent: str
    strength: Strength
    label: str
    pattern: re.Pattern[str]


class Effect(Enum):
    """What a guard does: send the request to "other", or only cap the confidence."""

    FORCE_OTHER = "force other"
    LOWER = "lower confidence"


@dataclass(frozen=True)
class Guard:
    """A reason not to trust the cues; ``confidence`` caps it (LOWER) or is how sure "other" is (FORCE_OTHER)."""

    name: str
    effect: Effect
    label: str
    pattern: re.Pattern[str]
    confidence: float = 0.5


def _cue(intent: str, strength: Strength, label: str, pattern: str) -> Cue:
    return Cue(intent, strength, label, re.compile(pattern))


def _guard(name: str, effect: Effect, label: str, pattern: str, confidence: float = 0.5) -> Guard:
    return Guard(name, effect, label, re.compile(pattern), confidence)


CUES: tuple[Cue, ...] = (
    _cue(UNLOCK, Strength.STRONG, "unlock verb (débloquer, déverrouiller, déblocage)", rf"\b(?:{UNLOCK_VERB})"),
    _cue(
        UNLOCK,
        Strength.STATE,
        "account described as locked",
        rf"\b(?:comptes?|sessions?|acces|utilisat\w*|user|login|identifiant|{_PASSWORD}){_GAP}{_LOCKED}",
    ),
    _cue(
        UNLOCK,
        Strength.STATE,
        "someone described as locked",
        rf"\b(?:est|suis|sont|soit|reste|restent|retrouve|trouve|me|se|s'est)\s+(?:toujours\s+|encore\s+"
        rf"|de nouveau\s+|a nouveau\s+|completement\s+)?(?:re)?{_LOCKED}",
    ),
    _cue(
        UNLOCK,
        Strength.STATE,
        "locked after too many attempts",
        r"\b(?:trop\s+(?:d'|de\s+)|suite\s+a\s+(?:\w+\s+){0,3}|plusieurs\s+)(?:essais|tentatives|erreurs)\b",
    ),
    _cue(
        UNLOCK,
        Strength.HINT,
        "wrong password typed several times",
        rf"\btromp\w*\s+(?:de|d'|dans\s+(?:son|le|mon)|sur\s+(?:son|le|mon))\s*{_PASSWORD}",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "reset verb on a password (réinitialiser le mot de passe)",
        rf"\b(?:{RESET_VERB}|renouvel\w*|regener\w*|chang\w*|modifi\w*|redonn\w*|gener\w*|attribu\w*"
        rf"|envoy\w*|fournir|transmettre|refaire){_GAP}{_PASSWORD}\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "forgotten, lost or expired password",
        rf"\b{_PASSWORD}{_SHORT_GAP}(?:oubli\w*|perdu\w*|expire(?:e|s|es)?\b|a (?:re-?initialiser|changer|reset))"
        rf"|\boubli\w*{_SHORT_GAP}{_PASSWORD}\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "new password asked (nouveau mdp)",
        rf"\b(?:nouveau|nouvel|nouvelle|new)\s+{_PASSWORD}\b",
    ),
    _cue(RESET, Strength.STRONG, "reset asked", rf"\b(?:{RESET_VERB})\b"),
    _cue(ACCESS, Strength.STRONG, "access asked (accès à)", r"\bacces\s+(?:a|au|aux|en|sur|pour)\b"),
    _cue(
        ACCESS,
        Strength.STRONG,
        "rights asked (droits sur/d'accès)",
        r"\bdroits\s+(?:d'|de|sur|en|a|au|aux|admin\w*|lecture|ecriture)|\bdroit\s+(?:d'acces|sur|en|admin)",
    ),
    _cue(ACCESS, Strength.STRONG, "habilitation", r"\bhabilit\w*"),
    _cue(
        ACCESS,
        Strength.STRONG,
        "account creation",
        r"\bcreation\s+(?:d'un\s+|d'une\s+|de\s+|du\s+|des\s+)?(?:compte|acces|boite|bal|session)"
        r"|\bcreer\s+(?:un\s+|le\s+|son\s+|des\s+|les\s+|une\s+)?(?:compte|acces|session|boite)"
        r"|\bouvr\w*\s+(?:un\s+|des\s+|les\s+|le\s+|ses\s+)?(?:compte|acces|droits)\b",
    ),
    _cue(
        ACCESS,
        Strength.STRONG,
        "added to a group or share",
        r"\bajout\w*(?:\W+\w+){0,4}?\W+(?:groupe|dossier|liste de diffusion|partage)",
    ),
)

# "il n'a plus accès à sa session" describes a lock-out, not a wish for new access.
ACCESS_SYMPTOM = re.compile(r"(?:\bplus|\bpas|\bn'|\bsans|\bperdu|\bperte\s+d')\s*(?:d')?\s*$")

GUARDS: tuple[Guard, ...] = (
    _guard(
        "negation",
        Effect.FORCE_OTHER,
        "negation of the action (ne pas débloquer, inutile de)",
        rf"\b(?:ne|n')\s*(?:pas\s+|plus\s+|surtout\s+pas\s+|jamais\s+|rien\s+)?(?:le\s+|la\s+|les\s+|l'|lui\s+)?"
        rf"(?:{UNLOCK_VERB}|{RESET_VERB}|chang\w*|modifi\w*|touch\w*|fai\w*)"
        r"|\b(?:inutile|pas besoin|plus besoin|pas la peine|pas necessaire|plus necessaire)\s+(?:de|d')"
        r"|\bannul\w*\s+(?:ma\s+|la\s+|notre\s+|cette\s+|mon\s+)?(?:demande|ticket)"
        r"|\b(?:do not|don't)\s+(?:unlock|reset)",
    ),
    _guard(
        "how_question",
        Effect.FORCE_OTHER,
        "question about how to do it (comment faire pour)",
        r"\bcomment\s+(?:faire|fait-on|fait on|puis-je|puis je|pouvons|peut-on|peut on|on\s+(?:fait|peut)"
        r"|je\s+(?:peux|dois|fais)|debloq|deverr|reinitialis|changer|modifier|proceder|\w+-t-on|\w+-je|\w+-nous)"
        r"|\b(?:quelle est la|la|une) (?:procedure|demarche|marche a suivre)\b|\bprocedure pour\b"
        r"|\b(?:puis-je|pouvons-nous|peut-on)\s+(?:\w+\s+){0,2}?(?:debloq|deverr|reinitialis|reset)"
        r"|\bmoi-meme\b|\bhow (?:do|can|to)\b",
    ),
    _guard(
        "after_the_fact",
        Effect.FORCE_OTHER,
        "reports something already done or solved (c'est réglé)",
        r"\b(?:a|ont|avons|ai|as)\s+(?:bien\s+|deja\s+|finalement\s+)?(?:ete\s+(?:bien\s+)?"
        r"(?:debloque|deverr?ouille|reinitialise|regle|resolu|traite|fait)|(?:debloque|deverr?ouille"
        r"|reinitialise|regle|resolu))(?:e|s|es)?\b"
        r"|\b(?:est|sont)\s+(?:bien\s+|deja\s+|maintenant\s+|de nouveau\s+|a nouveau\s+)?"
        r"(?:debloque|deverr?ouille|reinitialise|regle|resolu)(?:e|s|es)?\b"
        r"|\bc'?est\s+(?:bon|ok|regle|resolu|fait|good)\b|\bmerci,?\s+c'?est\s+(?:bon|ok)\b"
        r"|\b(?:ca|cela|tout)\s+(?:re)?(?:fonctionne|marche)\s+(?:de nouveau|a nouveau|maintenant|bien|correctement)"
        r"|\bn'est plus\s+(?:bloque|verr)|\bregularis\w*|\bprobleme\s+(?:regle|resolu)"
        r"|\b(?:a|ai|avons|ont)\s+pu\s+(?:se|me|nous)\s+(?:re)?connecter"
        r"|\bvous pouvez\s+(?:cloturer|fermer|clore)|\bdeja\s+(?:ete\s+)?(?:debloque|fait|traite)",
        confidence=0.8,
    ),
    _guard(
        "test",
        Effect.FORCE_OTHER,
        "announced as a test",
        r"\b(?:ceci est|c'est|ce message est)\s+un\s+(?:simple\s+)?(?:test|essai)\b",
        confidence=0.8,
    ),
    _guard(
        "policy_change",
        Effect.FORCE_OTHER,
        "asks to change password policy (n'expire jamais)",
        r"\bn'?\s*expire\w*\s+(?:jamais|plus)|\bsans\s+expiration|\b(?:desactiver|supprimer)\s+l'expiration"
        r"|\bnever expire",
    ),
    _guard(
        "system_notice",
        Effect.FORCE_OTHER,
        "looks like an automatic expiry notice",
        r"\b(?:expire\w*|expiration)\s+dans\s+\d+\s+jours?|\bmessage automatique|\bne pas repondre\b",
    ),
    _guard(
        "other_system",
        Effect.LOWER,
        "names a system other than the directory (SAP, Citrix, i-milo...)",
        r"\b(?:sap|citrix|okta|salesforce|i-?milo|servicenow|pega|cegid|workday|hr ?access|ameli)\b",
        confidence=0.6,
    ),
    _guard(
        "status_question",
        Effect.LOWER,
        "asks whether or why an account is locked",
        r"\b(?:est-ce que|savoir si|pourquoi)\b[^?.\n]{0,80}\b(?:bloque|verr?ouill)\w*",
        confidence=0.6,
    ),
)

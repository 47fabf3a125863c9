"""The French intent grammar: cue and guard regexes over folded text (lower case, no accents)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from automations.understanding.topics import APP, CLOSURE, INFO, OTHER_SYSTEM

UNLOCK = "unlock"
RESET = "reset_password"
ACCESS = "access_request"

# With the phonetic spellings of simple or overseas French ("mo de pass", "modpas").
PASSWORD_WORDS = r"(?:mots? de passe|mot-de-passe|mdp|password|pwd|passwd|mots? de pass?e?|mo de pass?e?|modpas+e?)"
_PASSWORD = PASSWORD_WORDS
_GAP = r"(?:\W+\w+){0,5}?\W+"
_SHORT_GAP = r"(?:\W+\w+){0,3}?\W+"
UNLOCK_VERB = r"des[ -]bloquer\b|de-?(?:bloqu|bloc|blok|bolqu|blqu|bloq)\w*|deve?r{1,2}o?u?il{1,2}\w*|unlock\w*"
RESET_VERB = r"re[- ]?ini[ts]iali[sz]\w*|reinit\w*|reset\w*|remet+re a zero|remise? a zero|raz"
# (Not the verb "ce qui bloque la démarche": a lock is a state, with no object after it.)
_LOCKED = (
    r"(?:re)?(?:bloque|bloke|verr?ouill?e|locked)(?:e|s|es)?\b"
    r"(?![ \t]+(?:la|le|les|l')[ \t]*(?!matin|soir|midi|lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|week"
    r"|semaine|jour|temps|depuis)[a-z]{3,})"
)
# Products whose passwords are not the directory's session password (the corpus guide: "other" or an application).
# The Office/Microsoft sign-in portal is the directory account itself, not another system.
_PORTAL = (
    r"portail\w*\b(?!\s+(?:office|microsoft|m365|o365"
    # "le portail pour changer mon mot de passe": the directory's self-service page, not another system.
    r"|(?:pour|de)\s+(?:changer|modifier|reinitialis\w*|changement|reinitialisation|modification)\b))"
)
_OTHER_PRODUCTS = (
    r"messagerie|boite (?:mail|aux lettres|de messagerie)|webmail|teams|wi-?fi|extranet|intranet"
    rf"|{_PORTAL}"
    r"|telephone|portable|mobile|badge|carte\s+(?:agent|professionnelle|d'acces|bancaire)|photocopieu\w+"
    r"|applis?|applications?|logiciels?|plateformes?|site\s+(?:de|du|des|internet|web)|gmail|yahoo|hotmail"
    r"|france ?travail|pole ?emploi|ameli|impots|zoom|skype|visio\w*|tablette|ipad|iphone|espaces?\s+(?:\w+\s+)?"
    r"(?:partenaires?|pro\w*|personnel|client|france travail|candidat|employeur|emploi|salaries?|rh|paie|agents?)"
)


# After a number of people or "tout le monde": they wait, arrive or are busy, they are not accounts to change.
_WAITING = (
    r"(?!\s+(?:qui\s+|sont\s+|m'|nous\s+|vous\s+)?(?:attend\w*|arriv\w*|occupe\w*|present\w*|en salle|dans la salle))"
)


# "je ne sais pas si c'est la bonne adresse": unsure of the desk written to, not of the request.
_WRONG_DESK = (
    r"(?:la bonne (?:adresse|personne|boite|equipe)|le bon (?:service|interlocuteur|contact|endroit|support)"
    r"|au bon (?:endroit|service)|a la bonne (?:adresse|personne)"
    # "je ne sais pas si c'est la bonne façon de faire": unsure of the form of the message, not of the request.
    r"|la bonne (?:facon|maniere|methode|procedure|formule)|utile)"
)


_FORGOTTEN_BEFORE = "".join(
    f"(?<!{verb} {whose} )" for verb in ("oublie", "perdu") for whose in ("leur", "leurs", "son", "sa", "ses", "le")
)


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
    # Group 1 must not be an ordinary French word ("carte bloquée" is not "jdupont bloqué").
    checks_token: bool = False


@dataclass(frozen=True)
class Guard:
    """A reason not to act on the cues: it routes the request to ``route`` (sure at ``confidence``), or, when
    ``route`` is None, keeps the intent but caps its confidence at ``confidence`` and forbids automation."""

    name: str
    label: str
    pattern: re.Pattern[str]
    route: str | None
    confidence: float = 0.5


def _cue(intent: str, strength: Strength, label: str, pattern: str, *, checks_token: bool = False) -> Cue:
    return Cue(intent, strength, label, re.compile(pattern), checks_token)


def _guard(name: str, route: str | None, label: str, pattern: str, confidence: float = 0.5) -> Guard:
    return Guard(name, label, re.compile(pattern), route, confidence)


CUES: tuple[Cue, ...] = (
    _cue(UNLOCK, Strength.STRONG, "unlock verb (débloquer, déverrouiller, déblocage)", rf"\b(?:{UNLOCK_VERB})"),
    _cue(
        UNLOCK,
        Strength.STRONG,
        "lift the lock (lever le blocage, libérer le compte)",
        r"\b(?:lev\w*|supprim\w*|retir\w*|enlev\w*|fair\w* sauter)\s+(?:le|ce|son|mon|leur|du)?\s*"
        r"(?:blocage|verrouillage|verrou)\b"
        r"|\bliber\w*\s+(?:le|son|mon|leur|les|ses|mes|leurs)\s+(?:comptes?|sessions?|acces)\b",
    ),
    _cue(
        UNLOCK,
        Strength.STATE,
        "account described as locked",
        rf"\b(?:comptes?|comtpes?|conptes?|contes?|cptes?|cpts?|konts?|sessions?|sesions?|acces|utilisat\w*|user|login|identifiant|account"
        rf"|{_PASSWORD}){_GAP}{_LOCKED}"
        # "compte bloquer pour X", "compte verouiller": the infinitive written for the participle, right after.
        r"|\b(?:comptes?|sessions?)[ \t]+(?:bloquer|verr?ouiller)\b(?![ \t]+(?:le|la|les|l'|si|quand|a cause))",
    ),
    _cue(
        UNLOCK,
        Strength.STATE,
        "someone described as locked",
        rf"\b(?:est|suis|sont|soit|serait|seraient|semble|reste|restent|retrouve|trouve|me|se"
        rf"|s'est)\s+(?:toujours\s+|encore\s+"
        rf"|de nouveau\s+|a nouveau\s+|completement\s+|totalement\s+|tout\s+|toute\s+"
        rf"|maintenant\s+|desormais\s+|aussi\s+|egalement\s+|deja\s+)?(?:re)?"
        rf"(?:{_LOCKED}|bloquer\b|verrouiller\b)"
        # (not "ils restent bloqués sur l'écran de connexion": stuck, which an expired password also does)
        r"(?![ \t]+(?:sur|devant|a) l'ecran)",
    ),
    _cue(
        UNLOCK,
        Strength.STATE,
        "login or name then locked (jdupont bloqué, locked out)",
        r"(?<![\w@.'-])([a-z][a-z0-9._-]{1,30}[a-z0-9])[ \t]*(?::|=|->|=>|→|\+|,)?[ \t]*"
        r"(?:(?:est|a ete|de nouveau|encore|toujours)[ \t]+)*"
        r"(?:bloquee?s?|blokee?s?|verr?ouillee?s?|locked(?: out)?|lock)\b"
        r"(?![ \t]+(?:dehors|devant|dans|sur"
        r"|a l'exterieur|au|par|en)\b)",
        checks_token=True,
    ),
    _cue(
        UNLOCK,
        Strength.STATE,
        "still or simply locked (toujours bloqué, « Bloqué. »)",
        # A follow-up ("toujours bloqué depuis hier") or a one-word state opening a sentence or in brackets.
        rf"\b(?:toujours|encore|tjrs|tjs)\s+(?:re)?{_LOCKED}|(?m:^)[ \t]*{_LOCKED}|[.!?(:][ \t]*{_LOCKED}"
        # A list item's state after an arrow or a bracket: "Sylvie Carré -> bloquée", "(milletbe), bloqué lui aussi".
        rf"|(?:-+>|=>|\))[ \t]*,?[ \t]*{_LOCKED}|{_LOCKED}[ \t]+(?:lui|elle|eux|elles)[ \t]+aussi\b"
        rf"|\b(?:tous|toutes|les deux|tous les deux|toutes les deux)[ \t]+(?:sont[ \t]+)?{_LOCKED}|\|[ \t]*{_LOCKED}"
        rf"|@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{{2,}}[ \t]*(?::|->|=)?[ \t]*(?:est[ \t]+)?{_LOCKED}",
    ),
    _cue(
        UNLOCK,
        Strength.STATE,
        "a lock named (verrouillage, blocage)",
        r"\b(?:verrouillage|blocage)\b(?!\s+(?:de|du|des|d')\s*(?:l'|la |le |les |sa |son |ses )?(?:imprimante"
        r"|carte|badge|dossier"
        r"|fichier|telephone|porte|ecran|clavier|appli\w*|logiciel|site|portail|dossier))",
    ),
    _cue(
        UNLOCK,
        Strength.STATE,
        "locked after too many attempts",
        # (not "malgré plusieurs tentatives, il ne parvient pas à en définir un nouveau": attempts at something else)
        r"(?<!malgre )\b(?:trop\s+(?:d'|de\s+)|suite\s+a\s+(?:\w+\s+){0,3}|plusieurs\s+)"
        r"(?:essais|tentatives|erreurs)\b",
    ),
    _cue(
        UNLOCK,
        Strength.HINT,
        "wrong password typed several times",
        rf"\btromp\w*\s+(?:de|d'|dans\s+(?:son|le|mon)|sur\s+(?:son|le|mon))\s*{_PASSWORD}",
    ),
    _cue(
        UNLOCK,
        Strength.HINT,
        "account to reactivate (réactiver)",
        r"\breactiv(?:er|e|ez|ation)\b|\bdesactive(?:e|s)?\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "reset verb on a password (réinitialiser le mot de passe)",
        # Verbs only: "la campagne de changement de mot de passe" describes, it does not ask; so does a past
        # participle after its auxiliary ("elle avait changé son mot de passe vendredi").
        r"(?:(?<!\ba )(?<!\bai )(?<!avait )(?<!\bont )(?<!avaient )(?<!avons )|(?!\w+e(?:e|s|es)?\b))"
        rf"\b(?:{RESET_VERB}|renouvel(?!lement)\w*|regener\w*|chang(?!ement)\w*|modifi(?!cation)\w*|redonn\w*"
        # (not "le téléphone a continué d'envoyer l'ancien mot de passe": the cause of a lock)
        rf"|gener(?!al|ation)\w*|attribu\w*|envoy\w*(?!\s+(?:l'|son\s+|leur\s+|le\s+)?ancien)|fournir|transmettre|refaire"
        rf"|remettre(?=\s+(?:un|une)\s+(?:nouveau\s+)?{_PASSWORD}\b)){_GAP}{_PASSWORD}\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "forgotten, lost or expired password",
        rf"\b{_PASSWORD}{_SHORT_GAP}(?:oubli\w*|perdu\w*|expir\w*|a (?:re-?initialiser|changer|reset|refaire"
        rf"|renouveler|regenerer|redonner))"
        rf"|\b(?:oubli|perdu|paume)\w*{_SHORT_GAP}{_PASSWORD}\b"
        # "elle n'a plus son mot de passe", "elle a plus de mdp" (spoken French drops the "ne").
        rf"|\b(?:n')?(?:a|ont|avait)\s+plus\s+(?:son|sa|leur|ses|de|d'|aucun)\s*(?:bon\s+|nouveau\s+)?{_PASSWORD}\b"
        # "X a tapé son ancien mot de passe et saubert a tout simplement oublié le sien": the password said before.
        rf"|\b{_PASSWORD}\b[^.?!\n]{{0,120}}?(?<!pas )(?<!jamais )\b(?:oubli|perdu|paume)\w*\s+"
        r"(?:le sien|la sienne|les siens|le leur|les leurs)\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "forgotten, expired or temporary password, in English",
        r"\b(?:forgot(?:ten)?|lost|(?:can'?t|cannot|doesn'?t|does not|don'?t) (?:remember|recall))\s+"
        r"(?:her|his|their|my|the)\s+(?:\w+\s+)?(?:password|pwd)\b"
        r"|\b(?:password|pwd)\s+(?:has\s+|have\s+|is\s+)?expired\b|\b(?:temporary|new)\s+(?:password|pwd)\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "provisional or temporary password (mot de passe provisoire)",
        # (not "il a saisi l'ancien mot de passe provisoire": a cause)
        rf"(?<!ancien )\b(?:{_PASSWORD}|code|acces)\s+(?:provisoire|temporaire)s?\b"
        rf"|\b(?:donn|redonn|remett|attribu|fourn|envoy|cre|fix|mett)\w*\s+(?:lui\s+|leur\s+|me\s+|m')?(?:en\s+)?"
        r"(?:un|une|des)\s+(?:nouveau|nouvel|autre)?\s*(?:provisoire|temporaire)s?\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "password no longer remembered (ne se souvient plus, zappé)",
        rf"\b(?:(?:souvien|rappel|retrouv|zapp|perim)\w*\s+(?:(?:plus|pas)\s+(?:du tout\s+|vraiment\s+|bien\s+)?)?"
        rf"|(?:connai|sai[st])\w*\s+(?:plus|pas|pu)\s+)"
        rf"(?:(?:de\s+)?(?:son|sa|mon|ma|leur|leurs|ses|mes|le|les)\s+|du\s+)"
        rf"(?:bon\s+|vrai\s+|nouveau\s+|nouvel\s+|dernier\s+)?(?:{_PASSWORD}|code)\b"
        rf"|\b(?:jamais|pas|toujours pas)\s+recu\s+(?:son|sa|mon|ma|ses|mes|le|les|de)\s+(?:\w+\s+)?{_PASSWORD}\b"
        rf"|\b{_PASSWORD}{_SHORT_GAP}(?:perime\w*|zappe\w*)"
        # "j'ai tapé mon mot de passe trop de fois, je ne m'en souviens plus"
        rf"|\b{_PASSWORD}\b[^\n]{{0,120}}?\b(?:ne\s+)?(?:m'en|s'en|t'en)\s+(?:souvien|rappel)\w*\s+(?:plus|pas)\b",
    ),
    _cue(
        RESET,
        Strength.STATE,
        "credentials to make again (refaire ses identifiants)",
        r"\b(?:refaire|refais|renvoy\w*|regenerer|redonn\w*|renouvel\w*|recre\w*)\s+(?:lui\s+|leur\s+)?(?:ses|son"
        r"|leurs|les|des"
        r"|de nouveaux|nouveaux)\s+(?:identifiants|codes d'acces|acces de connexion)",
    ),
    _cue(
        RESET,
        Strength.STATE,
        "password no longer works (mot de passe plus valide, ne fonctionne plus, inconnu)",
        rf"\b{_PASSWORD}{_SHORT_GAP}(?:(?:ne|n')\s*(?:\w+\s+)?(?:fonctionne|marche|passe)\s+(?:plus|pas)"
        rf"|plus valide|inconnu"
        r"|refuse|rejete|n'est plus (?:valide|reconnu|accepte))\w*",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "new one asked for a forgotten password (lui en remettre un)",
        # (not "lui en créer un nouveau": maybe a new account)
        r"\b(?:lui|leur|me|m'|nous)\s*en\s+(?:re)?(?:donn|remett|attribu|fourn|envoy|gener|mett|fai|fil)\w*\s+"
        r"(?:un|une)\b(?:\s+(?:nouveau|autre|provisoire|temporaire))?",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "new password asked (nouveau mdp)",
        # (not "bloqués après la bascule sur le nouveau mot de passe": the change that caused a lock)
        rf"(?<!sur le )(?<!depuis le )(?<!apres le )(?<!au )\b(?:nouveau|nouvel|nouvelle|nouvo|new)\s+{_PASSWORD}\b"
        rf"|\b{_PASSWORD}\s+(?:nouveau|nouvo)\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "renewal of someone's password (au renouvellement de son mot de passe)",
        rf"\b(?:renouvellement|reinitialisation|regeneration)\s+(?:de\s+|du\s+)?(?:son|sa|leur|leurs|ses|mon|ma|mes)\s+"
        rf"{_PASSWORD}",
    ),
    # "réinitialiser la session" is a manager's word for an unlock, not a reset.
    _cue(RESET, Strength.STRONG, "reset asked", rf"\b(?:{RESET_VERB})\b(?!\s+(?:la|sa|leur|ma|les|ses)\s+sessions?)"),
    _cue(
        ACCESS,
        Strength.STRONG,
        "access asked (accès à)",
        r"\bacces\s+(?:a|au|aux|en|sur|pour)\b(?<!acces aux)"
        r"|\bacces aux (?!droits\b)",
    ),
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
        "added to or removed from a group, share or rights",
        r"\bajout\w*(?:\W+\w+){0,6}?\W+(?:groupe|dossier|liste de diffusion|partage|equipe teams|canal)"
        r"|\bretir\w*\s+(?:\w+\s+){0,2}?(?:acces|droits)",
    ),
)

# "merci de ne pas modifier la mise en forme" (a form's footer) changes no password.
_NOT_A_PASSWORD_CHANGE = r"\b(?!\s+(?:la mise en forme|le format|l'objet|le sujet|ce message|ce formulaire))"

# A cue the writer denies: "elle ne veut pas changer de mot de passe", "son compte n'est pas verrouillé".
# "pas bloquée.", "comptes non verrouillés", "Compte verrouillé : non": a lock said not to be there.
_LOCK_SAID_NO = (
    r"(?:(?m:^)|[.,;:!?(][ \t]*)pas\s+(?:encore\s+|du tout\s+)?(?:bloque|verr?ouill)\w*"
    r"|\bnon[ -](?:bloque|verr?ouill)\w*|\b(?:bloque|verr?ouill)\w*\s*:\s*non\b"
    # "je crois pas qu'il soit bloqué"
    r"|\b(?:crois|pense)\s+pas\s+(?:qu'(?:il|elle)s?|que\s+(?:le|son|sa|leur)\s+\w+)\s+(?:soi(?:t|ent)|est|sont)\s+"
    r"(?:\w+\s+)?(?:bloque|verr?ouill)\w*"
)

NEGATED = {
    RESET: re.compile(
        # "n'arrive pas à le changer", "ne parvient pas à le modifier": a symptom of the reset needed, not a refusal.
        # ("n'a pas pu le changer à temps", "n'a pas réussi à le changer": the same symptom)
        rf"\b(?:ne|n')\s*(?!(?:arriv|parvien|parvenu|reussi|peu|pouv|pu|sai|sav)\w*\s)(?:\w+\s+)?(?:pas|plus|jamais)\s+"
        rf"(?!(?:pu|reussi|su|parvenu|arrive)\b)(?:\w+\s+){{0,2}}?(?:chang\w*|{RESET_VERB}|modifi\w*)"
        rf"{_NOT_A_PASSWORD_CHANGE}"
        rf"|\bsans\s+(?:le\s+|la\s+|les\s+|l')?(?:{RESET_VERB}|chang\w*)"
        # "surtout ne réinitialisez pas son mot de passe"
        rf"|\bne\s+(?:le\s+|la\s+|les\s+|l'|lui\s+)?(?:{RESET_VERB}|chang\w*|modifi\w*)\s+pas\b"
        rf"|(?<!ne )(?<!n')\bconnai\w+\s+(?:bien\s+)?(?:son|sa|leur|leurs|ses|mon)\s+(?:nouveau\s+|nouvel\s+)?"
        rf"{_PASSWORD}"
        rf"|\bne\s+touch\w*\s+(?:pas|surtout pas|jamais)\s+(?:a|au)\s+(?:son|sa|leur|leurs|ses|le|les)\s+{_PASSWORD}"
        r"|\b(?:pas besoin|plus besoin|aucun besoin|pas la peine|inutile|pas necessaire|pas utile) de "
        r"(?:le |la |les |l'|lui |leur |leurs )?(?:reinitialis|reinit|reset|chang|modifi)\w*"
        # "pas de mot de passe à changer", "c'est pour débloquer, pas pour le mot de passe"
        rf"|\bpas\s+(?:de|d')\s*{_PASSWORD}\s+a\s+(?:changer|modifier|reinitialiser|refaire)"
        rf"|\bpas pour (?:le|son|sa|leur) {_PASSWORD}"
        # "elle connaît le nouveau": the new password is known.
        r"|(?<!ne )(?<!n')\bconnai\w*\s+(?:bien\s+)?(?:le|son|sa|leur)\s+nouveau\b"
        r"|\b(?:a|ont|avait|aurait)\s+(?:finalement\s+|bien\s+)?retrouve\s+(?:son|sa|leur|leurs|ses|le)\s+(?:bon\s+)?"
        r"(?:mot de passe|mdp)"
        # "pas d'oubli de mot de passe", "aucun mdp oublié", "il n'est pas oublié", "rien à changer de ce côté-là"
        r"|\bpas (?:de notion )?d'oubli\b|\baucun (?:mdp|mot de passe) oublie|\brien a changer\b"
        # a form's "Réinitialisation du mot de passe : non nécessaire"
        r"|\b(?:reinitialisation|changement|reset)\s+(?:du |de |d')?(?:mot de passe|mdp)\s*:\s*(?:non|pas)\b"
        r"|\b(?:n'a|n'est|ne sont|n'ont)\s+(?:pas|jamais)\s+(?:expire|oublie)\w*"
        rf"|\bpas\s+(?:de|d')\s*(?:{RESET_VERB}|changement|nouveau\s+(?:mdp|mot de passe))"
        r"|\b(?:n'a|n'ont|n'avait)\s+(?:pas|jamais)\s+(?:\w+\s+)?(?:oublie|perdu)\b"
        r"|\b(?:il|elle|ils|elles|on)\s+(?:a|ont|avait)\s+(?:pas|jamais)\s+(?:\w+\s+)?(?:oublie|perdu)\b"
        r"|\bafter\s+(?:[\w']+\s+){0,3}?password change"
        # "je lui ai dit de changer son mdp sur le tel pro": the person changes it; "le nouveau mot de passe est bien
        # connu"
        r"|\b(?:lui|leur) (?:ai|avons) (?:dit|demande|conseille) de (?:\w+ )?(?:chang|modifi)\w*"
        rf"|(?:nouveau )?{_PASSWORD} (?:est|reste) (?:bien |parfaitement )?connu"
        r"|\b(?:apres|depuis|suite a|suite au|suite aux)\s+(?:le |un |son |sa |la |les |leur |leurs )?"
        r"(?:campagne\s+de\s+)?(?:changements?|modifications?|renouvellements?)\s+d"
        # "ils ont tous les deux leur nouveau mot de passe en tête": they have it, no reset asked.
        rf"|\b(?:a|ont|avons|ai)\s+(?:bien\s+|deja\s+|tous\s+|toutes\s+|les deux\s+)*"
        rf"(?:(?:note|retenu|memorise|ecrit|garde)\w*\s+)?(?:son|sa|leur|leurs|mon)\s+nouveau\s+{_PASSWORD}"
        # "elle a essayé trois fois avec son nouveau mot de passe": the new one typed, the cause of a lock
        rf"|\b(?:essay|tap|saisi|tent)\w*\b[^.\n]{{0,30}}\bavec (?:son|sa|leur|le) nouveau {_PASSWORD}"
        r"|\b(?:depuis|apres|quand|lorsqu'?)\s*(?:que\s+|qu')?(?:j'ai|il a|elle a|on a|avoir|ils ont)\s+"
        r"(?:change|modifie|renouvele)"
    ),
    UNLOCK: re.compile(
        r"\b(?:n'est|ne sont|n'etait|n'etaient|ne (?:semblent|semble|paraissent|parait))\s+(?:pas|plus)\s+(?:\w+\s+)?"
        r"(?:bloque|verr?ouill)\w*"
        r"|\b(?:n'a|n'ont|n'avait)\s+pas\s+l'air\s+(?:\w+\s+)?(?:bloque|verr?ouill)\w*"
        r"|\bpas (?:encore )?(?:de|d')\s*(?:message (?:de|d')\s*)?(?:deblocage|deverrouillage|blocage|verrouillage)\b"
        # "un mot de passe oublié, pas d'un compte bloqué"
        r"|\bpas (?:d'un|un) (?:compte |probleme de )?(?:bloque|verrouille|blocage|verrouillage)\b"
        r"|\bce n'est pas un (?:compte )?(?:blocage|verrouillage|bloque|verrouille)\b"
        # "finalement pas le blocage, c'est le mdp que j'ai oublié"
        r"|\bpas (?:le|un) (?:blocage|verrouillage)\b"
        r"|\(pas (?:un |de )(?:blocage|verrouillage)\)"
        r"|\b(?:aucune?|personne)\s+(?:des\s+\w+\s+|d'entre eux\s+|d'entre elles\s+)?n'(?:est|etait|a ete)"
        r"\s+(?:\w+\s+)?(?:bloque|verr?ouill)\w*"
        rf"|{_LOCK_SAID_NO}"
    ),
}

# The only request found is denied outright ("il n'a pas oublié son mot de passe"): nothing clear is asked.
DENIED = {
    RESET: re.compile(
        r"\b(?:n'a|n'ont|n'avait)\s+(?:pas|jamais)\s+(?:\w+\s+)?(?:oublie|perdu)\b"
        r"|\b(?:il|elle|ils|elles|on)\s+(?:a|ont|avait)\s+(?:pas|jamais)\s+(?:\w+\s+)?(?:oublie|perdu)\b"
        r"|\b(?:a|ont|avait)\s+(?:finalement\s+|bien\s+)?retrouve\s+(?:son|sa|leur|leurs|ses|le)\s+(?:bon\s+)?"
        r"(?:mot de passe|mdp)"
    ),
    UNLOCK: re.compile(
        r"\b(?:n'est|ne sont|n'etait|n'etaient|ne (?:semblent|semble|paraissent|parait))\s+(?:pas|plus)\s+(?:\w+\s+)?"
        r"(?:bloque|verr?ouill)\w*"
        r"|\b(?:n'a|n'ont|n'avait)\s+pas\s+l'air\s+(?:\w+\s+)?(?:bloque|verr?ouill)\w*"
        r"|\b(?:aucune?|personne)\s+(?:des\s+\w+\s+|d'entre eux\s+|d'entre elles\s+)?n'(?:est|etait|a ete)"
        r"\s+(?:\w+\s+)?(?:bloque|verr?ouill)\w*"
        rf"|{_LOCK_SAID_NO}"
    ),
}

# "il n'a plus accès à sa session" describes a lock-out, not a wish for new access.
ACCESS_SYMPTOM = re.compile(
    # ("je n'ai accès à rien", "qui n'a pas encore accès à sa messagerie": a symptom)
    r"(?:\bplus|\bpas|\bn'|\bsans|\bperdu|\bperte\s+d'|\bson|\bmon|\bleur|\bses|\bmes|\bretrouver|\bpas encore"
    r"|\bn'(?:ai|a|ont|avons|avait|avaient)(?:\s+(?:pas|plus|jamais|encore|toujours))*"
    # "dispose d'un accès à un poste": access she already has, described.
    r"|\bdispos\w*\s+d'une?|\bpossed\w*\s+une?)\s*(?:d')?\s*$"
    # "merci pour la création du compte": thanks for what was done.
    r"|\bmerci\s+(?:beaucoup\s+|bien\s+)?(?:pour|de)\s+(?:la|le|l')\s*$"
    # "jamais reçu suite à sa création de compte": the account exists.
    r"|\b(?:suite a|depuis|lors de|apres)\s+(?:sa|la|leur|son)\s*$"
)

# The guard a rules reading drops when no reset is asked ("débloquer, ne PAS réinitialiser").
NEGATED_RESET_GUARD = "negated_reset"
# Guards an account said to be locked answers: "réactiver le compte, il est verrouillé", "mon ordinateur est
# verrouillé avec le message « ce compte est verrouillé »".
REACTIVATION_GUARD = "reactivation"
SECOND_REQUEST_GUARD = "second_request"
DEVICE_LOCKED_GUARD = "device_locked"

GUARDS: tuple[Guard, ...] = (
    _guard(
        "after_the_fact",
        CLOSURE,
        "reports something already done or solved (c'est réglé)",
        r"\b(?:a|ont|avons|ai|as)\s+(?:bien\s+|deja\s+|finalement\s+)?(?:ete\s+(?:bien\s+)?"
        r"(?:debloque|deverr?ouille|reinitialise|regle|resolu|traite|fait)|(?:debloque|deverr?ouille"
        r"|reinitialise|regle|resolu))(?:e|s|es)?\b"
        r"|\b(?:est|sont)\s+(?:bien\s+|deja\s+|maintenant\s+|de nouveau\s+|a nouveau\s+)?"
        r"(?:debloque|deverr?ouille|reinitialise|regle|resolu)(?:e|s|es)?\b"
        # (not "prévenez-moi quand c'est fait": a request to be told afterwards)
        r"|(?<!si )(?<!quand )(?<!lorsque )(?<!des que )(?<!une fois que )"
        r"\bc'?est\s+(?:bon|ok|regle|resolu|fait|good)\b"
        r"|\bmerci,?\s+c'?est\s+(?:bon|ok)\b"
        r"|\b(?:ca|sa|cela|tout)\s+(?:re)?(?:fonctionne|marche)\s+(?:de nouveau|a nouveau|maintenant|bien|correctement)"
        r"|\bn'est plus\s+(?:bloque|verr)|\bregularis\w*|\bprobleme\s+(?:regle|resolu)"
        # (not "aucun n'a pu se connecter", "les autres ont réussi à se connecter")
        r"|(?<!n')(?<!autres )\b(?:a|ai|avons|ont)\s+(?:bien\s+)?(?:pu|reussi a)\s+(?:se|me|nous)\s+(?:re)?connecter"
        r"|\bvous pouvez\s+(?:cloturer|fermer|clore|classer)"
        r"|\bdeja\s+(?:ete\s+)?(?:debloque|fait|traite)\b(?!\s*:)(?!\s+(?:la|le|les|un|une)\b)"
        r"|\b(?:a|ai|avons|ont) (?:bien )?(?:retrouve|recupere) (?:son|mon|ses|mes|leur)\s+acces"
        r"|\bfausse alerte\b|\bau temps pour moi\b"
        # ("a bien reçu son nouveau mot de passe" is done; "a bien reçu son adresse, mais..." is not)
        r"|\bbien recu\b(?!\s+(?:les|le|la|vos|votre|ton|ta|tes|mes|nos)\b)"
        r"(?!\s+(?:son|sa|ses|leur|leurs|mon|ma)\s+(?!(?:nouveau |nouvel |provisoire )?(?:mot de passe|mdp|code"
        r"|identifiants?)))"
        # (not "il n'a toujours pas de mot de passe qui fonctionne")
        r"|(?<!pas de )(?<!pas d'un )(?<!aucun )"
        r"\b(?:mot de passe|mdp|compte|acces|session|tout)(?:\s+(?!ne\b|n'|pas\b|plus\b)\w+){0,2}\s+"
        r"(?:re)?(?:fonctionne|marche)\b(?!\s+(?:pas|plus))",
        confidence=0.8,
    ),
    _guard(
        "no_longer_needed",
        CLOSURE,
        "the request is withdrawn without naming an action (plus la peine, inutile de traiter)",
        r"\b(?:plus la peine|plus besoin|pas la peine|plus necessaire)\b(?!\s+(?:de|d')\s*(?:le\s+|la\s+|les\s+|l')?"
        rf"(?:{UNLOCK_VERB}|{RESET_VERB}))(?!\s+d'autre)"
        r"|\binutile de (?:traiter|faire quoi que ce soit|donner suite)|\bsans suite\b",
        confidence=0.8,
    ),
    _guard(
        "negation",
        None,
        "negation of the action (ne pas débloquer, inutile de, annulez)",
        rf"\b(?:ne|n')\s*(?:pas\s+|plus\s+|surtout\s+pas\s+|jamais\s+|rien\s+)?(?:le\s+|la\s+|les\s+|l'|lui\s+)?"
        rf"(?:{UNLOCK_VERB}|touch\w*\b(?!\s+(?:(?:pas|surtout pas|jamais)\s+)?(?:a|au)\s+"
        rf"(?:son|sa|leur|leurs|ses|le|les)\s+{_PASSWORD})|fai\w*|trait\w*)"
        rf"|\b(?:ne|n')\s*rien\s+(?:{RESET_VERB}|chang\w*|modifi\w*)"
        r"|(?<!precision )(?<!remarque )\b(?:inutile|pas besoin|plus besoin|pas la peine|plus la peine|pas necessaire"
        r"|plus necessaire)\b(?!\s*:)(?!\s+d'autre)"
        r"(?!\s+(?:de|d')\s*(?:le\s+|la\s+|les\s+|l'|lui\s+|leur\s+|me\s+|m'|nous\s+)?(?:chang"
        r"|re-?init|reset|modifi|refaire|redonn|rappel|recontact|appel|telephon|repond)\w*)"
        r"|\bannul\w*\s+(?:ma\s+|la\s+|notre\s+|cette\s+|mon\s+|sa\s+)?(?:demande|ticket)"
        r"|\b(?:annul(?:e|ez|er)|laisse[zr]? tomber|oubliez? ma demande|ne (?:tenez|tiens) pas compte"
        r"|non,? attend\w*)\b"
        r"|\b(?:do not|don't)\s+(?:unlock|reset)"
        r"|\bne (?:verifi|control)\w* pas\b",
        confidence=0.5,
    ),
    _guard(
        NEGATED_RESET_GUARD,
        None,
        "negation of a reset (ne pas réinitialiser): blocks a reset; next to an unlock it only denies that half",
        rf"\b(?:ne|n')\s*(?:pas\s+|plus\s+|surtout\s+pas\s+|jamais\s+)?(?:le\s+|la\s+|les\s+|l'|lui\s+)?"
        rf"(?:{RESET_VERB}|chang\w*|modifi\w*){_NOT_A_PASSWORD_CHANGE}",
        confidence=0.5,
    ),
    _guard(
        "how_question",
        INFO,
        "question about how to do it (comment faire pour)",
        r"\bcomment\s+(?:faire|fait-on|fait on|puis-je|puis je|pouvons|peut-on|peut on|on\s+(?:fait|peut)"
        r"|je\s+(?:peux|dois|fais)|debloq|deverr|reinitialis|changer|modifier|proceder|\w+-t-on|\w+-je|\w+-nous"
        r"|(?:un|une|les|nos|mes)\s+(?:agents?|utilisateurs?|collegues?|salaries?)\s+(?:peu\w+|doi\w+))"
        # "quelle est la procédure", not "il a tenté la procédure « mot de passe oublié »"
        r"|\b(?:quelle est|connaitre|savoir|m'indiquer|m'envoyer) la (?:procedure|demarche|marche a suivre)\b"
        r"|\b(?:la|une) (?:procedure|demarche) a suivre\b|\bla marche a suivre\b|\bprocedure pour\b"
        r"|\bquel(?:le)?s? (?:est|sont) (?:le|la|les) (?:seuils?|regles?|politique|durees?|delais?|nombre|longueur"
        r"|criteres?|conditions?)\b|\bhow (?:often|long|many)\b"
        r"|\b(?:puis-je|pouvons-nous|peut-on)\s+(?:\w+\s+){0,2}?(?:debloq|deverr|reinitialis|reset)"
        r"|\bque (?:dois|doit|faut|devons)[- ]?(?:je|il|on|nous)?\s*(?:vous\s+)?(?:faire|transmettre|envoyer|fournir)\b"
        r"|\bqu'est-ce que je dois faire\b"
        r"|\b(?:moi|eux|elle|lui)-memes?\b[^.!\n]*\?|\bhow (?:do|can|to)\b|\bsoi-meme\b|\bquand on\b"
        r"|\bqui (?:peut|pourrait|doit|dois-je|faut-il|contacter)\b(?=[^.!\n]*\?)"
        r"|\ba qui (?:m'adresser|s'adresser|dois-je"
        r"|faut-il)\b",
        confidence=0.8,
    ),
    _guard(
        "info_question",
        INFO,
        "general question about lock-outs (combien de tentatives, panne générale)",
        r"\bcombien\b|\bau bout de combien|\best-ce (?:normal|habituel|logique)\b|\bc'est normal\b"
        r"|\bse (?:re)?debloque(?:nt|ra|ront)? (?:tout seul|automatiquement|seul)|\ben general\s*\?",
        confidence=0.8,
    ),
    _guard(
        "test",
        "other",
        "announced as a test",
        r"\b(?:ceci est|c'est|ce message est)\s+(?:un\s+)?(?:simple\s+|juste\s+)?(?:un\s+)?(?:test|essai)\b"
        r"|\bpour (?:voir si|tester)\b[^.\n]{0,40}\b(?:marche|fonctionne|automatique|robot|bot)\b|\bmessage de test\b",
        confidence=0.8,
    ),
    _guard(
        "policy_change",
        "other",
        "asks to change password policy (n'expire jamais)",
        r"\bn'?\s*expire\w*\s+(?:jamais|plus)|\bjamais\s+expir\w*|\bsans\s+expiration"
        r"|\b(?:desactiver|supprimer|desactivation|suppression)\s+(?:de\s+)?l'expiration"
        r"|\bnever expire"
        # "sans l'obliger à le changer à la première connexion": no forced change at first logon
        r"|\bsans\s+(?:l'|les\s+)?(?:oblig|forc)\w*|\b(?:pas|sans)\s+(?:de\s+)?changement\s+obligatoire"
        r"|\bne\s+pas\s+(?:l'|les\s+)?(?:oblig|forc)\w*\s+a\s+(?:le\s+|la\s+)?changer",
    ),
    _guard(
        "system_notice",
        "other",
        "looks like an automatic expiry notice",
        r"\b(?:expire\w*|expiration)\s+dans\s+\d+\s+jours?|\bne pas repondre\b|\bnoreply\b|\bno-reply\b",
    ),
    _guard(
        "other_system",
        APP,
        "account or password of a system other than the directory (SAP, i-milo, Kairos, Citrix, VPN...)",
        rf"(?<!pas )(?<!pas sur )(?<!pas dans )(?<!pas pour )(?<!non )\b(?:{OTHER_SYSTEM})\b"
        # "le VPN se connecte bien mais Windows dit que son compte est verrouillé": that system works.
        r"(?!\s+(?:se connecte|fonctionne|marche|passe)\s+"
        r"(?:bien|tres bien|normalement|correctement|sans (?:souci|probleme)))",
        confidence=0.8,
    ),
    _guard(
        "other_system_password",
        None,
        "a password or account of another system (messagerie, Teams, portail, Wi-Fi, téléphone, badge)",
        rf"\b(?:{_PASSWORD}|identifiants?|codes?(?:\s+(?:pin|d'acces|secret|de deverrouillage|confidentiel))?)\s+"
        r"(?:(?:de|du|d'|pour)\s*)?(?:la\s+|le\s+|l'|sa\s+|son\s+|leur\s+|ma\s+|mon\s+)?"
        rf"(?:{_OTHER_PRODUCTS})\b"
        rf"|\b(?:{_OTHER_PRODUCTS})\s+(?:\w+\s+){{0,2}}?(?:{_PASSWORD}|identifiants?|code pin)\b"
        # "s'est bloquée en essayant de se connecter à la messagerie": the cause of an account lock
        rf"|(?<!essayant de se )(?<!tentant de se )(?<!voulant se )(?<!en se )"
        rf"\b(?:connect\w*|connexion|acceder|ouvrir|entrer)\s+(?:a|au|sur|dans)\s+(?:l'|le\s+|la\s+|son\s+|sa\s+)?"
        rf"(?:{_OTHER_PRODUCTS})\b"
        r"|\b(?:comptes?|acces|identifiants?|sessions?)\s+(?:\w+\s+)?(?:sur|dans|de|du|pour)\s+(?:l'|le\s+|la\s+|les\s+"
        r"|mon\s+|son\s+|sa\s+|leur\s+|notre\s+|votre\s+|un\s+|une\s+)?(?:applications?|applis?|logiciels?"
        rf"|plateformes?|sites?|{_PORTAL}|extranet|intranet|outils?|espaces?\s+(?:partenaires?|pro\w*))\b"
        r"|\b(?:bloque|verr?ouille)e?s?\s+(?:dans|sur)\s+(?:l'|le\s+|la\s+)(?:applications?|applis?|logiciels?"
        rf"|plateformes?|outils?|{_PORTAL}|extranet|intranet|site)\b|\bcote (?:application|appli|logiciel|outil)\b",
        confidence=0.5,
    ),
    _guard(
        "conditional",
        None,
        "conditional, deferred or uncertain request (si jamais, à partir du, attendez, je ne sais pas si)",
        r"\bsi jamais\b|\bau cas ou\b|\ben cas de (?:besoin|blocage|souci|probleme)\b"
        r"|\bs'(?:il|ils)\s+(?:est|sont|reste|restent|etait)\s+(?:toujours\s+|encore\s+|bien\s+)?(?:bloque|verr)"
        r"|\bsi\s+(?:elle|elles|jamais|quelqu'un|un agent|une personne|un collegue|une collegue|l'un"
        r"|(?:le|son|sa|leur|son)\s+(?:compte|session|mdp|mot de passe))\b"
        # "attendez, elle essaie encore", "je vous confirme cet après-midi"
        r"|\battendez\b(?!\s+(?:pas|plus))|\bje (?:vous|te) (?:confirme|redis|recontacte|rappelle)\w* (?:cet|ce|demain"
        r"|plus tard|dans|d'ici)\b"
        # "ne débloquer qu'après validation", not "il semble qu'après la modification..."
        r"|(?:\b(?:uniquement|seulement)|(?<!semble )(?<!pense )(?<!crois )(?<!parait )(?<!dirait )\bqu')\s*"
        r"(?:apres|si|quand|lorsqu\w*|a partir|a son retour|une fois(?! par))"
        r"|\bpas avant\b|\bavant (?:cette|la) date\b"
        r"|\ba (?:partir|compter) (?:du|de demain|de lundi|de mardi|de mercredi|de jeudi|de vendredi|de la semaine)"
        r"|\b(?:attend\w*|patient\w*)\s+(?:son|sa|leur|le|la|mon|ma)\s+(?:retour|validation|accord|feu vert|arrivee)"
        r"|\b(?:apres|sous reserve de|avec) (?:la |sa |son |leur )?(?:validation|accord) (?:de|du|d')"
        r"|\bune fois (?:que|qu'|son|sa|le|la)\b"
        # "je ne sais plus quel mot de passe j'ai mis" is a forgetting; "mrobert ou robert.m, je ne sais plus
        # lequel" a doubt.
        rf"|\bje ne sais (?:pas (?:si|quel|quelle|lequel)|plus (?:si|lequel|laquelle|quel(?:le)?\b(?! (?:mot de passe"
        rf"|mdp|code|date|chiffre))))(?!\s+c'est\s+{_WRONG_DESK})"
        r"|\b(?:aura|auront) besoin\b"
        # (not "elle n'est pas sûre de son mot de passe": a reason for the reset)
        r"|\bpas (?:sur|sure|certaine?) (?:que|qu'|de|du|d')(?!\s*(?:son|sa|leur|mon) (?:mot de passe|mdp))"
        r"|\bsauf (?:si|contre-ordre|avis contraire)"
        r"|\bdes (?:son|sa|leur) (?:retour|arrivee)\b|\ben prevision\b|\bsi c'est le cas\b|\ble cas echeant\b"
        r"|\ba (?:son|sa|leur) retour (?:le|lundi|mardi|mercredi|jeudi|vendredi)\b"
        r"|\bva (?:surement |sans doute |probablement |certainement )?(?:avoir|etre|se (?:bloquer|retrouver))\b"
        r"|\b(?:pour|a|d'ici) (?:cette|la) date\b|\bpour le \d{1,2}\b"
        # "elle revient lundi", not "il est arrivé dans le service le mois dernier"
        r"|(?<!est )(?<!sont )(?<!suis )(?<!, )\b(?:revient|rentre|reprend|arrive|arrivera"
        r"|reviendra)"
        r"\s+(?:le|lundi|mardi|mercredi|jeudi|vendredi|la semaine|en|dans)\b"
        r"(?!\s+(?:bon |mauvais |nouveau )?(?:mot de passe|mdp|code)"
        r"|\s+(?:en\s+)?(?:mi-temps|temps partiel|retard|remplacement))"
        r"|\bpeut-etre (?:bloque|verr)\w*"
        r"|\bverifi\w*\s*\?"
        # "c'est tout ce que j'ai comme info": the writer does not know what is wrong.
        r"|\bc'est tout ce que (?:j'ai|je sais)\b|\bje n'en sais pas plus\b|\b(?:pas|sans) plus d'info",
        confidence=0.5,
    ),
    _guard(
        "given_password",
        None,
        "asks to set a password the writer chose (mettez-lui le mot de passe Mission2024)",
        rf"\b(?:mett\w*|mis|fix\w*|defini\w*|choisi\w*|attribu\w*|donn\w*)\s+(?:lui\s+|leur\s+|moi\s+)?(?:le|un"
        rf"|comme)\s+"
        rf"{_PASSWORD}\s+(?!provisoire|temporaire|par defaut)[^\s,.;!?]*\d"
        # "ont oublié leur mot de passe : ct29104 et bouchardj" lists people, not a password.
        rf"|{_FORGOTTEN_BEFORE}\b{_PASSWORD}\s*(?:=|:)\s*(?=[^\s,.;!?]*[a-z])[^\s,.;!?]*\d|\b{_PASSWORD}\s+(?:sera|serait|devient|comme)\s*:?\s*[^\s,.;!?]*\d"
        r"|\b(?:la |le )?(?:valeur|mot de passe|mdp|code) (?:suivante?|souhaitee?|choisie?|convenue?|de notre choix)\b"
        r"|\bque nous (?:lui |leur )?avons (?:deja )?(?:communique|transmis|donne)"
        rf"|\b(?:remett|remet|remis|redonn|reprend|retabli)\w*\s+(?:\w+\s+){{0,2}}?(?:le meme|son ancien|l'ancien"
        rf"|leur ancien|le precedent|son precedent)\s+{_PASSWORD}"
        r"|\b[a-z]{4,}\d{2,4}[!@#$%*?&]"
        # 'lui mettre "Bienvenue2025"': a quoted word with digits after a verb of setting
        r"|\b(?:mett|mis|fix|defini|choisi|attribu|donn|remet)\w*\s+(?:lui\s+|leur\s+|moi\s+)?[\"«“]\s*"
        r"[^\s\"»”]*\d[^\s\"»”]*\s*[\"»”]"
        rf"|\b[a-z]*\d[^\s,.;!?]*\s+comme\s+(?:nouveau\s+)?{_PASSWORD}",
        confidence=0.5,
    ),
    _guard(
        "for_information",
        None,
        "information rather than a request (pour info, pour mémoire)",
        r"\bpour (?:info|information|votre information)\b(?!\s+et\s+(?:action|traitement|suite|faire le necessaire))"
        r"|\bfyi\b|\bpour memoire\b|\ba titre d'information\b",
        confidence=0.5,
    ),
    _guard(
        "asks_information",
        None,
        "asks to be told something before or instead of acting (pouvez-vous m'indiquer si, si oui... sinon)",
        r"\b(?:pouvez|pourriez|pourrais|peux|pourrez)[- ](?:vous|tu)\s+m'(?:indiquer|expliquer|informer|dire"
        r"|preciser|confirmer si)"
        r"|\bmerci de m'(?:indiquer|expliquer|preciser|dire)\b|\b(?:m'indiquer|me dire|me confirmer|me preciser) si\b"
        r"|\bsi oui\b|\bsi non\b|\bsinon,|\bou bien\b|\bj'aimerais savoir\b"
        r"|\b(?:je voudrais|on voudrait|nous voudrions|on aimerait|nous aimerions) savoir\b",
        confidence=0.5,
    ),
    _guard(
        SECOND_REQUEST_GUARD,
        None,
        "another request in the same message (autre chose, par ailleurs, P.S.)",
        r"\b(?:une|un)\s+(?:autre|seconde?|deuxieme|2e|2eme)\s+(?:chose|demande|souci|probleme|pb|question|point"
        r"|sujet)\b"
        # (not "elle ne se souvient par ailleurs plus de son mot de passe": the other half of the same request)
        r"|\bpar ailleurs\b(?![^.\n]{0,60}\b(?:mot de passe|mdp|bloqu|verr?ouill|debloq|reinitialis))"
        r"|\bd'autre part\b|\ben plus de (?:ca|cela)\b|(?:(?m:^)"
        r"|[.!?][ \t]+)[ \t]*p\.?[ \t]?s\.?[ \t]*[:\-]"
        r"|(?<!suite )\bau passage\b(?!\s+(?:de|du|des|a|au|sur|en)\b)"
        r"|\bpendant que (?:j'y suis|vous y etes|tu y es)\b"
        r"|\bet aussi\b(?![^.\n]{0,30}\b(?:mot de passe|mdp|bloqu|verr?ouill))|\bautre chose\s*:"
        r"|\b(?:a|ai|ont|avons|aurait|aurais)\s+(?:aussi|egalement|en plus)\s+(?:un|une|des)\s+"
        r"(?:souci|probleme|pb|question|demande|bug|panne|soucis|problemes)\b"
        r"|(?:(?m:^)|[.!?][ \t]+)[ \t]*(?:aussi|egalement|en meme temps),?\s+(?:pourriez|pouvez|pourrais|peux|merci de"
        r"|il faudrait)\b"
        r"|\b(?:(?:pourriez|pouvez|pourrais|peux)[- ](?:vous|tu)|il faudrait|il faut|faudrait|merci de)\s+"
        r"(?:aussi|egalement|en meme temps|en plus)\b",
        confidence=0.5,
    ),
    _guard(
        "injection",
        None,
        "instructions addressed to the machine (ignore tes règles...)",
        r"\bignor\w*\s+(?:\w+\s+){0,3}?(?:regles|instructions|consignes|directives|procedures?|verifications?"
        r"|rules|instructions)\b|\b(?:tu es|you are) (?:un|une|an?|maintenant|desormais)\b|\bsystem\s*:"
        r"|\bassistant\s*:|\ben tant qu'(?:ia|assistant|intelligence)|\bprompt\b|\bmode (?:admin|debug|developpeur)"
        r"|\bsans (?:aucune )?verification\b|\bc'est un ordre\b|\bbypass\w*|\boverride\b"
        r"|\b(?:pour|a|note pour|message pour|attention|consigne pour|instruction pour)\s+(?:l'ia|l'assistant"
        r"|le bot|le robot"
        r"|l'automate|le modele|chatgpt|l'intelligence artificielle|le systeme)\b|\b(?:assistant|robot|bot|ia)\s*,"
        r"|\[\s*(?:system|systeme|instruction|admin|ia|ai)\b|\bmode (?:administrateur|maintenance|test)\b",
        confidence=0.5,
    ),
    _guard(
        "privileged_target",
        None,
        "names an administrator, service or generic account",
        r"\b(?:adm|admin|root|svc|srv)[-_.][a-z0-9]+|\b(?:root|admin|adm\d+)\b"
        # "Contactez votre administrateur" quotes the lock screen; it names nobody.
        r"|(?<!votre )(?<!contactez l')(?<!contacter l')(?<!your )"
        r"\b(?:administrateur|administrator|domain admins?|admin du domaine|compte de service|krbtgt)\b",
        confidence=0.6,
    ),
    _guard(
        "partial_follow_up",
        None,
        "follow-up on an earlier request, partly solved (ça marche pour la première)",
        r"\b(?:ca|cela) (?:re)?(?:marche|fonctionne) pour (?:la|le|les|l')"
        r"|\bpour (?:la|le) (?:premiere?|deuxieme|second)\b"
        r"|\b(?:(?:ca|cela|c'est|tout)\s+(?:re)?(?:marche|fonctionne|bon|ok|regle)|pu se (?:re)?connecter)\b"
        r"[^\n]{0,60}\b(?:par contre|mais"
        r"|en revanche"
        r"|sauf)\b",
        confidence=0.6,
    ),
    _guard(
        "thanks_after_the_fact",
        CLOSURE,
        "thanks for something already done (merci pour le déblocage)",
        r"(?<!avance )(?<!d'avance )\b(?:merci|remercie|remercions)\s+"
        r"(?:beaucoup\s+|bien\s+|encore\s+|infiniment\s+|mille fois\s+)?"
        r"(?:pour|de)\s+(?:le|la|les|l'|votre|vos|ce|cette|ton|ta)\s*(?:rapide\s+|prompte?\s+|tres\s+)?"
        # Only words naming the action done: "merci pour votre aide" also closes many requests.
        r"(?:deblocage|deverrouillage|reinitialisation|reactivation|changement|nouveau mot de passe|nouveau mdp"
        r"|depannage)\b",
        confidence=0.8,
    ),
    _guard(
        "what_question",
        INFO,
        "asks what or where something is (c'est quoi le lien, quel est le site)",
        r"\bc'?est quoi\b|\bquoi (?:comme|le|la)\b|\bqu'est-ce que c'est\b"
        r"|\bquel(?:le)?s? (?:est|sont) (?:le|la|les|l')\s*(?:lien|liens|adresse|site|url|page|numero|procedure|delai)",
        confidence=0.8,
    ),
    _guard(
        "check_first",
        None,
        "asks to check or answer before acting (vérifier avant, est-il bloqué ?)",
        r"(?<!besoin de )\bquoi que ce soit\b"
        r"|\bavant (?:de|d')\s*(?:faire|toucher|agir|proceder|lancer|intervenir|debloq\w*"
        r"|reinitialis\w*)|\bverifi\w*\s+(?:d'abord|avant|au prealable|si|que)\b"
        r"|\b(?:est|sont|etait|serait|a|ont)-(?:t-)?(?:il|elle|ils|elles)\s+(?:\w+\s+){0,2}?"
        r"(?:bloque|verr?ouill|desactiv|expir|suspendu|actif|active|ete|encore|toujours|bien)\w*"
        r"|\b(?:y a-t-il|s'agit-il)\b",
        confidence=0.6,
    ),
    _guard(
        "writer_included",
        None,
        "the writer's own account is part of the request (et moi-même, nous débloquer)",
        r"\b(?:et moi|moi-meme|moi aussi|moi egalement)\b|\bnous (?:debloquer|deverrouiller|reinitialiser|redonner)\b",
        confidence=0.6,
    ),
    _guard(
        "hesitation",
        None,
        "the writer hesitates between actions or asks what to do (faut-il… ou plutôt…, je ne sais pas si)",
        r"\bou plutot\b|\bou bien (?:faut-il|doit-on|dois-je)\b|\b(?:faut-il|doit-on|dois-je|devons-nous|vaut-il mieux"
        r"|vaudrait-il mieux)\b"
        rf"|\bje ne sais pas (?:ce qui|ce qu'il|s'il|si|quoi)\b(?!\s+c'est\s+{_WRONG_DESK})"
        r"|\bqu'est-ce qu'il (?:faut|vaut)\b",
        confidence=0.6,
    ),
    _guard(
        "collective",
        None,
        "many people, a team or a shared mailbox at once, or a suspected phishing (toute l'équipe, 12 personnes)",
        # (A greeting is blanked before the guards run: "Bonjour à toute l'équipe" leaves "  a toute l'equipe".)
        r"(?<!  a )(?<!bonjour a )(?<!bonsoir a )(?<!salut a )(?<!hello a )(?<!merci a )"
        r"\b(?:tout(?:e|es)?|tous)\s+(?:l'|la\s+|le\s+|les\s+|notre\s+|nos\s+|mon\s+|ma\s+|ces\s+"
        r"|mes\s+)?(?:equipes?|services?|agences?"
        r"|structures?|antennes?|personnel|monde|site|pole|bureau|agents|collegues|conseillers|salaries"
        r"|utilisateurs|comptes|postes|membres)\b"
        r"(?!\s+(?:du\s+|de\s+l'|de\s+la\s+)?(?:support|informatique|hotline|assistance|helpdesk|service desk|dsi)\b)"
        # People waiting for the one account: "tout le monde attend", "12 stagiaires attendent", "un atelier avec 15
        # personnes", "8 personnes qui arrivent", "tous nos conseillers sont occupés" (a phone message).
        rf"{_WAITING}"
        r"|(?<!avec )(?<!groupe de )\b(?:[6-9]|\d{2,}|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize"
        r"|vingt|trente|cinquante|cent)\s+(?:personnes|agents|comptes|collegues|utilisateurs|salaries|conseill\w+"
        rf"|stagiaires|postes|sessions|membres)\b{_WAITING}|\b(?:dizaine|douzaine|quinzaine|vingtaine|trentaine|centaine)\b"
        # "une dizaine de fois", "une vingtaine de demandeurs d'emploi en salle" count no accounts.
        r"(?!\s+(?:de|d')\s*(?:fois|minutes?|secondes?|jours?|tentatives?|essais?|demandeurs?|jeunes|participants?))"
        r"|\b(?:boite|compte|adresse|messagerie|session)s?\s+(?:\w+\s+)?(?:collective|generique|partagee?|commune"
        r"|fonctionnelle)s?\b"
        r"|\b(?:hameconn\w*|phishing|piratage|pirat\w*|compromi\w*|usurp\w*|fraud\w*|lien (?:suspect|frauduleux)"
        r"|mail suspect|courriel suspect|message suspect)",
        confidence=0.6,
    ),
    _guard(
        "status_question",
        None,
        "asks whether or why an account is locked",
        r"\b(?:est-ce que|savoir si|pourquoi)\b[^?.\n]{0,80}\b(?:bloque|verr?ouill)\w*",
        confidence=0.6,
    ),
    _guard(
        "urgency_pressure",
        None,
        "pressure or alternative delivery (envoyez-le-moi par SMS, sur mon adresse perso)",
        r"\b(?:envoy\w*|envoi|transmet\w*|transmission|communiqu\w*|communication|donn\w*)[^.\n]{0,40}"
        r"\b(?:par sms|par telephone|de vive voix|sur (?:mon|ma|son|sa)"
        r" (?:adresse|boite|mail|portable) (?:perso\w*|gmail|privee?)|a cette adresse|sur cette adresse)"
        r"|\b(?:me|nous) (?:l'|le |la |les )(?:envoy|transmet|communiqu|donn|fai)\w*"
        r"|\b(?:par|en) retour (?:de|du) (?:ce |votre )?(?:mail|courriel|message)"
        r"|\bme (?:donner|communiquer|transmettre|dicter|envoyer|indiquer|faxer) (?:(?:le|son|leur|les|ses|leurs) |l')"
        r"(?:nouveaux? |provisoires? )?(?:mots?|mdp|codes?|acces|identifiants?)\b"
        r"|\bm'(?:envoy|transmet|communiqu|donn)\w*|\b(?:envoy|transmet|donn|communiqu)\w*[- ](?:le|la|les)[- ]moi\b"
        r"|\b(?:par|en) (?:mail|courriel|retour)\s+(?:en retour|directement|a moi)\b"
        r"|\b(?:envoy|transmet|communiqu)\w* (?:a moi|directement a moi|sur ma boite)"
        r"|\b(?:envoy|transmet|communiqu|donn|remet)\w*\b[^.\n]{0,50}\ba moi\b"
        r"|@(?:gmail|hotmail|yahoo|outlook|live|laposte|orange|free|sfr|wanadoo|icloud|proton\w*)\."
        r"|\b(?:adresse|boite|mail|messagerie|courriel|e-mail)s? (?:mail |e-mail |electronique )?(?:perso\w*"
        r"|privee?s?)\b"
        r"|(?<!depuis son )(?<!depuis mon )(?<!depuis sa )(?<!avec son )(?<!avec mon )"
        r"\b(?:portable|mobile|telephone) (?:perso\w*|prive)\b"
        r"|\bsur (?:cette|ma|la) boite(?:-ci)?\b|\bne (?:le|la|les) (?:lui|leur) (?:communiqu|donn|transmet|envoy)\w*"
        r"|\b(?:envoy|transmet|communiqu|donn)\w*-le\s+(?:uniquement|seulement|plutot)?\s*a\b"
        # "réinitialiser et le transmettre à sa responsable", "qui le lui donnera": the password through a third person
        r"|\b(?:le|la|les|l')\s*(?:transmet\w*|envoy\w*|communiqu\w*|donn\w*|remett\w*)\s+(?:a|au|aux)\s+"
        r"(?!l'interesse|l'agent|la personne|lui\b|elle\b|eux\b)"
        r"|\bqui (?:le|la|les|l') ?(?:lui|leur) (?:donnera|transmettra|remettra|communiquera|donne|transmet|remet)\b"
        # "me communiquer son nouveau mot de passe", "je le lui transmettrai": someone else's password, through me
        rf"|\b(?:me|nous) (?:\w+ ){{0,2}}?(?:communiqu|transmet|envoy|donn|indiqu|fair\w* parvenir)\w*\b[^.\n]{{0,30}}"
        rf"\b(?:son|sa|leur|leurs) (?:nouveau |nouvel |provisoire )?{_PASSWORD}"
        r"|\bje (?:le|la|les) (?:lui|leur) (?:donnerai|transmettrai|remettrai|communiquerai|ferai passer)\b"
        r"|\b(?:envoy|transmet|communiqu|donn)\w*\s+(?:\w+\s+){0,3}?(?:a|au|aux)\s+(?:sa|son|leur|notre|ma|mon|la"
        r"|le)\s+"
        r"(?:responsable|manager|chef|cheffe|directeur|directrice|collegue|assistante?|secretaire|tuteur|tutrice)\b",
        confidence=0.6,
    ),
    _guard(
        "authority_pressure",
        None,
        "pressure to skip the checks (sautez les vérifications, le directeur exige)",
        r"\b(?:saut\w*|zapp\w*|oubli\w*|(?<!mot de )(?<!mots de )pass\w*|ignor\w*|eviter?|sans)\s+(?:\w+\s+){0,2}?"
        r"(?:verifications?|controles?|procedures?|etapes?|validations?)\b"
        r"|\bpas (?:le )?temps (?:pour|de) (?:les |la |faire les |vos |ces |des )?(?:verifications?|controles?"
        r"|procedure)"
        r"|\b(?:le |la |notre |mon |ma )?(?:directeur|directrice|dg|president\w*|prefet|ministre)\b[^.\n]{0,30}"
        r"(?<!la )(?<!sa )(?<!une )(?<!ma )(?<!cette )(?<!de )(?<!votre )(?<!notre )"
        r"\b(?:exige|attend|veut|insiste|ordonne)\w*"
        r"|\b(?:directeur|directrice|dg|president\w*|prefet|ministre)\s+qui\s+(?:le\s+|l')?(?:demande|exige)\b"
        r"|\bpas de (?:verif\w*|controles?)\b"
        r"|\bsans (?:\w+ )?(?:rappel|controle|verification|validation|contre-appel)s?\b|\bni (?:rappel|controle"
        r"|verification)s?\b"
        r"|\bje vous interdis\b|\bfaites-le,? c'est tout\b"
        r"|\bfaute de quoi\b|\bj'en refere\w*|\ben referer\w*|\bsinon je\b|\bje (?:porterai|remonterai)\b"
        r"|\b(?:procedure|processus) de (?:verification|securite|controle)\b",
        confidence=0.5,
    ),
    _guard(
        "access_disguised",
        None,
        "rights or access to a resource rather than the account (débloquer les droits, l'accès au partage)",
        rf"\b(?:{UNLOCK_VERB})\s+(?:l'|les\s+|ses\s+|son\s+|leur\s+|leurs\s+|des\s+)?(?:acces|droits?|habilitations?"
        r"|permissions?|autorisations?)\b(?!\s+(?:a|au|de|sur)\s+(?:sa|son|leur|la|le)?\s*(?:session|compte|poste"
        r"|ordinateur|pc)\b)"
        r"|\b(?:boite|bal|messagerie|dossier|repertoire|partage|sharepoint|onedrive|groupe)s?\s+(?:\w+\s+){0,2}?"
        r"(?:partagee?s?|commune?s?|collective?s?)\b|\bsharepoint\b|\bonedrive\b|\blecteur (?:reseau|partage)\b",
        confidence=0.5,
    ),
    _guard(
        "disabled_account",
        None,
        "a disabled, deleted or expired account, not a locked one (désactivé, fin de contrat)",
        r"\b(?:comptes?|sessions?|acces|identifiants?),?\s+(?:\w+\s+){0,4}?(?:a ete |est |sont |ont ete |a |ont )?"
        r"(?:desactive|supprime|archive|cloture|suspendu|ferme)e?s?\b"
        r"(?!\s+ou\s+(?:bloque|verr))"
        r"|(?<!du )(?<!de )\bcomptes?\s+(?:\w+\s+){0,3}?(?:a |est |sont |ont )?(?<!mdp )(?<!passe )expiree?s?\b"
        r"|\b(?:mon|son|leur|ses|mes) ancien(?:ne)?s? (?:comptes?|sessions?|identifiants?)\b|\bj'ai quitte\b"
        r"|\b(?:est|sont) parti(?:e|s|es)? (?:le mois dernier|la semaine derniere|definitivement|de la structure"
        r"|de l'agence|du service)\b"
        r"|\bparti(?:e|s|es)?\s+(?:a la|en)\s+retraite\b|\ba quitte (?:la structure|l'agence|le service|ses fonctions"
        r"|nos effectifs|l'entreprise|la mission locale)\b|\b(?:son|sa|leur) rempla\w+\s+(?:l'|le |la |puisse|pourra)"
        r"|\b(?:fin|issue|terme) (?:de |du )(?:son |leur |sa )?(?:precedent |dernier |ancien )?(?:contrat|cdd|mission"
        r"|stage)\b"
        r"|\b(?:reprise|retour|embauche|reintegr\w*) (?:en|de|sous) (?:cdd|cdi|contrat)\b",
        confidence=0.5,
    ),
    _guard(
        REACTIVATION_GUARD,
        None,
        "an account to reactivate, with no lock described: maybe disabled (réactiver)",
        r"\breactiv\w*\b(?!\s+(?:de\s+)?(?:la |sa |leur |ma |les |ses )?sessions?\b)",
        confidence=0.5,
    ),
    _guard(
        "request_status",
        INFO,
        "asks whether an earlier request was received or handled (ma demande a-t-elle été prise en compte ?)",
        r"\bconfirmer que (?:ma|notre|la|cette) demande\b|\bavez-vous (?:bien )?recu (?:ma|notre) demande\b"
        r"|\bma demande (?:\w+ ){0,3}?(?:a|a-t-elle) (?:bien )?ete (?:prise en compte|recue|traitee|enregistree)"
        r"|\bou en est (?:ma|notre|la|cette) demande\b",
        confidence=0.7,
    ),
    _guard(
        "third_party",
        None,
        "written by a relative or friend of the account's owner, not by a colleague",
        r"\bje suis (?:le mari|la femme|l'epou\w+|le conjoint|la conjointe|le compagnon|la compagne|le pere|la mere"
        r"|le fils|la fille|le frere|la soeur|un proche|une proche|un ami|une amie|son ami|son amie)\b"
        r"|\b(?:de|pour) (?:mon mari|ma femme|mon epou\w+|mon conjoint|ma conjointe|mon fils|ma fille|ma mere"
        r"|mon pere)\b",
        confidence=0.5,
    ),
    _guard(
        "lockout_source",
        None,
        "recurring lock-outs or their source asked (se reverrouille en boucle, d'où viennent les tentatives)",
        r"\bd'ou (?:vien\w*|provien\w*)\b"
        r"|\b(?:la |l')?(?:source|origine|(?<!a )cause)s? (?:du |des |de ce |de ces |de la )"
        r"(?:lockout|blocage|verrouillage|tentative)s?\b"
        r"|\bquel(?:le)?s? (?:appareil|poste|service|equipement|machine)s? (?:\w+ )?"
        r"(?:envoi|provoqu|bloqu|verrouill)\w*"
        r"|\b(?:bloqu|verr?ouill|blocage|verrouillage)\w*\s+(?:\w+\s+)?(?:en boucle|a repetition)\b"
        r"|\bse (?:re)?(?:bloqu|verrouill)\w* (?:toutes les|tous les|chaque|sans arret|regulierement|sans cesse"
        r"|tout le temps)\b"
        r"|\bse rebloqu\w*|\bse reverrouill\w*"
        # "désactiver le verrouillage automatique sur son compte": the lock-out itself, not one lock
        r"|\b(?:desactiv|supprim|enlev|retir)\w*\s+(?:le |la |l')?(?:verrouillage|blocage)s?\s+"
        r"(?:automatique|definitivement|pour de bon)",
        confidence=0.5,
    ),
    _guard(
        "other_object",
        None,
        "something else than an account is locked (dossier, fichier, carte, domaine, téléphone)",
        rf"\b(?:{UNLOCK_VERB}|bloque\w*|verr?ouill\w*)[ \t]+(?:le |la |les |l'|ce |cette |son |sa |ses |un |une "
        rf"|notre |leur )?"
        r"(?:dossiers?|fichiers?|documents?|cartes?|badges?|telephones?|portables?|tablettes?|imprimantes?|portes?"
        r"|lignes?|commandes?|paiements?|factures?|domaines?|adresses? ip|ip|ports?|sites?|pages?|virements?"
        r"|cheques?|fiches?|formulaires?|agendas?|plannings?|rendez-vous|creneaux?|salles?|scanners?|chariots?"
        r"|ecrans?|claviers?)\b"
        r"|\b(?:dossiers?|fichiers?|documents?|cartes?|badges?|domaines?|lignes?|fiches?|formulaires?|agendas?"
        r"|plannings?"
        r"|virements?|paiements?)\s+(?:\w+\s+){0,4}?(?:est |sont |a ete |ont ete |reste |restent )?(?:toujours "
        r"|encore )?"
        r"(?:bloque|verr?ouill)\w*",
        confidence=0.5,
    ),
    _guard(
        DEVICE_LOCKED_GUARD,
        None,
        "a computer or device said to be locked or frozen, and no account said locked (PC bloqué, écran figé)",
        r"\b(?:pc|ordinateur|ordi|ecran|imprimante|scanner|clavier|souris|copieur|tablette|ipad|iphone|smartphone"
        r"|telephone|portable)\s+(?:\w+\s+)?"
        r"(?:est |reste |semble )?"
        r"(?:completement\s+|totalement\s+)?(?:bloque|fige|verr?ouill)\w*(?!\s+(?:sur|a)\s+(?:l'ecran|la page) de"
        r" (?:connexion|verrouillage))",
        confidence=0.5,
    ),
    _guard(
        "contact_change",
        None,
        "asks to change contact data (mettre à jour son mobile, nouveau numéro)",
        r"\b(?:mett\w*|mis)\s+a\s+jour\s+(?:\w+\s+){0,2}?(?:mobile|portable|numero|telephone|adresse|mail)"
        # "son ancien mot de passe enregistré sur son téléphone" describes a cause, it changes no contact data.
        # "elle a changé de téléphone", "jamais enregistré de numéro": what happened, not a change asked.
        r"|(?<!a )(?<!ont )(?<!avait )(?<!jamais )\b(?:chang\w*|modifi\w*|remplac\w*|ajout\w*|enregistr\w*)\s+"
        r"(?!sur\s)(?!de\s+(?:telephone|portable|mobile)\b)(?:\w+\s+){0,2}?"
        r"(?:mobile|portable|numero de (?:telephone|portable|mobile)|telephone|adresse (?:mail|de secours|perso\w*))"
        r"|\bnouveau numero\b|\bnouveau (?:portable|mobile)\s*:",
        confidence=0.5,
    ),
)

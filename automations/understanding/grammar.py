"""The French intent grammar: cue and guard regexes over folded text (lower case, no accents)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from automations.understanding.topics import APP, CLOSURE, INFO, OTHER_SYSTEM

UNLOCK = "unlock"
RESET = "reset_password"
ACCESS = "access_request"

_PASSWORD = r"(?:mots? de passe|mot-de-passe|mdp|password|pwd)"
_GAP = r"(?:\W+\w+){0,5}?\W+"
_SHORT_GAP = r"(?:\W+\w+){0,3}?\W+"
UNLOCK_VERB = r"de-?(?:bloqu|bloc|blok|bolqu|blqu|bloq)\w*|deve?r{1,2}o?u?il{1,2}\w*|unlock\w*"
RESET_VERB = r"re-?initiali[sz]\w*|reinit\w*|reset\w*|remettre a zero|raz"
_LOCKED = r"(?:bloque|bloke|verr?ouill?e|locked)(?:e|s|es)?\b"


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


@dataclass(frozen=True)
class Guard:
    """A reason not to act on the cues: it routes the request to ``route`` (sure at ``confidence``), or, when
    ``route`` is None, keeps the intent but caps its confidence at ``confidence`` and forbids automation."""

    name: str
    label: str
    pattern: re.Pattern[str]
    route: str | None
    confidence: float = 0.5


def _cue(intent: str, strength: Strength, label: str, pattern: str) -> Cue:
    return Cue(intent, strength, label, re.compile(pattern))


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
        rf"\b(?:comptes?|comtpes?|cptes?|cpts?|sessions?|acces|utilisat\w*|user|login|identifiant|{_PASSWORD}){_GAP}{_LOCKED}",
    ),
    _cue(
        UNLOCK,
        Strength.STATE,
        "someone described as locked",
        rf"\b(?:est|suis|sont|soit|serait|seraient|semble|reste|restent|retrouve|trouve|me|se|s'est)\s+(?:toujours\s+|encore\s+"
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
        UNLOCK,
        Strength.HINT,
        "account to reactivate (réactiver)",
        r"\breactiv(?:er|e|ez|ation)\b|\bdesactive(?:e|s)?\b",
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
        rf"|\b(?:oubli|perdu)\w*{_SHORT_GAP}{_PASSWORD}\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "provisional or temporary password (mot de passe provisoire)",
        rf"\b{_PASSWORD}\s+(?:provisoire|temporaire|temporaire)s?\b"
        rf"|\b(?:donn|redonn|remett|attribu|fourn|envoy|cre|fix|mett)\w*\s+(?:lui\s+|leur\s+|me\s+|m')?(?:en\s+)?"
        r"(?:un|une|des)\s+(?:nouveau|nouvel|autre)?\s*(?:provisoire|temporaire)s?\b",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "password no longer remembered (ne se souvient plus, zappé)",
        rf"\b(?:(?:souvien|rappel|retrouv|zapp|perim)\w*\s+(?:plus\s+|pas\s+)?|connai\w*\s+(?:plus|pas)\s+)"
        rf"(?:de\s+|du\s+)?(?:son|sa|mon|ma|leur|leurs|ses|mes|le|les)\s+{_PASSWORD}\b"
        rf"|\b(?:jamais|pas|toujours pas)\s+recu\s+(?:son|sa|mon|ma|ses|mes|le|les|de)\s+(?:\w+\s+)?{_PASSWORD}\b"
        rf"|\b{_PASSWORD}{_SHORT_GAP}(?:perime\w*|zappe\w*)",
    ),
    _cue(
        RESET,
        Strength.STRONG,
        "new one asked for a forgotten password (lui en remettre un)",
        r"\b(?:lui|leur|me|m'|nous)\s*en\s+(?:re)?(?:donn|remett|attribu|cre|fourn|envoy|gener|mett)\w*\s+"
        r"(?:un|une)\b(?:\s+(?:nouveau|autre|provisoire|temporaire))?",
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
        "added to or removed from a group, share or rights",
        r"\bajout\w*(?:\W+\w+){0,4}?\W+(?:groupe|dossier|liste de diffusion|partage)"
        r"|\bretir\w*\s+(?:\w+\s+){0,2}?(?:acces|droits)",
    ),
)

# A cue the writer denies: "elle ne veut pas changer de mot de passe", "son compte n'est pas verrouillé".
NEGATED = {
    RESET: re.compile(
        rf"\b(?:ne|n')\s*(?:\w+\s+)?(?:pas|plus|jamais)\s+(?:\w+\s+){{0,2}}?(?:chang\w*|{RESET_VERB}|modifi\w*)"
        rf"|\bsans\s+(?:le\s+|la\s+|les\s+|l')?(?:{RESET_VERB}|chang\w*)|\bconnai\w+\s+(?:bien\s+)?son\s+{_PASSWORD}"
        r"|\bpas (?:besoin|la peine) de (?:le |la |les |l')?(?:reinitialis|chang)\w*"
        r"|\b(?:apres|depuis|suite a)\s+(?:le |un |son |sa |la )?(?:changement|modification|renouvellement)\s+d"
        r"|\b(?:depuis|apres|quand|lorsqu'?)\s*(?:que\s+|qu')?(?:j'ai|il a|elle a|on a|avoir|ils ont)\s+"
        r"(?:change|modifie|renouvele)"
    ),
    UNLOCK: re.compile(r"\b(?:n'est|ne sont|n'etait)\s+pas\s+(?:\w+\s+)?(?:bloque|verr?ouill)\w*"),
}

# "il n'a plus accès à sa session" describes a lock-out, not a wish for new access.
ACCESS_SYMPTOM = re.compile(
    r"(?:\bplus|\bpas|\bn'|\bsans|\bperdu|\bperte\s+d'|\bson|\bmon|\bleur|\bses|\bmes|\bretrouver)\s*(?:d')?\s*$"
)

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
        r"|\bc'?est\s+(?:bon|ok|regle|resolu|fait|good)\b|\bmerci,?\s+c'?est\s+(?:bon|ok)\b"
        r"|\b(?:ca|cela|tout)\s+(?:re)?(?:fonctionne|marche)\s+(?:de nouveau|a nouveau|maintenant|bien|correctement)"
        r"|\bn'est plus\s+(?:bloque|verr)|\bregularis\w*|\bprobleme\s+(?:regle|resolu)"
        r"|\b(?:a|ai|avons|ont)\s+(?:pu|reussi a)\s+(?:se|me|nous)\s+(?:re)?connecter"
        r"|\bvous pouvez\s+(?:cloturer|fermer|clore|classer)|\bdeja\s+(?:ete\s+)?(?:debloque|fait|traite)"
        r"|\b(?:a|ai|avons|ont) retrouve (?:son|mon|ses|mes|leur)\s+(?:mot de passe|mdp|acces)"
        r"|\bfausse alerte\b|\bau temps pour moi\b|\bbien recu\b"
        r"|\b(?:mot de passe|mdp|compte|acces|session|tout)(?:\s+(?!ne\b|n'|pas\b|plus\b)\w+){0,2}\s+"
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
        rf"(?:{UNLOCK_VERB}|{RESET_VERB}|chang\w*|modifi\w*|touch\w*|fai\w*|trait\w*)"
        r"|\b(?:inutile|pas besoin|plus besoin|pas la peine|plus la peine|pas necessaire|plus necessaire)\b"
        r"(?!\s+d'autre)"
        r"|\bannul\w*\s+(?:ma\s+|la\s+|notre\s+|cette\s+|mon\s+|sa\s+)?(?:demande|ticket)"
        r"|\b(?:do not|don't)\s+(?:unlock|reset)",
        confidence=0.5,
    ),
    _guard(
        "how_question",
        INFO,
        "question about how to do it (comment faire pour)",
        r"\bcomment\s+(?:faire|fait-on|fait on|puis-je|puis je|pouvons|peut-on|peut on|on\s+(?:fait|peut)"
        r"|je\s+(?:peux|dois|fais)|debloq|deverr|reinitialis|changer|modifier|proceder|\w+-t-on|\w+-je|\w+-nous"
        r"|(?:un|une|les|nos|mes)\s+(?:agents?|utilisateurs?|collegues?|salaries?)\s+(?:peu\w+|doi\w+))"
        r"|\b(?:quelle est la|la|une) (?:procedure|demarche|marche a suivre)\b|\bprocedure pour\b"
        r"|\b(?:puis-je|pouvons-nous|peut-on)\s+(?:\w+\s+){0,2}?(?:debloq|deverr|reinitialis|reset)"
        r"|\bque (?:dois|doit|faut|devons)[- ]?(?:je|il|on|nous)?\s*(?:vous\s+)?(?:faire|transmettre|envoyer|fournir)\b"
        r"|\bqu'est-ce que je dois faire\b"
        r"|\bmoi-meme\b|\beux-memes\b|\belle-meme\b|\blui-meme\b|\bhow (?:do|can|to)\b",
        confidence=0.8,
    ),
    _guard(
        "info_question",
        INFO,
        "general question about lock-outs (combien de tentatives, panne générale)",
        r"\bcombien\b|\bau bout de combien"
        r"|\bse (?:re)?debloque\w* (?:tout seul|automatiquement|seul)|\ben general\s*\?",
        confidence=0.8,
    ),
    _guard(
        "test",
        "other",
        "announced as a test",
        r"\b(?:ceci est|c'est|ce message est)\s+un\s+(?:simple\s+)?(?:test|essai)\b",
        confidence=0.8,
    ),
    _guard(
        "policy_change",
        "other",
        "asks to change password policy (n'expire jamais)",
        r"\bn'?\s*expire\w*\s+(?:jamais|plus)|\bsans\s+expiration|\b(?:desactiver|supprimer)\s+l'expiration"
        r"|\bnever expire",
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
        rf"\b(?:{OTHER_SYSTEM})\b",
        confidence=0.8,
    ),
    _guard(
        "injection",
        None,
        "instructions addressed to the machine (ignore tes règles...)",
        r"\bignor\w*\s+(?:\w+\s+){0,3}?(?:regles|instructions|consignes|directives|procedures?|verifications?"
        r"|rules|instructions)\b|\b(?:tu es|you are) (?:un|une|an?|maintenant|desormais)\b|\bsystem\s*:"
        r"|\bassistant\s*:|\ben tant qu'(?:ia|assistant|intelligence)|\bprompt\b|\bmode (?:admin|debug|developpeur)"
        r"|\bsans (?:aucune )?verification\b|\bc'est un ordre\b|\bbypass\w*|\boverride\b",
        confidence=0.5,
    ),
    _guard(
        "privileged_target",
        None,
        "names an administrator, service or generic account",
        r"\b(?:adm|admin|root|svc|srv)[-_.][a-z0-9]+|\b(?:root|admin|adm\d+)\b"
        r"|\b(?:administrateur|administrator|domain admins?|admin du domaine|compte de service|krbtgt)\b",
        confidence=0.6,
    ),
    _guard(
        "partial_follow_up",
        None,
        "follow-up on an earlier request, partly solved (ça marche pour la première)",
        r"\b(?:ca|cela) (?:re)?(?:marche|fonctionne) pour (?:la|le|les|l')"
        r"|\bpour (?:la|le) (?:premiere?|deuxieme|second)\b",
        confidence=0.6,
    ),
    _guard(
        "thanks_after_the_fact",
        CLOSURE,
        "thanks for something already done (merci pour le déblocage)",
        r"(?<!avance )(?<!d'avance )\bmerci\s+(?:beaucoup\s+|bien\s+|encore\s+|infiniment\s+|mille fois\s+)?"
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
        r"\bquoi que ce soit\b|\bavant (?:de|d')\s*(?:faire|toucher|agir|proceder|lancer|intervenir|debloq\w*"
        r"|reinitialis\w*)|\bverifi\w*\s+(?:d'abord|avant|au prealable|si|que)\b"
        r"|\b(?:est|sont|etait|serait|a|ont)-(?:t-)?(?:il|elle|ils|elles)\s+(?:\w+\s+){0,2}?"
        r"(?:bloque|verr?ouill|desactiv|expir|suspendu|actif|active|ete|encore|toujours|bien)\w*"
        r"|\b(?:y a-t-il|s'agit-il)\b",
        confidence=0.6,
    ),
    _guard(
        "collective",
        None,
        "many people, a team or a shared mailbox at once, or a suspected phishing (toute l'équipe, 12 personnes)",
        r"\btout(?:e|es)?\s+(?:l'|la\s+|le\s+|les\s+|notre\s+|mon\s+|ma\s+)?(?:equipes?|services?|agences?"
        r"|structures?|antennes?|personnel|monde|site|pole|bureau|agents|collegues|conseillers|salaries"
        r"|utilisateurs|comptes|postes|membres)\b"
        r"|\b(?:[6-9]|\d{2,}|six|sept|huit|neuf|dix|onze|douze|treize|quatorze|quinze|seize|vingt|trente|cinquante"
        r"|cent)\s+(?:personnes|agents|comptes|collegues|utilisateurs|salaries|conseill\w+|stagiaires|postes"
        r"|sessions|membres)\b|\b(?:dizaine|douzaine|quinzaine|vingtaine|trentaine|centaine)\b"
        r"|\b(?:boite|compte|adresse|messagerie|session)s?\s+(?:\w+\s+)?(?:collective|generique|partagee|commune"
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
        r"\b(?:envoy\w*|transmet\w*|communiqu\w*|donn\w*)[^.\n]{0,40}\b(?:par sms|par telephone|sur (?:mon|ma|son|sa)"
        r" (?:adresse|boite|mail|portable) (?:perso\w*|gmail|privee?)|a cette adresse|sur cette adresse)"
        r"|\bme (?:l'|le |la |les )(?:envoy|transmet|communiqu|donn|fai)\w*|\bpar retour de (?:mail|courriel)"
        r"|\b(?:envoy|transmet|communiqu)\w* (?:a moi|directement a moi|sur ma boite)"
        r"|@(?:gmail|hotmail|yahoo|outlook|live|laposte|orange|free|sfr|wanadoo|icloud|proton\w*)\.",
        confidence=0.6,
    ),
    _guard(
        "authority_pressure",
        None,
        "pressure to skip the checks (sautez les vérifications, le directeur exige)",
        r"(?:saut\w*|zapp\w*|oubli\w*|pass\w*|ignor\w*|eviter?|sans)\s+(?:\w+\s+){0,2}?"
        r"(?:verifications?|controles?|procedures?|etapes?|validations?)\b"
        r"|\bpas (?:le )?temps (?:pour|de) (?:les |la |faire les )?(?:verifications?|controles?|procedure)"
        r"|\b(?:le |la |notre |mon |ma )?(?:directeur|directrice|dg|president\w*|prefet|ministre)\b[^.\n]{0,30}"
        r"\b(?:demande|exige|attend|veut|insiste|ordonne)\w*",
        confidence=0.5,
    ),
    _guard(
        "contact_change",
        None,
        "asks to change contact data (mettre à jour son mobile, nouveau numéro)",
        r"\b(?:mett\w*|mis)\s+a\s+jour\s+(?:\w+\s+){0,2}?(?:mobile|portable|numero|telephone|adresse|mail)"
        r"|\b(?:chang\w*|modifi\w*|remplac\w*|ajout\w*|enregistr\w*)\s+(?:\w+\s+){0,2}?"
        r"(?:mobile|portable|numero de (?:telephone|portable|mobile)|telephone|adresse (?:mail|de secours|perso\w*))"
        r"|\bnouveau (?:numero|portable|mobile|telephone)\b",
        confidence=0.5,
    ),
)

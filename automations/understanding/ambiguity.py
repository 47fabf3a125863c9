"""Lock or password? A wrong choice between unlock, reset_password and unlock_and_reset is a wrong action on an
account, and it was the commonest wrong ``auto`` on authors the rules had never seen: the text spoke of both the
lock and the password, and the grammar recognised only one of them. So a text that names the other vocabulary in a
sentence the grammar cannot explain goes to a person.

Explained, and so not ambiguous: for an unlock, a password mentioned as the cause of the lock (typed wrong, the old
one, several attempts, after the change campaign), as known or kept ("elle connaît son mot de passe"), or as not to
be reset; for a reset, a lock that is denied ("son compte n'est pas verrouillé").
"""

from __future__ import annotations

import re

from automations.understanding.grammar import NEGATED, PASSWORD_WORDS, RESET, UNLOCK

_PASSWORD = re.compile(rf"\b{PASSWORD_WORDS}\b")
_LOCK = re.compile(r"\b(?:de-?)?(?:bloq|bloc|blok|verr?ouil|lock|deverr|unlock)\w*|\bverrou\b")
# A sentence: what the explanation must share with the mention.
# "compte pas bloqué", "n'est pas verrouillé": a lock that is denied.
_LOCK_DENIED = re.compile(
    r"\b(?:pas|non|jamais|plus)\s+(?:\w+\s+)?(?:bloque|verr?ouill)\w*"
    # "je ne voudrais pas qu'elle finisse par bloquer son compte", "pour éviter de le bloquer": a lock feared.
    r"|\b(?:pas qu'\w+|eviter de|avant de|finisse par|finir par|risque de|risquer de)\s+(?:\w+\s+){0,3}?(?:se\s+)?"
    r"(?:bloqu|verr?ouill)\w*"
)
# "elle le connaît", "il connaît son mot de passe" (not "personne ne le connaît").
_PASSWORD_KNOWN = re.compile(
    r"(?<!ne )(?<!n')\b(?:le|la|l')\s*conna[i]t\b|(?<!ne )(?<!n')\bconnai\w*\s+(?:bien\s+)?(?:son|leur|sa)\s+"
    r"(?:mot de passe|mdp)\b"
)
_SENTENCE = re.compile(r"[^.;!?\n]+")
# "ce qui bloque la démarche": the verb with an object blocks something, it describes no account lock.
_LOCK_AS_A_VERB = re.compile(r"\bbloqu(?:e|ent|ait|aient)\s+(?:la|le|les|l')\s*(?!compte|session|acces|poste)\w{3,}")
# "ils restent bloqués sur l'écran de connexion": stuck, as an expired password leaves them too.
_STUCK_ON_A_SCREEN = re.compile(r"\bbloque\w*\s+(?:sur|devant|a)\s+l'ecran")
_PASSWORD_EXPLAINED = re.compile(
    r"\b(?:tap|saisi|tromp|erron|mauvais|faux|fausse|ancien|essai|tentative|erreur|plusieurs fois|trop de)\w*"
    r"|(?<!ne )(?<!n')\b(?:connai|conserv|garde|retrouv|dispos)\w*"
    r"|\b(?:a|ont|avons|ai)\s+(?:toujours\s+|bien\s+|tous\s+|toutes\s+|encore\s+|deja\s+|les deux\s+)*"
    r"(?:son|leur|leurs|mon|sa)\s+(?:nouveau\s+|bon\s+)?(?:mot de passe|mdp)"
    r"|\b(?:je l'ai|il l'a|elle l'a|ils l'ont|elles l'ont)\b(?!\s+(?:\w+\s+)?(?:oubli|perdu|change|modifi))"
    r"|\brat\w*|\bconnu\w*|\bincorrect\w*|\b(?:se|s'en) souvien\w*\s+(?:bien|tres bien|parfaitement)\b"
    # "le mot de passe reste inchangé", "il a bien noté son nouveau mot de passe"
    r"|\binchange\w*|\b(?:note|retenu|memorise)\w*|\ben (?:changeant|modifiant|renouvelant|tapant|saisissant)\b"
    # "s'est planté de mot de passe", "après la mise à jour de son mot de passe sur son téléphone", "un vieux mot de
    # passe enregistré", "il a changé son mot de passe trois fois", "la politique de mots de passe": causes.
    r"|\bplant\w*|\bmis\w* a jour\b|\bvieux\b|\benregistr\w*|\bpolitique\b|\bcaracteres\b"
    r"|\b(?:a|ont|avait|avaient)\s+(?:\w+\s+)?(?:change|modifie|renouvele)\s+(?:son|sa|leur|ses|le)\s+"
    r"(?:mot de passe|mdp)"
    # "le mdp de dupont-j est bloqué": the password named as what is locked, i.e. the account lock.
    r"|\b(?:mots? de passe|mdp|password)\s+(?:[\w'-]+\s+){0,4}?(?:est |sont |a ete |s'est )?(?:bloque|verr?ouill)\w*"
    r"|\b(?:bon|correct|meme) (?:mot de passe|mdp)\b|\bcorrect\b"
    # "son mot de passe est bon", "les mots de passe sont bons", "elle a ripé sur son mdp": known, or mistyped.
    r"|\b(?:mots? de passe|mdp)\s+(?:est|sont)\s+(?:bien\s+)?(?:bons?|ok|valides?)\b|\brip(?:e|ee|es|er|ait)\b"
    r"|\ba bien (?:son|leur|sa)\b"
    r"|\b(?:apres|depuis|suite a|suite au|suite aux|lors du|lors de la|lors d'un|lors de)\s+"
    r"(?:le |la |un |une |son |sa |leur |les |leurs )?"
    r"(?:changements?|campagnes?|renouvellements?|modifications?|bascules?|passages?)"
    # "she mistyped her password a few times", "her old phone still syncs the old password"
    r"|\b(?:mistyp|typed|wrong|old|attempt|tries|tried|sync)\w*"
    r"|\b(?:depuis|apres|quand|lorsqu'?)\s*(?:que\s+|qu')?(?:j'ai|il a|elle a|on a|avoir|ils ont|elles ont)\s+"
    r"(?:change|modifie|renouvele)"
)


def _sentences_with(pattern: re.Pattern[str], text: str) -> list[str]:
    return [s.group(0) for s in _SENTENCE.finditer(text) if pattern.search(s.group(0))]


def unexplained_other_vocabulary(intent: str, text: str) -> str | None:
    """For an unlock, a password sentence the grammar cannot explain; for a reset, a lock sentence it cannot
    explain (``text`` is the folded, greeting-masked new text). None when there is none."""
    if intent == UNLOCK:
        for sentence in _sentences_with(_PASSWORD, text):
            if not (_PASSWORD_EXPLAINED.search(sentence) or NEGATED[RESET].search(sentence)):
                return "a password is mentioned but no reset was recognised"
    elif intent == RESET:
        if _PASSWORD_KNOWN.search(text):
            return "the password is known: a change the person can make, or not a reset"
        for sentence in _sentences_with(_LOCK, _STUCK_ON_A_SCREEN.sub(" ", _LOCK_AS_A_VERB.sub(" ", text))):
            if not (NEGATED[UNLOCK].search(sentence) or _LOCK_DENIED.search(sentence)):
                return "a lock is mentioned but no unlock was recognised"
    return None

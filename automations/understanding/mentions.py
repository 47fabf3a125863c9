"""Find who a request is about: account identifiers introduced by a cue, e-mail addresses, people's names."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from automations.understanding import Mention
from automations.understanding.dictionary import is_everyday_word, is_unknown_word
from automations.understanding.first_names import is_first_name
from automations.understanding.folding import fold
from automations.understanding.grammar import RESET_VERB, UNLOCK_VERB
from automations.understanding.lexicon import is_french_word, looks_like_a_word
from automations.understanding.tables import listed_people

_EMAIL = re.compile(r"\b[a-z0-9](?:[a-z0-9._%+'-]{0,62}[a-z0-9])?@(?:[a-z0-9-]+\.)+[a-z]{2,24}\b")
# A login stands alone: not the start of an address ("jean.dupont@...") nor of a longer word.
_TOKEN = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?(?![\w'@-]|\.\w)")
# Cues after which a login is expected even when written with a capital letter or as digits.
_STRONG_CUE = (
    r"identifiants?|id(?:\s+ad)?|logins?|matricules?|upn|samaccountname|sam|nom d'utilisateur|usernames?"
    r"|user ?id"
)
_WEAK_CUE = (
    rf"(?:mots? de passe|mdp|comptes?|sessions?)\s+(?:de\s+|d'|du\s+)|comptes?|sessions?|users?"
    r"|(?:mots? de passe|mdp)(?=\s+(?:oubliee?s?|perdue?s?|expiree?s?|bloquee?s?)\b)"
    rf"|utilisat(?:eur|rice)s?|{UNLOCK_VERB}|{RESET_VERB}|comtpes?|conptes?|cptes?|cpts?|konts?|c'est|c(?= pour)"
    r"|il s'agit (?:de|du|d')"
    r"|(?:celui|celle|ceux|celles)\s+(?:de\s+|d'|du\s+)"
    r"|(?:l')?(?:agente?s?|conseill(?:er|ere)s?|collegues?|salariee?s?|stagiaires?|collaborat(?:eur|rice)s?)"
    # "ont oublié leur mot de passe : ct29104 et bouchardj", "leurs mots de passe ont expiré entre-temps : a et b"
    r"|(?:oubliee?s?|perdue?s?)\s+(?:leurs?|son|sa|ses)\s+(?:mots? de passe|mdp)(?=[ \t]*:)"
    r"|(?:ont|a|sont|est)\s+(?:expiree?s?|oubliee?s?|bloquee?s?|verrouillee?s?)(?:\s+[\w-]+){0,2}?(?=[ \t]*:)"
)
_FILLER = (
    r"(?:[ \t]+(?:ad|windows|concernee?s?|suivante?s?|utilisateurs?|a debloquer|a deverrouiller|de connexion"
    r"|a reinitialiser|est|sont|no|numero|demandee?|exacte?|concernee?|bloquee?s?|verrouillee?s?|mdp|mot de passe"
    r"|du compte|le compte|de l'agent|l'agent|de notre|notre|de nouveau|toujours|encore|blokee?s?"
    r"|la session|de|du|pour|le|la|l'|oubliee?s?|perdue?s?|expiree?s?|password|pwd|pass|of|for|the|bien)\b|[ \t]*n°)*"
)
# "Réinit. MDP pmoreau": an abbreviated cue keeps its dot.
_CUE = re.compile(rf"\b(?:(?P<strong>{_STRONG_CUE})|(?P<weak>{_WEAK_CUE}))\b\.?{_FILLER}")
_LEAD = re.compile(r"[ \t]*(?:[:=][ \t]*(?:\n[ \t]*)?)?(?:[-*•·][ \t]+|[→>][ \t]*)?")
_NEXT = re.compile(
    r"[ \t]*(?:,|;|/|&|\+|\bet\b|\bou\b)[ \t]*|[ \t]*\n[ \t]*(?:[-*•·]|[→>])[ \t]*"
    # A bare list, one login per line: the next line holds one token and nothing else.
    r"|[ \t]*\n[ \t]*(?=[a-z0-9][a-z0-9._-]*[a-z0-9][ \t]*(?:\n|$))"
)
# "pour langloxa, merci" ("pr" in a hurry): a login after "pour" only when it ends the phrase.
_POUR_LOGIN = re.compile(
    r"\b(?:pour|pr)[ \t]+([a-z0-9][a-z0-9._-]{1,62}[a-z0-9])(?![\w@-]|\.\w)"
    # A plain word after "pour" is a login only at the end of the phrase; one with digits or dots always is.
    r"(?:(?=[ \t]*(?:[,.;:!?\n]|$|(?:merci|svp|stp|dsl|asap|please|pls)\b))|(?<=\d)|(?<=[a-z0-9][._-][a-z0-9]))"
)
_PAREN_CUE = re.compile(
    r"\b(?:comptes?|sessions?|acces|mot de passe|mdp|utilisat\w*|collegue\w*|conseill\w*|agent\w*|apprenti\w*"
    r"|stagiaire\w*|salarie\w*|personnes?|collaborat\w*)\b"
    r"[^()\n.?!]{1,80}\(\s*$"
)
_CAPITALISED_BEFORE = re.compile(r"\b[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+)*[ \t]*$")
_PAREN_TOKEN = re.compile(r"\(\s*([a-z0-9][a-z0-9._-]{0,62}[a-z0-9])\s*\)")

_STOP_WORDS = """
    a au aux avec ce ces cet cette ci d de des du elle elles en est et il ils je l la le les leur leurs lui ma
    me mes moi mon n ne nos notre nous on ou par pas plus pour qu que qui s sa se ses si son sont sur ta te tes
    toi ton tu un une vos votre vous y ont etait ete etre avoir fait
    svp stp merci urgent urgence asap rapidement vite aujourd hui maintenant demain depuis car mais donc
    bloque bloquee bloques bloquees verrouille verrouillee verrouilles debloque debloquer deverrouiller
    suivant suivants suivante suivantes ci-dessous ci-joint concerne concernee concernes utilisateur utilisateurs
    windows outlook office messagerie mail email e-mail ad vpn teams sap citrix intune azure entra
    active directory session sessions compte comptes acces mot passe mdp identifiant login user tout tous toute
    egalement aussi bien encore toujours deja nouveau nouvelle personnel professionnel pro
    quand lorsque lorsqu apres avant comme sans sous chez entre vers dont tres trop peu ici meme rien chaque
    plusieurs certains certaines autre autres celui celle ceux celles cela ca ceci lequel laquelle quel quelle
    afin alors ainsi puis ensuite enfin encore oui non ok urgente immediatement please pls thanks the my his her
    for of to and account password agent agents collegue conseiller conseillere stagiaire salarie salariee
    desactive desactivee active activee apparait comme hier matin soir semaine lundi mardi mercredi jeudi vendredi
    oublie oubliee perdu perdue expire expiree svp cdt cdlt cordialement bonjour info pb probleme depuis
    suite demande demandes pouvez pourriez pourrais peux mots equipe associe associee desormais dans bientot
    jours heures suis question deblocage reinitialisation test essai voici cas soucis souci bon regle ok fait
    resolu good reparti nos vos conseilleres conseillers personnes apprentis apprenties stagiaires collegues
    salaries salariees agentes collaborateurs collaboratrices
    needed required locked unlock reset room screen meeting help hello hi lockout lock verrou propre etage rdc
    formulaire fiche note appel inconnu inconnue etant got exemple example
"""
_STOP = frozenset(_STOP_WORDS.split())
_INTENT_WORD = re.compile(r"^(?:de-?|re-?)?blo[qk]|verr?ouill|^deve?r{1,2}o?u?il|^reinit|^reset|ment$|-meme$|-memes$")

_TITLE = r"(?:m\.|mr\.?|mme\.?|mlle\.?|monsieur|madame|mademoiselle)"
_NAME_CUE = re.compile(
    rf"\b(?:(?:comptes?|comtpes?|cptes?|sessions?|sesions?|acces|mots? de passe|mdp|identifiants?|boite|celui|celle)"
    r"(?:\s+(?:windows|ad|informatique|utilisateur|outlook|de messagerie))?\s+(?:de|d'|du|pour)\s*"
    rf"|pour\s+|{_TITLE}\s+"
    r"|(?:collegues?|conseill(?:er|ere)s?|agente?s?|utilisat(?:eur|rice)s?|salariee?s?|stagiaires?"
    r"|collaborat(?:eur|rice)s?|apprentie?s?|benevoles?|referente?s?)\s+"
    rf"|il s'agit (?:de|du compte de|d')[ \t]*|(?:{UNLOCK_VERB}|{RESET_VERB})[ \t]+"
    r"|(?:personne|utilisateur|agent)s?\s+concernee?s?\s*:\s*|nom\s*:\s*)"
)
_NAME_SUBJECT = re.compile(
    r"(?:^|(?<=[.!?,:]\s)|(?<=\n))(?P<name>(?:(?:[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+)*"
    r"|[A-ZÀ-ÖØ-Þ]{2,})[ \t]+)"
    r"(?:[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+)*|[A-ZÀ-ÖØ-Þ]{2,}))(?=[ \t,])"
    r"(?=[ \t]*(?:\([^()\n]{1,40}\)[ \t]*)?,?[ \t]*(?:est\b|a besoin|ont oubli|a oubli|a perdu|n'arrive"
    r"|ne (?:peut|parvient)|s'est|se retrouve"
    r"|a son compte|a bloqu|a verrouill|ne se souvient)"
    r"|(?:\([^()\n]{1,40}\))?[ \t]*:[ \t]*"
    r"(?:compte|mot de passe|mdp|session|identifiant|bloqu|verrouill|oubli|r[ée]init|d[ée]bloq))",
    re.MULTILINE,
)
_ONE_NAME = (
    r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+)*"
    r"(?:[ \t]+(?:[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+|[A-ZÀ-ÖØ-Þ]{2,})){1,2}"
)
# "sont bloquées : Hugo Haddad, Sandrine Marchand et Fatima Bouchard"
_NAME_LIST = re.compile(rf":[ \t]*(?P<list>{_ONE_NAME}(?:[ \t]*(?:,|\bet\b)[ \t]*{_ONE_NAME})+)")
_NAME_LIST_CUE = re.compile(r"(?:bloque|verrouill|suivant|concerne|personnes|agents|collegues|comptes)\w*[^:\n]{0,30}$")
_PARTICLES = frozenset(["Le", "La", "De", "Du", "Des", "Da", "Van", "Von", "Di", "Del"])
_TITLE_IN_TEXT = re.compile(r"(?:M\.|Mr\.?|Mme\.?|Mlle\.?|Monsieur|Madame|Mademoiselle)[ \t]+")
_NAME_WORD = re.compile(
    r"(?:[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+)*|[A-ZÀ-ÖØ-Þ]{2,}(?:-[A-ZÀ-ÖØ-Þ]{2,})*)(?![\w'])"
)
_NAME_STOP_WORDS = """
    merci bonjour bonsoir cordialement identifiant login compte il elle ils elles son sa ses le la les de du des
    pour svp urgent je nous vous on ce cette mission locale cap emploi ad sap citrix windows outlook teams vpn
    office intune azure entra et ou mais car pouvez pourriez peux serait est a au aux en sur dans avec
    mme mlle madame monsieur mr
"""
_NAME_STOP = frozenset(_NAME_STOP_WORDS.split())
_TITLE_GREETING = re.compile(r"[ \t]*(?:madame|monsieur|cher|chere)\b")
_GREETING = re.compile(r"(?m)^[ \t]*(?:(?:bonjour|bonsoir|hello|salut|coucou|hi|cher|chere|madame|monsieur)\b[ \t,]*)+")


@dataclass(frozen=True)
class Mentions:
    """Targets (lower-cased identifiers) and people's names, in order of appearance; ``mentions`` gives both
    with their kind ("login", "email", "name")."""

    targets: tuple[str, ...]
    names: tuple[str, ...]
    cues: tuple[str, ...]
    mentions: tuple[Mention, ...] = ()


def mask_greetings(text: str, folded: str) -> str:
    """Blank out "Bonjour Claire," openings in ``folded`` (same length) so they never yield a target or name."""
    chars = list(folded)
    # "BONJOUR MOT DE PASSE EXPIRE POUR ...": in a shouted text, capitals say nothing of a name after the greeting.
    names_follow = 0 if _shouted(text) else 3
    for match in _GREETING.finditer(folded):
        end = match.end()
        words: list[str] = []
        for _ in range(names_follow):
            word = _NAME_WORD.match(text, end)
            if word is None or word.group(0).lower() in _NAME_STOP:
                break
            words.append(word.group(0))
            end = word.end()
            end += len(text[end:]) - len(text[end:].lstrip(" \t"))
        rest = text[end:].split("\n", 1)[0].strip()
        opens_a_sentence = rest not in ("", ",", "!", ".", ":") and rest[:1] not in ",!.:"
        # "Madame Marie Caron, conseillère à notre antenne, a bloqué sa session": a first name and a surname, then
        # the sentence goes on; "Madame Dupont, pourriez-vous..." greets.
        described = len(words) >= 2 and is_first_name(fold(words[0])) and len(rest.split()) >= 5
        if _TITLE_GREETING.match(folded, match.start()) and end > match.end() and (opens_a_sentence or described):
            # "Madame Laurent Da Silva agent de..." opens a sentence about someone; "Madame Dupont," greets.
            continue
        if match.group(0).rstrip().endswith(",") and end > match.end() and opens_a_sentence:
            # "Bonjour, MATHIEU Mehdi (accueil) verrouillée": after the greeting's comma, a sentence about someone.
            continue
        if end < len(text) and text[end] in ",!.:":
            end += 1
        chars[match.start() : end] = " " * (end - match.start())
    return "".join(chars)


_ORDINAL = re.compile(r"\d{1,3}(?:e|er|ere|eme|nd|nde|bis)")
_TIMES = re.compile(r"x\d{1,2}|\d{1,2}x")
# ServiceNow and other desks' references: incidents, requests, changes, problems, tasks.
_TICKET_NUMBER = re.compile(r"(?:inc|req|ritm|chg|prb|sctask|task|tkt|ticket)\d{4,}")
# "débloquer svpp", "merciii": politeness typed in a hurry.
_POLITE = re.compile(r"(?:svp|stp|pls|plz)p*|merci+|mrc+")


def _valid_token(token: str, original: str, strong: bool) -> bool:
    # An ordinary French word ("quoi", "lien", "collective", "est-il") is never a login, whatever the cue.
    if len(token) < 2 or token in _STOP or _INTENT_WORD.search(token) or is_french_word(token):
        return False
    if token.isdigit():
        return strong and len(token) >= 4
    if any(p.fullmatch(token) for p in (_ORDINAL, _TIMES, _TICKET_NUMBER, _POLITE)):
        return False  # "2e étage", "1er", "déblocage x2", "[INC0055512]"
    if not strong and looks_like_a_word(token):
        return False
    # A capitalised word after "compte"/"débloquer" is a name or a product, not a login; so is a surname in
    # capitals ("compte verrouillé BESNARD Brigitte").
    capitalised = original[:1].isupper() and any(c.islower() for c in original[1:])
    shouted = original.isalpha() and original.isupper()
    return strong or not (capitalised or shouted)


def _valid_login(token: str, text: str, match: re.Match[str]) -> bool:
    original = text[match.start(1) : match.end(1)]
    return _valid_token(token, original, False) and token not in _POUR_STOP


# "martini mdp oublié", "kaya-m de nouveau bloqué": a login right before the state it is in.
_LOGIN = r"[a-z][a-z0-9._-]{1,30}[a-z0-9](?![\w@-]|\.\w)"
_LOGIN_BEFORE_STATE = re.compile(
    rf"(?<![\w@.'-])({_LOGIN}(?:[ \t]*(?:,|\bet\b)[ \t]*{_LOGIN})*)(?:[ \t]*(?:[=:]|->|=>|→)[ \t]*|[ \t]+)"
    r"(?:(?:mdp|mot de passe|compte|session|account|user)[ \t]+)?"
    r"(?:(?:est|sont|a|ont|a ete|ont ete|de nouveau|toujours|encore|a nouveau)[ \t]+)*"
    r"(?:bloquee?s?|blokee?s?|verrouillee?s?|oubliee?s?|expiree?s?|locked|lock)\b"
    # "jdupont s'est bloqué ce matin", "jdupont s'est fait verrouiller"
    rf"|(?<![\w@.'-])({_LOGIN})[ \t]+(?:s'est|se sont|se retrouve|se retrouvent)[ \t]+(?:\w+[ \t]+){{0,2}}?"
    r"(?:bloquee?s?|verrouillee?s?|bloquer|verrouiller)\b"
    # "dblanchard a perdu son mot de passe", "jr77120 ne se souvient plus de son mdp", "lgarcia2 a tout simplement
    # oublié le sien"
    rf"|(?<![\w@.'-])({_LOGIN})[ \t]+(?:a|ont)[ \t]+"
    r"(?:(?:tout simplement|simplement|encore|aussi|juste|completement)[ \t]+)?"
    r"(?:oublie|perdu|zappe)[ \t]+(?:son|sa|ses|leur|leurs|le|les)\b"
    rf"|(?<![\w@.'-])({_LOGIN})[ \t]+ne[ \t]+(?:connait|se souvient|se rappelle)[ \t]+plus\b"
)
_GROUP_SEP = re.compile(r"[ \t]*(?:,|\bet\b)[ \t]*")
# "Mon identifiant est écrit sur le post-it : gerarda.": the login after a colon that ends the cue's sentence (never
# after a password word: "identifiant et mot de passe : ..." would give the password).
_CUE_THEN_COLON = re.compile(
    r"\b(?:identifiants?|logins?|nom d'utilisateur)\b(?:(?!passe|mdp|code)[^.\n:?!]){1,60}:[ \t]*"
    r"([a-z0-9][a-z0-9._-]{0,62}[a-z0-9])(?![\w@-]|\.\w)(?=[ \t]*(?:[.,;!?\n]|$))"
)
# "mdp bbouchard", "gguerin mdp": a subject naming a login next to the account's words.
_SUBJECT_LOGIN = re.compile(
    r"\A[ \t]*(?:(?:[^\n]*?\b(?:mdp|mot de passe|compte|session|reinit\.?|reset)[ \t]+)([a-z][a-z0-9._-]{1,30}[a-z0-9])"
    r"[ \t]*(?:\n|$)|([a-z][a-z0-9._-]{1,30}[a-z0-9])[ \t]+(?:mdp|mot de passe|compte|session|bloquee?)[ \t]*(?:\n|$))"
)
# "[colince] déverrouillage": a login in brackets opening the subject.
_SUBJECT_TAG = re.compile(r"\A[ \t]*\[[ \t]*([a-z][a-z0-9._-]{1,30}[a-z0-9])[ \t]*\]")
# A short message whose login stands alone on its line ("Bonjour\ndenisf\ncompte verrouillé").
_LONE_LOGIN = re.compile(r"(?m)^[ \t]*([a-z][a-z0-9._-]{2,30}[a-z0-9])[ \t]*$")
_POUR_STOP_WORDS = "info information moi lui elle eux nous vous cela ca tous toutes demain lundi mardi"
_POUR_STOP = frozenset(_POUR_STOP_WORDS.split())


_NEXT_NAME_WORD = re.compile(r"[ \t]+[A-ZÀ-ÖØ-Þ]")


def _cued_tokens(text: str, folded: str) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for cue in _CUE.finditer(folded):
        strong = cue.group("strong") is not None
        pos = _LEAD.match(folded, cue.end())
        at = pos.end() if pos else cue.end()
        while True:
            token = _TOKEN.match(folded, at)
            if token is None or not _valid_token(token.group(0), text[token.start() : token.end()], strong):
                break
            if _NAME_WORD.fullmatch(text, token.start(), token.end()) and _NEXT_NAME_WORD.match(text, token.end()):
                # "identifiant : Sylvie Mercier, mercier-s": capitalised words in a row are a name, not a login.
                break
            found.append((token.start(), token.group(0)))
            sep = _NEXT.match(folded, token.end())
            if sep is None:
                break
            at = sep.end()
    return found


def _names(text: str, folded: str) -> list[tuple[int, int, str]]:
    found: list[tuple[int, int, str]] = []
    for cue in _NAME_CUE.finditer(folded):
        at = cue.end()
        title = _TITLE_IN_TEXT.match(text, at)
        if title is not None:
            at = title.end()
        words: list[str] = []
        end = at
        while len(words) < 3:
            word = _NAME_WORD.match(text, end)
            if word is None:
                break
            if folded[word.start() : word.end()] in _NAME_STOP:
                # "Didier Le Gall": a particle belongs to the name when a surname follows it.
                follow = _NAME_WORD.match(text, word.end() + 1)
                if not (words and word.group(0) in _PARTICLES and follow and text[word.end()] == " "):
                    break
            words.append(word.group(0))
            end = word.end()
            gap = re.match(r"[ \t]+", text[end:])
            if gap is None or _NAME_WORD.match(text, end + gap.end()) is None:
                break
            end += gap.end()
        end = at + len(text[at:end].rstrip())
        # "Mme Traoré" alone names no one the directory can resolve: a first name and a surname are needed.
        if len(words) >= 2:
            found.append((at, end, " ".join(words)))
    return found


# "débloquer marie durand svp": a lower-case first name and surname after a cue, ending the phrase.
_LOWER_WORD = r"[a-zà-öø-ÿ]{2,}(?:-[a-zà-öø-ÿ]{2,})?"
_LOWER_NAME = re.compile(
    rf"({_LOWER_WORD})[ \t]+({_LOWER_WORD})(?=[ \t]*(?:[,.;:!?()\n]|$|(?:merci|svp|stp|asap|est|sont|a|elle|il"
    r"|bloquee?s?|verrouillee?s?)\b))"
)


def _lower_case_names(text: str, folded: str) -> list[tuple[int, int, str]]:
    """Names written in lower case right after a name cue; neither word may be a French word or a stop word."""
    found: list[tuple[int, int, str]] = []
    for cue in _NAME_CUE.finditer(folded):
        # Matched on the fold ("bloqué" ends the name too), kept only if written in lower case.
        match = _LOWER_NAME.match(folded, cue.end())
        if match is None or text[match.start() : match.end()] != text[match.start() : match.end()].lower():
            continue
        words = [fold(word) for word in match.groups()]
        if any(
            is_french_word(w) or is_everyday_word(w) or w in _STOP or w in _NAME_STOP or _INTENT_WORD.search(w)
            for w in words
        ):
            continue
        found.append((match.start(), match.end(), text[match.start() : match.end()]))
    return found


def _shouted(text: str) -> bool:
    """Most letters in capitals: case says nothing about names and logins ("RESET MDP POUR JDURAND")."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 12 and sum(c.isupper() for c in letters) >= 0.7 * len(letters)


_CAP_WORD = r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+)*"
_UPPER_WORD = r"[A-ZÀ-ÖØ-Þ]{2,}(?:-[A-ZÀ-ÖØ-Þ]{2,})*"
_SURNAME = rf"(?:(?:Le|La|De|Du|Da|Des|Van|Von|Di|Del|Dos|Ben|El|Mac)[ \t]+)?(?:{_CAP_WORD}|{_UPPER_WORD})"
# "Julie Martin", "Julie MARTIN", "Julie Da Silva", "MARTIN Julie", "julie martin": one word a known first name.
_GAZETTEER_NAME = re.compile(
    rf"(?<![\w@.'-])(?:(?P<first>{_CAP_WORD})[ \t]+(?P<last>{_SURNAME})"
    rf"|(?P<upper>{_UPPER_WORD})[ \t]+(?P<given>{_CAP_WORD})"
    r"|(?P<lfirst>[a-zà-öø-ÿ]{2,}(?:-[a-zà-öø-ÿ]{2,})?)[ \t]+"
    r"(?P<llast>(?:(?:le|la|de|du|da|des|van|von|di|del|dos|ben|el|mac)[ \t]+)?[a-zà-öø-ÿ]{3,}(?:-[a-zà-öø-ÿ]{2,})?))"
    r"(?![\w'@-]|\.\w)"
)
# The person who asked, validated or signed is not the account concerned.
# ("la responsable de Virginie Haddad" is Virginie's manager writing: the name after "de" is the person concerned.)
_NOT_TARGET_BEFORE = re.compile(
    # (spaces only: "Demande" ending the subject line does not sign for the name opening the body)
    r"(?:\b(?:demande|part|signe|valide|validee|accord|copie|cc|remplac"
    r"|transmis|envoye|ecrit|appele|contacte|avec|aupres|je suis|je m'appelle|moi c'est|ici)\w*[ \t]+(?:de[ \t]+|d'"
    r"|du[ \t]+|par[ \t]+|a[ \t]+)?"
    r"|\b(?:responsable|manager|directeur|directrice|chef|cheffe|tuteur|tutrice|referente?)\w*[ \t]+"
    r"(?:c'est[ \t]+|est[ \t]+)?)"
    r"(?:m\.[ \t]*|mme[ \t]+|monsieur[ \t]+|madame[ \t]+)?$|\bpar[ \t]+$"
)


def _gazetteer_names(text: str, masked: str) -> list[tuple[int, int, str]]:
    """People named "Prénom Nom" (any case) whose first name is a common French first name."""
    found: list[tuple[int, int, str]] = []
    # Tried at every word, so that "de fabrice barbier" is not read as "de fabrice" then "barbier".
    matches = (_GAZETTEER_NAME.match(text, word.start()) for word in _WORD_START.finditer(text))
    taken = 0
    for match in matches:
        if match is None or match.start() < taken:
            continue
        if not masked[match.start() : match.end()].strip() or masked[match.start()] == " ":
            continue  # inside a greeting that was blanked
        if match.group("first"):
            first, last = match.group("first"), match.group("last")
        elif match.group("upper"):
            first, last = match.group("given"), match.group("upper")
        else:
            first, last = match.group("lfirst"), match.group("llast")
            folded_last = fold(last)
            if is_french_word(folded_last) or is_everyday_word(folded_last):
                continue
            if folded_last in _STOP or folded_last in _NAME_STOP:
                continue
        folded_first, folded_last = fold(first).lower(), fold(last).lower()
        if match.group("first") and not is_first_name(folded_first) and is_first_name(folded_last):
            # "Leroy Sandrine": the surname first, then the first name.
            folded_first, folded_last = folded_last, folded_first
        if not is_first_name(folded_first) or folded_last in _NAME_STOP or is_french_word(folded_last.split()[-1]):
            continue
        if _NOT_TARGET_BEFORE.search(masked[max(0, match.start() - 40) : match.start()]):
            continue
        found.append((match.start(), match.end(), match.group(0)))
        taken = match.end()
    return found


_WORD_START = re.compile(r"(?<![\w@.'-])\w")
# Shapes that only logins take: "f.mercier", "mercier-s", "ab12345", "jdupont3" (letters then digits), and
# generated ones mixing letters and at least three digits ("t4f51b97668").
_LOGIN_SHAPE = re.compile(
    r"(?<![\w@.'/-])([a-z]{1,3}[._-][a-z]{3,20}\d{0,3}|[a-z]{3,20}[._-][a-z]{1,3}\d{0,3}"
    r"|[a-z]{3,20}\.[a-z]{3,20}\d{0,3}"
    r"|[a-z]{1,4}\d{4,8}|[a-z]{4,20}\d{1,3}|[a-z](?=(?:[a-z]*\d){3})[a-z0-9]{5,19})(?![\w@-]|\.\w)"
)
_NOT_LOGIN_SHAPE = re.compile(
    r"^(?:inc|req|ritm|chg|tkt|prb|ref|ticket|win|office|v)\d|\.(?:fr|com|net|org|local|pdf|docx?|xlsx?)$"
    r"|^(?:sign|log|check|opt|set|plug|add|follow|call|pop)-(?:in|on|out|up|back)$"
)
# "lbrun a un message", "kdurand n'arrive plus": a login opening a sentence, before what happens to it.
_LOGIN_SUBJECT = re.compile(
    r"(?:^[ \t]*|(?<=[.!?,:;]\s)|(?<=\bbonjour\s)|(?<=\bbjr\s)|(?<=\bet\s)|(?<=\bquand\s)|(?<=\blorsque\s)"
    r"|(?<=\bcontre\s)|(?<=\bmais\s))([a-z][a-z0-9._-]{2,30}[a-z0-9])"
    r"[ \t]+(?:a|est|n'arrive|n'a (?:plus|pas|jamais)|ne peut|ne parvient|s'est|ne se souvient|ne connait|aussi"
    r"|egalement|tape|essaie|se connecte|n'a)\b",
    re.MULTILINE,
)


def _fallback_logins(text: str, masked: str) -> list[tuple[int, str]]:
    """Logins with no cue: shapes only logins take, or a non-word opening a sentence about what happened to it."""
    found: list[tuple[int, str]] = []
    for match in _LOGIN_SHAPE.finditer(masked):
        token = match.group(1)
        if not _NOT_LOGIN_SHAPE.search(token) and not is_french_word(token) and text[match.start(1)].islower():
            found.append((match.start(1), token))
    for match in _LOGIN_SUBJECT.finditer(masked):
        token = match.group(1)
        if _valid_token(token, text[match.start(1) : match.end(1)], False) and not is_first_name(token):
            found.append((match.start(1), token))
    return found


# "renardn vient de se re-bloquer", "now it's aubertm's turn": a lower-case token written bare.
_BARE_TOKEN = re.compile(r"(?<![\w@.'/-])([a-z][a-z0-9._-]{2,30}[a-z0-9])(?![\w@-]|'(?!s\b)|\.\w|://)")
# More unknown words than that is a language or a jargon the dictionaries lack, not a list of logins.
_MOST_BARE_LOGINS = 3


def _unknown_word_logins(text: str, masked: str) -> list[tuple[int, str]]:
    """The last resort when no cue, shape or name names anyone: tokens in lower case that no French or English
    dictionary knows and that are no slip of a word ("mersi")."""
    found: list[tuple[int, str]] = []
    for match in _BARE_TOKEN.finditer(masked):
        token, original = match.group(1), text[match.start(1) : match.end(1)]
        if (
            original == original.lower()
            and _valid_token(token, original, False)
            and token not in _POUR_STOP
            and token not in _NAME_STOP
            and not is_first_name(token)
            and not _NOT_LOGIN_SHAPE.search(token)
            and is_unknown_word(token)
        ):
            found.append((match.start(1), token))
    return found if len({token for _, token in found}) <= _MOST_BARE_LOGINS else []


# The writer's own address is a target only when written as the account in trouble, not as a contact.
_OWN_ADDRESS_CUE = re.compile(
    r"(?:\bavec\s+(?:mon|ma)\s+(?:adresse|e-?mail)|\b(?:mon|ma)\s+(?:compte|identifiant|login|upn|session)"
    r"|\bmy\s+(?:account|upn|login|user ?name))\b[^.\n]{0,25}$"
    r"|\b(?:connecter|connexion|connecte)\b[^.\n]{0,40}\bavec\s*:?\s*$"
    # "compte x@y", "compte : x@y"
    r"|\bcompte\s*:?\s*$"
)
# "Mon adresse : x@y", "mon adresse c'est x@y", "my email is x@y" (not "répondez-moi à mon adresse : x@y"): the
# account when the message is about the writer's own; a contact address beside someone else's request.
_OWN_ADDRESS_GIVEN = re.compile(
    r"(?<!a )(?<!sur )\b(?:mon|my)\s+(?:adresse|e-?mail|mail|courriel|address)(?:\s+(?:mail|e-?mail|pro\w*"
    r"|de messagerie)){0,2}\s*(?:est|c'est|is|:|=)\s*:?\s*$"
)


_CORRECTED_AWAY = re.compile(r".*\b(?:n'est pas|c'est pas|non pas)\s+\S+\s*,?\s*mais\b", re.DOTALL)


def _corrected_away(masked: str, found: tuple[int, str]) -> bool:
    """True for "ce n'est pas denis-f mais francoise.lebrun": the identifier corrected away is not concerned."""
    at, value = found
    return bool(_CORRECTED_AWAY.match(masked[max(0, at - 20) : at + len(value) + 8]))


def find_mentions(text: str, folded: str, *, sender: str | None = None) -> Mentions:
    """Extract targets and names from a normalised text; the sender's own address only when written as the account
    concerned ("avec mon adresse x@y"), never as a contact."""
    if _shouted(text):
        text = text.lower()
    masked = mask_greetings(text, folded)
    own = (sender or "").strip().lower()
    targets: list[tuple[int, str]] = []
    cues: list[str] = []
    addresses = [(m.start(), m.group(0), masked[max(0, m.start() - 60) : m.start()]) for m in _EMAIL.finditer(masked)]
    emails = [(at, value) for at, value, lead in addresses if value != own or _OWN_ADDRESS_CUE.search(lead)]
    given = [
        (at, value)
        for at, value, lead in addresses
        if value == own and not _OWN_ADDRESS_CUE.search(lead) and _OWN_ADDRESS_GIVEN.search(lead)
    ]
    if emails:
        cues.append("e-mail address in the text")
    targets += emails
    cued = _cued_tokens(text, masked)
    for pattern in (_POUR_LOGIN, _LONE_LOGIN, _CUE_THEN_COLON, _SUBJECT_TAG):
        cued += [(m.start(1), m.group(1)) for m in pattern.finditer(masked) if _valid_login(m.group(1), text, m)]
    for found in _SUBJECT_LOGIN.finditer(masked):
        which = 1 if found.group(1) is not None else 2
        login, at = found.group(which), found.start(which)
        if _valid_token(login, text[at : at + len(login)], False) and login not in _POUR_STOP:
            cued.append((at, login))
    for group in _LOGIN_BEFORE_STATE.finditer(masked):
        index = next(i for i in (1, 2, 3, 4) if group.group(i) is not None)
        at = group.start(index)
        for part in _GROUP_SEP.split(group.group(index)):
            start = masked.index(part, at)
            # "le bureau d'à côté est toujours bloqué", "one of our staff gets locked out": a word before a state.
            valid = _valid_token(part, text[start : start + len(part)], False) and not is_everyday_word(part)
            if valid and part not in _POUR_STOP:
                cued.append((start, part))
            at = start + len(part)
    cued = [c for c in cued if not _corrected_away(masked, c)]
    if cued:
        cues.append("identifier after a cue (identifiant, compte, login, débloquer...)")
    elif not emails:
        cued = _fallback_logins(text, masked)
        if cued:
            cues.append("identifier by its shape (f.mercier, ab12345) or opening a sentence")
    targets += cued
    names = _names(text, masked)
    known = {frozenset(fold(name).split()) for _, _, name in names}
    names += [n for n in _gazetteer_names(text, masked) if frozenset(fold(n[2]).split()) not in known]
    lower_names = _lower_case_names(text, masked)
    # The first word of "marie durand" was read as a login by the cue: it is part of the name.
    targets = [t for t in targets if not any(start <= t[0] < end for start, end, _ in lower_names)]
    names += lower_names
    names += [
        (m.start("name"), m.end("name"), " ".join(m.group("name").split()))
        for m in _NAME_SUBJECT.finditer(text)
        if not any(w.lower() in _NAME_STOP for w in m.group("name").split())
    ]
    for enumeration in _NAME_LIST.finditer(text):
        if _NAME_LIST_CUE.search(masked[max(0, enumeration.start() - 60) : enumeration.start()]):
            at = enumeration.start("list")
            names += [
                (at + one.start(), at + one.end(), one.group(0))
                for one in re.finditer(_ONE_NAME, enumeration.group("list"))
            ]
    names = [n for n in names if not _is_sender(n[2], own) and not _signs_off(text, n[0], n[1])]
    # "thierry benali a oublié son mot de passe": a word of a name written in lower case is no login of its own.
    targets = [t for t in targets if "@" in t[1] or not any(start <= t[0] < end for start, end, _ in names)]
    for match in _PAREN_TOKEN.finditer(masked):
        before = masked[max(0, match.start() - 90) : match.start() + 1]
        after_name = any(end <= match.start() and not masked[end : match.start()].strip() for _, end, _ in names)
        # "Océane (traoreoc)": a lower-case login in brackets right after a capitalised first name.
        after_name = after_name or bool(_CAPITALISED_BEFORE.search(text[max(0, match.start() - 40) : match.start()]))
        if (after_name or _PAREN_CUE.search(before)) and _valid_token(match.group(1), match.group(1), True):
            targets.append((match.start(1), match.group(1)))
            cues.append("identifier in brackets after a name")
    listed = listed_people(text, masked)
    if listed.logins or listed.names:
        cues.append("people listed in a table or a bulleted list")
    targets += listed.logins
    names += [(at, at, name) for at, name in listed.names]
    if not targets and not names and given:
        targets = given
        cues.append("the writer's own address, given for the writer's own account")
    if not targets and not names:
        targets = _unknown_word_logins(text, masked)
        if targets:
            cues.append("identifier no dictionary knows, written bare (renardn, lopezme)")
    targets = [t for t in targets if not _corrected_away(masked, t)]
    ordered = sorted(targets, key=lambda t: t[0])
    people = sorted(names, key=lambda n: n[0])
    kinds = [(at, Mention("email" if "@" in value else "login", value)) for at, value in ordered]
    kinds += [(at, Mention("name", name)) for at, _, name in people]
    unique_names = _distinct_names(name for _, _, name in people)
    return Mentions(
        targets=tuple(dict.fromkeys(value for _, value in ordered)),
        names=unique_names,
        cues=tuple(dict.fromkeys(cues)),
        mentions=tuple(
            dict.fromkeys(
                mention
                for _, mention in sorted(kinds, key=lambda k: k[0])
                if mention.kind != "name" or mention.value in unique_names
            )
        ),
    )


_SIGN_OFF_BEFORE = re.compile(
    r"(?:\n|(?:merci|cordialement|cdlt|cdt|bien a (?:vous|toi)|salutations|a bientot|bonne journee"
    r"|thanks)\b[ \t]*[,.!]?)[ \t]*$"
)


def _signs_off(text: str, start: int, end: int) -> bool:
    """A name that ends the message after "Merci," or on its own line is the writer's signature."""
    if start == end or text[end:].strip(" \t\n.!"):
        return False
    return bool(_SIGN_OFF_BEFORE.search(fold(text[max(0, start - 40) : start])))


def _is_sender(name: str, sender: str) -> bool:
    """A name made of the words of the sender's own address ("isabelle.moreau@...") is a signature."""
    local = set(re.split(r"[._-]+", sender.partition("@")[0]))
    words = {fold(word) for word in name.split()}
    return bool(local) and len(words) >= 2 and words <= local


def _distinct_names(names: Iterable[str]) -> tuple[str, ...]:
    """Names in order, once each; "Marc Martin" and "MARTIN Marc" are the same person."""
    seen: dict[frozenset[str], str] = {}
    for name in names:
        seen.setdefault(frozenset(name.lower().split()), name)
    return tuple(seen.values())

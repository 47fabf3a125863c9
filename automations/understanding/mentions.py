"""Find who a request is about: account identifiers introduced by a cue, e-mail addresses, people's names."""

from __future__ import annotations

import re
from dataclasses import dataclass

from automations.understanding.grammar import RESET_VERB, UNLOCK_VERB

_EMAIL = re.compile(r"\b[a-z0-9](?:[a-z0-9._%+'-]{0,62}[a-z0-9])?@(?:[a-z0-9-]+\.)+[a-z]{2,24}\b")
_TOKEN = re.compile(r"[a-z0-9](?:[a-z0-9._-]{0,62}[a-z0-9])?(?![\w'@-])")
# Cues after which a login is expected even when written with a capital letter or as digits.
_STRONG_CUE = (
    r"identifiants?|id(?:\s+ad)?|logins?|matricules?|upn|samaccountname|sam|nom d'utilisateur|usernames?"
    r"|user ?id"
)
_WEAK_CUE = (
    rf"(?:mots? de passe|mdp|comptes?|sessions?)\s+(?:de\s+|d'|du\s+)|comptes?|sessions?|users?"
    rf"|utilisat(?:eur|rice)s?|{UNLOCK_VERB}|{RESET_VERB}"
)
_FILLER = (
    r"(?:[ \t]+(?:ad|windows|concernee?s?|suivante?s?|utilisateurs?|a debloquer|a deverrouiller|de connexion"
    r"|a reinitialiser|est|sont|no|numero)\b|[ \t]*n°)*"
)
_CUE = re.compile(rf"\b(?:(?P<strong>{_STRONG_CUE})|(?P<weak>{_WEAK_CUE}))\b{_FILLER}")
_LEAD = re.compile(r"[ \t]*(?:[:=][ \t]*(?:\n[ \t]*)?)?(?:[-*•·][ \t]+)?")
_NEXT = re.compile(r"[ \t]*(?:,|;|/|&|\bet\b|\bou\b)[ \t]*|[ \t]*\n[ \t]*[-*•·][ \t]*")
_PAREN_CUE = re.compile(
    r"\b(?:comptes?|sessions?|acces|mot de passe|mdp|utilisat\w*|collegue\w*|conseill\w*|agent\w*)\b"
    r"[^()\n.?!]{1,80}\(\s*$"
)
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
"""
_STOP = frozenset(_STOP_WORDS.split())
_INTENT_WORD = re.compile(r"^(?:de-?)?bloq|verr?ouill|^deve?r{1,2}o?u?il|^reinit|^reset|ment$|-meme$|-memes$")

_TITLE = r"(?:m\.|mr\.?|mme\.?|mlle\.?|monsieur|madame|mademoiselle)"
_NAME_CUE = re.compile(
    rf"\b(?:(?:comptes?|sessions?|acces|mot de passe|mdp|identifiants?|boite)\s+(?:de|d'|du|pour)\s*"
    rf"|pour\s+|(?P<title>{_TITLE})\s+"
    r"|(?:collegues?|conseill(?:er|ere)s?|agente?s?|utilisat(?:eur|rice)s?|salariee?s?|stagiaires?"
    r"|collaborat(?:eur|rice)s?|apprentie?s?|benevoles?|referente?s?)\s+"
    rf"|(?:{UNLOCK_VERB}|{RESET_VERB})\s+|(?:personne|utilisateur|agent)s?\s+concernee?s?\s*:\s*|nom\s*:\s*)"
)
_TITLE_IN_TEXT = re.compile(r"(?:M\.|Mr\.?|Mme\.?|Mlle\.?|Monsieur|Madame|Mademoiselle)[ \t]+")
_NAME_WORD = re.compile(
    r"(?:[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+)*|[A-ZÀ-ÖØ-Þ]{2,}(?:-[A-ZÀ-ÖØ-Þ]{2,})*)(?![\w'])"
)
_NAME_STOP_WORDS = """
    merci bonjour bonsoir cordialement identifiant login compte il elle ils elles son sa ses le la les de du des
    pour svp urgent je nous vous on ce cette mission locale cap emploi ad sap citrix windows outlook teams vpn
    office intune azure entra et ou mais car pouvez pourriez peux serait est a au aux en sur dans avec
"""
_NAME_STOP = frozenset(_NAME_STOP_WORDS.split())
_GREETING = re.compile(r"(?m)^[ \t]*(?:(?:bonjour|bonsoir|hello|salut|coucou|hi|cher|chere|madame|monsieur)\b[ \t,]*)+")


@dataclass(frozen=True)
class Mentions:
    """Targets (lower-cased identifiers) and people's names, in order of appearance."""

    targets: tuple[str, ...]
    names: tuple[str, ...]
    cues: tuple[str, ...]


def mask_greetings(text: str, folded: str) -> str:
    """Blank out "Bonjour Claire," openings in ``folded`` (same length) so they never yield a target or name."""
    chars = list(folded)
    for match in _GREETING.finditer(folded):
        end = match.end()
        for _ in range(3):
            word = _NAME_WORD.match(text, end)
            if word is None or word.group(0).lower() in _NAME_STOP:
                break
            end = word.end()
            end += len(text[end:]) - len(text[end:].lstrip(" \t"))
        if end < len(text) and text[end] in ",!.:":
            end += 1
        chars[match.start() : end] = " " * (end - match.start())
    return "".join(chars)


def _valid_token(token: str, original: str, strong: bool) -> bool:
    if len(token) < 2 or token in _STOP or _INTENT_WORD.search(token):
        return False
    if token.isdigit():
        return strong and len(token) >= 4
    # A capitalised word after "compte"/"débloquer" is a name or a product, not a login.
    return strong or not (original[:1].isupper() and any(c.islower() for c in original[1:]))


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
        titled = cue.group("title") is not None
        title = _TITLE_IN_TEXT.match(text, at)
        if title is not None:
            at, titled = title.end(), True
        words: list[str] = []
        end = at
        while len(words) < 3:
            word = _NAME_WORD.match(text, end)
            if word is None or folded[word.start() : word.end()] in _NAME_STOP:
                break
            words.append(word.group(0))
            end = word.end()
            gap = re.match(r"[ \t]+", text[end:])
            if gap is None or _NAME_WORD.match(text, end + gap.end()) is None:
                break
            end += gap.end()
        end = at + len(text[at:end].rstrip())
        if len(words) >= 2 or (titled and words):
            found.append((at, end, " ".join(words)))
    return found


def find_mentions(text: str, folded: str, *, sender: str | None = None) -> Mentions:
    """Extract targets and names from a normalised text; the sender's own address is never a target."""
    masked = mask_greetings(text, folded)
    own = (sender or "").strip().lower()
    targets: list[tuple[int, str]] = []
    cues: list[str] = []
    emails = [(m.start(), m.group(0)) for m in _EMAIL.finditer(masked) if m.group(0) != own]
    if emails:
        cues.append("e-mail address in the text")
    targets += emails
    cued = _cued_tokens(text, masked)
    if cued:
        cues.append("identifier after a cue (identifiant, compte, login, débloquer...)")
    targets += cued
    names = _names(text, masked)
    for match in _PAREN_TOKEN.finditer(masked):
        before = masked[max(0, match.start() - 90) : match.start() + 1]
        after_name = any(end <= match.start() and not masked[end : match.start()].strip() for _, end, _ in names)
        if (after_name or _PAREN_CUE.search(before)) and _valid_token(match.group(1), match.group(1), True):
            targets.append((match.start(1), match.group(1)))
            cues.append("identifier in brackets after a name")
    ordered = sorted(targets, key=lambda t: t[0])
    return Mentions(
        targets=tuple(dict.fromkeys(value for _, value in ordered)),
        names=tuple(dict.fromkeys(name for _, _, name in names)),
        cues=tuple(dict.fromkeys(cues)),
    )

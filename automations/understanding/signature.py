"""Remove what follows the request itself: signatures, closing formulas, legal disclaimers, device tags."""

from __future__ import annotations

import re

from automations.understanding.folding import fold

# All patterns run on folded lines (lower case, no accents, straight apostrophes).
_SIG_DELIMITER = re.compile(r"^--\s*$")
_CLOSING = re.compile(
    r"^(?:(?:tres |bien |tres bien )?cordialement|cdlt|cdt|crdlt|bien a (?:vous|toi)|bien a vous tous"
    r"|merci(?: beaucoup| bien)?(?: d'avance| par avance| pour (?:votre|ton) aide)?|merci a vous"
    r"|bonne (?:journee|fin de journee|soiree|semaine|fin de semaine)|(?:sinceres |meilleures )?salutations"
    r"|sincerement|respectueusement|a bientot|best regards|regards|kind regards|thanks|thank you)"
    r"[\s,.!;:]*"
)
_DEVICE_TAG = re.compile(
    r"^(?:envoye (?:de|depuis) mon \w+|sent from my \w+|provenance\s*:\s*courrier pour windows"
    r"|(?:telecharger|obtenir) outlook pour \w+|get outlook for \w+).{0,60}$"
)
_DISCLAIMER_START = re.compile(
    r"^\W*(?:ce (?:message|courriel|mail|e-?mail)|cet? (?:e-?mail|envoi)|les informations contenues"
    r"|le present (?:message|courriel)|this (?:e-?mail|message)|the information (?:contained|in this)"
    r"|confidentiality notice|avis de confidentialite|avertissement|confidentialite|disclaimer"
    r"|(?:merci de )?pensez a l'environnement|afin de contribuer au respect|please consider the environment"
    r"|avant d'imprimer|p\s+(?:pensez|avant|merci))"
)
_DISCLAIMER_WORDS = re.compile(
    r"confidenti|destinataire|intended recipient|environnement|imprim|print|virus|interdit|prohibited"
)
# A line that still belongs to the request even if it is short: a signature never carries these.
_REQUEST_WORDS = re.compile(
    r"\b(?:compte|identifiant|login|mot de passe|mdp|debloq|deverr?ouill|bloque|verrouill|reinitialis"
    # ("Pôle accès aux droits" names a department in many signatures.)
    r"|acces(?! aux droits)|(?<!acces aux )droits?|merci de|pouvez|pourriez|svp|s'il vous plait)"
)
_SIGNATURE_MAX_LINES = 10
_SIGNATURE_MAX_CHARS = 90


def _is_closing(line: str, folded: str) -> bool:
    match = _CLOSING.match(folded.strip())
    if match is None:
        return False
    rest = line.strip()[match.end() :].strip()
    # "Merci d'avance, Claire Fabre" closes; "Merci de débloquer le compte" asks.
    return rest == "" or (len(rest.split()) <= 4 and all(word[:1].isupper() for word in rest.split()))


def _looks_like_signature(lines: list[str]) -> bool:
    body = [line for line in lines if line.strip()]
    return len(body) <= _SIGNATURE_MAX_LINES and all(
        len(line.strip()) <= _SIGNATURE_MAX_CHARS and not _REQUEST_WORDS.search(fold(line)) for line in body
    )


def strip_disclaimers(lines: list[str]) -> tuple[list[str], bool]:
    """Drop legal-disclaimer paragraphs and "Envoyé de mon iPhone" tags; say if anything went."""
    kept: list[str] = []
    removed = False
    i = 0
    while i < len(lines):
        folded = fold(lines[i]).strip()
        if _DEVICE_TAG.match(folded):
            removed, i = True, i + 1
            continue
        if _DISCLAIMER_START.match(folded):
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            if _DISCLAIMER_WORDS.search(fold(" ".join(lines[i:end]))):
                removed, i = True, end
                continue
        kept.append(lines[i])
        i += 1
    return kept, removed


# "--" then "Identifiant : thomas.brunet": the writer put the account below the delimiter, not a signature.
_IDENTIFIER_LINE = re.compile(r"^\W*(?:identifiants?|login|nom d'utilisateur|compte)(?:\s+(?:windows|ad|session))?\s*:")


def strip_signature(lines: list[str]) -> tuple[list[str], bool]:
    """Cut at a ``-- `` line (keeping an identifier line written below it), or at a closing formula followed only
    by name/phone lines."""
    for i, line in enumerate(lines):
        if _SIG_DELIMITER.match(line.rstrip()) and line.startswith("--"):
            return lines[:i] + [below for below in lines[i + 1 :] if _IDENTIFIER_LINE.match(fold(below))], True
    has_content_before = False
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        if has_content_before and _is_closing(line, fold(line)) and _looks_like_signature(lines[i + 1 :]):
            return lines[:i], True
        if not _is_greeting_only(line):
            has_content_before = True
    return strip_contact_block(lines)


# A contact block closes many signatures that have no closing formula: a phone, a web site, a postal code.
_CONTACT = re.compile(
    r"(?:\+33|\b0)[1-9](?:[ .-]?\d{2}){4}\b|\bwww\.|https?://|\b\d{5}\s+[A-Za-zÀ-ÿ]|\b(?:tel|tél|t|fax|port|mob)\b\.?\s*:?"
    r"\s*(?:\+|\d)|\b(?:bp|cs)\s+\d+",
    re.IGNORECASE,
)
_CONTACT_BLOCK_MAX_LINES = 7
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*•·>→]|\d{1,2}[.)])[ \t]+")


def strip_contact_block(lines: list[str]) -> tuple[list[str], bool]:
    """Cut a trailing signature without closing formula: up to 7 short lines, one of them a phone, site or
    address, none of them a request; something must remain above it."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start > 0 and end - start < _CONTACT_BLOCK_MAX_LINES:
        line = lines[start - 1]
        if not line.strip():
            break
        if len(line.strip()) > _SIGNATURE_MAX_CHARS or _REQUEST_WORDS.search(fold(line)) or "?" in line:
            break
        if _LIST_ITEM.match(line) or "@" in line:
            break  # "- jdupont", "- a.b@c.fr": a list of the people concerned, not a signature
        start -= 1
    block = [line for line in lines[start:end] if line.strip()]
    above = [line for line in lines[:start] if line.strip()]
    if len(block) < 2 or not above or not any(_CONTACT.search(line) for line in block):
        return lines, False
    return lines[:start], True


_GREETING_ONLY = re.compile(r"^(?:bonjour|bonsoir|hello|salut|coucou|hi|madame|monsieur|cher|chere)\b[^.!?]{0,40}$")


def _is_greeting_only(line: str) -> bool:
    return bool(_GREETING_ONLY.match(fold(line).strip()))

"""People listed rather than written in a sentence: small tables (Nom | Prénom | Identifiant) and bulleted lists
("- Jean Dupont (jdupont)"). Positions index the normalised text so mentions keep their order."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from automations.understanding.lexicon import is_french_word

_NAME = r"[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+(?:-[A-ZÀ-ÖØ-Þ][a-zà-öø-ÿ]+)*|[A-ZÀ-ÖØ-Þ]{2,}(?:-[A-ZÀ-ÖØ-Þ]{2,})*"
_FULL_NAME = re.compile(rf"(?:{_NAME})(?:[ \t]+(?:{_NAME})){{1,2}}(?![\w'])")
_LOGIN = re.compile(r"[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*\d*|\d{4,8}")
_EMAIL = re.compile(r"[a-z0-9][a-z0-9._%+'-]*@(?:[a-z0-9-]+\.)+[a-z]{2,24}")
_BULLET = re.compile(r"^[ \t]*(?:[-*•·>]|\d{1,2}[.)])[ \t]+")
_LEAD_LOGIN = re.compile(r"([a-z][a-z0-9._-]*[a-z0-9])(?:[ \t]+(?:-|–|—)|[ \t]*(?::|\(|–|—))[ \t]*\S")
_UNBULLETED = re.compile(
    rf"^[ \t]*(?=(?:{_NAME})(?:[ \t]+(?:{_NAME})){{1,2}}[ \t]*[-–—:(][ \t]*[a-z][a-z0-9._-]*[a-z0-9]\)?[ \t]*$)"
)
_ALONE_LOGIN = re.compile(r"([a-z][a-z0-9._-]*[a-z0-9])[ \t]*")
_CELL_SPLIT = re.compile(r"[ \t]*(?:\||\t|;)[ \t]*")
_ITEM_SEP = re.compile(r"[ \t]*(?:[-–—:,/(]|=)[ \t]*")
_HEADER_LOGIN = re.compile(r"^(?:identifiants?|id(?: ad)?|logins?|user(?:name)?|compte|sam\w*|matricule)$")
_HEADER_FIRST = re.compile(r"^(?:prenoms?|first ?name)$")
_HEADER_LAST = re.compile(r"^(?:noms?(?: de famille)?|last ?name|surname)$")
_HEADER_NAME = re.compile(r"^(?:nom (?:et |& )?prenom|prenom (?:et |& )?nom|nom complet|agents?|utilisateurs?)$")
_HEADER_MAIL = re.compile(r"^(?:e-?mail|mail|adresse(?: mail| e-?mail)?|courriel|upn)$")
# Words that start a list item without being a person: "- Compte bloqué", "- Merci".
_NOT_NAME_WORDS = """
    merci bonjour cordialement compte comptes mot mdp identifiant login nom prenom service agence mission locale
    cap emploi direction pole site equipe le la les un une des objet urgent
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())


@dataclass
class Listed:
    """Logins/addresses and names found in lists and tables, each with its position in the text."""

    logins: list[tuple[int, str]] = field(default_factory=list)
    names: list[tuple[int, str]] = field(default_factory=list)


def _offsets(text: str) -> list[tuple[int, str]]:
    lines: list[tuple[int, str]] = []
    at = 0
    for line in text.split("\n"):
        lines.append((at, line))
        at += len(line) + 1
    return lines


def _is_person(name: str) -> bool:
    return not any(word.lower() in _NOT_NAMES for word in name.split())


def _login_cell(cell: str) -> str | None:
    value = cell.strip()
    if _EMAIL.fullmatch(value.lower()):
        return value.lower()
    if value and not value[:1].isupper() and _LOGIN.fullmatch(value):
        return value
    if value.isupper() and len(value) <= 20 and _LOGIN.fullmatch(value.lower()) and any(c.isdigit() for c in value):
        return value.lower()
    return None


def _table(lines: list[tuple[int, str]], folded: str, found: Listed) -> None:
    columns: dict[str, int] | None = None
    for at, line in lines:
        if not _CELL_SPLIT.search(line.strip()):
            columns = None
            continue
        cells = _CELL_SPLIT.split(line.strip().strip("|").strip())
        folded_cells = [folded[at : at + len(line)].strip().strip("|").strip()]
        folded_cells = _CELL_SPLIT.split(folded_cells[0])
        header = {
            kind: i
            for i, cell in enumerate(folded_cells)
            for kind, pattern in (
                ("login", _HEADER_LOGIN),
                ("first", _HEADER_FIRST),
                ("last", _HEADER_LAST),
                ("name", _HEADER_NAME),
                ("mail", _HEADER_MAIL),
            )
            if pattern.match(cell.strip())
        }
        if header:
            columns = header
            continue
        if columns is None or len(cells) < 2:
            continue
        for kind in ("login", "mail"):
            if kind in columns and columns[kind] < len(cells):
                login = _login_cell(cells[columns[kind]])
                if login is not None:
                    found.logins.append((at + line.find(cells[columns[kind]]), login))
        parts = [columns[k] for k in ("first", "last", "name") if k in columns and columns[k] < len(cells)]
        name = " ".join(cells[i].strip() for i in sorted(parts) if cells[i].strip())
        if name and len(name.split()) >= 2 and _FULL_NAME.fullmatch(name):
            found.names.append((at + line.find(cells[min(parts)]), name))


def _bullets(lines: list[tuple[int, str]], found: Listed) -> None:
    for at, line in lines:
        bullet = _BULLET.match(line)
        if bullet is None:
            # "Rachid Da Silva — dasilvra": a list line without a bullet, a name then a login.
            bullet = _UNBULLETED.match(line)
        if bullet is None:
            continue
        item_at = at + bullet.end()
        item = line[bullet.end() :]
        name = _FULL_NAME.match(item)
        if name is None or not _is_person(name.group(0)):
            # "- rousseyo : compte verrouillé": a login leads the item; "- rousseyo": it is the whole item.
            first = _LEAD_LOGIN.match(item) or _ALONE_LOGIN.fullmatch(item)
            if first is not None and _login_cell(first.group(1)) is not None and not is_french_word(first.group(1)):
                found.logins.append((item_at, first.group(1).lower()))
            continue
        found.names.append((item_at, name.group(0)))
        sep = _ITEM_SEP.match(item, name.end())
        if sep is None:
            continue
        rest = item[sep.end() :].split()
        if rest:
            # "- Jean Dupont : jdupont", not "- Jean Dupont : compte verrouillé".
            login = _login_cell(rest[0].rstrip(").,;"))
            if login is not None and not is_french_word(login):
                found.logins.append((item_at + sep.end(), login.lower()))


_LIST_LINE = re.compile(
    r"^[ \t]*[a-z][a-z0-9._-]*[a-z0-9](?:[ \t]*(?:[,;/|]|\bet\b)[ \t]*[a-z][a-z0-9._-]*[a-z0-9])+[ \t.]*$"
)
_LIST_SEP = re.compile(r"[ \t]*(?:[,;/|]|\bet\b)[ \t]*")


def _login_lines(lines: list[tuple[int, str]], found: Listed) -> None:
    """A line that is only logins separated by ";", "," or "/", at least one shaped like a login (digit, dot)."""
    for at, line in lines:
        if not _LIST_LINE.match(line):
            continue
        tokens = [t.strip(" \t.") for t in _LIST_SEP.split(line.strip())]
        if any(is_french_word(t) for t in tokens) or not any(re.search(r"\d|[._-]", t) for t in tokens):
            continue
        for token in tokens:
            found.logins.append((at + line.find(token), token))


def listed_people(text: str, folded: str) -> Listed:
    """People in tables (a header row names the columns) and in bulleted lists starting with "Prénom Nom"."""
    found = Listed()
    lines = _offsets(text)
    _table(lines, folded, found)
    _bullets(lines, found)
    _login_lines(lines, found)
    return found

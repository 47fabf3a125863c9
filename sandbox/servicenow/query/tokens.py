"""Split an encoded query into typed terms: conditions, ``OR`` conditions, ``NQ``, ``ORDERBY``..."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from sandbox.servicenow.errors import EncodedQueryError

SEPARATOR = "^"
_UNSUPPORTED_PREFIXES = ("JOIN", "RLQUERY", "ENDRLQUERY", "123TEXTQUERY321", "SUBQUERY")


class TokenKind(Enum):
    """What one ``^``-separated term is."""

    CONDITION = "condition"
    OR_CONDITION = "or"
    NEW_QUERY = "nq"
    ORDER_BY = "orderby"
    ORDER_BY_DESC = "orderbydesc"
    IGNORED = "ignored"


@dataclass(frozen=True)
class Token:
    """One term of the encoded query: its kind, the text after its keyword, where the term starts."""

    kind: TokenKind
    text: str
    position: int = 0


def split_terms(encoded: str) -> list[tuple[str, int]]:
    """The ``^``-separated terms and their offsets; ``^^`` inside a term is a literal ``^``.

    Empty terms (a leading, trailing or repeated separator between terms) are skipped: pysnc and
    the app's ``field=value`` parameters both produce them.
    """
    terms: list[tuple[str, int]] = []
    current: list[str] = []
    start = 0
    index = 0
    while index < len(encoded):
        char = encoded[index]
        if char != SEPARATOR:
            current.append(char)
            index += 1
            continue
        if current and encoded.startswith(SEPARATOR * 2, index):
            current.append(SEPARATOR)  # an escaped caret inside a value
            index += 2
            continue
        if current:
            terms.append(("".join(current), start))
        current = []
        index += 1
        start = index
    if current:
        terms.append(("".join(current), start))
    return terms


def tokenize(encoded: str) -> list[Token]:
    """Split an encoded query into typed terms; JOIN, RLQUERY and text queries are refused."""
    tokens: list[Token] = []
    for term, position in split_terms(encoded):
        if term.startswith(_UNSUPPORTED_PREFIXES):
            raise EncodedQueryError(f"{term!r} (character {position}): JOIN, RLQUERY and text queries are not emulated")
        if term.startswith("NQ"):
            tokens.append(Token(TokenKind.NEW_QUERY, "", position))
            if term[2:]:
                tokens.append(Token(TokenKind.CONDITION, term[2:], position + 2))
        elif term.startswith("ORDERBYDESC"):
            tokens.append(Token(TokenKind.ORDER_BY_DESC, term[len("ORDERBYDESC") :], position))
        elif term.startswith("ORDERBY"):
            tokens.append(Token(TokenKind.ORDER_BY, term[len("ORDERBY") :], position))
        elif term.startswith("GROUPBY") or term == "EQ":
            tokens.append(Token(TokenKind.IGNORED, term, position))
        elif term.startswith("OR"):
            tokens.append(Token(TokenKind.OR_CONDITION, term[2:], position + 2))
        else:
            tokens.append(Token(TokenKind.CONDITION, term, position))
    return tokens

"""Large French and English word lists (pyspellchecker's), for telling a bare login from a word or a typo.

The compact lexicon (``lexicon.py``) decides whether a word after a cue ("compte", "débloquer") may be a login; it
leaves out surnames that are also words on purpose. This module serves the opposite question, asked only when the
text names no one by any cue: is this lower-case token something no dictionary knows, nor a one-letter slip of a
word ("mersi", "souvien")? Only then may it be a login written bare ("renardn vient de se re-bloquer").
"""

from __future__ import annotations

import string
from functools import cache

from spellchecker import SpellChecker

from automations.understanding.folding import fold

_LETTERS = string.ascii_lowercase
# English words this common are slips when misspelt ("pasword"); rarer ones are often surnames ("perrin").
_COMMON_ENGLISH = 1000
# Words this frequent are never a login standing before a state ("côté" in "le bureau d'à côté est bloqué", "gets" in
# "when one of our staff gets locked out"); the surnames that are words stay below ("Blanc", "Marchand", "Brown").
_EVERYDAY_FRENCH = 20000
_EVERYDAY_ENGLISH = 40000


@cache
def _words() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """All words folded (known), the words a one-letter slip is measured against (near), and everyday words."""
    french = SpellChecker(language="fr", distance=1).word_frequency.dictionary
    english = SpellChecker(language="en", distance=1).word_frequency.dictionary
    folded_french = {fold(word) for word in french}
    known = frozenset(folded_french | set(english))
    near = frozenset(folded_french | {word for word, count in english.items() if count >= _COMMON_ENGLISH})
    everyday = frozenset(
        {fold(word) for word, count in french.items() if count >= _EVERYDAY_FRENCH}
        | {word for word, count in english.items() if count >= _EVERYDAY_ENGLISH}
    )
    return known, near, everyday


def is_everyday_word(token: str) -> bool:
    """True for a very frequent French or English word (folded): "cote", "matin", "gets"."""
    return token in _words()[2]


def _one_slip_away(token: str) -> set[str]:
    """Every string one deletion, swap, replacement or insertion away from ``token``."""
    splits = [(token[:i], token[i:]) for i in range(len(token) + 1)]
    return (
        {left + right[1:] for left, right in splits if right}
        | {left + right[1] + right[0] + right[2:] for left, right in splits if len(right) > 1}
        | {left + c + right[1:] for left, right in splits if right for c in _LETTERS}
        | {left + c + right for left, right in splits for c in _LETTERS}
    )


# Conjugated forms the word lists may lack ("scannez", "relançons"): the infinitive they come from is known.
_VERB_ENDINGS = ("ez", "ons", "ent", "ait", "aient", "ais", "erai", "erez", "eront", "ant", "ee", "es", "ees")


def _conjugated(token: str, known: frozenset[str]) -> bool:
    return any(token.endswith(ending) and token[: -len(ending)] + "er" in known for ending in _VERB_ENDINGS)


def is_unknown_word(token: str) -> bool:
    """True when the folded ``token`` is in no dictionary and is no one-letter slip of a French or common English
    word; a hyphenated token is a word when each part is ("sign-in", "peut-être")."""
    known, near, _ = _words()
    if token in known or all(len(part) > 1 and part in known for part in token.split("-")):
        return False
    if (token.startswith("re") and token[2:] in known) or _conjugated(token, known):
        return False  # "refonctionne", "redebloquer": a word again; "scannez": a verb
    if not token.isalpha():
        return True  # digits, dots and hyphens are no slip of a word
    # A letter more at either end is how logins are made ("kmartin", "perrinb"), not how words are mistyped; so is
    # an initial where a plural or a feminine ends ("renardn" beside "renards").
    slips = {
        word
        for word in _one_slip_away(token) & near
        if word not in (token[1:], token[:-1]) and not (len(word) == len(token) and word[:-1] == token[:-1])
    }
    return not slips

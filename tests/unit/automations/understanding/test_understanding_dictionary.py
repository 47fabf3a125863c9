"""The large word lists tell a login written bare from a word or a slip of one."""

from __future__ import annotations

import pytest

from automations.understanding.dictionary import is_everyday_word, is_unknown_word


@pytest.mark.parametrize(
    "token", ["renardn", "perrinb", "kmartin", "lopezme", "pgaudinel", "jean-marc.rousseau", "jmercier"]
)
def test_logins_are_unknown(token: str) -> None:
    assert is_unknown_word(token)


@pytest.mark.parametrize(
    "token",
    [
        "refaire",  # a French word
        "cote",  # "côté", folded
        "deadline",  # an English word
        "mersi",  # one letter from "merci"
        "souvien",  # "souvient" without its last letter
        "reinitialser",  # "réinitialiser" without a letter
        "sign-in",  # two English words
        "refonctionne",  # "re" + a word
        "scannez",  # a verb the list lacks in that form
    ],
)
def test_words_and_slips_are_known(token: str) -> None:
    assert not is_unknown_word(token)


def test_everyday_words_spare_surnames_that_are_words() -> None:
    assert is_everyday_word("cote") and is_everyday_word("bureau") and is_everyday_word("gets")
    assert not any(is_everyday_word(surname) for surname in ("blanc", "marchand", "brown", "martin"))

"""Character-level cleaning: hidden characters out, NFKC, and a position-aligned accent-free fold."""

from __future__ import annotations

import unicodedata
from functools import cache

_APOSTROPHES = {"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "`": "'"}
_KEPT_CONTROLS = {"\n", "\t"}


def strip_hidden(text: str) -> tuple[str, bool]:
    """Remove zero-width, bidi, tag and other invisible format/control characters; say if any were there."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    kept = [ch for ch in text if ch in _KEPT_CONTROLS or unicodedata.category(ch) not in ("Cf", "Cc", "Co", "Cs")]
    return "".join(kept), len(kept) != len(text)


@cache
def _fold_char(ch: str) -> str:
    ch = _APOSTROPHES.get(ch, ch)
    lower = ch.lower()
    base = "".join(c for c in unicodedata.normalize("NFD", lower) if not unicodedata.combining(c))
    if len(base) == 1:
        return base
    # Keep one character per character so matches on the fold index the original text.
    return lower[:1] if len(lower) >= 1 else ch


def fold(text: str) -> str:
    """Lower case without accents, straight apostrophes; ``len(fold(t)) == len(t)`` so spans carry over."""
    return "".join(_fold_char(ch) for ch in text)

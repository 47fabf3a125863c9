"""Look-alike domains: which protected (partner or agency) domain a sender's domain imitates (VER-06, TC-03).

A domain imitates a protected one when, after decoding punycode (``xn--``) and reducing both to a UTS #39-style
skeleton (accents dropped, common Cyrillic/Greek homoglyphs and digit/letter swaps folded), they are equal, or
their registrable names differ only by hyphens, by a small Damerau-Levenshtein distance, or by the public suffix
(``.fr`` → ``.com``), or a dot replaces a hyphen, or the registrable name contains the protected one with
words added (``secure-mission-locale-lyon.com``), or the protected domain is used as a subdomain label of another
(``mission-locale-lyon.fr.evil.com``).
An exact match, and a subdomain of the protected domain itself, are not look-alikes.

The public-suffix handling is a compact table, not the full Public Suffix List: enough for the French public
sector's ``gouv.fr``/``asso.fr`` style suffixes and the common two-level ones.
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable

# Skeleton table: each character maps to the Latin letter it is confused with (a subset of Unicode's
# confusables.txt plus digit/letter swaps). Multi-character confusions come after, on the folded string.
_CONFUSABLES = str.maketrans({
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "һ": "h", "і": "l", "ї": "l", "ј": "j", "к": "k", "ӏ": "l",
    "м": "m", "н": "h", "о": "o", "р": "p", "с": "c", "ѕ": "s", "т": "t", "у": "y", "х": "x", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ɡ": "g", "ү": "y", "ь": "b", "п": "n", "г": "r",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "l", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "ω": "w", "μ": "u", "γ": "y",
    # Latin look-alikes and digit/letter swaps
    "ı": "l", "i": "l", "1": "l", "|": "l", "0": "o", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b",
    "9": "g", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l", "_": "-",
})
_MULTI = (("rn", "m"), ("vv", "w"), ("cl", "d"))

# Two-level public suffixes seen in partner addresses; a single last label is the suffix otherwise.
TWO_LEVEL_SUFFIXES = frozenset({
    "gouv.fr", "asso.fr", "com.fr", "nom.fr", "tm.fr", "presse.fr", "cci.fr", "greta.fr", "ac.fr",
    "co.uk", "org.uk", "gov.uk", "ac.uk", "com.au", "co.nz", "com.br", "co.jp", "gc.ca", "qc.ca",
})


def normalise_domain(domain: str) -> str:
    """Lower-case Unicode form of ``domain``: trailing dot dropped, ``xn--`` labels decoded (kept if invalid)."""
    labels = []
    for label in domain.strip().strip(".").lower().split("."):
        if label.startswith("xn--"):
            with contextlib.suppress(UnicodeError, ValueError):  # an invalid A-label stays as it is
                label = label[4:].encode("ascii").decode("punycode").lower()
        labels.append(label)
    return ".".join(labels)


def ascii_domain(domain: str) -> str:
    """The lower-case ASCII (A-label) form of ``domain``, for comparing with authentication results."""
    labels = []
    for label in normalise_domain(domain).split("."):
        if label.isascii():
            labels.append(label)
        else:
            try:
                labels.append("xn--" + label.encode("punycode").decode("ascii"))
            except UnicodeError:
                labels.append(label)
    return ".".join(labels)


def skeleton(text: str) -> str:
    """A UTS #39-style skeleton: two strings with the same skeleton look the same to a reader."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(_CONFUSABLES)
    for many, one in _MULTI:
        folded = folded.replace(many, one)
    return folded


def split_domain(domain: str) -> tuple[str, str, str]:
    """``(subdomains, registrable name, public suffix)`` of a normalised domain, e.g. ``("www", "ml-lyon", "fr")``."""
    labels = domain.split(".")
    width = 2 if len(labels) >= 3 and ".".join(labels[-2:]) in TWO_LEVEL_SUFFIXES else 1
    if len(labels) <= width:
        return "", domain, ""
    return ".".join(labels[: -width - 1]), labels[-width - 1], ".".join(labels[-width:])


def damerau_levenshtein(a: str, b: str) -> int:
    """Edit distance counting insertions, deletions, substitutions and swaps of adjacent characters."""
    rows = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        rows[i][0] = i
    for j in range(len(b) + 1):
        rows[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            rows[i][j] = min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                rows[i][j] = min(rows[i][j], rows[i - 2][j - 2] + 1)
    return rows[len(a)][len(b)]


def _max_distance(name: str) -> int:
    # Short names are close to many innocent ones: 2 edits only from 8 characters, 1 from 5.
    return 2 if len(name) >= 8 else 1 if len(name) >= 5 else 0


def _bare(text: str) -> str:
    return text.replace("-", "").replace(".", "")


def _imitates(domain: str, protected: str) -> bool:
    if domain == protected or domain.endswith("." + protected):
        return False
    if skeleton(domain) == skeleton(protected):
        return True
    subdomains, name, _suffix = split_domain(domain)
    _, protected_name, _ = split_domain(protected)
    target = skeleton(protected_name)
    if len(target) >= 4:
        # The protected domain, or its name, worn as a subdomain: mission-locale-lyon.fr.evil.com.
        if f".{skeleton(protected)}." in f".{skeleton(domain)}":
            return True
        if any(skeleton(label).replace("-", "") == target.replace("-", "") for label in subdomains.split(".") if label):
            return True
    if _bare(skeleton(domain)) == _bare(skeleton(protected)):
        return True  # a dot for a hyphen: mission-locale.lyon.fr
    mine = skeleton(name)
    if mine.replace("-", "") == target.replace("-", ""):
        return True  # hyphen inserted or removed, or the same name under another suffix (.fr → .com)
    if len(target) >= 6 and target.replace("-", "") in mine.replace("-", ""):
        return True  # the protected name with words added: secure-mission-locale-lyon.com
    limit = _max_distance(target)
    return limit > 0 and min(damerau_levenshtein(mine, target),
                             damerau_levenshtein(mine.replace("-", ""), target.replace("-", ""))) <= limit


def lookalike_of(domain: str, protected: Iterable[str]) -> str | None:
    """The protected domain that ``domain`` imitates, or None; a protected domain itself never imitates one."""
    candidate = normalise_domain(domain)
    guarded = sorted({normalise_domain(p) for p in protected if p.strip()})
    if not candidate or candidate in guarded:
        return None
    for protected_domain in guarded:
        if _imitates(candidate, protected_domain):
            return protected_domain
    return None

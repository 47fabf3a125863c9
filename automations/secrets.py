"""Temporary passwords (security note ACT-03) and the wrapper that keeps them out of logs, records and copies.

A temporary password is drawn from the operating system's CSPRNG (``secrets``), never derived from anything
about the user or the request. It is at least 15 characters long, holds the four character classes, avoids
characters people misread on a phone screen (0/O, 1/l/I…) or that SMS encodings mangle, and is drawn again
when it contains a word from a small banned list.

Inside a run the password lives in a ``Secret``: printing, formatting, logging or ``repr`` shows a mask; it
cannot be pickled, deep-copied or JSON-serialised; only ``reveal()`` gives the text, at the one call that needs
it (the directory write, the SMS text).
"""

from __future__ import annotations

import secrets
from typing import NoReturn

MIN_LENGTH = 15
UPPER = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # no I, O
LOWER = "abcdefghijkmnpqrstuvwxyz"  # no l, o
DIGITS = "23456789"  # no 0, 1
# GSM 03.38 basic set only (an SMS keeps them as typed), none a shell or a URL treats specially in common tools.
SYMBOLS = "!#%*+-=?@"
ALPHABET = UPPER + LOWER + DIGITS + SYMBOLS
AMBIGUOUS = frozenset("0O1lI|`'\"")
# Words that must never appear in a temporary password, whatever the case (Clorox: "Welcome…").
BANNED = (
    "password", "passw", "motdepasse", "mdp", "welcome", "bienvenue", "azerty", "qwerty", "123456",
    "sesame", "admin", "changeme", "secret", "soleil", "bonjour", "agence",
)  # fmt: skip
MASK = "********"


class Secret:
    """A secret value whose every textual form is a mask; ``reveal()`` is the only way to the text."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret text; call it only where the secret must leave (directory write, SMS body)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return MASK

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Secret):
            return NotImplemented
        return secrets.compare_digest(self._value.encode(), other._value.encode())

    __hash__ = None  # type: ignore[assignment]

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a Secret is never serialised or copied")

    def __copy__(self) -> NoReturn:
        raise TypeError("a Secret is never serialised or copied")

    def __deepcopy__(self, memo: object) -> NoReturn:
        raise TypeError("a Secret is never serialised or copied")


class SecretScratch:
    """Where a run keeps the secrets it made, in memory only; copies are empty and pickling is refused.

    ``repr`` names the keys, never the values. ``clear()`` drops everything at the end of the run.
    """

    __slots__ = ("_items",)

    def __init__(self) -> None:
        self._items: dict[str, Secret] = {}

    def put(self, name: str, secret: Secret) -> None:
        """Keep ``secret`` under ``name`` for the later steps of the run."""
        self._items[name] = secret

    def get(self, name: str) -> Secret | None:
        """The secret kept under ``name``, or None."""
        return self._items.get(name)

    def clear(self) -> None:
        """Forget every secret."""
        self._items.clear()

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"SecretScratch(keys={sorted(self._items)!r})"

    def __copy__(self) -> SecretScratch:
        return SecretScratch()

    def __deepcopy__(self, memo: object) -> SecretScratch:
        return SecretScratch()

    def __reduce_ex__(self, protocol: object) -> NoReturn:
        raise TypeError("a run's secrets are never serialised")


def _acceptable(password: str) -> bool:
    lowered = password.lower()
    return (
        any(c in UPPER for c in password)
        and any(c in LOWER for c in password)
        and any(c in DIGITS for c in password)
        and any(c in SYMBOLS for c in password)
        and not any(word in lowered for word in BANNED)
    )


def generate_password(length: int = 16) -> str:
    """A random temporary password of ``length`` (≥ 15) characters with all four classes, from the CSPRNG."""
    if length < MIN_LENGTH:
        raise ValueError(f"a temporary password has at least {MIN_LENGTH} characters (asked for {length})")
    if length > 127:
        raise ValueError(f"a temporary password has at most 127 characters for AD (asked for {length})")
    while True:
        # One of each class, the rest from the whole alphabet, then a CSPRNG shuffle.
        chars = [secrets.choice(UPPER), secrets.choice(LOWER), secrets.choice(DIGITS), secrets.choice(SYMBOLS)]
        chars += [secrets.choice(ALPHABET) for _ in range(length - len(chars))]
        secrets.SystemRandom().shuffle(chars)
        password = "".join(chars)
        if _acceptable(password):
            return password


def new_temporary_password(length: int = 16) -> Secret:
    """``generate_password`` wrapped in a ``Secret`` at birth, so the text is never held bare."""
    return Secret(generate_password(length))


def split_for_delivery(password: str) -> tuple[str, str]:
    """Two halves for two channels (ACT-05b: one by the registered mailbox, one by SMS); neither alone suffices.

    The first half takes the extra character of an odd length. Not used by the shipped playbook, which sends
    the whole password by SMS to the account holder's own mobile (never to the requester).
    """
    if len(password) < 2:
        raise ValueError("a password of fewer than two characters cannot be split")
    middle = (len(password) + 1) // 2
    return password[:middle], password[middle:]

"""Split an e-mail body into the writer's new part and the quoted or forwarded history below it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from automations.understanding.folding import fold

# Every pattern runs on one folded line (lower case, no accents, straight apostrophes).
_SEPARATOR_LINE = re.compile(
    r"^-{2,}\s*(?:original message|message d'origine|message original|message transfere"
    r"|forwarded message|message reexpedie)\s*-{2,}$"
)
_FORWARD_INTRO = re.compile(r"^(?:debut du message reexpedie|begin forwarded message)\s*:?$")
# "Le lun. 23 nov. 2026 à 08:12, X <x@y> a écrit :" / "On Mon, ... X wrote:"; clients wrap it over two lines.
_WROTE_LINE = re.compile(r"^.{0,200}\b(?:a ecrit|wrote)\s*:\s*$")
_HEADER_FIELD = re.compile(
    r"^\*?\s*(?:de|from|envoye|sent|date|a|to|objet|sujet|subject|cc|cci|bcc|importance|pour)\s*\*?\s*:"
)
_FROM_FIELD = re.compile(r"^\*?\s*(?:de|from)\s*\*?\s*:\s*\S")
_RULE_LINE = re.compile(r"^[_=\-*]{8,}$")
_QUOTE_PREFIX = re.compile(r"^[ \t]*>[ \t]?")


@dataclass(frozen=True)
class ThreadParts:
    """The new lines written by the sender and the history lines below the first reply header."""

    new: tuple[str, ...]
    history: tuple[str, ...]
    header_found: bool


def _is_header(lines: list[str], folded: list[str], i: int) -> bool:
    line = folded[i].strip()
    if _SEPARATOR_LINE.match(line) or _FORWARD_INTRO.match(line) or _WROTE_LINE.match(line):
        return True
    if i + 1 < len(lines) and line.startswith(("le ", "on ")):
        joined = f"{line} {folded[i + 1].strip()}"
        if _WROTE_LINE.match(joined):
            return True
    if _FROM_FIELD.match(line):
        # An Outlook header block: "De :" followed closely by "Envoyé :", "À :", "Objet :"...
        following = [f.strip() for f in folded[i + 1 : i + 5] if f.strip()]
        return any(_HEADER_FIELD.match(f) and not _FROM_FIELD.match(f) for f in following)
    return False


def split_thread(lines: list[str]) -> ThreadParts:
    """Cut ``lines`` at the first reply/forward header; drop ``>`` quoted lines from the new part."""
    folded = [fold(line) for line in lines]
    cut = next((i for i in range(len(lines)) if _is_header(lines, folded, i)), None)
    head = lines if cut is None else lines[:cut]
    history = () if cut is None else tuple(lines[cut + 1 :])
    new = tuple(line for line in head if not _QUOTE_PREFIX.match(line) and not _RULE_LINE.match(line.strip()))
    if cut is None:
        # A message made only of quoted lines carries its history in the quotes.
        history = tuple(_QUOTE_PREFIX.sub("", line, count=1) for line in head if _QUOTE_PREFIX.match(line))
    return ThreadParts(new=new, history=history, header_found=cut is not None)


def first_message(history: tuple[str, ...]) -> ThreadParts:
    """The newest message inside a quoted or forwarded history, without its header fields, and the older history
    below it."""
    lines = [_QUOTE_PREFIX.sub("", line, count=1) for line in history]
    start = 0
    while start < len(lines):
        folded = fold(lines[start]).strip()
        if folded and not _HEADER_FIELD.match(folded) and not _RULE_LINE.match(folded):
            break
        start += 1
    return split_thread(lines[start:])

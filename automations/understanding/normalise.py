"""Keep the part of an e-mail that asks something, cleaned for matching: the classifier's only input."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from automations.understanding.folding import fold, strip_hidden
from automations.understanding.html import html_to_text
from automations.understanding.signature import strip_disclaimers, strip_signature
from automations.understanding.thread import first_message, split_thread

_SUBJECT_PREFIX = re.compile(r"^\s*(?:re|tr|fw|fwd|ref|rep|aw|wg|sv)\s*(?:\[\d+\])?\s*:\s*", re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^(?:re|rep|aw|sv)\b", re.IGNORECASE)
_FILLER_LINE = re.compile(
    # A greeting line, unless it goes on to say something ("Bonjour, c'est réglé, merci").
    r"^(?:(?:bonjour|bonsoir|hello|salut|hi)\b(?![^.!?]*\b(?:c'est|est|sont|regle|resolu|bon|ok|fonctionne|marche"
    r"|merci)\b)[^.!?]{0,40}|pour info(?:rmation)?(?: et (?:action|traitement))?|fyi|voir ci-dessous|cf\.? ci-dessous"
    r"|ci-dessous|(?:je vous|je te|nous vous) (?:transfere|transmets|fais suivre)\b.{0,40}|transfert|pour traitement"
    r"|(?:je|nous) (?:vous |te )?(?:relaie|relaye|relayons|transfere|transferons|transmets|transmettons|fais suivre"
    r"|faisons suivre)\b.{0,80}"
    r"|pour action|a traiter|merci)(?:[\s.,:;!]*(?:svp|stp|s'il (?:vous|te) plait|merci))?[\s.,:;!]*$"
)


@dataclass(frozen=True)
class NormalisedText:
    """The request part of an e-mail: ``text`` is subject, blank line, body; ``folded`` is aligned with it."""

    subject: str
    body: str
    text: str
    folded: str
    hidden_text_found: bool
    forwarded: bool = False
    reply_subject: bool = False
    removed: tuple[str, ...] = ()
    # Subject and the whole cleaned body, quoted and forwarded history included, folded: where a note to the
    # machine may hide.
    everything_folded: str = ""

    @property
    def body_start(self) -> int:
        """Index in ``text``/``folded`` where the body begins."""
        return len(self.text) - len(self.body)


# HTML comments are invisible to the reader: an instruction there is meant for a machine.
_HTML_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)


# A form's unticked box and its label ("[ ] mot de passe oublié"): an option not chosen, not a request.
_UNTICKED = re.compile(r"(?:\[[ \t]?\]|\([ \t]?\)|\u2610)[ \t]*[^\[\]()\u2610\u2611\u2612\n]*")


def _clean(raw: str) -> tuple[str, bool]:
    text, hidden = strip_hidden(raw)
    text, comments = _HTML_COMMENT.subn("", text)
    text, invisible = html_to_text(text)
    return _UNTICKED.sub("", unicodedata.normalize("NFKC", text)), hidden or comments > 0 or invisible


def _clean_subject(subject: str) -> tuple[str, bool]:
    reply = False
    while True:
        match = _SUBJECT_PREFIX.match(subject)
        if match is None:
            return " ".join(subject.split()), reply
        reply = reply or bool(_REPLY_PREFIX.match(match.group(0).strip()))
        subject = subject[match.end() :]


_POINTS_BELOW = re.compile(
    r"\b(?:ci-dessous|ci dessous|en dessous|plus bas|ci-apres|see below)\b"
    # "je vous transfère la demande de notre conseillère": the request is the forwarded one
    r"|\b(?:transfere|transmets|fais suivre|relaie)\w*\s+(?:la |sa |leur |cette |une |son )?(?:demande|message|mail)\b"
)


def _is_empty(lines: list[str]) -> bool:
    return all(not line.strip() or _FILLER_LINE.match(fold(line).strip()) for line in lines)


# A forwarder's note that only passes the message on ("Tu peux transmettre au support ? Je n'ai pas l'adresse"):
# it asks nothing about an account, so the request is further down the chain.
_PASSES_ON = re.compile(
    r"\b(?:transfer\w*|transmet\w*|transmis\w*|fai\w* suivre|relai\w*|relay\w*|pour info\w*"
    r"|pour traitement|ci-dessous|ci dessous)"
)
_ABOUT_AN_ACCOUNT = re.compile(r"bloq|verr?ouil|mot de passe|mdp|passe|identifiant|login|compte|session|acces")
# "Je vous transfère, ne pas traiter avant lundi", "déjà réglé": the forwarder holds the request back.
_HOLDS_BACK = re.compile(
    r"\bne (?:pas|rien|plus)\b|\bn'(?:en|y)\b|annul|attend|\bavant\b|\bsauf\b|\bsi\b|\bdeja\b|\bregle|\bresolu"
    r"|\bc'est fait\b|\bpas encore\b"
)


def _forwarder_lines(lines: list[str]) -> list[str] | None:
    """The forwarder's note, folded line by line; None when a line holds the request back."""
    folded = [fold(line).strip() for line in lines if line.strip()]
    return None if any(_HOLDS_BACK.search(line) for line in folded) else folded


def _only_passes_on(lines: list[str]) -> bool:
    folded = _forwarder_lines(lines)
    return folded is not None and all(
        _FILLER_LINE.match(line) or (_PASSES_ON.search(line) and not _ABOUT_AN_ACCOUNT.search(line)) for line in folded
    )


# "Pour traitement svp, l'identifiant de la stagiaire est vhoarau": the forwarder adds whom the request is about.
_NAMES_THE_ACCOUNT = re.compile(r"\b(?:identifiant|login)s?\b[^.\n]{0,40}(?:\best\b|:)")


def _adds_the_account(lines: list[str]) -> bool:
    folded = _forwarder_lines(lines)
    return (
        folded is not None
        and any(_NAMES_THE_ACCOUNT.search(line) for line in folded)
        and all(
            _FILLER_LINE.match(line) or _NAMES_THE_ACCOUNT.search(line) or _PASSES_ON.search(line) for line in folded
        )
    )


def _forwarded_request(history: tuple[str, ...]) -> list[str]:
    """The first message down a forwarded chain that says more than "please pass this on"."""
    while True:
        parts = first_message(history)
        inner, _ = strip_disclaimers(list(parts.new))
        inner, _ = strip_signature(inner)
        if not (parts.history and _only_passes_on(inner)):
            return inner
        history = parts.history


def _tidy(lines: list[str]) -> str:
    text = "\n".join(line.rstrip() for line in lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def normalise(subject: str, body: str) -> NormalisedText:
    """Drop hidden characters, quoted history, signatures and disclaimers; keep a forwarded request if alone."""
    clean_subject, hidden_in_subject = _clean(subject)
    clean_body, hidden_in_body = _clean(body)
    clean_subject, reply = _clean_subject(clean_subject)
    removed: list[str] = []
    if hidden_in_subject or hidden_in_body:
        removed.append("hidden characters")

    parts = split_thread(clean_body.split("\n"))
    lines = list(parts.new)
    if len(lines) != len(clean_body.split("\n")):
        removed.append("quoted history")
    lines, dropped = strip_disclaimers(lines)
    if dropped:
        removed.append("disclaimer")
    lines, dropped = strip_signature(lines)
    if dropped:
        removed.append("signature")

    forwarded = False
    # A reply that gives the account ("le bon identifiant est lmathieu") answers the desk's message quoted below;
    # only a forward's note adds the account to the request it passes on.
    if parts.history and (
        _only_passes_on(lines)
        or (_adds_the_account(lines) and not reply)
        or _POINTS_BELOW.search(fold(" ".join(lines)))
    ):
        inner = _forwarded_request(parts.history)
        if not _is_empty(inner):
            if _only_passes_on(lines):
                lines = inner
                removed.append("empty new part: forwarded request kept")
            else:
                # "Voir ci-dessous, merci de débloquer": the new part asks, the forwarded one says for whom.
                lines = [*lines, "", *inner]
                removed.append("new part points to the forwarded request: both kept")
            forwarded = True

    clean = _tidy(lines)
    text = f"{clean_subject}\n\n{clean}" if clean_subject else clean
    return NormalisedText(
        subject=clean_subject,
        body=clean,
        text=text,
        folded=fold(text),
        hidden_text_found=hidden_in_subject or hidden_in_body,
        forwarded=forwarded,
        reply_subject=reply,
        removed=tuple(removed),
        everything_folded=fold(f"{clean_subject}\n{clean_body}"),
    )

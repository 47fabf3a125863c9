"""Transport signs that no person wrote the message (RFC 3834 ``Auto-Submitted``, ``X-Autoreply``...), applied
on top of any backend's reading of the text."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from automations.understanding import IGNORE, Understander, Understanding

_AUTO_HEADERS = ("x-autoreply", "x-autorespond", "x-auto-response-suppress-sent", "x-ms-exchange-autoreply")
# "bulk" and "list" mark newsletters and spam, which the text classifies better than a header.
_AUTO_PRECEDENCE = ("auto_reply",)


def auto_reply_header(headers: Mapping[str, str]) -> str | None:
    """The header that marks the message as machine-sent, or None."""
    lowered = {key.lower(): str(value).strip().lower() for key, value in headers.items()}
    submitted = lowered.get("auto-submitted")
    if submitted and submitted != "no":
        return "Auto-Submitted"
    for name in _AUTO_HEADERS:
        if name in lowered:
            return name
    if lowered.get("precedence") in _AUTO_PRECEDENCE:
        return "Precedence"
    return None


def with_headers(understanding: Understanding, headers: Mapping[str, str] | None) -> Understanding:
    """``understanding`` turned into an ignored auto-reply when the headers say a machine sent it."""
    header = auto_reply_header(headers or {})
    if header is None:
        return understanding
    return replace(
        understanding,
        intent="auto_reply",
        confidence=max(understanding.confidence, 0.99),
        decision=IGNORE,
        reasons=(*understanding.reasons, f"header {header}: sent by a machine, intent auto_reply, decision ignore"),
    )


def understand_message(
    understander: Understander,
    subject: str,
    body: str,
    *,
    sender: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Understanding:
    """Run ``understander`` on the text, then let transport headers overrule it for auto-replies."""
    return with_headers(understander.understand(subject, body, sender=sender), headers)

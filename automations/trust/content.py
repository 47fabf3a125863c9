"""What a message carries outside its plain-text body (security note VER-10, TC-15): attachments, inline images
(a QR code), links. Sésame never opens, follows or reads any of them; it acts on the body's text only.

So when the body alone asks for nothing Sésame can act on and the message carries such content, the request is
probably *there* — a PDF or DOCX form, a screenshot, a QR code, a link to a shared document — and a person must
read it. ``outside_body`` says so with a reason code naming what was left unopened, instead of a vague "not
understood". The evidence is the transport's own: the top-level ``Content-Type`` of the MIME message
(``multipart/mixed`` = attachments, ``multipart/related`` = inline parts such as images), Exchange's
``X-MS-Has-Attach``, the ``[cid:…]`` placeholders a text rendering leaves for inline images, and URLs in the text.
A forged header can only send a message to a person, never make Sésame act.
"""

from __future__ import annotations

import re

from automations.request import Request
from automations.trust import Refusal

REQUEST_IN_ATTACHMENT = "REQUEST_IN_ATTACHMENT"
REQUEST_IN_LINK = "REQUEST_IN_LINK"

_LINK = re.compile(r"(?i)\b(?:https?://|hxxps?://|www\.)[^\s<>\"']+")
_INLINE_PLACEHOLDER = re.compile(r"(?i)\[cid:[^\]]+\]")


def attachment_kinds(request: Request) -> list[str]:
    """What the MIME structure says the message carries besides its text, in words a person reads."""
    kinds: list[str] = []
    content_type = " ".join(request.header("Content-Type")).lower()
    has_attach = " ".join(request.header("X-MS-Has-Attach")).strip().lower()
    if "multipart/mixed" in content_type or has_attach == "yes":
        kinds.append("attachment(s)")
    if "multipart/related" in content_type or _INLINE_PLACEHOLDER.search(request.text):
        kinds.append("inline image(s) (a QR code or a screenshot, for instance)")
    return kinds


def links(text: str) -> list[str]:
    """The links written in ``text`` (counted, never followed; the note does not repeat them)."""
    return list(_LINK.findall(text))


def outside_body(request: Request) -> Refusal | None:
    """Why a person must read what the message carries outside its text, or None when it carries nothing.

    Call it only once the body alone gave nothing to act on: a clear request in the body is handled from the body,
    and whatever else the message carries stays unopened either way.
    """
    kinds = attachment_kinds(request)
    if kinds:
        return Refusal(REQUEST_IN_ATTACHMENT, f"the text asks for nothing Sésame can act on and the message carries "
                                              f"{' and '.join(kinds)}; Sésame never opens them: read them (after "
                                              "the anti-malware check) and handle the request by hand")  # fmt: skip
    found = links(request.text)
    if found:
        return Refusal(REQUEST_IN_LINK, f"the text asks for nothing Sésame can act on and gives {len(found)} "
                                        "link(s); Sésame never follows links: check where they lead before "
                                        "opening one, and handle the request by hand")  # fmt: skip
    return None

"""What a message carries outside its text (VER-10, TC-15): attachments, inline images, links — never opened."""

from __future__ import annotations

import pytest

from automations.request import Request
from automations.trust.content import REQUEST_IN_ATTACHMENT, REQUEST_IN_LINK, attachment_kinds, outside_body


def request(text: str = "Bonjour, voir ci-joint.", **headers: str) -> Request:
    return Request(key="<k@x>", channel="email", sender_address="a@b.fr", sender_name="", subject="Demande",
                   text=text, headers=tuple((name.replace("_", "-"), value) for name, value in headers.items()))


@pytest.mark.parametrize(
    ("headers", "kind"),
    [
        ({"Content_Type": 'multipart/mixed; boundary="b1"'}, "attachment(s)"),  # IMAP: the MIME structure
        ({"X_MS_Has_Attach": "yes"}, "attachment(s)"),  # Exchange (Graph internetMessageHeaders)
        ({"Content_Type": 'multipart/related; boundary="b2"'}, "inline image(s)"),  # an image in the body
    ],
)
def test_the_mime_structure_says_what_is_attached(headers: dict[str, str], kind: str) -> None:
    refusal = outside_body(request(**headers))
    assert refusal is not None and refusal.reason == REQUEST_IN_ATTACHMENT and kind in refusal.detail


def test_an_inline_image_placeholder_of_a_text_rendering_counts() -> None:
    assert attachment_kinds(request("Scannez : [cid:image001.png@01DA5E2C.6B2B3F10]"))


def test_links_are_counted_never_repeated() -> None:
    refusal = outside_body(request("La demande : https://evil.example/x?a=1 et www.partage.example/doc"))
    assert refusal is not None and refusal.reason == REQUEST_IN_LINK
    assert "2 link(s)" in refusal.detail and "evil.example" not in refusal.detail


def test_a_plain_message_carries_nothing_else() -> None:
    plain = request("Merci de débloquer le compte jdupont.", Content_Type="text/plain; charset=utf-8",
                    X_MS_Has_Attach="")  # fmt: skip
    assert outside_body(plain) is None

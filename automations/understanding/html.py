"""HTML bodies to plain text: what a reader sees, with what only a machine would read (hidden elements) dropped."""

from __future__ import annotations

import html
import re

_LOOKS_HTML = re.compile(
    r"</?(?:html|body|div|p|br|span|b|i|u|strong|em|table|tr|td|th|font|a|ul|ol|li|h\d)\b[^>]*>", re.I
)
# Invisible to the reader: display:none, visibility:hidden, zero font size, white text, zero opacity, ``hidden``.
_INVISIBLE_STYLE = (
    r"display\s*:\s*none|visibility\s*:\s*hidden|font-size\s*:\s*0(?:\.0+)?(?:px|pt|em|rem|%)?\s*(?:;|$|[\"'])"
    r"|(?<![-\w])color\s*:\s*(?:#fff(?:fff)?\b|white\b|rgb\(\s*255\s*,\s*255\s*,\s*255\s*\))|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$|[\"'])"
    r"|max-height\s*:\s*0|height\s*:\s*0(?:px)?\s*;[^\"']*overflow\s*:\s*hidden"
)
_HIDDEN_ELEMENT = re.compile(
    rf"<(?P<tag>[a-z][a-z0-9]*)\b(?=[^>]*(?:style\s*=\s*[\"'][^\"']*(?:{_INVISIBLE_STYLE})|\shidden(?:\s|>|=)))[^>]*>"
    r".*?</(?P=tag)\s*>",
    re.I | re.S,
)
_DROPPED = re.compile(r"<(?P<tag>script|style|head|title)\b[^>]*>.*?</(?P=tag)\s*>", re.I | re.S)
_LINE_BREAK = re.compile(r"<br\s*/?>|</?(?:p|div|tr|li|ul|ol|h\d|table|blockquote)\b[^>]*>", re.I)
_CELL_END = re.compile(r"</t[dh]\s*>", re.I)
_TAG = re.compile(r"<[^>]+>")


def looks_like_html(text: str) -> bool:
    """True when the text carries HTML tags (a body sent as HTML)."""
    return bool(_LOOKS_HTML.search(text))


def html_to_text(text: str) -> tuple[str, bool]:
    """The visible text of an HTML body, one line per block; True when hidden elements were dropped."""
    if not looks_like_html(text):
        return text, False
    text, hidden = _HIDDEN_ELEMENT.subn("", text)
    text = _DROPPED.sub("", text)
    text = _CELL_END.sub(" | ", text)
    text = _LINE_BREAK.sub("\n", text)
    text = _TAG.sub("", text)
    text = html.unescape(text)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return text, hidden > 0

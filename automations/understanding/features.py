"""Turn a normalised request into hashed text features for the ``model`` backend (pure Python, deterministic).

Features are those that held up on short, typo-ridden French help-desk texts (``notes/nlp.md`` §4):
character n-grams of 2 to 5 inside word boundaries (robust to "debolquer", "mdp", missing accents),
word unigrams and bigrams, subject words marked apart, and a few flags from normalisation. The accounts the
text names (logins, addresses, people's names) are replaced by a placeholder first: which person is concerned
says nothing about the request, and letting their letters count made the decision depend on the login (one
clear "débloquer le compte tce56720e86" in ten was doubted only because of its n-grams). Each feature is
hashed with CRC-32 (stable across processes, unlike ``hash()``) into ``DIMENSION`` buckets, weighted
by sublinear term frequency and L2-normalised so long messages do not shout louder than short ones.
"""

from __future__ import annotations

import itertools
import math
import re
import zlib

from automations.understanding.folding import fold
from automations.understanding.mentions import find_mentions
from automations.understanding.normalise import NormalisedText

DIMENSION = 1 << 20
CHAR_NGRAMS = (2, 3, 4, 5)
# Long messages are mostly noise after the first screen; the cap also bounds the time per message.
MAX_CHARS = 3000

_WORD = re.compile(r"\w+")
_DIGIT = re.compile(r"\d")
# What an account mention becomes: one word no French text contains, without character n-grams, so the model
# learns "an account is named" and nothing of how it is spelled.
ACCOUNT = "qqcompte"
# Letters mixed with digits are an identifier's shape even where no cue made it a mention ("ab12c45").
_CODE = re.compile(r"\b(?=\w*\d)(?=\w*[^\W\d_])\w{5,}\b")
# A target hidden only when shaped like an identifier: a lone word taken for a login by mistake ("oubli",
# "compte") must keep its meaning.
_IDENTIFIER = re.compile(r"[\d@._-]")

Features = dict[int, float]


def _bucket(kind: str, gram: str) -> int:
    return zlib.crc32(f"{kind}\x1f{gram}".encode()) % DIMENSION


def _words(folded: str) -> list[str]:
    # Digits become 0 so "ab12345" and "cd67890" share their shape, not their identity.
    return [_DIGIT.sub("0", word) for word in _WORD.findall(folded)]


def _hide_accounts(folded: str, accounts: list[str]) -> str:
    if accounts:
        spelled = "|".join(re.escape(a) for a in sorted(accounts, key=len, reverse=True))
        folded = re.sub(rf"(?<!\w)(?:{spelled})(?!\w)", ACCOUNT, folded)
    return _CODE.sub(ACCOUNT, folded)


def _flags(text: NormalisedText) -> list[str]:
    flags = []
    if text.hidden_text_found:
        flags.append("hidden")
    if text.forwarded:
        flags.append("forwarded")
    if text.reply_subject:
        flags.append("reply")
    if not text.body.strip():
        flags.append("empty-body")
    if not text.subject:
        flags.append("no-subject")
    return flags


def extract(text: NormalisedText) -> Features:
    """The hashed, L2-normalised feature vector of a normalised request (bucket → weight)."""
    counts: dict[int, int] = {}

    def add(kind: str, gram: str) -> None:
        bucket = _bucket(kind, gram)
        counts[bucket] = counts.get(bucket, 0) + 1

    mentions = find_mentions(text.text, text.folded)
    accounts = [fold(t) for t in mentions.targets if _IDENTIFIER.search(t)] + [fold(n) for n in mentions.names]
    words = _words(_hide_accounts(text.folded[:MAX_CHARS], accounts))
    for word in words:
        add("w", word)
        if word == ACCOUNT:
            continue
        padded = f" {word} "
        for size in CHAR_NGRAMS:
            if size > len(padded):
                break
            for start in range(len(padded) - size + 1):
                add("c", padded[start : start + size])
    for first, second in itertools.pairwise(words):
        add("b", f"{first} {second}")
    for word in _words(_hide_accounts(text.folded[: len(text.subject)], accounts)):
        add("s", word)
    for flag in _flags(text):
        add("f", flag)

    weights = {bucket: 1.0 + math.log(count) for bucket, count in counts.items()}
    norm = math.sqrt(sum(value * value for value in weights.values())) or 1.0
    return {bucket: value / norm for bucket, value in weights.items()}

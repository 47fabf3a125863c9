"""The French corpus (corpus/train.jsonl, corpus/dev.jsonl): well-formed, labelled by the guide, splits kept apart."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from automations.understanding import AUTOMATABLE as AUTOMATABLE_INTENTS
from automations.understanding import INTENTS as UNDERSTOOD_INTENTS

CORPUS = Path(__file__).resolve().parents[4] / "corpus"
SPLITS = ("train", "dev")
INTENTS = set(UNDERSTOOD_INTENTS)
AUTOMATABLE = set(AUTOMATABLE_INTENTS)
KINDS = {"login", "email", "name"}
DECISIONS = {"auto", "human", "ignore"}
# Decisions each intent may carry: only automatable intents are ever automated; nothing to do means "ignore".
ALLOWED_DECISIONS = {intent: {"human"} for intent in INTENTS} | {
    "unlock": {"auto", "human"},
    "reset_password": {"auto", "human"},
    "unlock_and_reset": {"auto", "human"},
    "thanks_or_closure": {"ignore", "human"},
    "auto_reply": {"ignore"},
    "spam_phishing": {"ignore"},
}
MIN_DEV_PER_INTENT = 15
# Two bodies closer than this share of the longer one's length (after masking targets) count as near-duplicates.
NEAR_DUPLICATE_SHARE = 0.15
NEAR_DUPLICATE_FLOOR = 6


def _load(split: str) -> list[dict[str, Any]]:
    path = CORPUS / f"{split}.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus() -> dict[str, list[dict[str, Any]]]:
    return {split: _load(split) for split in SPLITS}


def _all(corpus: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    return [record for split in SPLITS for record in corpus[split]]


def test_every_line_is_a_json_object_with_the_documented_fields(corpus: dict[str, list[dict[str, Any]]]) -> None:
    for record in _all(corpus):
        assert set(record) <= {"id", "from", "subject", "body", "headers", "label"}, record["id"]
        for key in ("id", "from", "subject", "body"):
            assert isinstance(record[key], str), (record["id"], key)
        assert record["body"].strip() or record["subject"].strip(), record["id"]  # subject-only mail exists
        headers = record.get("headers", {})
        assert isinstance(headers, dict)
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items()), record["id"]
        assert set(record["label"]) == {"intent", "targets", "decision"}, record["id"]


def test_labels_use_known_intents_kinds_and_decisions(corpus: dict[str, list[dict[str, Any]]]) -> None:
    for record in _all(corpus):
        label = record["label"]
        assert label["intent"] in INTENTS, record["id"]
        assert label["decision"] in DECISIONS, record["id"]
        assert label["decision"] in ALLOWED_DECISIONS[label["intent"]], record["id"]
        for target in label["targets"]:
            assert set(target) == {"kind", "value"}, record["id"]
            assert target["kind"] in KINDS, record["id"]
            assert target["value"].strip() == target["value"] != "", record["id"]


def test_auto_decisions_have_an_automatable_intent_and_a_target(corpus: dict[str, list[dict[str, Any]]]) -> None:
    for record in _all(corpus):
        label = record["label"]
        if label["decision"] == "auto":
            assert label["intent"] in AUTOMATABLE and label["targets"], record["id"]


def test_ids_are_unique_across_splits(corpus: dict[str, list[dict[str, Any]]]) -> None:
    counts = Counter(record["id"] for record in _all(corpus))
    assert [i for i, n in counts.items() if n > 1] == []


def test_every_intent_is_in_both_splits_and_dev_has_enough_of_each(corpus: dict[str, list[dict[str, Any]]]) -> None:
    for split in SPLITS:
        assert {r["label"]["intent"] for r in corpus[split]} == INTENTS, split
    dev = Counter(r["label"]["intent"] for r in corpus["dev"])
    assert {i: n for i, n in dev.items() if n < MIN_DEV_PER_INTENT} == {}


def test_automatable_intents_are_the_majority(corpus: dict[str, list[dict[str, Any]]]) -> None:
    records = _all(corpus)
    share = sum(r["label"]["intent"] in AUTOMATABLE for r in records) / len(records)
    assert 0.45 <= share <= 0.65


def test_targets_appear_in_the_text_as_written(corpus: dict[str, list[dict[str, Any]]]) -> None:
    for record in _all(corpus):
        text = f"{record['subject']}\n{record['body']}"
        for target in record["label"]["targets"]:
            assert target["value"] in text, (record["id"], target)


def _shape(record: dict[str, Any]) -> str:
    """The body with targets masked, accents folded and spaces collapsed: what a template would share."""
    body = record["body"]
    for target in sorted(record["label"]["targets"], key=lambda t: -len(t["value"])):
        body = body.replace(target["value"], "@")
    body = "".join(c for c in unicodedata.normalize("NFD", body.lower()) if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", body).strip()


def _within(a: str, b: str, limit: int) -> bool:
    """Whether the Levenshtein distance of ``a`` and ``b`` is at most ``limit`` (banded, stops early)."""
    if abs(len(a) - len(b)) > limit:
        return False
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i] + [limit + 1] * len(b)
        low, high = max(1, i - limit), min(len(b), i + limit)
        for j in range(low, high + 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != b[j - 1]))
        if min(current[max(0, low - 1) : high + 1]) > limit:
            return False
        previous = current
    return previous[len(b)] <= limit


def _trigrams(text: str) -> set[str]:
    return {text[i : i + 3] for i in range(max(1, len(text) - 2))}


def _near_duplicates(
    records: list[dict[str, Any]], against: list[dict[str, Any]], *, min_length: int = 0
) -> list[tuple[str, str]]:
    known = [(r["id"], s, _trigrams(s)) for r in against for s in [_shape(r)]]
    close: list[tuple[str, str]] = []
    for record in records:
        shape = _shape(record)
        if len(shape) < min_length:
            continue
        grams = _trigrams(shape)
        for known_id, other, other_grams in known:
            limit = max(NEAR_DUPLICATE_FLOOR, int(NEAR_DUPLICATE_SHARE * max(len(shape), len(other))))
            # One edit removes at most three trigrams of either side: a cheap bound before the exact distance.
            if max(len(grams - other_grams), len(other_grams - grams)) > 3 * limit:
                continue
            if _within(shape, other, limit):
                close.append((record["id"], known_id))
    return close


def test_no_dev_body_is_a_near_duplicate_of_a_train_body(corpus: dict[str, list[dict[str, Any]]]) -> None:
    assert _near_duplicates(corpus["dev"], corpus["train"]) == []


@pytest.mark.parametrize("split", ["test", "test2", "test3"])
def test_the_held_out_test_splits_are_valid_and_unseen(corpus: dict[str, list[dict[str, Any]]], split: str) -> None:
    held_out = [
        json.loads(line) for line in (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if line
    ]
    ids = [r["id"] for r in held_out]
    assert len(ids) == len(set(ids)) and all(i.startswith(f"{split}-") for i in ids)
    for record in held_out:
        text = f"{record['subject']}\n{record['body']}"
        assert all(t["value"] in text for t in record["label"]["targets"]), record["id"]
    # Very short messages ("ok merci ça marche") coincide by nature; they are not templates.
    assert _near_duplicates(held_out, corpus["train"] + corpus["dev"], min_length=40) == []


def test_near_duplicate_check_catches_a_template_with_names_swapped() -> None:
    def record(body: str, login: str) -> dict[str, Any]:
        return {"body": body, "label": {"targets": [{"kind": "login", "value": login}]}}

    a = _shape(record("Bonjour, merci de débloquer le compte jdupont. Cordialement", "jdupont"))
    b = _shape(record("Bonjour, merci de debloquer le compte mmartin-x. Cordialement", "mmartin-x"))
    c = _shape(record("Salut, mdp oublié pour ab12345, tu peux le reset ?", "ab12345"))
    assert _within(a, b, NEAR_DUPLICATE_FLOOR)
    assert not _within(a, c, int(NEAR_DUPLICATE_SHARE * max(len(a), len(c))))


def test_the_jsonl_files_are_what_the_generator_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS / "generate.py")
    assert spec is not None and spec.loader is not None
    generate = importlib.util.module_from_spec(spec)
    # Dataclasses look their module up in sys.modules while the file executes.
    monkeypatch.setitem(sys.modules, spec.name, generate)
    spec.loader.exec_module(generate)
    for split in SPLITS:
        expected = generate.to_jsonl(generate.render_split(split))
        assert (CORPUS / f"{split}.jsonl").read_text(encoding="utf-8") == expected, split

"""``workers.classify``: the JSONL contract of ``sesame classify`` and the figures of ``sesame eval``."""

from __future__ import annotations

import io
import json

import pytest

from workers.classify import MessageError, classify_stream, evaluate_stream, parse_message

SENDER = "claire.fabre@mission-locale-exemple.fr"


def line(**record: object) -> str:
    return json.dumps(record, ensure_ascii=False) + "\n"


def test_classify_writes_one_stable_record_per_message() -> None:
    source = io.StringIO(
        line(
            id="m1",
            **{"from": SENDER},
            subject="compte bloqué",
            body="Merci de débloquer le compte jdupont",
            extra="ignored",
        )
        + line(id=2, subject="Absence", body="Je suis absente.", headers={"Auto-Submitted": "auto-replied"})
    )
    sink = io.StringIO()
    summary = classify_stream(source, sink, "rules")
    records = [json.loads(row) for row in sink.getvalue().splitlines()]
    assert (summary.classified, summary.errors) == (2, [])
    assert set(records[0]) == {"id", "intent", "confidence", "targets", "decision", "reasons"}
    assert records[0]["targets"] == [{"kind": "login", "value": "jdupont"}]
    assert (records[0]["intent"], records[0]["decision"]) == ("unlock", "auto")
    assert (records[1]["id"], records[1]["intent"], records[1]["decision"]) == ("2", "auto_reply", "ignore")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"subject": "x"}', "missing or invalid 'id'"),
        ('{"id": "a", "body": 3}', "'body' must be a string"),
        ('{"id": "a", "headers": []}', "'headers' must be an object"),
    ],
)
def test_malformed_lines_are_named(raw: str, message: str) -> None:
    with pytest.raises(MessageError, match=message):
        parse_message(raw)


def test_a_bad_line_loses_nothing_else() -> None:
    source = io.StringIO(line(id="a", body="débloquer jdupont") + "{oops\n\n" + line(id="b", body="merci"))
    sink = io.StringIO()
    summary = classify_stream(source, sink, "rules")
    assert summary.classified == 2
    assert len(summary.errors) == 1 and summary.errors[0].startswith("line 2:")
    assert [json.loads(row)["id"] for row in sink.getvalue().splitlines()] == ["a", "b"]


def test_eval_reports_precision_coverage_confusion_and_misses() -> None:
    source = io.StringIO(
        line(
            id="ok",
            body="Merci de débloquer le compte jdupont",
            label={"intent": "unlock", "targets": [{"kind": "login", "value": "JDUPONT"}], "decision": "auto"},
        )
        + line(
            id="missed",
            body="Pouvez-vous regarder pour Jean ?",
            label={"intent": "unlock", "targets": [], "decision": "auto"},
        )
        + line(id="printer", body="L'imprimante est en panne", label={"intent": "hardware", "targets": []})
    )
    report = evaluate_stream(source, "rules")
    assert (report.auto_predicted, report.auto_correct, report.auto_gold) == (1, 1, 2)
    assert report.auto_precision == 1.0 and report.auto_coverage == 0.5
    assert report.auto_targets_exact == 1
    text = report.format()
    for expected in ("precision", "recall", "confusion matrix", "missed: unlock -> ", "coverage"):
        assert expected in text

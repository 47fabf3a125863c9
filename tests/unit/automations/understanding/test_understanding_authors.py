"""Leave-one-author-out report: each author scored with thresholds fitted on the others only."""

from __future__ import annotations

import json
from pathlib import Path

from automations.understanding.authors import report
from automations.understanding.model import Example


def _write(path: Path, records: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")


def _record(record_id: str, body: str, intent: str, decision: str) -> dict[str, object]:
    return {
        "id": record_id,
        "from": "agent@mission-locale-exemple.fr",
        "subject": "demande",
        "body": body,
        "label": {"intent": intent, "targets": [], "decision": decision},
    }


def test_report_per_author_and_the_agreement_veto(tmp_path: Path) -> None:
    records = [
        _record("train-0001", "Merci de débloquer le compte jdupont2.", "unlock", "auto"),
        _record("train-0002", "Merci de réinitialiser le mot de passe de mmartin3.", "reset_password", "auto"),
        _record("train-x-0001", "Merci de débloquer le compte pbernard4.", "unlock", "auto"),
        _record("train-x-0002", "Merci de débloquer le compte lpetit5.", "unlock_and_reset", "auto"),
    ]
    corpus = tmp_path / "train.jsonl"
    _write(corpus, records)
    scores: dict[str, dict[str, float]] = {}
    for record in records:
        fingerprint = Example(str(record["id"]), "demande", str(record["body"]), "").fingerprint
        intent = str(record["label"]["intent"])  # type: ignore[index]
        # The out-of-author model reads each gold intent; the rules read train-x-0002 as a plain unlock.
        scores[f"intent:{fingerprint}"] = {intent: 0.8, "other": 0.2}
        scores[f"auto:{fingerprint}"] = {"auto": 0.9}
    text = report(corpus, scores)
    lines = text.splitlines()
    assert lines[0].startswith("train (2 messages")
    assert any(line.startswith("train-x (2 messages") for line in lines)
    x_block = text.split("train-x (2 messages")[1].split("all authors")[0]
    # Rules alone: the wrong reading of train-x-0002 is a wrong auto; the agreeing model vetoes it.
    assert "rules        precision  50.0% (1/2)" in x_block
    assert "+agree       precision 100.0% (1/1)" in x_block
    assert "train-x-0002 (unlock_and_reset/auto -> unlock)" in x_block

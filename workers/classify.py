"""``sesame classify`` and ``sesame eval``: understanding JSONL messages from files, and measuring it on labels.

Input lines are ``{"id", "from", "subject", "body", "headers"?}`` (other keys ignored); ``eval`` also reads
``"label": {"intent", "targets", "decision"?}``. A malformed line is reported with its number and counted; the
other lines are still processed.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from automations.understanding import (
    AUTO,
    AUTOMATABLE,
    INTENTS,
    Mention,
    Understander,
    Understanding,
    get_understander,
)
from automations.understanding.folding import fold
from automations.understanding.headers import understand_message


class MessageError(ValueError):
    """One input line cannot be read as a message; the text says which line and why."""


@dataclass(frozen=True)
class Message:
    """One message of an input file."""

    id: str
    sender: str | None
    subject: str
    body: str
    headers: Mapping[str, str]
    label: Mapping[str, Any] | None


@dataclass
class ClassifySummary:
    """How many lines were classified and which could not be read."""

    classified: int = 0
    errors: list[str] = field(default_factory=list)


def _text(record: Mapping[str, Any], key: str) -> str:
    value = record.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MessageError(f"{key!r} must be a string")
    return value


def parse_message(line: str) -> Message:
    """One JSONL line as a ``Message``; raises ``MessageError`` saying what is wrong (never echoing the text)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise MessageError(f"not valid JSON ({error.msg} at column {error.colno})") from None
    if not isinstance(record, dict):
        raise MessageError("not a JSON object")
    if not isinstance(record.get("id"), str | int) or isinstance(record.get("id"), bool):
        raise MessageError("missing or invalid 'id'")
    headers = record.get("headers")
    headers = {} if headers is None else headers
    if not isinstance(headers, dict):
        raise MessageError("'headers' must be an object")
    label = record.get("label")
    if label is not None and (not isinstance(label, dict) or not isinstance(label.get("intent"), str)):
        raise MessageError("'label' must be an object with an 'intent'")
    sender = _text(record, "from") or None
    return Message(
        id=str(record["id"]),
        sender=sender,
        subject=_text(record, "subject"),
        body=_text(record, "body"),
        headers={str(k): str(v) for k, v in headers.items()},
        label=label,
    )


def read_messages(stream: TextIO, summary: ClassifySummary) -> Iterator[Message]:
    """Messages of a JSONL stream, skipping blank lines; bad lines go to ``summary.errors``."""
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield parse_message(line)
        except MessageError as error:
            summary.errors.append(f"line {number}: {error}")


def target_mentions(understanding: Understanding) -> tuple[Mention, ...]:
    """The accounts named, with their kind; backends that give no ``mentions`` get kinds from the values."""
    if understanding.mentions:
        return understanding.mentions
    kinds = [Mention("email" if "@" in value else "login", value) for value in understanding.targets]
    return (*kinds, *(Mention("name", name) for name in understanding.names))


def understand(understander: Understander, message: Message) -> Understanding:
    """The backend's reading of one message, with the transport headers applied."""
    return understand_message(
        understander, message.subject, message.body, sender=message.sender, headers=message.headers
    )


def result_line(message: Message, understanding: Understanding) -> dict[str, Any]:
    """The stable output record of ``sesame classify``."""
    return {
        "id": message.id,
        "intent": understanding.intent,
        "confidence": round(understanding.confidence, 4),
        "targets": [{"kind": m.kind, "value": m.value} for m in target_mentions(understanding)],
        "decision": understanding.decision,
        "reasons": list(understanding.reasons),
    }


def classify_stream(source: TextIO, sink: TextIO, backend: str = "rules+model") -> ClassifySummary:
    """Classify every message of ``source`` and write one JSON line each to ``sink``."""
    understander = get_understander(backend)
    summary = ClassifySummary()
    for message in read_messages(source, summary):
        record = result_line(message, understand(understander, message))
        sink.write(json.dumps(record, ensure_ascii=False) + "\n")
        summary.classified += 1
    return summary


def classify_file(input_path: str, output_path: str | None = None, backend: str = "rules+model") -> ClassifySummary:
    """``sesame classify``: read ``input_path``, write to ``output_path`` (standard output when None)."""
    with open(input_path, encoding="utf-8") as source:
        if output_path is None:
            return classify_stream(source, sys.stdout, backend)
        with open(output_path, "w", encoding="utf-8") as sink:
            return classify_stream(source, sink, backend)


# --- evaluation --------------------------------------------------------------------------------------------


def _target_key(kind: str, value: str) -> tuple[str, str | frozenset[str]]:
    """Targets compare without case or accents; a name compares as its set of words ("DUPONT Jean")."""
    folded = fold(value).strip()
    if kind == "name":
        return kind, frozenset(folded.split())
    return kind, folded


@dataclass
class EvalReport:
    """Figures of one backend on labelled messages."""

    backend: str
    gold: list[str] = field(default_factory=list)
    predicted: list[str] = field(default_factory=list)
    misclassified: list[tuple[str, str, str]] = field(default_factory=list)
    wrong_decisions: list[tuple[str, str, str]] = field(default_factory=list)
    auto_predicted: int = 0
    auto_correct: int = 0
    auto_wrong_ids: list[str] = field(default_factory=list)
    auto_gold: int = 0
    automatable_gold: int = 0
    auto_targets_exact: int = 0
    target_mismatch_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def auto_precision(self) -> float:
        """Share of "auto" decisions whose gold decision is "auto" with the same intent."""
        return self.auto_correct / self.auto_predicted if self.auto_predicted else 1.0

    @property
    def auto_coverage(self) -> float:
        """Share of messages labelled "auto" that got a correct "auto"."""
        return self.auto_correct / self.auto_gold if self.auto_gold else 0.0

    def precision_recall(self, intent: str) -> tuple[float, float, int]:
        """Precision, recall and support of one intent."""
        pairs = list(zip(self.gold, self.predicted, strict=True))
        true_pos = sum(1 for g, p in pairs if g == p == intent)
        predicted = sum(1 for _, p in pairs if p == intent)
        support = sum(1 for g, _ in pairs if g == intent)
        return (true_pos / predicted if predicted else 0.0), (true_pos / support if support else 0.0), support

    def format(self) -> str:
        """The human-readable report printed by ``sesame eval``."""
        n = len(self.gold)
        accuracy = sum(g == p for g, p in zip(self.gold, self.predicted, strict=True)) / n if n else 0.0
        lines = [f"backend {self.backend}: {n} labelled messages, intent accuracy {accuracy:.1%}", ""]
        lines.append(f"{'intent':<20}{'precision':>10}{'recall':>8}{'support':>9}")
        for intent in INTENTS:
            precision, recall, support = self.precision_recall(intent)
            if support or intent in self.predicted:
                lines.append(f"{intent:<20}{precision:>10.1%}{recall:>8.1%}{support:>9}")
        lines += [
            "",
            f"auto decisions: {self.auto_predicted}, correct {self.auto_correct}, precision {self.auto_precision:.2%}",
            f"coverage of automatable requests labelled auto: {self.auto_correct}/{self.auto_gold} "
            f"= {self.auto_coverage:.1%} (messages with an automatable intent: {self.automatable_gold})",
            f"targets exactly as labelled on correct autos: {self.auto_targets_exact}/{self.auto_correct}",
        ]
        if self.auto_wrong_ids:
            lines.append(f"WRONG auto decisions: {', '.join(self.auto_wrong_ids)}")
        lines += ["", "confusion matrix (rows: label, columns: predicted)", *self._confusion()]
        lines += ["", f"misclassified intents ({len(self.misclassified)}):"]
        lines += [f"  {mid}: {gold} -> {predicted}" for mid, gold, predicted in self.misclassified]
        lines += [f"wrong decisions ({len(self.wrong_decisions)}):"]
        lines += [f"  {mid}: {gold} -> {predicted}" for mid, gold, predicted in self.wrong_decisions]
        if self.target_mismatch_ids:
            lines.append(f"auto with targets other than labelled: {', '.join(self.target_mismatch_ids)}")
        if self.errors:
            lines += [f"unreadable lines ({len(self.errors)}):", *(f"  {error}" for error in self.errors)]
        return "\n".join(lines)

    def _confusion(self) -> list[str]:
        present = [i for i in INTENTS if i in self.gold or i in self.predicted]
        short = {i: i[:6] for i in present}
        counts = Counter(zip(self.gold, self.predicted, strict=True))
        rows = [f"{'':<20}" + "".join(f"{short[p]:>7}" for p in present)]
        for gold in present:
            rows.append(f"{gold:<20}" + "".join(f"{counts[(gold, p)] or '.':>7}" for p in present))
        return rows


def evaluate_stream(
    source: TextIO, backend: str = "rules+model", understander: Understander | None = None
) -> EvalReport:
    """Figures of ``backend`` on labelled messages (lines without a label are counted as errors)."""
    understander = understander or get_understander(backend)
    summary = ClassifySummary()
    report = EvalReport(backend=backend)
    for message in read_messages(source, summary):
        if message.label is None:
            summary.errors.append(f"message {message.id}: no 'label'")
            continue
        gold_intent = str(message.label["intent"])
        gold_decision = str(message.label.get("decision") or ("auto" if gold_intent in AUTOMATABLE else "human"))
        result = understand(understander, message)
        report.gold.append(gold_intent)
        report.predicted.append(result.intent)
        report.automatable_gold += gold_intent in AUTOMATABLE
        report.auto_gold += gold_decision == AUTO
        if result.intent != gold_intent:
            report.misclassified.append((message.id, gold_intent, result.intent))
        if result.decision != gold_decision:
            report.wrong_decisions.append((message.id, gold_decision, result.decision))
        if result.decision == AUTO:
            report.auto_predicted += 1
            if gold_decision == AUTO and gold_intent == result.intent:
                report.auto_correct += 1
                gold_targets = {_target_key(t["kind"], t["value"]) for t in message.label.get("targets", [])}
                found = {_target_key(m.kind, m.value) for m in target_mentions(result)}
                if found == gold_targets:
                    report.auto_targets_exact += 1
                else:
                    report.target_mismatch_ids.append(message.id)
            else:
                report.auto_wrong_ids.append(message.id)
    report.errors = summary.errors
    return report


def evaluate_file(input_path: str, backend: str = "rules+model") -> EvalReport:
    """``sesame eval``: figures of ``backend`` on the labelled messages of ``input_path``."""
    with open(input_path, encoding="utf-8") as source:
        return evaluate_stream(source, backend)

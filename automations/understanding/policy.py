"""The combination policy: "auto" only when the rules are clear AND the model (if any) agrees above a per-intent
threshold calibrated for precision on the train split. Thresholds live in ``thresholds.json`` next to this file,
written by ``python -m automations.understanding.policy calibrate --corpus corpus/train.jsonl``."""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from automations.understanding import AUTO, AUTOMATABLE, HUMAN, Understander, Understanding

THRESHOLDS_FILE = Path(__file__).with_name("thresholds.json")
TARGET_PRECISION = 0.995
# Agreement means at least this probability for the rules' intent, whatever calibration found.
FLOOR = 0.3
# With no calibrated value the model must be this sure: fail towards a person.
UNCALIBRATED = 0.9
# The decision head's threshold is the strictest that still keeps this coverage of the "auto" requests of train,
# scored by heads that never saw the author of the message (leave one source file out).
AUTO_COVERAGE = 0.9


@dataclass(frozen=True)
class Thresholds:
    """Probability the model must give the rules' intent for "auto", per automatable intent."""

    by_intent: Mapping[str, float]
    target_precision: float = TARGET_PRECISION
    # Probability the model's decision head must give "auto" (None: the model has no head, or none calibrated).
    auto: float | None = None
    # The model's most likely intent must be the rules' intent (a lock/password mix-up is a wrong action).
    agree: bool = False

    def of(self, intent: str) -> float:
        """The threshold of ``intent`` (strict when it was never calibrated)."""
        return self.by_intent.get(intent, UNCALIBRATED)

    def save(self, path: Path = THRESHOLDS_FILE, *, source: str = "") -> None:
        """Write the thresholds as a small JSON file."""
        data = {
            "target_precision": self.target_precision,
            "floor": FLOOR,
            "calibrated_on": source,
            "thresholds": {intent: round(value, 4) for intent, value in sorted(self.by_intent.items())},
            **({"auto": round(self.auto, 4)} if self.auto is not None else {}),
            "model_must_agree": self.agree,
        }
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path = THRESHOLDS_FILE) -> Thresholds:
        """Read thresholds; a missing file means every intent is uncalibrated (strict)."""
        if not path.exists():
            return cls({})
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            {str(k): float(v) for k, v in data["thresholds"].items()},
            float(data.get("target_precision", TARGET_PRECISION)),
            float(data["auto"]) if data.get("auto") is not None else None,
            bool(data.get("model_must_agree", False)),
        )


def combine(rules: Understanding, model: Understanding | None, thresholds: Thresholds) -> Understanding:
    """The rules' reading, kept "auto" only if the model agrees enough; the model's scores are attached."""
    if model is None:
        return replace(rules, reasons=(*rules.reasons, "policy: no model configured, rules decide"))
    probability = model.scores.get(rules.intent, 0.0)
    reasons = [*rules.reasons, f"model: {model.intent} p={model.confidence:.3f}; p({rules.intent})={probability:.3f}"]
    decision = rules.decision
    if rules.decision == AUTO:
        threshold = thresholds.of(rules.intent)
        if thresholds.agree and model.intent != rules.intent:
            decision = HUMAN
            reasons.append(f"policy human: the model reads {model.intent}, the rules {rules.intent}")
        elif probability < threshold:
            decision = HUMAN
            reasons.append(f"policy human: model disagrees ({probability:.3f} < {threshold:.3f})")
        elif thresholds.auto is not None and model.auto_probability is not None and (
            model.auto_probability < thresholds.auto
        ):
            # The decision head learnt the corpus's "human" requests (conditions, other systems...): a second key.
            decision = HUMAN
            doubt = f"{model.auto_probability:.3f} < {thresholds.auto:.3f}"
            reasons.append(f"policy human: model doubts the request is clear ({doubt})")
        else:
            reasons.append(f"policy auto: model agrees ({probability:.3f} >= {threshold:.3f})")
    return replace(rules, decision=decision, reasons=tuple(reasons), scores=dict(model.scores))


@dataclass(frozen=True)
class Observation:
    """One labelled train message as both backends saw it."""

    gold_intent: str
    gold_decision: str
    rules: Understanding
    model_scores: Mapping[str, float]
    auto_probability: float | None = None


def calibrate(observations: Sequence[Observation], target: float = TARGET_PRECISION) -> Thresholds:
    """Per automatable intent, the lowest threshold whose "auto" decisions reach ``target`` precision."""
    by_intent: dict[str, float] = {}
    for intent in sorted(AUTOMATABLE):
        scored = sorted(
            (o.model_scores.get(intent, 0.0), o.gold_intent == intent and o.gold_decision == AUTO)
            for o in observations
            if o.rules.decision == AUTO and o.rules.intent == intent
        )
        if not scored:
            continue
        chosen = None
        for i, (probability, _) in enumerate(scored):
            kept = scored[i:]
            if sum(ok for _, ok in kept) / len(kept) >= target:
                chosen = probability
                break
        by_intent[intent] = max(FLOOR, chosen if chosen is not None else 1.0)
    return Thresholds(by_intent, target)


def calibrate_auto(observations: Sequence[Observation], coverage: float = AUTO_COVERAGE) -> float | None:
    """The highest decision-head threshold keeping ``coverage`` of the gold "auto" messages automated by the rules;
    None when the rules alone do not reach that coverage or no message has a head score."""
    gold = sum(o.gold_decision == AUTO for o in observations)
    kept = sorted(
        o.auto_probability
        for o in observations
        if o.auto_probability is not None
        and o.rules.decision == AUTO
        and o.gold_decision == AUTO
        and o.rules.intent == o.gold_intent
    )
    needed = math.ceil(coverage * gold)
    if not gold or len(kept) < needed or needed == 0:
        return None
    # The ``needed`` highest scores pass: the threshold is the lowest of them.
    return kept[len(kept) - needed]


class RulesAndModelUnderstander:
    """``rules+model``: the grammar decides, the trained model must agree before anything is automated."""

    name = "rules+model"

    def __init__(
        self,
        rules: Understander | None = None,
        model: Understander | None = None,
        thresholds: Thresholds | None = None,
    ) -> None:
        from automations.understanding.model import ModelUnderstander
        from automations.understanding.rules import RulesUnderstander

        self.rules = rules or RulesUnderstander()
        self.model = model or ModelUnderstander()
        self.thresholds = thresholds or Thresholds.load()

    def understand(self, subject: str, body: str, *, sender: str | None = None) -> Understanding:
        """The rules' reading, "auto" only when the model agrees above the intent's threshold."""
        rules = self.rules.understand(subject, body, sender=sender)
        model = self.model.understand(subject, body, sender=sender)
        return combine(rules, model, self.thresholds)


def _observe(corpus: Path, *, intent_scores: bool = True) -> list[Observation]:
    from automations.understanding.model import (
        load_corpus,
        load_decisions,
        out_of_fold_scores,
        out_of_source_decision_scores,
    )
    from automations.understanding.rules import RulesUnderstander

    rules = RulesUnderstander()
    # The shipped model has seen these messages and is over-confident on them: thresholds are fitted on the
    # scores of models that did not (5-fold), so they hold on messages nobody has seen.
    held_out_scores = out_of_fold_scores(load_corpus(corpus)) if intent_scores else {}
    head_scores = out_of_source_decision_scores(load_decisions(corpus))
    observations = []
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        subject, body, sender = record.get("subject", ""), record.get("body", ""), record.get("from")
        label = record["label"]
        observations.append(
            Observation(
                gold_intent=label["intent"],
                gold_decision=label.get("decision", HUMAN),
                rules=rules.understand(subject, body, sender=sender),
                model_scores=held_out_scores.get(str(record["id"]), {}),
                auto_probability=head_scores.get(str(record["id"])),
            )
        )
    return observations


def main(argv: Sequence[str] | None = None) -> None:
    """``calibrate --corpus corpus/train.jsonl``: fit and save the thresholds (train split only)."""
    parser = argparse.ArgumentParser(prog="python -m automations.understanding.policy")
    sub = parser.add_subparsers(dest="command", required=True)
    fit = sub.add_parser("calibrate", help="fit per-intent thresholds on a labelled split (use train)")
    fit.add_argument("--corpus", type=Path, required=True)
    fit.add_argument("--out", type=Path, default=THRESHOLDS_FILE)
    fit.add_argument("--target", type=float, default=TARGET_PRECISION)
    fit.add_argument("--coverage", type=float, default=AUTO_COVERAGE, help="coverage the decision head must keep")
    fit.add_argument(
        "--keep-intent-thresholds",
        action="store_true",
        help="refit only the decision head's threshold (the 5-fold intent scores take long to compute)",
    )
    args = parser.parse_args(argv)
    observations = _observe(args.corpus, intent_scores=not args.keep_intent_thresholds)
    by_intent = (
        dict(Thresholds.load(args.out).by_intent)
        if args.keep_intent_thresholds
        else dict(calibrate(observations, args.target).by_intent)
    )
    agree = Thresholds.load(args.out).agree if args.out.exists() else False
    thresholds = Thresholds(by_intent, args.target, calibrate_auto(observations, args.coverage), agree)
    thresholds.save(args.out, source=args.corpus.name)
    print(json.dumps({**thresholds.by_intent, "auto": thresholds.auto}, indent=2))


if __name__ == "__main__":
    main()

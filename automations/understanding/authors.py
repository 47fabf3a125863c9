"""Leave-one-author-out evaluation: how the backends do on an author whose phrasing they never saw.

Each training source file (``train``, ``train-a``, ``train-b``…) is one author. For each author, the model's two
heads are trained on the *other* authors and score that author's messages; the combination policy's thresholds are
fitted on the other authors' out-of-author scores only. The rules cannot be refitted per author (they were written
against all of train), so their figure is optimistic for the authors they were tuned on and honest for a new author
measured before tuning (the figures in docs/understanding.md say which).

    python -m automations.understanding.authors scores --corpus corpus/train.jsonl --out /tmp/loao-scores.json
    python -m automations.understanding.authors report --corpus corpus/train.jsonl --scores /tmp/loao-scores.json
    python -m automations.understanding.authors grid --corpus corpus/train.jsonl --scores /tmp/loao-scores.json \
        --readings corpus/untuned-readings.json
    python -m automations.understanding.authors calibrate --corpus corpus/train.jsonl --scores /tmp/loao-scores.json \
        --auto-threshold 0.3

The scores take a minute or so (two models per author, trained with numpy) and are cached in ``--out``, keyed by
each message's fingerprint, so the report can be rerun after every rule change in seconds.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from automations.understanding import AUTO, AUTOMATABLE, HUMAN, Understanding
from automations.understanding.model import (
    AUTO_CLASS,
    Example,
    _features,
    load_corpus,
    load_decisions,
    source_of,
    train,
)
from automations.understanding.policy import (
    AUTO_COVERAGE,
    FLOOR,
    THRESHOLDS_FILE,
    Observation,
    Thresholds,
    calibrate,
    calibrate_auto,
    combine,
)
from automations.understanding.rules import RulesUnderstander


def _score_one(task: tuple[str, str, list[Example]]) -> dict[str, dict[str, float]]:
    """Train one head on the other authors and score ``source``'s messages with it (run in a worker process)."""
    head, source, examples = task
    rest = [e for e in examples if source_of(e.id) != source]
    model = train(rest)
    out = {}
    for example in examples:
        if source_of(example.id) == source:
            out[example.fingerprint] = model.probabilities(_features(example))
    return {f"{head}:{fingerprint}": scores for fingerprint, scores in out.items()}


def out_of_author_scores(corpus: Path, jobs: int = 2, out: Path | None = None) -> dict[str, dict[str, float]]:
    """``intent:<fingerprint>`` → intent probabilities, ``auto:<fingerprint>`` → {"auto": p} for every message,
    each from a head trained without the message's author; written to ``out`` after each head (a long run that is
    stopped keeps what it computed)."""
    intents = load_corpus(corpus)
    decisions = load_decisions(corpus)
    sources = sorted({source_of(e.id) for e in intents})
    # The decision heads (two classes) are the quicker to train: first, so a partial run is already useful.
    tasks = [("auto", s, decisions) for s in sources] + [("intent", s, intents) for s in sources]
    scores: dict[str, dict[str, float]] = {}
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for part in pool.map(_score_one, tasks):
            scores.update(
                (key, {AUTO_CLASS: value.get(AUTO_CLASS, 0.0)} if key.startswith("auto:") else value)
                for key, value in part.items()
            )
            if out is not None:
                out.write_text(json.dumps(scores), encoding="utf-8")
    return scores


@dataclass
class Figures:
    """``auto`` precision and coverage on one author."""

    autos: int = 0
    correct: int = 0
    gold_auto: int = 0
    wrong: list[str] = field(default_factory=list)

    def add(self, record_id: str, gold_intent: str, gold_decision: str, got: Understanding) -> None:
        self.gold_auto += gold_decision == AUTO
        if got.decision == AUTO:
            self.autos += 1
            if gold_decision == AUTO and gold_intent == got.intent:
                self.correct += 1
            else:
                self.wrong.append(f"{record_id} ({gold_intent}/{gold_decision} -> {got.intent})")

    def line(self) -> str:
        precision = self.correct / self.autos if self.autos else 1.0
        coverage = self.correct / self.gold_auto if self.gold_auto else 0.0
        return f"precision {precision:6.1%} ({self.correct}/{self.autos})  coverage {coverage:6.1%} ({self.gold_auto})"


def _observations(
    corpus: Path, scores: dict[str, dict[str, float]], readings: dict[str, dict[str, str]] | None = None
) -> list[tuple[str, Observation]]:
    """Each message as the rules and the out-of-author model saw it; ``readings`` replace the rules' intent and
    decision for some ids (the rules as they were before they were tuned on that author: an honest reading)."""
    rules = RulesUnderstander()
    examples = {e.id: e for e in load_corpus(corpus)}
    observed = []
    for line in corpus.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        record = json.loads(line)
        example = examples[str(record["id"])]
        label = record["label"]
        auto = scores.get(f"auto:{example.fingerprint}")
        reading = rules.understand(record.get("subject", ""), record.get("body", ""), sender=record.get("from"))
        if readings and example.id in readings:
            reading = replace(
                reading, intent=readings[example.id]["intent"], decision=readings[example.id]["decision"]
            )
        observed.append(
            (
                example.id,
                Observation(
                    gold_intent=label["intent"],
                    gold_decision=label.get("decision", HUMAN),
                    rules=reading,
                    model_scores=scores.get(f"intent:{example.fingerprint}", {}),
                    auto_probability=None if auto is None else auto[AUTO_CLASS],
                ),
            )
        )
    return observed


def _model_reading(observation: Observation) -> Understanding:
    scores = observation.model_scores
    intent = max(scores, key=lambda k: scores[k]) if scores else "other"
    return Understanding(
        intent=intent,
        confidence=scores.get(intent, 0.0),
        targets=(),
        names=(),
        reasons=(),
        scores=scores,
        auto_probability=observation.auto_probability,
    )


def report(
    corpus: Path,
    scores: dict[str, dict[str, float]],
    *,
    show_wrong: bool = True,
    readings: dict[str, dict[str, str]] | None = None,
    coverage: float = AUTO_COVERAGE,
) -> str:
    """Per author: rules alone, rules+model (thresholds refitted on the other authors), and rules+model where the
    model's top intent must also be the rules' intent."""
    observed = _observations(corpus, scores, readings)
    sources = sorted({source_of(i) for i, _ in observed})
    lines = []
    totals = {name: Figures() for name in ("rules", "rules+model", "+agree")}
    for source in sources:
        others = [o for i, o in observed if source_of(i) != source]
        thresholds = Thresholds(calibrate(others).by_intent, auto=calibrate_auto(others, coverage))
        agreeing = replace(thresholds, agree=True)
        mine = [(i, o) for i, o in observed if source_of(i) == source]
        figures = {name: Figures() for name in totals}
        for record_id, o in mine:
            decided = {
                "rules": o.rules,
                "rules+model": combine(o.rules, _model_reading(o), thresholds),
                "+agree": combine(o.rules, _model_reading(o), agreeing),
            }
            for name, reading in decided.items():
                figures[name].add(record_id, o.gold_intent, o.gold_decision, reading)
                totals[name].add(record_id, o.gold_intent, o.gold_decision, reading)
        threshold_text = ", ".join(f"{k} {v:.2f}" for k, v in sorted(thresholds.by_intent.items()))
        lines.append(f"{source} ({len(mine)} messages; thresholds {threshold_text}, auto {thresholds.auto})")
        for name, figure in figures.items():
            lines.append(f"  {name:<12} {figure.line()}")
            if show_wrong and figure.wrong:
                lines.append(f"    wrong: {'; '.join(figure.wrong)}")
    lines.append("all authors, each scored out of author")
    for name, figure in totals.items():
        lines.append(f"  {name:<12} {figure.line()}")
    return "\n".join(lines)


GRID = (None, 0.1, 0.2, 0.3, 0.4, 0.5)


def grid(corpus: Path, scores: dict[str, dict[str, float]], readings: dict[str, dict[str, str]]) -> str:
    """``auto`` precision and coverage of the shipped policy (intent thresholds at the floor) for each decision-head
    threshold, with and without ``model_must_agree``, on the messages that have a reading from before the rules were
    tuned on their author: the honest ground on which to choose the head's threshold."""
    observed = [(i, o) for i, o in _observations(corpus, scores, readings) if i in readings]
    floor = {intent: FLOOR for intent in AUTOMATABLE}
    rules_alone = Figures()
    for record_id, o in observed:
        rules_alone.add(record_id, o.gold_intent, o.gold_decision, o.rules)
    lines = [f"{len(observed)} messages with an untuned reading; rules alone: {rules_alone.line()}"]
    for agree in (False, True):
        for head in GRID:
            figures = Figures()
            for record_id, o in observed:
                reading = combine(o.rules, _model_reading(o), Thresholds(floor, auto=head, agree=agree))
                figures.add(record_id, o.gold_intent, o.gold_decision, reading)
            lines.append(f"  head {head!s:<5} agree {agree!s:<5} {figures.line()}")
    return "\n".join(lines)


def fit_thresholds(
    corpus: Path, scores: dict[str, dict[str, float]], *, coverage: float = AUTO_COVERAGE, agree: bool = True
) -> Thresholds:
    """The shipped thresholds, fitted on every author's out-of-author scores: per-intent thresholds for the target
    precision, the decision head's for ``coverage``, and whether the model's top intent must agree."""
    observations = [o for _, o in _observations(corpus, scores)]
    # Without out-of-author intent scores (only the decision heads were computed) the intent thresholds are kept.
    has_intents = any(key.startswith("intent:") for key in scores)
    by_intent = calibrate(observations).by_intent if has_intents else Thresholds.load().by_intent
    return Thresholds(by_intent, auto=calibrate_auto(observations, coverage), agree=agree)


def main(argv: Sequence[str] | None = None) -> None:
    """``scores`` (slow: trains the model per author) and ``report`` (fast: reruns the rules)."""
    parser = argparse.ArgumentParser(prog="python -m automations.understanding.authors")
    sub = parser.add_subparsers(dest="command", required=True)
    scores_cmd = sub.add_parser("scores", help="train per left-out author and cache the model's scores")
    scores_cmd.add_argument("--corpus", type=Path, required=True)
    scores_cmd.add_argument("--out", type=Path, required=True)
    scores_cmd.add_argument("--jobs", type=int, default=2)
    report_cmd = sub.add_parser("report", help="auto precision/coverage per left-out author")
    report_cmd.add_argument("--corpus", type=Path, required=True)
    report_cmd.add_argument("--scores", type=Path, required=True)
    report_cmd.add_argument("--quiet", action="store_true", help="do not list the wrong autos")
    report_cmd.add_argument(
        "--readings", type=Path, help="JSON {id: {intent, decision}}: the rules' readings from before their tuning"
    )
    report_cmd.add_argument("--coverage", type=float, default=AUTO_COVERAGE, help="coverage the decision head keeps")
    fit_cmd = sub.add_parser("calibrate", help="fit thresholds.json on the out-of-author scores of every author")
    fit_cmd.add_argument("--corpus", type=Path, required=True)
    fit_cmd.add_argument("--scores", type=Path, required=True)
    fit_cmd.add_argument("--out", type=Path, default=THRESHOLDS_FILE)
    fit_cmd.add_argument("--coverage", type=float, default=AUTO_COVERAGE, help="coverage the decision head keeps")
    fit_cmd.add_argument("--no-agree", action="store_true", help="do not require the model's top intent to agree")
    fit_cmd.add_argument(
        "--auto-threshold", type=float, help="the decision head's threshold, chosen with `grid`, instead of --coverage"
    )
    grid_cmd = sub.add_parser("grid", help="precision/coverage per decision-head threshold on untuned readings")
    grid_cmd.add_argument("--corpus", type=Path, required=True)
    grid_cmd.add_argument("--scores", type=Path, required=True)
    grid_cmd.add_argument("--readings", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.command == "grid":
        loaded = (json.loads(path.read_text(encoding="utf-8")) for path in (args.scores, args.readings))
        print(grid(args.corpus, *loaded))
        return
    if args.command == "calibrate":
        fitted = fit_thresholds(
            args.corpus,
            json.loads(args.scores.read_text(encoding="utf-8")),
            coverage=args.coverage,
            agree=not args.no_agree,
        )
        if args.auto_threshold is not None:
            fitted = replace(fitted, auto=args.auto_threshold)
        head = "chosen with `authors grid`" if args.auto_threshold is not None else f"for {args.coverage:.0%} coverage"
        fitted.save(args.out, source=f"{args.corpus.name}, out-of-author scores; decision head {head}")
        print(json.dumps({**fitted.by_intent, "auto": fitted.auto, "model_must_agree": fitted.agree}, indent=2))
        return
    if args.command == "scores":
        scores = out_of_author_scores(args.corpus, args.jobs, args.out)
        print(f"{len(scores)} scores written to {args.out}")
        return
    scores = json.loads(args.scores.read_text(encoding="utf-8"))
    readings = json.loads(args.readings.read_text(encoding="utf-8")) if args.readings else None
    print(report(args.corpus, scores, show_wrong=not args.quiet, readings=readings, coverage=args.coverage))


if __name__ == "__main__":
    main()

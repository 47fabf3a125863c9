"""The ``model`` backend: a small softmax text classifier trained offline on the repo's corpus.

Multinomial logistic regression (L2, AdaGrad SGD, fixed seed) over the hashed features of
``features.py``; a temperature fitted on a held-out slice of the training corpus keeps its
probabilities honest, because the combination policy thresholds them. The model is a JSON file
(``model.json`` next to this module) that records which messages it was trained on, so ``evaluate``
refuses to score it on them. Inference is pure Python; training needs numpy (the ``train`` extra),
imported only when a model is trained.

    python -m automations.understanding.model train --corpus corpus/train.jsonl \
        --out automations/understanding/model.json
    python -m automations.understanding.model evaluate --corpus corpus/dev.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from automations.understanding import Mention, Understanding
from automations.understanding.features import DIMENSION, Features, extract
from automations.understanding.mentions import find_mentions
from automations.understanding.normalise import normalise

MODEL_FILE = Path(__file__).with_name("model.json")
FORMAT = "sesame-intent-model/1"
_SUMMARY = "Train or evaluate the model backend's intent classifier."
_TEMPERATURES = [round(0.25 * step, 2) for step in range(1, 25)]  # 0.25 … 6.0


class ModelFileError(RuntimeError):
    """The model file is missing, unreadable or of another format; the message says how to rebuild it."""


class TrainingDependencyError(RuntimeError):
    """numpy, which training needs (inference does not), is not installed."""


def _numpy() -> ModuleType:
    """numpy, imported only when a model is trained, with an actionable error when it is missing."""
    try:
        import numpy
    except ImportError:
        raise TrainingDependencyError("training the model needs numpy: pip install 'sesame[train]'") from None
    return numpy


@dataclass(frozen=True)
class Example:
    """One labelled message of the corpus."""

    id: str
    subject: str
    body: str
    intent: str

    @property
    def fingerprint(self) -> str:
        """A short hash of the text, so a model can tell its training messages without storing them."""
        return hashlib.sha256(f"{self.subject}\x00{self.body}".encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Hyperparameters:
    """How a model is trained; defaults chosen on a held-out slice of the training corpus."""

    epochs: int = 20
    learning_rate: float = 0.5
    l2: float = 1e-4
    min_documents: int = 2  # a feature seen in one message only is a name or a login: noise
    held_out: float = 0.2  # share of training messages used to fit the temperature
    seed: int = 7


@dataclass
class IntentModel:
    """Softmax weights per feature bucket and intent, plus the temperature applied to the logits."""

    classes: tuple[str, ...]
    rows: dict[int, list[float]]
    bias: list[float]
    temperature: float = 1.0
    trained_on: dict[str, Any] = field(default_factory=dict)
    # The decision head: "auto" (a clear request to automate, as the corpus labels it) against "not_auto".
    decision: IntentModel | None = None

    def logits(self, features: Features) -> list[float]:
        """Raw class scores before the temperature."""
        scores = list(self.bias)
        for bucket, value in features.items():
            row = self.rows.get(bucket)
            if row is not None:
                scores = [score + weight * value for score, weight in zip(scores, row, strict=True)]
        return scores

    def probabilities(self, features: Features) -> dict[str, float]:
        """Calibrated probability per intent."""
        return dict(zip(self.classes, _softmax(self.logits(features), self.temperature), strict=True))

    def to_json(self) -> dict[str, Any]:
        """The JSON document saved as ``model.json`` (weights rounded: four decimals change no decision)."""
        buckets = sorted(self.rows)
        return {
            "format": FORMAT,
            "dimension": DIMENSION,
            "classes": list(self.classes),
            "temperature": self.temperature,
            "bias": [round(b, 4) for b in self.bias],
            "buckets": buckets,
            "weights": [[round(w, 4) for w in self.rows[bucket]] for bucket in buckets],
            "trained_on": self.trained_on,
            **({"decision": self.decision.to_json()} if self.decision is not None else {}),
        }

    @classmethod
    def from_json(cls, document: dict[str, Any]) -> IntentModel:
        """Rebuild a model from its JSON document."""
        if document.get("format") != FORMAT or document.get("dimension") != DIMENSION:
            raise ModelFileError(
                f"model file format {document.get('format')!r} (dimension {document.get('dimension')}) is not "
                f"{FORMAT!r} ({DIMENSION}); retrain it with `python -m automations.understanding.model train`."
            )
        rows = {int(bucket): [float(w) for w in row] for bucket, row in zip(document["buckets"], document["weights"],
                                                                           strict=True)}
        return cls(
            classes=tuple(document["classes"]),
            rows=rows,
            bias=[float(b) for b in document["bias"]],
            temperature=float(document["temperature"]),
            trained_on=dict(document.get("trained_on", {})),
            decision=cls.from_json(document["decision"]) if "decision" in document else None,
        )

    def save(self, path: Path) -> None:
        """Write the model as compact JSON."""
        path.write_text(json.dumps(self.to_json(), separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> IntentModel:
        """Read a model file, with an actionable error when it is missing or broken."""
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelFileError(
                f"no model file at {path}; build it with `python -m automations.understanding.model train "
                f"--corpus corpus/train.jsonl --out {path}`."
            ) from None
        except (OSError, ValueError) as error:
            raise ModelFileError(f"cannot read the model file {path} ({type(error).__name__}); retrain it.") from None
        return cls.from_json(document)


def _softmax(logits: Sequence[float], temperature: float = 1.0) -> list[float]:
    scaled = [logit / temperature for logit in logits]
    top = max(scaled)
    exps = [math.exp(value - top) for value in scaled]
    total = sum(exps)
    return [value / total for value in exps]


def load_corpus(path: Path) -> list[Example]:
    """Labelled messages of a JSONL corpus (``{"id", "subject", "body", "label": {"intent"}}`` per line)."""
    examples = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            examples.append(
                Example(str(record["id"]), record.get("subject") or "", record.get("body") or "",
                        record["label"]["intent"])
            )
        except (ValueError, KeyError, TypeError) as error:
            raise ValueError(f"{path}:{number}: not a labelled message ({type(error).__name__}: {error})") from None
    return examples


AUTO_CLASS, NOT_AUTO_CLASS = "auto", "not_auto"


def load_decisions(path: Path) -> list[Example]:
    """The corpus with each message labelled by its decision: "auto" or "not_auto" (human or ignore)."""
    decisions = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            decisions[str(record["id"])] = record["label"].get("decision") == "auto"
    return [
        Example(e.id, e.subject, e.body, AUTO_CLASS if decisions[e.id] else NOT_AUTO_CLASS) for e in load_corpus(path)
    ]


# The features of every message seen by this process, by its text: the folds of ``out_of_fold_scores``, the
# per-author heads and the probe fit of the temperature all reuse them (normalise + extract is ~2 ms a message).
_FEATURE_CACHE: dict[tuple[str, str], Features] = {}


def _features(example: Example) -> Features:
    """The message's feature vector, computed once per process (a fresh dict: callers may change it)."""
    key = (example.subject, example.body)
    features = _FEATURE_CACHE.get(key)
    if features is None:
        features = _FEATURE_CACHE[key] = extract(normalise(example.subject, example.body))
    return dict(features)


def _fit(vectors: list[Features], labels: list[int], n_classes: int, params: Hyperparameters) -> IntentModel:
    """AdaGrad SGD on the L2-regularised softmax loss; L2 applied lazily to the rows an example touches.

    One example at a time in a seeded shuffled order, as the pure-Python loop this replaces did, so the weights
    are the same up to floating-point rounding; numpy only does each step's arithmetic. Each example is a pair of
    arrays (rows of the weight matrix it touches, values), the weights a dense (buckets seen × classes) matrix.
    """
    np = _numpy()
    row_of: dict[int, int] = {}
    for features in vectors:
        for bucket in features:
            row_of.setdefault(bucket, len(row_of))
    touched = [np.fromiter((row_of[b] for b in features), dtype=np.intp, count=len(features)) for features in vectors]
    values = [np.fromiter(features.values(), dtype=np.float64, count=len(features)) for features in vectors]
    columns = [value[:, np.newaxis] for value in values]
    weights = np.zeros((len(row_of), n_classes))
    squares = np.full((len(row_of), n_classes), 1e-8)
    bias = np.zeros(n_classes)
    bias_squares = np.full(n_classes, 1e-8)
    order = list(range(len(vectors)))
    first_epoch: list[int] = []
    rng = random.Random(params.seed)
    rate, l2 = params.learning_rate, params.l2
    exp, sqrt, take = np.exp, np.sqrt, np.take
    for epoch in range(params.epochs):
        rng.shuffle(order)
        if epoch == 0:
            first_epoch = list(order)
        for index in order:
            rows = touched[index]  # distinct: each row is read once and written back once
            w = take(weights, rows, axis=0)
            scores = values[index] @ w
            scores += bias
            exps = exp(scores - scores.max())
            errors = exps / exps.sum()
            errors[labels[index]] -= 1.0
            bias_squares += errors * errors
            bias -= rate * errors / sqrt(bias_squares)
            grads = columns[index] * errors  # (buckets × classes): error × feature value ...
            grads += l2 * w  # ... plus the L2 term of the rows this example touches
            acc = take(squares, rows, axis=0)
            acc += grads * grads
            squares[rows] = acc
            grads *= rate
            grads /= sqrt(acc)
            w -= grads
            weights[rows] = w
    # Rows in the order the examples first touched them, as python floats (the model file is plain JSON).
    as_lists = weights.tolist()
    seen = dict.fromkeys(bucket for index in first_epoch for bucket in vectors[index])
    return IntentModel(classes=(), rows={bucket: as_lists[row_of[bucket]] for bucket in seen}, bias=bias.tolist())


def _fit_temperature(model: IntentModel, vectors: list[Features], labels: list[int]) -> float:
    """The temperature minimising the negative log-likelihood on messages the model did not see."""
    logits = [model.logits(features) for features in vectors]

    def nll(temperature: float) -> float:
        return -sum(math.log(max(_softmax(z, temperature)[y], 1e-12)) for z, y in zip(logits, labels, strict=True))

    return min(_TEMPERATURES, key=nll)


def _split(examples: list[Example], share: float, seed: int) -> tuple[list[int], list[int]]:
    """Stratified split of indices: every intent keeps ``share`` of its messages aside (at least one if ≥ 2)."""
    by_intent: dict[str, list[int]] = {}
    for index, example in enumerate(examples):
        by_intent.setdefault(example.intent, []).append(index)
    rng = random.Random(seed)
    kept, aside = [], []
    for intent in sorted(by_intent):
        indices = by_intent[intent]
        rng.shuffle(indices)
        n_aside = round(len(indices) * share) if len(indices) >= 2 else 0
        aside += indices[:n_aside]
        kept += indices[n_aside:]
    return sorted(kept), sorted(aside)


def train(examples: list[Example], params: Hyperparameters | None = None, *, corpus_name: str = "") -> IntentModel:
    """Train on ``examples``: temperature fitted on a held-out slice, then weights refitted on all of them."""
    params = params or Hyperparameters()
    classes = tuple(sorted({example.intent for example in examples}))
    if len(classes) < 2:
        raise ValueError("training needs messages of at least two intents")
    _numpy()  # before the features are computed: a missing numpy is said at once
    vectors = [_features(example) for example in examples]
    labels = [classes.index(example.intent) for example in examples]
    documents: dict[int, int] = {}
    for features in vectors:
        for bucket in features:
            documents[bucket] = documents.get(bucket, 0) + 1
    vectors = [{b: v for b, v in features.items() if documents[b] >= params.min_documents} for features in vectors]

    temperature = 1.0
    kept, aside = _split(examples, params.held_out, params.seed)
    if aside:
        probe = _fit([vectors[i] for i in kept], [labels[i] for i in kept], len(classes), params)
        temperature = _fit_temperature(probe, [vectors[i] for i in aside], [labels[i] for i in aside])
    fitted = _fit(vectors, labels, len(classes), params)
    # Rows that stayed near zero change no decision; dropping them keeps the file small.
    rows = {bucket: row for bucket, row in fitted.rows.items() if max(abs(w) for w in row) >= 5e-4}
    return IntentModel(
        classes=classes,
        rows=rows,
        bias=fitted.bias,
        temperature=temperature,
        trained_on={
            "corpus": corpus_name,
            "messages": len(examples),
            "fingerprints": sorted({example.fingerprint for example in examples}),
            "hyperparameters": vars(params),
        },
    )


def out_of_fold_scores(
    examples: list[Example], folds: int = 5, params: Hyperparameters | None = None
) -> dict[str, dict[str, float]]:
    """Per message id, the intent probabilities of a model trained without that message.

    For calibrating thresholds on the training split: scores of the shipped model on its own
    training messages are over-confident, these are not.
    """
    order = list(range(len(examples)))
    random.Random((params or Hyperparameters()).seed).shuffle(order)
    scores: dict[str, dict[str, float]] = {}
    for fold in range(folds):
        aside = set(order[fold::folds])
        model = train([e for i, e in enumerate(examples) if i not in aside], params)
        for i in sorted(aside):
            scores[examples[i].id] = model.probabilities(_features(examples[i]))
    return scores


def source_of(example_id: str) -> str:
    """The source file a corpus id comes from: "train-a-0012" → "train-a", "train-0012" → "train"."""
    return example_id.rsplit("-", 1)[0]


def out_of_source_decision_scores(
    examples: list[Example], params: Hyperparameters | None = None
) -> dict[str, float]:
    """Per message id, the decision head's probability of "auto" from a head trained without the message's
    source file (its author): the strictest held-out reading the corpus allows. Needs two sources or more."""
    sources = sorted({source_of(example.id) for example in examples})
    scores: dict[str, float] = {}
    if len(sources) < 2:
        return scores
    for source in sources:
        rest = [example for example in examples if source_of(example.id) != source]
        if len({example.intent for example in rest}) < 2:
            continue
        head = train(rest, params)
        for example in examples:
            if source_of(example.id) == source:
                scores[example.id] = head.probabilities(_features(example)).get(AUTO_CLASS, 0.0)
    return scores


@cache
def _load_cached(path: Path) -> IntentModel:
    return IntentModel.load(path)


class ModelUnderstander:
    """Intent from the trained classifier (argmax, with every intent's probability); targets from ``mentions``."""

    name = "model"

    def __init__(self, model: IntentModel | None = None, *, path: Path = MODEL_FILE) -> None:
        self.model = model if model is not None else _load_cached(path)

    def understand(self, subject: str, body: str, *, sender: str | None = None) -> Understanding:
        """Classify the request; ``scores`` hold the probability of every intent the model knows."""
        text = normalise(subject, body)
        features = extract(text)
        scores = self.model.probabilities(features)
        auto = None if self.model.decision is None else self.model.decision.probabilities(features).get(AUTO_CLASS)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        (intent, confidence), (runner_up, second) = ranked[0], ranked[1]
        reasons = [f"model: {intent} p={confidence:.3f}, next {runner_up} p={second:.3f}"]
        if auto is not None:
            reasons.append(f"model decision head: p(auto)={auto:.3f}")
        if text.hidden_text_found:
            reasons.append("hidden characters were removed from the message")
        reasons += [f"removed: {what}" for what in text.removed]
        mentions = find_mentions(text.text, text.folded, sender=sender)
        reasons += [f"target: {cue}" for cue in mentions.cues]
        if not mentions.targets:
            reasons.append("no account identifier found")
        return Understanding(
            intent=intent,
            confidence=confidence,
            targets=mentions.targets,
            names=mentions.names,
            reasons=tuple(dict.fromkeys(reasons)),
            mentions=tuple(Mention("email" if "@" in value else "login", value) for value in mentions.targets)
            + tuple(Mention("name", name) for name in mentions.names),
            scores=scores,
            auto_probability=auto,
        )


@dataclass(frozen=True)
class Evaluation:
    """Figures of a model on labelled messages it was not trained on."""

    total: int
    correct: int
    skipped_as_trained_on: int
    precision: dict[str, float]
    recall: dict[str, float]
    support: dict[str, int]
    ms_per_message: float
    calibration_error: float  # expected calibration error of the top probability, 10 bins

    @property
    def accuracy(self) -> float:
        """Share of messages whose top intent is the labelled one."""
        return self.correct / self.total if self.total else 0.0


def evaluate(model: IntentModel, examples: Sequence[Example]) -> Evaluation:
    """Score the model on ``examples``, leaving out any message it was trained on."""
    trained = set(model.trained_on.get("fingerprints", ()))
    understander = ModelUnderstander(model)
    fresh = [example for example in examples if example.fingerprint not in trained]
    skipped = len(examples) - len(fresh)
    pairs: list[tuple[str, str, float]] = []
    started = time.perf_counter()
    for example in fresh:
        result = understander.understand(example.subject, example.body)
        pairs.append((example.intent, result.intent, result.confidence))
    elapsed = time.perf_counter() - started
    intents = sorted({gold for gold, _, _ in pairs} | {guess for _, guess, _ in pairs})
    precision, recall, support = {}, {}, {}
    for intent in intents:
        predicted = [gold for gold, guess, _ in pairs if guess == intent]
        actual = [guess for gold, guess, _ in pairs if gold == intent]
        precision[intent] = sum(1 for gold in predicted if gold == intent) / len(predicted) if predicted else 0.0
        recall[intent] = sum(1 for guess in actual if guess == intent) / len(actual) if actual else 0.0
        support[intent] = len(actual)
    bins: dict[int, list[tuple[bool, float]]] = {}
    for gold, guess, confidence in pairs:
        bins.setdefault(min(int(confidence * 10), 9), []).append((gold == guess, confidence))
    ece = sum(
        abs(sum(ok for ok, _ in members) - sum(conf for _, conf in members)) for members in bins.values()
    ) / max(len(pairs), 1)
    return Evaluation(
        total=len(pairs),
        correct=sum(1 for gold, guess, _ in pairs if gold == guess),
        skipped_as_trained_on=skipped,
        precision=precision,
        recall=recall,
        support=support,
        ms_per_message=1000 * elapsed / max(len(pairs), 1),
        calibration_error=ece,
    )


def format_evaluation(report: Evaluation) -> str:
    """The evaluation as a small text table."""
    lines = [
        f"messages: {report.total} (left out as trained on: {report.skipped_as_trained_on})",
        f"accuracy: {report.accuracy:.3f} ({report.correct}/{report.total})",
        f"expected calibration error: {report.calibration_error:.3f}",
        f"ms per message: {report.ms_per_message:.2f}",
        f"{'intent':<20}{'precision':>10}{'recall':>10}{'support':>9}",
    ]
    for intent in sorted(report.precision):
        lines.append(
            f"{intent:<20}{report.precision[intent]:>10.3f}{report.recall[intent]:>10.3f}{report.support[intent]:>9}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """``train`` and ``evaluate`` commands."""
    parser = argparse.ArgumentParser(prog="python -m automations.understanding.model", description=_SUMMARY)
    commands = parser.add_subparsers(dest="command", required=True)
    train_cmd = commands.add_parser("train", help="train on a labelled JSONL corpus and write the model file")
    train_cmd.add_argument("--corpus", type=Path, required=True)
    train_cmd.add_argument("--out", type=Path, default=MODEL_FILE)
    train_cmd.add_argument("--epochs", type=int, default=Hyperparameters.epochs)
    train_cmd.add_argument("--seed", type=int, default=Hyperparameters.seed)
    train_cmd.add_argument("--no-decision", action="store_true", help="skip the auto/not-auto decision head")
    evaluate_cmd = commands.add_parser("evaluate", help="accuracy and per-intent precision/recall on held-out data")
    evaluate_cmd.add_argument("--corpus", type=Path, required=True)
    evaluate_cmd.add_argument("--model", type=Path, default=MODEL_FILE)
    args = parser.parse_args(argv)

    if args.command == "train":
        examples = load_corpus(args.corpus)
        started = time.perf_counter()
        params = Hyperparameters(epochs=args.epochs, seed=args.seed)
        try:
            model = train(examples, params, corpus_name=args.corpus.name)
            decisions = load_decisions(args.corpus)
            if not args.no_decision and len({example.intent for example in decisions}) == 2:
                model.decision = train(decisions, params, corpus_name=args.corpus.name)
        except TrainingDependencyError as error:
            print(error, file=sys.stderr)
            return 2
        model.save(args.out)
        print(
            f"trained on {len(examples)} messages, {len(model.classes)} intents "
            f"in {time.perf_counter() - started:.1f} s; {len(model.rows)} feature rows, "
            f"temperature {model.temperature}; "
            f"{args.out.stat().st_size / 1024:.0f} KiB written to {args.out}"
        )
        return 0
    model = IntentModel.load(args.model)
    examples = load_corpus(args.corpus)
    report = evaluate(model, examples)
    if report.total == 0:
        print(f"refused: every message of {args.corpus} was used to train {args.model}; evaluate on another split.",
              file=sys.stderr)
        return 2
    print(format_evaluation(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The ``model`` backend: features, deterministic training, calibrated scores, the shipped model file, the CLI."""

from __future__ import annotations

import json
import math
import random
import sys
from pathlib import Path

import pytest

from automations.understanding import INTENTS, Mention, get_understander
from automations.understanding import model as model_module
from automations.understanding.features import Features, extract
from automations.understanding.model import (
    MODEL_FILE,
    Example,
    Hyperparameters,
    IntentModel,
    ModelFileError,
    ModelUnderstander,
    TrainingDependencyError,
    _features,
    _fit,
    evaluate,
    load_corpus,
    main,
    out_of_fold_scores,
    train,
)
from automations.understanding.normalise import NormalisedText, normalise

REPO = Path(__file__).resolve().parents[4]
SENDER = "claire.fabre@mission-locale-exemple.fr"

# A tiny corpus written for these tests: the shipped model is trained on corpus/train.jsonl instead.
TRAIN = [
    ("unlock", "Compte bloqué", "Bonjour, pouvez-vous débloquer le compte jdupont ? Merci"),
    ("unlock", "", "le compte de mmartin est verrouillé, merci de le déverrouiller"),
    ("unlock", "déblocage", "debloquer nroux svp il est bloqué depuis ce matin"),
    ("unlock", "urgent", "Bonjour, session bloquée pour l'agent p.martin, pouvez vous la débloquer"),
    ("unlock", "compte verrouillé", "Bonjour, mon collègue a son compte verrouillé après trop d'essais"),
    ("unlock", "", "compte bloqué ab12345 merci de débloquer"),
    ("reset_password", "Mot de passe oublié", "Bonjour, pouvez-vous réinitialiser le mot de passe de jdupont ?"),
    ("reset_password", "mdp", "mdp oublié pour mmartin, merci de le réinitialiser"),
    ("reset_password", "", "Bonjour, le mot de passe de nroux a expiré, pouvez-vous le réinitialiser svp"),
    ("reset_password", "réinitialisation", "merci de faire un reset du mot de passe de l'utilisatrice cd67890"),
    ("reset_password", "Mot de passe", "Elle a oublié son mot de passe, réinitialisation svp"),
    ("reset_password", "", "besoin d'un nouveau mot de passe pour p.martin, l'ancien a expiré"),
    ("mfa", "Authenticator", "Bonjour, elle a changé de téléphone et ne reçoit plus la notification Authenticator"),
    ("mfa", "code MFA", "le code de double authentification ne marche plus depuis hier"),
    ("mfa", "", "Bonjour, problème de MFA : l'application Authenticator refuse la validation"),
    ("mfa", "double authentification", "il ne reçoit pas le code SMS de double authentification"),
    ("mfa", "MFA", "besoin de réenregistrer la méthode MFA, nouveau téléphone"),
    ("other", "Réunion", "Bonjour, la réunion de jeudi est décalée à 14h."),
    ("other", "Imprimante", "l'imprimante du 2e étage fait des traces sur les pages"),
    ("other", "Question", "Bonjour, quels sont les horaires de la hotline pendant les vacances ?"),
    ("other", "", "Pouvez-vous nous envoyer le planning des formations du mois prochain"),
    ("other", "Livraison", "Le colis de fournitures est arrivé à l'accueil, merci de venir le chercher"),
]
FRESH = [
    ("unlock", "compte bloqué", "Bonjour, merci de débloquer le compte de ef24680, il est bloqué"),
    ("reset_password", "mdp oublié", "il a oublié son mot de passe, pouvez-vous le réinitialiser"),
    ("mfa", "Authenticator", "la notification Authenticator n'arrive plus sur son nouveau téléphone"),
    ("other", "planning", "Bonjour, la réunion du planning de formation est décalée à vendredi"),
]


def examples(rows: list[tuple[str, str, str]], prefix: str) -> list[Example]:
    return [Example(f"{prefix}-{n}", subject, body, intent) for n, (intent, subject, body) in enumerate(rows)]


@pytest.fixture(scope="module")
def small() -> IntentModel:
    return train(examples(TRAIN, "train"), Hyperparameters(min_documents=1), corpus_name="in-test")


# --- features --------------------------------------------------------------------------------------------


def test_features_are_l2_normalised_and_ignore_accents_and_case() -> None:
    accented = extract(normalise("Compte bloqué", "Débloquer le compte"))
    plain = extract(normalise("compte bloque", "debloquer le compte"))
    assert accented == plain
    assert math.isclose(sum(v * v for v in accented.values()), 1.0)


def test_features_keep_the_shape_of_a_login_not_its_digits() -> None:
    assert extract(normalise("", "compte ab12345")) == extract(normalise("", "compte ab67890"))


# --- training and the understander ------------------------------------------------------------------------


def test_training_is_deterministic(small: IntentModel) -> None:
    again = train(examples(TRAIN, "train"), Hyperparameters(min_documents=1), corpus_name="in-test")
    assert json.dumps(again.to_json()) == json.dumps(small.to_json())


@pytest.mark.parametrize(("intent", "subject", "body"), FRESH, ids=[row[0] for row in FRESH])
def test_messages_it_never_saw_get_their_intent(small: IntentModel, intent: str, subject: str, body: str) -> None:
    result = ModelUnderstander(small).understand(subject, body, sender=SENDER)
    assert result.intent == intent, result.reasons


def test_scores_are_probabilities_and_the_intent_is_their_argmax(small: IntentModel) -> None:
    result = ModelUnderstander(small).understand("Compte bloqué", "débloquer jdupont svp", sender=SENDER)
    assert set(result.scores) == {"mfa", "other", "reset_password", "unlock"}
    assert math.isclose(sum(result.scores.values()), 1.0)
    assert result.intent == max(result.scores, key=lambda k: result.scores[k])
    assert result.confidence == result.scores[result.intent]


def test_targets_come_from_the_mentions_and_never_the_sender(small: IntentModel) -> None:
    result = ModelUnderstander(small).understand(
        "Compte bloqué",
        f"Bonjour, pouvez-vous débloquer le compte de Jean Dupont, identifiant jdupont ? Mon adresse : {SENDER}",
        sender=SENDER,
    )
    assert result.targets == ("jdupont",)
    assert result.mentions == (Mention("login", "jdupont"), Mention("name", "Jean Dupont"))


def test_reasons_name_scores_never_the_text(small: IntentModel) -> None:
    result = ModelUnderstander(small).understand("mdp", "mon mot de passe est Soleil2024! merci", sender=SENDER)
    assert result.reasons[0].startswith(f"model: {result.intent} p=")
    assert not any("Soleil" in reason or "soleil" in reason for reason in result.reasons)


def test_a_saved_model_loads_back_with_the_same_answers(small: IntentModel, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    small.save(path)
    loaded = IntentModel.load(path)
    features = extract(normalise("compte bloqué", "débloquer jdupont"))
    assert loaded.classes == small.classes
    for intent, p in loaded.probabilities(features).items():
        assert p == pytest.approx(small.probabilities(features)[intent], abs=1e-3)


@pytest.mark.parametrize("content", [None, "not json", json.dumps({"format": "other/9"})])
def test_a_missing_or_foreign_model_file_says_how_to_rebuild_it(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "model.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ModelFileError, match=r"retrain|train"):
        IntentModel.load(path)


def test_out_of_fold_scores_come_from_models_that_did_not_see_the_message() -> None:
    corpus = examples(TRAIN, "train")
    scores = out_of_fold_scores(corpus, folds=3, params=Hyperparameters(min_documents=1))
    assert set(scores) == {example.id for example in corpus}
    assert all(math.isclose(sum(probabilities.values()), 1.0) for probabilities in scores.values())


# --- the numpy fit: the same algorithm as the pure-Python loop it replaced ----------------------------------


def _reference_fit(
    vectors: list[Features], labels: list[int], n_classes: int, params: Hyperparameters
) -> tuple[dict[int, list[float]], list[float]]:
    """The pure-Python AdaGrad loop ``_fit`` replaced, kept here as the specification of what it computes."""
    rows: dict[int, list[float]] = {}
    squares: dict[int, list[float]] = {}
    bias, bias_squares = [0.0] * n_classes, [1e-8] * n_classes
    order = list(range(len(vectors)))
    rng = random.Random(params.seed)
    rate, l2 = params.learning_rate, params.l2
    for _ in range(params.epochs):
        rng.shuffle(order)
        for index in order:
            scores = list(bias)
            for bucket, value in vectors[index].items():
                row = rows.setdefault(bucket, [0.0] * n_classes)
                scores = [s + w * value for s, w in zip(scores, row, strict=True)]
            top = max(scores)
            exps = [math.exp(s - top) for s in scores]
            errors = [e / sum(exps) for e in exps]
            errors[labels[index]] -= 1.0
            bias_squares = [a + e * e for a, e in zip(bias_squares, errors, strict=True)]
            bias = [b - rate * e / math.sqrt(a) for b, e, a in zip(bias, errors, bias_squares, strict=True)]
            for bucket, value in vectors[index].items():
                row = rows[bucket]
                grads = [e * value + l2 * w for e, w in zip(errors, row, strict=True)]
                acc = squares.setdefault(bucket, [1e-8] * n_classes)
                acc[:] = [a + g * g for a, g in zip(acc, grads, strict=True)]
                row[:] = [w - rate * g / math.sqrt(a) for w, g, a in zip(row, grads, acc, strict=True)]
    return rows, bias


def test_one_step_of_the_fit_is_the_adagrad_step_by_hand() -> None:
    # Zero weights: p = (½, ½), error = (-½, +½) for class 0; AdaGrad's first step is -rate × sign(gradient).
    fitted = _fit([{42: 1.0}], [0], 2, Hyperparameters(epochs=1, learning_rate=0.5))
    assert list(fitted.rows) == [42]
    assert fitted.rows[42] == pytest.approx([0.5, -0.5], abs=1e-7)
    assert fitted.bias == pytest.approx([0.5, -0.5], abs=1e-7)
    assert all(type(w) is float for w in [*fitted.rows[42], *fitted.bias])  # plain floats: the file is JSON


def test_the_numpy_fit_matches_the_pure_python_loop_it_replaced() -> None:
    corpus = examples(TRAIN, "train")
    classes = sorted({example.intent for example in corpus})
    vectors = [_features(example) for example in corpus]
    labels = [classes.index(example.intent) for example in corpus]
    params = Hyperparameters(epochs=4)
    fitted = _fit(vectors, labels, len(classes), params)
    rows, bias = _reference_fit(vectors, labels, len(classes), params)
    assert list(fitted.rows) == list(rows)  # the same buckets, in the order the examples first touched them
    assert max(abs(a - b) for bucket in rows for a, b in zip(fitted.rows[bucket], rows[bucket], strict=True)) < 1e-9
    assert fitted.bias == pytest.approx(bias, abs=1e-9)
    assert max(abs(w) for row in rows.values() for w in row) > 0.1  # the comparison is not between two zeros


def test_features_are_computed_once_per_message_across_folds(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def counting(text: NormalisedText) -> Features:
        calls.append(text.text)
        return extract(text)

    monkeypatch.setattr(model_module, "_FEATURE_CACHE", {})
    monkeypatch.setattr(model_module, "extract", counting)
    out_of_fold_scores(examples(TRAIN, "train"), folds=3, params=Hyperparameters(epochs=2, min_documents=1))
    assert len(calls) == len(TRAIN)
    vector = _features(examples(TRAIN, "train")[0])
    vector.clear()  # callers get their own copy: the cache is untouched
    assert _features(examples(TRAIN, "train")[0])


def test_training_without_numpy_says_how_to_install_it_and_inference_does_not_need_it(
    small: IntentModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)  # `import numpy` now raises ImportError
    with pytest.raises(TrainingDependencyError, match=r"needs numpy: pip install 'sesame\[train\]'"):
        train(examples(TRAIN, "train"), Hyperparameters(min_documents=1))
    corpus = tmp_path / "train.jsonl"
    corpus.write_text("".join(json.dumps({"id": f"t-{n}", "subject": s, "body": b, "label": {"intent": i}}) + "\n"
                              for n, (i, s, b) in enumerate(TRAIN)))
    assert main(["train", "--corpus", str(corpus), "--out", str(tmp_path / "m.json")]) == 2
    assert "pip install 'sesame[train]'" in capsys.readouterr().err
    assert ModelUnderstander(small).understand("compte bloqué", "débloquer ab12345").intent == "unlock"


# --- evaluation never on training messages -----------------------------------------------------------------


def test_evaluation_leaves_out_the_messages_it_was_trained_on(small: IntentModel) -> None:
    mixed = examples(TRAIN[:3], "again") + examples(FRESH, "fresh")
    report = evaluate(small, mixed)
    assert (report.total, report.skipped_as_trained_on) == (len(FRESH), 3)
    assert report.accuracy == 1.0
    assert set(report.precision) == {"mfa", "other", "reset_password", "unlock"}


def test_the_cli_trains_evaluates_and_refuses_the_training_split(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                                 ) -> None:
    def write(name: str, rows: list[tuple[str, str, str]]) -> Path:
        path = tmp_path / name
        lines = [json.dumps({"id": f"{name}-{n}", "from": SENDER, "subject": s, "body": b,
                             "label": {"intent": i, "targets": []}}) for n, (i, s, b) in enumerate(rows)]
        path.write_text("\n".join(lines) + "\n")
        return path

    train_file, dev_file, model_file = write("train.jsonl", TRAIN), write("dev.jsonl", FRESH), tmp_path / "m.json"
    assert main(["train", "--corpus", str(train_file), "--out", str(model_file)]) == 0
    assert main(["evaluate", "--corpus", str(dev_file), "--model", str(model_file)]) == 0
    printed = capsys.readouterr().out
    assert "accuracy:" in printed and "reset_password" in printed and "precision" in printed
    assert main(["evaluate", "--corpus", str(train_file), "--model", str(model_file)]) == 2
    assert "refused" in capsys.readouterr().err


# --- the shipped model --------------------------------------------------------------------------------------


def test_the_shipped_model_is_small_registered_and_never_saw_the_dev_split() -> None:
    # It grows with the corpus (6.1 MiB for 7,990 training messages); a much larger file means a training bug.
    assert MODEL_FILE.stat().st_size < 8 * 1024 * 1024
    backend = get_understander("model")
    assert isinstance(backend, ModelUnderstander)
    assert set(backend.model.classes) <= set(INTENTS)
    trained = set(backend.model.trained_on["fingerprints"])
    dev = REPO / "corpus" / "dev.jsonl"
    if dev.exists():
        assert not trained & {example.fingerprint for example in load_corpus(dev)}


# --- the decision head ---------------------------------------------------------------------------------------


def test_the_decision_head_is_saved_with_the_model_and_scores_auto(small: IntentModel, tmp_path: Path) -> None:
    rows = [(("auto" if intent in {"unlock", "reset_password"} else "not_auto"), s, b) for intent, s, b in TRAIN]
    model = IntentModel.from_json(small.to_json())
    model.decision = train(examples(rows, "train"), Hyperparameters(min_documents=1))
    path = tmp_path / "with-head.json"
    model.save(path)
    loaded = IntentModel.load(path)
    assert loaded.decision is not None and loaded.decision.classes == ("auto", "not_auto")
    reading = ModelUnderstander(loaded).understand("compte bloqué", "merci de débloquer le compte ef24680")
    other = ModelUnderstander(loaded).understand("Réunion", "la réunion de planning est décalée à jeudi")
    assert reading.auto_probability is not None and other.auto_probability is not None
    assert reading.auto_probability > other.auto_probability
    assert ModelUnderstander(small).understand("x", "débloquer ab12345").auto_probability is None


def test_out_of_source_scores_never_use_the_message_author() -> None:
    from automations.understanding.model import out_of_source_decision_scores, source_of

    assert (source_of("train-a-0012"), source_of("train-0012")) == ("train-a", "train")
    rows = [(("auto" if intent == "unlock" else "not_auto"), s, b) for intent, s, b in TRAIN]
    mixed = examples(rows[::2], "train") + examples(rows[1::2], "train-a")
    scores = out_of_source_decision_scores(mixed, Hyperparameters(min_documents=1))
    assert set(scores) == {example.id for example in mixed}
    assert out_of_source_decision_scores(examples(rows, "train")) == {}  # one source: nothing held out

"""The ``model`` backend: features, deterministic training, calibrated scores, the shipped model file, the CLI."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from automations.understanding import INTENTS, Mention, get_understander
from automations.understanding.features import extract
from automations.understanding.model import (
    MODEL_FILE,
    Example,
    Hyperparameters,
    IntentModel,
    ModelFileError,
    ModelUnderstander,
    evaluate,
    load_corpus,
    main,
    out_of_fold_scores,
    train,
)
from automations.understanding.normalise import normalise

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
    assert MODEL_FILE.stat().st_size < 5 * 1024 * 1024
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

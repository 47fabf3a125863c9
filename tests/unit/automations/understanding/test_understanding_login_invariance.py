"""Who is named must not change how a request is read: the same clear sentence with any login, of any shape the
agency may generate, gets the same decision. A model that learned the letters of logins doubted one clear
"débloquer le compte tce56720e86" in ten. Sentences are our own; the logins are drawn with a fixed seed."""

from __future__ import annotations

import random
import string
from collections.abc import Callable

import pytest

from automations.understanding import get_understander
from automations.understanding.features import extract
from automations.understanding.mentions import find_mentions
from automations.understanding.normalise import normalise
from automations.understanding.rules import RulesUnderstander


def _letters(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(low, high)))


SHAPES: dict[str, Callable[[random.Random], str]] = {
    "generated": lambda rng: "t" + "".join(rng.choice("0123456789abcdef") for _ in range(10)),
    "letters-digits": lambda rng: _letters(rng, 2, 2) + "".join(rng.choice(string.digits) for _ in range(5)),
    "initial-dot-name": lambda rng: _letters(rng, 1, 1) + "." + _letters(rng, 4, 8),
    "name-dash-initial": lambda rng: _letters(rng, 4, 8) + "-" + _letters(rng, 1, 1),
    "name-number": lambda rng: _letters(rng, 4, 7) + str(rng.randint(1, 99)),
}
SENTENCES = [
    ("Compte bloqué", "Bonjour,\nmerci de débloquer le compte {login} svp.\nCordialement"),
    ("Demande", "Bonjour, {login} a oublié son mot de passe, pouvez-vous le réinitialiser ? Merci"),
    ("Verrouillage", "Bonjour,\nl'identifiant {login} est verrouillé depuis ce matin, merci de le débloquer.\nBonne"),
]


def _logins(shape: str, count: int) -> list[str]:
    rng = random.Random(f"sesame-{shape}")
    return [SHAPES[shape](rng) for _ in range(count)]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_clear_request_is_automated_whatever_the_login(shape: str) -> None:
    backend = get_understander("rules+model")
    doubted = []
    for login in _logins(shape, 40):
        for subject, body in SENTENCES:
            result = backend.understand(subject, body.format(login=login), sender="claire.fabre@partner.example")
            if (result.decision, result.targets) != ("auto", (login,)):
                doubted.append((login, body[:30], result.decision, result.targets, result.reasons[-1]))
    assert not doubted, doubted[:5]


def test_the_model_sees_no_letter_of_the_account_named() -> None:
    def features(who: str) -> dict[int, float]:
        return extract(normalise(f"Compte {who}", f"Merci de débloquer le compte de {who}, il est verrouillé."))

    assert features("tce56720e86") == features("t3e4353e99f") == features("m.durand") == features("dupont-j")
    assert features("Marie Durand") == features("Hakim Nguyen")
    # The sentence itself still counts.
    assert extract(normalise("", "débloquer le compte tce56720e86")) != extract(normalise("", "le compte tce56720e86"))


def test_a_generated_login_is_found_by_its_shape_alone() -> None:
    text = "serait-il possible de remettre à zéro le code windows de t4d61fcd254 ? il ne s'en souvient plus"
    assert find_mentions(text, text).targets == ("t4d61fcd254",)
    # A ticket number keeps its own shape.
    text = "suite au ticket inc0012345 merci"
    assert find_mentions(text, text).targets == ()


@pytest.mark.parametrize(
    ("body", "decision"),
    [
        # The identifier written beside the name is that person's, whatever its shape: one person, the denied
        # forgetting only says what is not asked.
        (
            "Hakim Nguyen (id : tfc2770c717) a son compte bloqué. Il n'a pas oublié son mot de passe, son ancien "
            "mot de passe enregistré sur son téléphone a verrouillé le compte. Merci de le débloquer.",
            "auto",
        ),
        # Someone else's identifier, apart from the name: two people, the denial may be of either.
        (
            "Hakim Nguyen a son compte bloqué. Il n'a pas oublié son mot de passe. Merci de débloquer aussi "
            "tfc2770c717 qui a oublié le sien.",
            "human",
        ),
    ],
)
def test_an_identifier_beside_a_name_is_that_persons(body: str, decision: str) -> None:
    result = RulesUnderstander().understand("Compte bloqué", body)
    assert result.decision == decision, result.reasons

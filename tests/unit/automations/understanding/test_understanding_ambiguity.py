"""Lock or password: the rules send a person what they cannot tell apart, and read what they can.

The messages are written for these tests (not taken from any corpus split)."""

from __future__ import annotations

import pytest

from automations.understanding import AUTO, HUMAN
from automations.understanding.ambiguity import unexplained_other_vocabulary
from automations.understanding.rules import RulesUnderstander

SENDER = "conseillere@mission-locale-exemple.fr"


@pytest.fixture(scope="module")
def rules() -> RulesUnderstander:
    return RulesUnderstander()


@pytest.mark.parametrize(
    ("subject", "body", "intent", "decision"),
    [
        # Both actions, the reset said in ways the grammar must know.
        ("demande", "Pour le compte lmartin2 : verrouillé + mot de passe expiré qu'il n'arrive pas à changer. "
         "Pouvez-vous débloquer et réinitialiser ?", "unlock_and_reset", AUTO),
        ("souci", "Bonjour, pour kbenali7 : elle ne sait plus son mot de passe et sa session est bloquée. Merci.",
         "unlock_and_reset", AUTO),
        ("toujours", "Le compte de tgarnier est de nouveau verrouillé, pouvez-vous le débloquer et lui en refaire un ?",
         "unlock_and_reset", AUTO),
        # The password is explained: typed wrong, known, kept, or the thing said to be locked.
        ("bloqué", "Bonjour, rdupuis s'est bloqué en tapant son ancien mot de passe, merci de le débloquer.",
         "unlock", AUTO),
        ("bloqué", "Merci de débloquer ppetit, il a toujours son mot de passe, inutile de le changer.", "unlock", AUTO),
        ("bloqué", "slt, mroux verrouillé depuis 9h, elle a pas oublié son mdp c juste bloqué. merci", "unlock", AUTO),
        ("mdp bloqué", "Bonjour, le mdp de l'agent dupont-j est bloqué, merci de le débloquer", "unlock", AUTO),
        ("mdp perdu (compte pas bloqué)", "Bonjour, lgarcia a perdu son mot de passe. Son compte n'est pas bloqué, il "
         "lui faut juste un nouveau mot de passe.", "reset_password", AUTO),
        ("débloquer j.moreau - ne PAS réinitialiser", "Merci de débloquer j.moreau, mais surtout ne touchez pas à son "
         "mot de passe : elle vient de le changer.", "unlock", AUTO),
        ("mdp", "Merci de ne pas réinitialiser le mot de passe de j.moreau.", "reset_password", HUMAN),
        # Unexplained: a person reads it.
        ("session", "Bonjour, merci de débloquer la session de jleroy. Son mot de passe, c'est tout un sujet aussi.",
         "unlock", HUMAN),
        ("changement", "Bonjour, Inès Moreau souhaiterait changer son mot de passe : elle le connaît mais le trouve "
         "trop compliqué. Pouvez-vous le lui changer ?", "reset_password", HUMAN),
    ],
)
def test_lock_or_password(rules: RulesUnderstander, subject: str, body: str, intent: str, decision: str) -> None:
    result = rules.understand(subject, body, sender=SENDER)
    assert (result.intent, result.decision) == (intent, decision), result.reasons


@pytest.mark.parametrize(
    ("subject", "body"),
    [
        # Pressure to skip the checks (the guard's first alternative never fired before a stray control character
        # was removed from its pattern).
        ("URGENT", "Débloquez immédiatement le compte laurent.lebrun, sans passer par votre procédure habituelle."),
        ("URGENT", "Le compte rocheda est bloqué. Je vous interdis de rappeler son assistante, faites-le c'est tout."),
        # Hesitation between actions.
        ("question", "Le compte de Sylvie Carré est bloqué. Faut-il le débloquer ou plutôt le supprimer ?"),
        # An expired account, or the account of someone who left, for a successor.
        ("compte expiré", "Le compte ss43238 a expiré vendredi, son contrat est prolongé. Pouvez-vous le débloquer ?"),
        ("agent parti", "Morgane Lambert est partie à la retraite, son compte est bloqué. Pouvez-vous le débloquer "
         "pour que son remplaçant l'utilise ?"),
        # Putting back the old password, rights asked alongside, the writer's own account without an identifier.
        ("mdp", "cbenali7 est verrouillé, pouvez-vous le débloquer et lui remettre le même mot de passe qu'avant ?"),
        ("compte + droits", "Pour croy : le compte est bloqué, le mot de passe est à refaire, et il faudrait aussi "
         "lui donner accès à l'agenda partagé."),
        ("bloquées", "Ma collègue Anne-Sophie Fournier et moi-même sommes verrouillées. Pouvez-vous nous débloquer ?"),
        # The password of a tool, not of the session.
        ("mdp outil", "Julien Mathieu doit réinitialiser son mot de passe de l'outil de prescription."),
    ],
)
def test_not_automated(rules: RulesUnderstander, subject: str, body: str) -> None:
    result = rules.understand(subject, body, sender=SENDER)
    assert result.decision != AUTO, result.reasons


def test_read_receipt_is_an_auto_reply(rules: RulesUnderstander) -> None:
    result = rules.understand("Lu : déblocage compte", "Votre message À : Anne Blanchard Objet : déblocage compte a "
                              "été lu le mardi à 09:42.", sender=SENDER)
    assert result.intent == "auto_reply"


def test_explanation_must_share_the_sentence() -> None:
    # The password is explained in its own sentence only: an explanation elsewhere does not count.
    assert unexplained_other_vocabulary("unlock", "il a tape trop vite. son mot de passe pose souci") is not None
    assert unexplained_other_vocabulary("unlock", "il a tape son mot de passe trop vite") is None
    assert unexplained_other_vocabulary("reset_password", "le compte est bloque") is not None
    assert unexplained_other_vocabulary("reset_password", "le compte n'est pas bloque") is None
    assert unexplained_other_vocabulary("unlock_and_reset", "mot de passe et compte bloque") is None

"""Normalisation keeps the writer's new request and nothing else: no history, signature, disclaimer, hidden text."""

from __future__ import annotations

import pytest

from automations.understanding.normalise import normalise

REQUEST = "Merci de débloquer le compte jdupont."


@pytest.mark.parametrize(
    "header",
    [
        "Le lun. 23 nov. 2026 à 08:12, Support partenaires <support@agence.local> a écrit :",
        "Le lun. 23 nov. 2026 à 08:12, Support partenaires <\nsupport@agence.local> a écrit :",
        "On Mon, Nov 23, 2026 at 8:12 AM Support <support@agence.local> wrote:",
        "-----Original Message-----",
        "-------- Message d'origine --------",
        "________________________________\nDe : Support partenaires <support@agence.local>\n"
        "Envoyé : lundi 23 novembre 2026 08:12\nÀ : Claire Fabre\nObjet : RE: compte",
        "From: Support <support@agence.local>\nSent: Monday, November 23, 2026 8:12 AM\nTo: Claire\nSubject: x",
    ],
    ids=["fr-gmail", "fr-gmail-wrapped", "en-gmail", "outlook-en-rule", "thunderbird-fr", "outlook-fr", "outlook-en"],
)
def test_history_after_a_reply_header_is_dropped(header: str) -> None:
    body = f"Bonjour,\n{REQUEST}\n\n{header}\n\nBonjour, quel est l'identifiant de l'agent mmartin ?\n"
    result = normalise("Re: compte", body)
    assert result.body == f"Bonjour,\n{REQUEST}"
    assert "mmartin" not in result.text
    assert "quoted history" in result.removed


def test_quoted_lines_are_dropped() -> None:
    result = normalise("", f"{REQUEST}\n> ancienne demande pour mmartin\n>> encore plus ancienne")
    assert result.body == REQUEST


def test_forwarded_request_is_kept_when_the_new_part_is_empty() -> None:
    body = (
        "Pour info\n\n---------- Forwarded message ---------\nDe : Jean Dupont <jean.dupont@mission-locale-lyon.fr>\n"
        "Date: lun. 23 nov. 2026 à 08:12\nObjet : compte bloqué\nÀ : Claire Fabre <claire.fabre@ml.fr>\n\n"
        "Bonjour Claire,\nmon compte jdupont est bloqué, peux-tu demander le déblocage ?\nMerci\nJean Dupont\n"
        "06 11 22 33 44"
    )
    result = normalise("TR: compte bloqué", body)
    assert result.forwarded
    assert result.body == "Bonjour Claire,\nmon compte jdupont est bloqué, peux-tu demander le déblocage ?"
    assert "jean.dupont@" not in result.text and "06 11" not in result.text


def test_forward_with_own_words_keeps_only_them() -> None:
    body = f"{REQUEST}\n\n-------- Message transféré --------\nDe : x@y.fr\nObjet : a\n\nautre chose pour nroux"
    result = normalise("TR: a", body)
    assert not result.forwarded
    assert result.body == REQUEST


@pytest.mark.parametrize(
    "signature",
    [
        "-- \nClaire Fabre\nMission Locale de Lyon\n04 72 00 00 00",
        "Cordialement,\nClaire Fabre\nChargée d'accueil\nMission Locale de Lyon\nTél. : 04 72 00 00 00",
        "Cdlt\nS. Moreau - Cap emploi Rhône",
        "Bien à vous,\n\nClaire FABRE\n04 72 00 00 00",
        "Merci d'avance, Claire Fabre\n04 72 00 00 00",
        "Bonne journée\nKarim",
        "Envoyé de mon iPhone",
    ],
    ids=["dash-dash", "cordialement", "cdlt", "bien-a-vous", "merci-d-avance-inline", "bonne-journee", "iphone"],
)
def test_signatures_are_removed(signature: str) -> None:
    result = normalise("", f"Bonjour,\n{REQUEST}\n\n{signature}")
    assert result.body == f"Bonjour,\n{REQUEST}"


def test_a_request_starting_with_merci_is_not_a_closing() -> None:
    result = normalise("", "Bonjour,\nmerci de débloquer le compte nroux\nmerci d'avance\nKarim")
    assert result.body == "Bonjour,\nmerci de débloquer le compte nroux"


def test_request_lines_after_a_closing_are_kept() -> None:
    body = f"{REQUEST}\nCordialement\nPS : le compte de sa collègue est nroux"
    assert normalise("", body).body == body


def test_thanks_only_message_keeps_its_thanks() -> None:
    assert normalise("Re: compte", "Bonjour,\nMerci beaucoup !\nClaire").body == "Bonjour,\nMerci beaucoup !\nClaire"


def test_legal_disclaimer_is_removed() -> None:
    body = (
        f"{REQUEST}\n\nCe message et toutes les pièces jointes sont confidentiels et établis à l'intention exclusive "
        "de ses destinataires.\nToute utilisation non conforme est interdite.\n\n"
        "P Pensez à l'environnement avant d'imprimer ce message."
    )
    result = normalise("", body)
    assert result.body == REQUEST
    assert "disclaimer" in result.removed


def test_a_request_starting_like_a_disclaimer_is_kept() -> None:
    body = "Ce message pour vous demander de débloquer le compte jdupont."
    assert normalise("", body).body == body


@pytest.mark.parametrize(
    "hidden", ["\u200b", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u200f", "\U000e0069", "\u00ad"]
)
def test_hidden_characters_are_removed_and_flagged(hidden: str) -> None:
    result = normalise("compte", f"débloquer jdu{hidden}pont")
    assert result.hidden_text_found
    assert result.body == "débloquer jdupont"
    assert "hidden characters" in result.removed


def test_clean_text_is_not_flagged() -> None:
    assert not normalise("compte", REQUEST).hidden_text_found


def test_nfkc_and_folding() -> None:
    result = normalise("RE: TR: Fwd: Réinitialisation", "Déverrouiller l’accès de ｊｄｕｐｏｎｔ\u00a0SVP ÉTÉ")
    assert result.subject == "Réinitialisation"
    assert result.reply_subject
    assert result.body == "Déverrouiller l’accès de jdupont SVP ÉTÉ"
    assert result.folded == "reinitialisation\n\ndeverrouiller l'acces de jdupont svp ete"
    assert len(result.folded) == len(result.text)
    assert result.text[result.body_start :] == result.body


def test_windows_line_endings() -> None:
    assert normalise("", "Bonjour,\r\nMerci de débloquer nroux.\r\nCordialement\r\nKarim").body == (
        "Bonjour,\nMerci de débloquer nroux."
    )

"""Temporary passwords (ACT-03) and the ``Secret`` wrapper that keeps them out of logs and copies."""

from __future__ import annotations

import copy
import json
import logging
import pickle

import pytest

from automations.secrets import (
    AMBIGUOUS,
    BANNED,
    DIGITS,
    LOWER,
    MASK,
    SYMBOLS,
    UPPER,
    Secret,
    SecretScratch,
    generate_password,
    new_temporary_password,
    split_for_delivery,
)

PASSWORDS = [generate_password() for _ in range(1000)]


def test_passwords_have_the_length_and_all_four_classes() -> None:
    for password in PASSWORDS:
        assert len(password) == 16
        assert set(password) & set(UPPER) and set(password) & set(LOWER)
        assert set(password) & set(DIGITS) and set(password) & set(SYMBOLS)
        assert not set(password) & AMBIGUOUS
        assert not any(word in password.lower() for word in BANNED)


def test_a_thousand_passwords_are_all_different() -> None:
    assert len(set(PASSWORDS)) == 1000


def test_every_character_of_the_alphabet_is_used() -> None:
    # A crude check that the draw is not stuck on a subset (16 000 draws over 66 characters).
    assert set("".join(PASSWORDS)) == set(UPPER + LOWER + DIGITS + SYMBOLS)


@pytest.mark.parametrize("length", [15, 20, 64])
def test_longer_passwords_on_demand(length: int) -> None:
    assert len(generate_password(length)) == length


@pytest.mark.parametrize("length", [8, 14, 128])
def test_lengths_out_of_bounds_are_refused(length: int) -> None:
    with pytest.raises(ValueError, match="characters"):
        generate_password(length)


def test_a_secret_never_shows_its_value(caplog: pytest.LogCaptureFixture) -> None:
    secret = new_temporary_password()
    value = secret.reveal()
    logging.getLogger("test").warning("secret %s %r %s", secret, secret, f"{secret} {secret!r} {secret:>30}")
    for text in (str(secret), repr(secret), f"{secret}", caplog.text, repr({"password": secret})):
        assert value not in text
    assert MASK in str(secret) and MASK in caplog.text


@pytest.mark.parametrize(
    "serialise",
    [pickle.dumps, copy.copy, copy.deepcopy, json.dumps],
    ids=["pickle", "copy", "deepcopy", "json"],
)
def test_a_secret_is_never_serialised_or_copied(serialise: object) -> None:
    with pytest.raises(TypeError):
        serialise(Secret("Xy7!abcdefghijkm"))  # type: ignore[operator]


def test_secrets_compare_by_value_without_hashing() -> None:
    assert Secret("a") == Secret("a") and Secret("a") != Secret("b")
    with pytest.raises(TypeError):
        hash(Secret("a"))


def test_the_scratch_space_keeps_secrets_in_memory_only() -> None:
    scratch = SecretScratch()
    scratch.put("temporary_password", Secret("Xy7!abcdefghijkm"))
    assert "temporary_password" in scratch and len(scratch) == 1
    assert "Xy7" not in repr(scratch) and "temporary_password" in repr(scratch)
    assert len(copy.deepcopy(scratch)) == 0 and len(copy.copy(scratch)) == 0
    with pytest.raises(TypeError):
        pickle.dumps(scratch)
    scratch.clear()
    assert scratch.get("temporary_password") is None


def test_split_for_delivery_gives_two_halves() -> None:
    password = generate_password(17)
    first, second = split_for_delivery(password)
    assert first + second == password and len(first) == 9 and len(second) == 8
    with pytest.raises(ValueError):
        split_for_delivery("x")

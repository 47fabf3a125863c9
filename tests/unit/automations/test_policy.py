"""Scope and privilege rules."""

from __future__ import annotations

import pytest

from automations.policy import is_under, privileged_reason
from connectors.directory import Account


@pytest.mark.parametrize(
    ("dn", "ou", "expected"),
    [
        ("CN=Jean Dupont,OU=ML Lyon,OU=Partenaires,DC=agence,DC=local", "OU=ML Lyon,OU=Partenaires,DC=agence,DC=local",
         True),
        ("cn=jean dupont,ou=ml  lyon,ou=partenaires,dc=AGENCE,dc=local", "OU=ML Lyon,OU=Partenaires,DC=agence,DC=local",
         True),
        ("CN=X,OU=Sub,OU=ML Lyon,OU=Partenaires,DC=agence,DC=local", "OU=ML Lyon,OU=Partenaires", True),
        ("CN=X,OU=Cap,OU=Partenaires,DC=agence,DC=local", "OU=ML Lyon,OU=Partenaires,DC=agence,DC=local", False),
        ("OU=ML Lyon,OU=Partenaires,DC=agence,DC=local", "OU=ML Lyon,OU=Partenaires,DC=agence,DC=local", False),
        # A look-alike OU name must not pass as a suffix of the string.
        ("CN=X,OU=Evil ML Lyon,OU=Partenaires,DC=agence,DC=local", "OU=ML Lyon,OU=Partenaires,DC=agence,DC=local",
         False),
        (r"CN=Doe\, John,OU=ML Lyon,OU=Partenaires,DC=agence,DC=local", "OU=ML Lyon,OU=Partenaires,DC=agence,DC=local",
         True),
        (r"CN=X\,OU=ML Lyon,OU=Other,DC=agence,DC=local", "OU=ML Lyon,OU=Other,DC=agence,DC=local", False),
        ("CN=X,OU=ML Lyon,OU=Partenaires,DC=other,DC=local", "OU=ML Lyon,OU=Partenaires,DC=agence,DC=local", False),
    ],
)
def test_is_under(dn: str, ou: str, expected: bool) -> None:
    assert is_under(dn, ou) is expected


def _account(**changes: object) -> Account:
    values: dict[str, object] = dict(dn="CN=a,DC=x", sam="a", upn="a@x", mail=None, display_name="A",
                                     enabled=True, locked=True)
    values.update(changes)
    return Account(**values)  # type: ignore[arg-type]


def test_privileged_by_group_admin_count_or_configured_group() -> None:
    assert privileged_reason(_account()) is None
    assert "domain admins" in (privileged_reason(_account(groups=frozenset({"Domain Admins"}))) or "")
    assert "adminCount" in (privileged_reason(_account(admin_count=1)) or "")
    assert privileged_reason(_account(groups=frozenset({"VIP"}))) is None
    assert "vip" in (privileged_reason(_account(groups=frozenset({"VIP"})), frozenset({"VIP"})) or "")

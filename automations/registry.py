"""The registry of partner organisations: who may ask, for which part of the directory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class RegistryError(ValueError):
    """The registry file is unusable; the message names the file, entry and key."""


@dataclass(frozen=True)
class Partner:
    """A partner organisation: its mail domains, its registered correspondents and its directory OU."""

    id: str
    name: str
    domains: frozenset[str]
    correspondents: frozenset[str]
    ou: str
    # A documented risk acceptance: this partner's mail is not DKIM-signed, SPF alignment alone is accepted.
    accept_spf_only: bool = False
    # Whether its correspondents may ask for each other's accounts (off: a correspondent is never a target).
    correspondents_may_act_on_each_other: bool = False


def _entry(record: Any, where: str) -> Partner:
    if not isinstance(record, dict):
        raise RegistryError(f"{where}: each partner must be a mapping")
    for key in ("id", "ou", "correspondents"):
        if not record.get(key):
            raise RegistryError(f"{where}: missing key {key!r}")
    correspondents = record["correspondents"]
    if not isinstance(correspondents, list) or not all(isinstance(c, str) and "@" in c for c in correspondents):
        raise RegistryError(f"{where}: 'correspondents' must be a list of e-mail addresses")
    return Partner(
        id=str(record["id"]),
        name=str(record.get("name", record["id"])),
        domains=frozenset(str(d).lower() for d in record.get("domains", [])),
        correspondents=frozenset(c.strip().lower() for c in correspondents),
        ou=str(record["ou"]),
        accept_spf_only=bool(record.get("accept_spf_only", False)),
        correspondents_may_act_on_each_other=bool(record.get("correspondents_may_act_on_each_other", False)),
    )


class PartnerRegistry:
    """Look up the partner a sender address is registered for; exact addresses only."""

    def __init__(self, partners: list[Partner]) -> None:
        self.partners = tuple(partners)
        self._by_correspondent: dict[str, Partner] = {}
        for partner in partners:
            for address in partner.correspondents:
                other = self._by_correspondent.get(address)
                if other is not None and other.id != partner.id:
                    raise RegistryError(f"{address} is a correspondent of both {other.id!r} and {partner.id!r}")
                self._by_correspondent[address] = partner

    @classmethod
    def load(cls, path: str | Path) -> PartnerRegistry:
        """Read a JSON or YAML list of partners (the scenario's ``partners.json`` format)."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
            data = json.loads(text) if file.suffix == ".json" else yaml.safe_load(text)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise RegistryError(f"{file}: cannot read the partner registry: {exc}") from None
        if not isinstance(data, list):
            raise RegistryError(f"{file}: must be a list of partners")
        return cls([_entry(record, f"{file}[{i}]") for i, record in enumerate(data)])

    def partner_of(self, address: str) -> Partner | None:
        """The partner whose registered correspondent is exactly ``address``; display names count for nothing."""
        return self._by_correspondent.get(address.strip().lower())

    def is_correspondent(self, address: str) -> bool:
        """Whether ``address`` belongs to any registered correspondent (their own accounts need a human)."""
        return address.strip().lower() in self._by_correspondent

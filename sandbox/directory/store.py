"""The directory emulator's state: accounts in OUs, lockout and protected groups, as AD applies them."""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sandbox.scenario import DirectoryUser, Scenario

DEFAULT_BASE_DN = "DC=test,DC=local"
# The test Samba domain locks an account after three bad passwords; the sandbox behaves the same.
LOCKOUT_THRESHOLD = 3
PRIVILEGED_GROUPS = ("Domain Admins", "Administrators")
# Seconds between 1601-01-01 (the Windows FILETIME epoch) and 1970-01-01.
_FILETIME_EPOCH_OFFSET = 11_644_473_600
_DN_SPECIALS = ',+"\\<>;='


class DirectoryStoreError(ValueError):
    """The store cannot be built or loaded; the message names the file or account."""


@dataclass(frozen=True)
class DirectoryEntry:
    """One account as the emulator keeps it, password included (never served)."""

    dn: str
    sam: str
    upn: str
    mail: str
    display_name: str
    enabled: bool
    locked: bool
    lockout_time: str
    admin_count: str
    groups: tuple[str, ...]
    password: str = field(repr=False)
    bad_pwd_count: int = 0
    # pwdLastSet as AD writes it: a FILETIME, "0" when the password must be changed at next logon.
    pwd_last_set: str = ""
    # mobile as AD holds it: the number on file for out-of-band delivery; "" when none.
    mobile: str = ""

    def public(self) -> dict[str, Any]:
        """The account as served over HTTP: every attribute but the password."""
        fields = asdict(self)
        del fields["password"]
        fields["groups"] = list(self.groups)
        return fields


@dataclass(frozen=True)
class BindResult:
    """Outcome of a password check; ``reason`` is None on success."""

    ok: bool
    reason: str | None


def windows_filetime_now() -> str:
    """Now as AD writes ``lockoutTime``: 100-nanosecond intervals since 1601-01-01, as a string."""
    return str(int((time.time() + _FILETIME_EPOCH_OFFSET) * 10_000_000))


def escape_rdn_value(value: str) -> str:
    """Escape a relative DN value the RFC 4514 way, so a comma in a name cannot split the DN."""
    escaped = "".join(f"\\{char}" if char in _DN_SPECIALS else char for char in value)
    if escaped.startswith((" ", "#")):
        escaped = "\\" + escaped
    if escaped.endswith(" ") and not escaped.endswith("\\ "):
        escaped = escaped[:-1] + "\\ "
    return escaped


def base_dn_from_ous(ous: Iterable[str]) -> str:
    """The DC= suffix of the first OU that has one, else ``DEFAULT_BASE_DN``."""
    for ou in ous:
        parts = [part.strip() for part in ou.split(",")]
        domain = [part for part in parts if part.upper().startswith("DC=")]
        if domain:
            return ",".join(domain)
    return DEFAULT_BASE_DN


def _full_ou(ou: str, base_dn: str) -> str:
    if "DC=" in ou.upper():
        return ou
    return f"{ou},{base_dn}" if ou else base_dn


def entry_from_user(user: DirectoryUser, base_dn: str) -> DirectoryEntry:
    """Build the directory entry of one scenario user, with a fresh random password."""
    display_name = " ".join(part for part in (user.given_name, user.surname) if part) or user.sam
    groups = ("Domain Users", *PRIVILEGED_GROUPS) if user.privileged else ("Domain Users",)
    return DirectoryEntry(
        dn=f"CN={escape_rdn_value(display_name)},{_full_ou(user.ou, base_dn)}",
        sam=user.sam,
        upn=user.upn,
        mail=user.mail,
        display_name=display_name,
        enabled=not user.disabled,
        locked=user.locked,
        lockout_time=windows_filetime_now() if user.locked else "0",
        admin_count="1" if user.privileged else "0",
        groups=groups,
        password=secrets.token_urlsafe(18),
        pwd_last_set=windows_filetime_now(),
        mobile=user.mobile,
    )


class DirectoryStore:
    """Accounts keyed by DN (case-insensitive, as in AD); saved as JSON after each write when asked."""

    def __init__(
        self,
        entries: Iterable[DirectoryEntry],
        *,
        persist_to: str | Path | None = None,
        lockout_threshold: int = LOCKOUT_THRESHOLD,
    ) -> None:
        self._entries: dict[str, DirectoryEntry] = {}
        for entry in entries:
            if entry.dn.lower() in self._entries:
                raise DirectoryStoreError(f"two accounts share the DN {entry.dn!r}; give them distinct names")
            self._entries[entry.dn.lower()] = entry
        self._persist_to = Path(persist_to) if persist_to is not None else None
        self._lockout_threshold = lockout_threshold
        # The HTTP app may run handlers on several threads; writes are read-modify-write.
        self._lock = threading.Lock()

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, base_dn: str | None = None, *, persist_to: str | Path | None = None
    ) -> DirectoryStore:
        """One entry per scenario user; OUs without DC= are placed under ``base_dn``."""
        if base_dn is None:
            ous = [user.ou for user in scenario.users] + [partner.ou for partner in scenario.partners]
            base_dn = base_dn_from_ous(ous)
        store = cls((entry_from_user(user, base_dn) for user in scenario.users), persist_to=persist_to)
        if store._persist_to is not None:
            store.save(store._persist_to)
        return store

    @classmethod
    def load(cls, path: str | Path, *, persist_to: str | Path | None = None) -> DirectoryStore:
        """Read a store written by ``save``; raise ``DirectoryStoreError`` naming the file."""
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
            entries = [DirectoryEntry(**{**record, "groups": tuple(record["groups"])}) for record in data["accounts"]]
        except FileNotFoundError as exc:
            raise DirectoryStoreError(f"{source}: directory state file not found") from exc
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise DirectoryStoreError(f"{source}: not a directory state file written by save(): {exc}") from exc
        return cls(entries, persist_to=persist_to)

    def save(self, path: str | Path) -> None:
        """Write every account, passwords included, atomically so a crash never leaves half a file."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        records = [asdict(entry) for entry in self._entries.values()]
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_text(json.dumps({"accounts": records}, indent=2, ensure_ascii=False), encoding="utf-8")
        # The file holds the sandbox accounts' passwords: readable by the owner only.
        os.chmod(temporary, 0o600)
        os.replace(temporary, target)

    def entries(self) -> list[DirectoryEntry]:
        """Every account, in scenario order."""
        return list(self._entries.values())

    def get(self, dn: str) -> DirectoryEntry | None:
        """The account with this DN (case-insensitive), or None."""
        return self._entries.get(dn.lower())

    def find(self, login: str) -> list[DirectoryEntry]:
        """Accounts whose sam, upn or mail equals ``login`` exactly, ignoring case."""
        wanted = login.strip().lower()
        if not wanted:
            return []
        return [
            entry
            for entry in self._entries.values()
            if wanted in {entry.sam.lower(), entry.upn.lower(), entry.mail.lower()}
        ]

    def find_by_display_name(self, name: str) -> list[DirectoryEntry]:
        """Accounts whose display name equals ``name`` exactly, ignoring case (several is normal)."""
        wanted = name.strip().lower()
        return [entry for entry in self._entries.values() if wanted and entry.display_name.lower() == wanted]

    def reset_password(
        self, dn: str, password: str, *, must_change: bool = True
    ) -> tuple[DirectoryEntry, DirectoryEntry] | None:
        """Set a new password as an admin reset does (``pwdLastSet`` = 0 when it must be changed at next logon);
        the (before, after) pair, or None when the DN is unknown."""
        with self._lock:
            before = self.get(dn)
            if before is None:
                return None
            after = replace(before, password=password, pwd_last_set="0" if must_change else windows_filetime_now())
            self._write(after)
            return before, after

    def unlock(self, dn: str) -> tuple[DirectoryEntry, DirectoryEntry] | None:
        """Clear the lockout of one account; the (before, after) pair, or None when the DN is unknown."""
        with self._lock:
            before = self.get(dn)
            if before is None:
                return None
            after = replace(before, locked=False, lockout_time="0", bad_pwd_count=0)
            self._write(after)
            return before, after

    def set_password(self, dn: str, password: str) -> None:
        """Give an account a known password (demos, rehearsals); raise KeyError for an unknown DN."""
        with self._lock:
            entry = self.get(dn)
            if entry is None:
                raise KeyError(f"no account with DN {dn!r}")
            self._write(replace(entry, password=password))

    def bind(self, login: str, password: str) -> BindResult:
        """Check a password as AD does: locked and disabled accounts refuse, bad attempts lead to lockout."""
        with self._lock:
            matches = self.find(login)
            # An unknown or ambiguous login answers like a bad password, so binds cannot probe for names.
            if len(matches) != 1:
                return BindResult(ok=False, reason="bad_password")
            entry = matches[0]
            if not entry.enabled:
                return BindResult(ok=False, reason="disabled")
            if entry.locked:
                return BindResult(ok=False, reason="locked")
            if secrets.compare_digest(entry.password.encode(), password.encode()):
                if entry.bad_pwd_count:
                    self._write(replace(entry, bad_pwd_count=0))
                if entry.pwd_last_set == "0":
                    # AD refuses the bind with "data 773": the user must change the password first.
                    return BindResult(ok=False, reason="must_change_password")
                return BindResult(ok=True, reason=None)
            attempts = entry.bad_pwd_count + 1
            if attempts >= self._lockout_threshold:
                self._write(replace(entry, bad_pwd_count=attempts, locked=True, lockout_time=windows_filetime_now()))
            else:
                self._write(replace(entry, bad_pwd_count=attempts))
            return BindResult(ok=False, reason="bad_password")

    def _write(self, entry: DirectoryEntry) -> None:
        self._entries[entry.dn.lower()] = entry
        if self._persist_to is not None:
            self.save(self._persist_to)

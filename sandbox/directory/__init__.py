"""Directory emulator: a small Active Directory stand-in served over HTTPS JSON.

Used when no Samba domain controller can run (no root, no packages), so the demo still shows
accounts being found, refused when privileged, and unlocked. It applies AD's rules the skeleton
relies on: users in OUs, lockout after bad passwords, protected groups and ``adminCount``.
When Samba is available the real DC is used instead.
"""

from sandbox.directory.app import build_directory_app
from sandbox.directory.store import (
    BindResult,
    DirectoryEntry,
    DirectoryStore,
    DirectoryStoreError,
    windows_filetime_now,
)

__all__ = [
    "BindResult",
    "DirectoryEntry",
    "DirectoryStore",
    "DirectoryStoreError",
    "build_directory_app",
    "windows_filetime_now",
]

"""A real Active Directory for the sandbox and the tests: a loopback Samba DC and a scenario seeder.

Typical use::

    with SambaDC(workdir, realm=realm_from_ous(user.ou for user in scenario.users)) as dc:
        passwords = seed_directory(dc, scenario.users)

The DC lifecycle is in ``sandbox.samba_dc`` and the seeding in ``sandbox.samba_seed``.
"""

from __future__ import annotations

from sandbox.samba_dc import LDAPS_PORT, SambaDC, SambaError, generate_password, samba_unavailable_reason
from sandbox.samba_seed import admin_connection, can_bind, is_locked, lock_out, realm_from_ous, seed_directory

__all__ = [
    "LDAPS_PORT",
    "SambaDC",
    "SambaError",
    "admin_connection",
    "can_bind",
    "generate_password",
    "is_locked",
    "lock_out",
    "realm_from_ous",
    "samba_unavailable_reason",
    "seed_directory",
]

"""Microsoft Graph emulator: an Entra ID token endpoint and the v1.0 resources Sésame uses.

``build_graph_app(mailbox, tenant=…, client_id=…, client_secret=…, entra=…, apps=…)`` returns an ASGI app to
serve over HTTPS (``sandbox.tls``) so the official ``msgraph-sdk`` and ``azure-identity`` clients talk to it
unchanged: mail from a ``MailboxStore``, users, groups, roles and authentication methods from an ``EntraStore``,
each call checked against the application permissions of the calling ``GraphApp``.
"""

from sandbox.graph.app import build_graph_app
from sandbox.graph.entra_store import EntraStore, EntraStoreError, user_id_for
from sandbox.graph.mailstore import MailboxStore, MailStoreError
from sandbox.graph.permissions import DEFAULT_PERMISSIONS, GraphApp

__all__ = [
    "DEFAULT_PERMISSIONS",
    "EntraStore",
    "EntraStoreError",
    "GraphApp",
    "MailStoreError",
    "MailboxStore",
    "build_graph_app",
    "user_id_for",
]

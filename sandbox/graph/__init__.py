"""Microsoft Graph emulator: an Entra ID token endpoint and the v1.0 resources Sésame uses (mail for now).

``build_graph_app(store, tenant=…, client_id=…, client_secret=…)`` returns an ASGI app to serve over
HTTPS (``sandbox.tls``) so the official ``msgraph-sdk`` and ``azure-identity`` clients talk to it unchanged.
"""

from sandbox.graph.app import build_graph_app
from sandbox.graph.mailstore import MailboxStore, MailStoreError

__all__ = ["MailStoreError", "MailboxStore", "build_graph_app"]

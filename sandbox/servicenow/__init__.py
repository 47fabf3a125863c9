"""A ServiceNow Table API emulator the real ``pysnc`` client cannot tell from an instance (for the calls we use).

``build_app(store, users=...)`` serves a ``TableStore``; ``seed_store`` fills it from a scenario.
"""

from sandbox.servicenow.app import build_app
from sandbox.servicenow.attachments import AttachmentStore
from sandbox.servicenow.oauth import OAuthClient
from sandbox.servicenow.seed import seed_store
from sandbox.servicenow.store import Selection, TableStore

__all__ = ["AttachmentStore", "OAuthClient", "Selection", "TableStore", "build_app", "seed_store"]

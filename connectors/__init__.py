"""Connectors: one small typed interface per external system, and implementations over real clients.

The domain (``automations``) depends only on the interfaces defined in ``connectors.directory``,
``connectors.tickets`` and ``connectors.mailbox``; implementations are chosen by configuration.
"""

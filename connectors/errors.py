"""The small error taxonomy every connector raises, so the domain can decide without knowing the client."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every connector failure; ``request_id`` is the remote system's id, kept for the audit."""

    retryable = False

    def __init__(self, message: str, *, system: str = "", request_id: str | None = None) -> None:
        super().__init__(message)
        self.system = system
        self.request_id = request_id


class TransientError(ConnectorError):
    """The system did not answer or failed in a way that may succeed later."""

    retryable = True


class ThrottledError(TransientError):
    """The system asked us to slow down; ``retry_after`` is in seconds when it said so."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, system: str = "", request_id: str | None = None
    ) -> None:
        super().__init__(message, system=system, request_id=request_id)
        self.retry_after = retry_after


class NotFoundError(ConnectorError):
    """The object asked for does not exist (or we may not see it)."""


class PermissionMissingError(ConnectorError):
    """Our service account lacks a right; the message names it."""


class ConflictError(ConnectorError):
    """The object changed or exists already; re-read and decide."""


class InvalidRequestError(ConnectorError):
    """The system refused what we sent as malformed; a bug on our side or bad input."""


class PolicyRefusalError(ConnectorError):
    """The system refused on its own policy (data policy, password rules, business rule)."""

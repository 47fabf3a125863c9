"""Errors the emulated Table API answers with, each carrying ServiceNow's status and wording."""

from __future__ import annotations


class TableApiError(Exception):
    """A refusal the emulator turns into ServiceNow's JSON error body (``message``/``detail``)."""

    status = 400

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message if detail is None else f"{message}: {detail}")
        self.message = message
        self.detail = detail


class NotAuthenticatedError(TableApiError):
    """No or wrong Basic credentials."""

    status = 401

    def __init__(self) -> None:
        super().__init__("User Not Authenticated", "Required to provide Auth information")


class InvalidTableError(TableApiError):
    """The table is not one the emulator knows (ServiceNow answers 400, not 404)."""

    status = 400

    def __init__(self, table: str) -> None:
        super().__init__(f"Invalid table {table}")
        self.table = table


class RecordNotFoundError(TableApiError):
    """No record with that sys_id in that table."""

    status = 404

    def __init__(self, table: str = "", sys_id: str = "") -> None:
        super().__init__("No Record found", "Record doesn't exist or ACL restricts the record retrieval")
        self.table = table
        self.sys_id = sys_id


class MalformedRequestError(TableApiError):
    """The request body or parameters cannot be read."""

    status = 400


class OperationFailedError(TableApiError):
    """A write refused by the instance (data policy, duplicate sys_id...); 403 like ServiceNow."""

    status = 403

    def __init__(self, detail: str) -> None:
        super().__init__("Operation Failed", detail)


class DataPolicyError(OperationFailedError):
    """Mandatory fields missing for the target state; names the fields by their labels."""

    def __init__(self, labels: list[str]) -> None:
        super().__init__("Data Policy Exception: The following fields are mandatory: " + ", ".join(labels))
        self.labels = labels


class EncodedQueryError(MalformedRequestError):
    """``sysparm_query`` uses a construct the emulator does not understand (yet)."""

    def __init__(self, detail: str) -> None:
        super().__init__("Invalid encoded query", detail)


class NotAuthorizedError(TableApiError):
    """The user may not read the table: none of the roles its read ACL asks for (403, like an instance)."""

    status = 403

    def __init__(self, table: str, needed: tuple[str, ...]) -> None:
        detail = f"Reading table {table} requires one of the roles: {', '.join(needed)}" if needed else None
        super().__init__("User Not Authorized", detail)
        self.table = table
        self.needed = needed


class AclDeniedError(OperationFailedError):
    """A write ACL refused the operation; ``verb`` is Insert, Update or Delete, as in the instance's wording."""

    def __init__(self, table: str, verb: str, needed: tuple[str, ...]) -> None:
        super().__init__(f"ACL Exception {verb} Failed due to security constraints")
        self.table = table
        self.verb = verb
        self.needed = needed


class NoMatchingRecordsError(TableApiError):
    """Table API v1 answers an empty list with 404 (v2 and the unversioned path answer 200 ``[]``)."""

    status = 404

    def __init__(self) -> None:
        super().__init__(
            "No Record found", "Records matching query not found. Check query parameter or offset parameter"
        )

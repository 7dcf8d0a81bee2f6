"""How the directory's identifiers are read and compared: one rule for the importer, the admin
searches and the claims above."""

import uuid


def parse_guid(value) -> uuid.UUID | None:
    """A GUID as typed (spaces around it, any case) or as a UUID; None when it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value).strip())
    except (ValueError, AttributeError):
        return None


def normalise_domain(value: str) -> str:
    """Domain names compare lower-case, without a trailing dot."""
    return value.strip().rstrip(".").lower()

"""Reading a DACL (MS-DTYP self-relative security descriptor) to tell whether a set of SIDs holds an extended right.

Used by ``doctor`` for Reset Password, which no operational attribute reports (``allowedAttributesEffective``
covers attribute writes only). The DACL is read from ``nTSecurityDescriptor`` with the SD-flags control asking
for the DACL alone, which every account that may read the object's permissions can do, on AD and Samba alike.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterator, Set
from dataclasses import dataclass

from connectors.directory.ad.attributes import sid_text

# Extended right "Reset Password" (User-Force-Change-Password).
RESET_PASSWORD = uuid.UUID("00299570-246d-11d0-a768-00aa006e0529")
# SIDs every authenticated bind holds although tokenGroups does not list them.
EVERYONE, AUTHENTICATED_USERS = "S-1-1-0", "S-1-5-11"
DACL_ONLY = 0x04  # SD flags control: DACL_SECURITY_INFORMATION

_ACCESS_ALLOWED, _ACCESS_DENIED = 0x00, 0x01
_ACCESS_ALLOWED_OBJECT, _ACCESS_DENIED_OBJECT = 0x05, 0x06
_INHERIT_ONLY = 0x08
_CONTROL_ACCESS = 0x100  # ADS_RIGHT_DS_CONTROL_ACCESS
_GENERIC_ALL = 0x10000000
_OBJECT_TYPE_PRESENT, _INHERITED_OBJECT_TYPE_PRESENT = 0x1, 0x2


@dataclass(frozen=True)
class Ace:
    """One access control entry, as far as the rights check needs it."""

    allow: bool
    mask: int
    sid: str
    object_type: uuid.UUID | None
    inherit_only: bool


def aces(descriptor: bytes) -> Iterator[Ace]:
    """The DACL's entries in order; other ACE types (audit, callback) are skipped."""
    if len(descriptor) < 20:
        return
    dacl_offset = struct.unpack_from("<I", descriptor, 16)[0]
    if not dacl_offset:
        return
    _, _, _, count, _ = struct.unpack_from("<BBHHH", descriptor, dacl_offset)
    offset = dacl_offset + 8
    for _ in range(count):
        ace_type, flags, size = struct.unpack_from("<BBH", descriptor, offset)
        body = offset + 4
        if ace_type in (_ACCESS_ALLOWED, _ACCESS_DENIED):
            mask = struct.unpack_from("<I", descriptor, body)[0]
            yield Ace(ace_type == _ACCESS_ALLOWED, mask, sid_text(descriptor[body + 4 : offset + size]), None,
                      bool(flags & _INHERIT_ONLY))  # fmt: skip
        elif ace_type in (_ACCESS_ALLOWED_OBJECT, _ACCESS_DENIED_OBJECT):
            mask, present = struct.unpack_from("<II", descriptor, body)
            cursor = body + 8
            object_type = None
            if present & _OBJECT_TYPE_PRESENT:
                object_type = uuid.UUID(bytes_le=descriptor[cursor : cursor + 16])
                cursor += 16
            if present & _INHERITED_OBJECT_TYPE_PRESENT:
                cursor += 16
            yield Ace(ace_type == _ACCESS_ALLOWED_OBJECT, mask, sid_text(descriptor[cursor : offset + size]),
                      object_type, bool(flags & _INHERIT_ONLY))  # fmt: skip
        offset += size


def holds_extended_right(descriptor: bytes, sids: Set[str], right: uuid.UUID) -> bool:
    """True when the DACL lets one of ``sids`` use the extended ``right`` on this object.

    DACLs are stored in canonical order (explicit deny, explicit allow, inherited deny, inherited allow),
    so the first entry that speaks about the right for one of the SIDs decides, as Windows does.
    """
    for ace in aces(descriptor):
        if ace.inherit_only or ace.sid not in sids:
            continue
        covers = ace.mask & _GENERIC_ALL or (
            ace.mask & _CONTROL_ACCESS and (ace.object_type is None or ace.object_type == right)
        )
        if covers:
            return ace.allow
    return False

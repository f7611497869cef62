"""What the phone keeps for RFC 7081 behaviour beyond plain calls and chat (`PhoneState.cusax`).

Frozen values, like the rest of the state; firmware/machine_cusax.py changes them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from firmware.cusax import Candidate
from firmware.tel_index import EMPTY_INDEX, TelIndex


class Identity(enum.Enum):
    """Who a caller is, as far as the phone can tell (RFC 7081 section 3.5)."""

    VERIFIED = "verified"  # the caller's address is in a roster contact's vCard
    CLAIMED_UNVERIFIED = "claimed_unverified"  # a hint names a JID whose vCard does not list the caller
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Party:
    """The other party of the current call, matched to the roster (C10)."""

    call_id: int
    identity: Identity = Identity.UNKNOWN
    jid: str = ""  # VERIFIED: the contact; CLAIMED_UNVERIFIED: the JID the hint names
    source: str = ""  # vcard | contact (we called them from the roster) | call-info | reach


@dataclass(frozen=True, slots=True)
class Prompt:
    """A question on the display before a call to a contact: which address (C7), and/or the cost
    warning (section 5). `warning` set: the person confirms calling `choices[cursor]`."""

    jid: str
    choices: tuple[Candidate, ...]
    cursor: int = 0
    warning: str = ""

    @property
    def confirming(self) -> bool:
        return bool(self.warning)

    @property
    def chosen(self) -> Candidate:
        return self.choices[max(0, min(self.cursor, len(self.choices) - 1))]


@dataclass(frozen=True, slots=True)
class CusaxView:
    tels: TelIndex = field(default=EMPTY_INDEX)  # vCard tels -> JIDs (verification)
    reach: TelIndex = field(default=EMPTY_INDEX)  # XEP-0152 addresses -> JIDs (hints only, C12)
    party: Party | None = None  # the current call's other party
    offer: str = ""  # after a call: the contact (or room) whose chat SELECT opens
    prompt: Prompt | None = None
    dnd: bool = False  # do not disturb: incoming calls get 486, XMPP presence dnd
    conference: str = ""  # the room (XEP-0045) linked to the current call (section 4)
    warned: bool = False  # the security mismatch notice was shown

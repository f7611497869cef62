"""What a person typed -> the SIP URI to call. Pure functions, no I/O."""

from __future__ import annotations

import re

MAX_DIGITS = 32

_DIGITS = re.compile(rf"[0-9*]{{1,{MAX_DIGITS}}}")
_DIAL_STRING = re.compile(r"[0-9*]+")  # ASCII only: str.isdigit() also accepts '²' or Arabic-Indic digits
# user@host[:port] with RFC 3261 unreserved/escaped user characters; no spaces, no angle brackets.
_USER = r"[A-Za-z0-9\-_.!~*'()&=+$,;?/%]+"
_HOST = r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9\-.]*[A-Za-z0-9])?)"
# The scheme is case-insensitive (RFC 3261 section 19.1.4); ASCII only, so no Unicode case folding
# (the Kelvin sign is not a "k") and no non-ASCII digits in the port.
_SIP_URI = re.compile(
    rf"(sips?):(?:({_USER})@)?({_HOST})(?::([0-9]{{1,5}}))?((?:;[A-Za-z0-9\-_.=]+)*)",
    re.IGNORECASE | re.ASCII,
)


class DialplanError(ValueError):
    """The input cannot become a SIP URI; the message is short enough for the display."""


def to_uri(text: str, domain: str) -> str:
    """Turn keypad digits or a typed/selected address into a SIP URI.

    - `1002` -> `sip:1002@domain`
    - `alice@example.org` -> `sip:alice@example.org`
    - `sip:...`/`sips:...` -> checked and returned unchanged
    """
    text = text.strip()
    if not text:
        raise DialplanError("Nothing dialled")
    if _DIGITS.fullmatch(text):
        return f"sip:{text}@{domain}"
    if text.lower().startswith(("sip:", "sips:")):
        return _checked_uri(text)
    if "@" in text and ":" not in text.split("@", 1)[0]:
        return _checked_uri(f"sip:{text}")
    if _DIAL_STRING.fullmatch(text):
        raise DialplanError("Number too long")
    raise DialplanError("Invalid number")


def _checked_uri(uri: str) -> str:
    m = _SIP_URI.fullmatch(uri)
    if m is None:
        raise DialplanError("Invalid address")
    port = m.group(4)
    if port is not None and not 0 < int(port) < 65536:
        raise DialplanError("Invalid port")
    if m.group(2) is None:
        raise DialplanError("Address has no user")
    return uri

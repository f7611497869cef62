"""Telephone numbers and SIP addresses from vCards, and the key that matches a caller to them.

RFC 7081 section 3.5: an incoming SIP call is matched to a roster contact whose vCard has a "tel"
equal to the caller. The same party is written many ways (`sip:+49 30 1234@example.org;user=phone`,
`tel:+49-30-1234`, `+49 (30) 1234`, `sip:alice@Example.org:5060;transport=tls`), so both sides are
reduced to a key and compared in a dict: O(1) per call, whatever the roster size.

Rules of `tel_key`:
- a telephone number (a `tel:` URI, a plain number, or a SIP URI whose user part is a number and
  that says `user=phone`, starts with `+`, or is in `default_domain`) becomes `tel:` + its digits,
  keeping a leading `+`, `*` and `#`: visual separators (space - . ( ) /) are dropped, URI
  parameters (`;phone-context=`, `;ext=`...) too;
- any other SIP address becomes `sip:user@host`, lower-cased, without port, parameters or headers
  (an address of record identifies a party; transport details do not);
- anything else gives "" (no key: never matches).
A national number and its international form (`030 1234` vs `+49 30 1234`) are different keys:
turning one into the other needs a dial plan this module does not guess.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MAX_INPUT = 256  # a vCard or a From header longer than this is not a telephone address
_SEPARATORS = re.compile(r"[\s\-.()/\u00a0\u2010-\u2015]")  # visual separators (RFC 3966 + Unicode dashes)
_NUMBER = re.compile(r"\+?[0-9*#]+")
_DIALABLE = re.compile(r"\+?[0-9A-Za-z*#]+")  # RFC 3966 allows letters only in local numbers
_HOST = re.compile(r"[a-z0-9.\-\[\]:]+")
_USER = re.compile(r"[^\s@<>\"\x00-\x1f\x7f-\x9f]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")  # a tab is only a separator
_SIP_SCHEMES = ("sip:", "sips:")


def _digits(text: str) -> str | None:
    """`+49 (30) 12-34` -> `+4930 1234` without separators, or None when it is not a number."""
    number = _SEPARATORS.sub("", text)
    if not number or not _NUMBER.fullmatch(number) or number == "+":
        return None
    return number


def _strip(value: str) -> str:
    """Trim, take what is inside <...> (a name-addr), drop the `tel:` vcard_legacy puts before sip:."""
    text = value.strip()
    if "<" in text and ">" in text.partition("<")[2]:
        text = text.partition("<")[2].partition(">")[0].strip()
    lower = text.lower()
    if lower.startswith("tel:") and lower[4:].lstrip().startswith(_SIP_SCHEMES):
        text = text[4:].lstrip()  # Prosody's vcard_legacy turns a vCard-temp NUMBER sip:x into tel:sip:x
    return text


def _split_sip(rest: str) -> tuple[str, str, bool] | None:
    """`user@host:port;params?headers` (after the scheme) -> (user, host, user=phone)."""
    rest, _, _headers = rest.partition("?")
    address, _, params = rest.partition(";")
    phone = any(p.strip().lower() == "user=phone" for p in params.split(";"))
    user, at, host = address.rpartition("@")
    if not at:
        user, host = "", address
    elif not user:
        return None  # "sip:@host"
    host = host.strip().lower()
    # An IPv6 reference keeps its brackets; a port after the host is dropped.
    host = host.partition("]")[0] + "]" if host.startswith("[") else host.partition(":")[0]
    if not host or not _HOST.fullmatch(host):
        return None
    try:
        user = unquote(user, errors="strict")  # %2B49... -> +49...
    except UnicodeDecodeError:
        return None
    return user, host, phone


def tel_key(uri_or_number: str, default_domain: str | None = None) -> str:
    """The match key of a caller, a vCard tel or a typed number ("" when it is none of those)."""
    if not uri_or_number or len(uri_or_number) > MAX_INPUT:
        return ""
    text = _strip(uri_or_number)
    if _CONTROL.search(text):
        return ""
    lower = text.lower()
    if lower.startswith("tel:"):
        number = _digits(text[4:].partition(";")[0])
        return f"tel:{number}" if number else ""
    if lower.startswith(_SIP_SCHEMES):
        parts = _split_sip(text.partition(":")[2])
        if parts is None:
            return ""
        user, host, phone = parts
        if not user:
            return f"sip:{host}"
        number = _digits(user)
        local = default_domain is not None and host == default_domain.strip().lower()
        if number and (phone or number.startswith("+") or local):
            return f"tel:{number}"
        if not _USER.fullmatch(user):
            return ""
        return f"sip:{user.lower()}@{host}"
    if ":" in text.partition("@")[0]:
        return ""  # another scheme (mailto:, xmpp:, http:...): not something a phone dials
    if "@" in text:
        return tel_key("sip:" + text, default_domain)
    number = _digits(text)
    return f"tel:{number}" if number else ""


def tel_uri(value: str) -> str | None:
    """What a vCard tel says, as a URI the phone can dial; None when it is not a phone address.

    `+49 30 1234` -> `tel:+49301234`; `tel:sip:bob@example.org` -> `sip:bob@example.org`;
    `alice@example.org` -> `sip:alice@example.org`. SIP URIs keep their parameters (a
    `;user=phone` matters to the proxy) but get a lower-case scheme and host.
    """
    if not value or len(value) > MAX_INPUT:
        return None
    text = _strip(value)
    if _CONTROL.search(text):
        return None
    lower = text.lower()
    if lower.startswith("tel:"):
        body = text[4:]
        number, sep, params = body.partition(";")
        clean = _SEPARATORS.sub("", number)
        if not clean or not _DIALABLE.fullmatch(clean) or clean == "+":
            return None
        return f"tel:{clean}{sep}{params.strip()}" if sep else f"tel:{clean}"
    if lower.startswith(_SIP_SCHEMES):
        scheme, _, rest = text.partition(":")
        parts = _split_sip(rest)
        if parts is None:
            return None
        address = re.split(r"[;?]", rest, maxsplit=1)[0]
        user, at, hostport = address.rpartition("@")
        if not hostport or any(ch.isspace() for ch in hostport):
            return None
        user = _digits(user) or user  # "+49 30 1234" in a SIP user part: not valid, dialable without spaces
        head = f"{user}@{hostport.lower()}" if at else hostport.lower()
        return f"{scheme.lower()}:{head}{rest[len(address) :]}"
    if ":" in text.partition("@")[0]:
        return None
    if "@" in text:
        return tel_uri("sip:" + text)
    clean = _SEPARATORS.sub("", text)
    if not clean or not _NUMBER.fullmatch(clean) or clean == "+":
        return None
    return f"tel:{clean}"

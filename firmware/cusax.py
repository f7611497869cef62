"""RFC 7081 (CUSAX) rules the phone applies, as pure values and functions of the configuration.

`CusaxPolicy` is what the state machine knows of the profile's `cusax` section (and of the two
accounts): it lives in `Settings.cusax`, so a provisioned profile changes it like any setting.
Built by `policy_from(config)`; the plain default (`CusaxPolicy()`) has every optional behaviour
off, which keeps unit tests of the call and chat machines independent of it.

- Outgoing calls to contacts (C1, C2, C5-C8, S3-S5): `call_candidates` ranks a contact's vCard
  tels for the phone's one SIP service -- an address in our own SIP domain first, then other
  SIP URIs, then numbers (`tel:`) -- and `auto_pick` says whether the phone may call at once.
- Section 5 (federation, cost): `cost_warning` applies the profile's cost-warning rules to a
  target taken from a contact's vCard.
- Section 8 (security parity): `assess` compares the protection of the two legs.
- S6: `impp_header` is the `Call-Info` header outgoing INVITEs carry.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Literal

from firmware.dialplan import DialplanError, to_uri
from firmware.xmpp.model import Tel

if TYPE_CHECKING:
    from firmware.config import Config

ON_THE_PHONE = "On the phone"  # the XMPP status text while off-hook or in a call
MAX_CANDIDATES = 32  # a vCard keeps at most 32 tels (firmware/xmpp/vcard.py)

Parity = Literal["off", "warn", "require"]


# ---------------------------------------------------------------- section 8: the two legs


class Level(enum.IntEnum):
    """How well a leg is protected on the wire; the weaker part of a leg decides its level."""

    NONE = 0  # readable on the network (UDP/TCP, plaintext XMPP, RTP without SRTP)
    PARTIAL = 1  # encrypted but not authenticated (TLS without certificate check, optional SRTP)
    FULL = 2  # TLS with the server certificate verified (and, for SIP, SRTP required)


@dataclass(frozen=True, slots=True)
class Leg:
    """One account's protection: what a person would ask "is this encrypted?" about."""

    label: str  # "Phone" (SIP) or "Chat" (XMPP), the names the status bar uses
    transport: str  # udp | tcp | tls | starttls | direct | plaintext
    verified: bool  # the server certificate is checked
    auth: str  # digest | scram
    media: str = ""  # SIP only: SRTP policy off | optional | mandatory

    @property
    def signalling(self) -> Level:
        if self.transport not in ("tls", "starttls", "direct"):
            return Level.NONE
        return Level.FULL if self.verified else Level.PARTIAL

    @property
    def level(self) -> Level:
        if not self.media:
            return self.signalling
        media = {"mandatory": Level.FULL, "optional": Level.PARTIAL}.get(self.media, Level.NONE)
        # SRTP keys travel in the SDP (SDES): they are only as safe as the signalling.
        return min(self.signalling, media)

    def describe(self) -> str:
        """'TLS verified, SRTP required' / 'plaintext': one line for the status and the log."""
        if self.signalling is Level.NONE:
            text = f"{self.transport.upper()}, not encrypted"
        else:
            text = "TLS verified" if self.verified else "TLS, certificate not checked"
        if self.media:
            text += {"mandatory": ", SRTP required", "optional": ", SRTP optional"}.get(
                self.media, ", audio not encrypted"
            )
        return text


@dataclass(frozen=True, slots=True)
class Security:
    """Both legs compared (RFC 7081 section 8). Empty when the phone has only one account."""

    sip: Leg | None = None
    xmpp: Leg | None = None
    parity: Parity = "off"

    @property
    def weaker(self) -> str:
        """The label of the less protected leg ("" when they are alike or one is missing)."""
        if self.sip is None or self.xmpp is None or self.sip.level == self.xmpp.level:
            return ""
        return self.sip.label if self.sip.level < self.xmpp.level else self.xmpp.label

    @property
    def mismatch(self) -> bool:
        return self.parity != "off" and bool(self.weaker)

    @property
    def refused(self) -> str:
        """With parity "require": the label of the leg the phone does not start ("" none)."""
        return self.weaker if self.parity == "require" else ""

    def line(self) -> str:
        """The idle screen's words for a mismatch ("" none): short enough for 128 pixels."""
        if not self.mismatch:
            return ""
        if self.refused:
            return f"{self.refused} refused: weaker"
        return f"{self.weaker} less protected"

    def summary(self) -> str:
        """The status screen's "Security:" value (both legs configured)."""
        if not self.weaker:
            return "Phone and Chat alike"
        return f"{self.weaker} {'refused' if self.refused else 'less protected'}"

    def notice(self) -> str:
        if not self.mismatch:
            return ""
        other = PHONE if self.weaker == CHAT else CHAT
        if self.refused:
            return f"Security: {self.refused} refused, less protected than {other}"
        return f"Security: {self.weaker} less protected than {other}"

    def reason(self) -> str:
        """Why a refused leg is not started (the log and the refused engine's status)."""
        assert self.sip is not None and self.xmpp is not None
        weak, strong = (self.sip, self.xmpp) if self.refused == self.sip.label else (self.xmpp, self.sip)
        return f"refused: {weak.describe()} vs {strong.label} {strong.describe()}"


PHONE, CHAT = "Phone", "Chat"


def assess(config: Config) -> Security:
    sip, xmpp = config.sip, config.xmpp
    parity = config.cusax.security_parity
    sip_leg = xmpp_leg = None
    if sip is not None:
        verified = sip.transport == "tls" and sip.tls_verify_server
        sip_leg = Leg(PHONE, sip.transport, verified, "digest", sip.srtp)
    if xmpp is not None:
        # slixmpp verifies the server certificate whenever TLS is used (ca_file or the system store).
        xmpp_leg = Leg(CHAT, xmpp.tls, xmpp.tls != "plaintext", "scram")
    return Security(sip_leg, xmpp_leg, parity)


# ---------------------------------------------------------------- the policy


@dataclass(frozen=True, slots=True)
class CostRules:
    """The profile's `cusax.cost_warning`; the plain default warns about nothing."""

    outside_domain: bool = False
    pstn: bool = False
    patterns: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CusaxPolicy:
    own_jid: str = ""  # our bare JID ("" without an XMPP account): Call-Info and federation
    related: bool = True  # S5/C8: the SIP and XMPP accounts are one service
    call_info: bool = False  # S6: Call-Info purpose=impp on outgoing INVITEs
    sip_im_presence: bool = False  # section 2: IM and presence over SIP (off: refused)
    cost: CostRules = CostRules()
    security: Security = Security()

    @property
    def xmpp_domain(self) -> str:
        return self.own_jid.partition("@")[2]


def policy_from(config: Config) -> CusaxPolicy:
    cusax = config.cusax
    rules = cusax.cost_warning
    return CusaxPolicy(
        own_jid=config.xmpp.jid.lower() if config.xmpp is not None else "",
        related=cusax.related,
        call_info=cusax.call_info,
        sip_im_presence=cusax.sip_im_presence,
        cost=CostRules(rules.outside_domain, rules.pstn, tuple(rules.patterns)),
        security=assess(config),
    )


def impp_header(policy: CusaxPolicy) -> tuple[tuple[str, str], ...]:
    """S6: `Call-Info: <xmpp:alice@example.org>;purpose=impp` (RFC 6993), when the profile wants it."""
    if not policy.call_info or not policy.own_jid:
        return ()
    return (("Call-Info", f"<xmpp:{policy.own_jid}>;purpose=impp"),)


# ---------------------------------------------------------------- outgoing calls to contacts


@dataclass(frozen=True, slots=True)
class Candidate:
    """A tel of a contact the phone can dial through its SIP service."""

    tel: Tel
    target: str  # the SIP URI to call
    rank: int  # 0: our SIP domain, 1: another SIP URI, 2: a number


def _host(uri: str) -> str:
    rest = uri.partition(":")[2]
    address = re.split(r"[;?]", rest, maxsplit=1)[0]
    host = address.rpartition("@")[2].lower()
    return host.partition("]")[0] + "]" if host.startswith("[") else host.partition(":")[0]


def tel_target(uri: str, domain: str) -> str:
    """What to dial for a vCard tel: SIP URIs as they are, `tel:` numbers as sip:NUMBER@domain;user=phone
    (RFC 3261 section 19.1.6), visual separators removed."""
    scheme, colon, rest = uri.strip().partition(":")
    if not colon or scheme.lower() != "tel":
        return uri.strip()
    number = "".join(ch for ch in rest.split(";", 1)[0] if ch not in " -.()")
    return f"sip:{number}@{domain};user=phone"


def call_candidates(tels: tuple[Tel, ...], domain: str) -> tuple[Candidate, ...]:
    """The contact's tels the phone can call, best first (C1/C2, S3): the SIP service's own
    domain, then other SIP URIs, then numbers through the SIP service. Duplicates are dropped."""
    found: dict[str, Candidate] = {}
    for tel in tels[:MAX_CANDIDATES]:
        target = tel_target(tel.uri, domain)
        try:
            to_uri(target, domain)
        except DialplanError:
            continue
        sip = tel.uri.partition(":")[0].lower() in ("sip", "sips")
        rank = (0 if _host(tel.uri) == domain.lower() else 1) if sip else 2
        found.setdefault(target, Candidate(tel, target, rank))
    return tuple(sorted(found.values(), key=lambda c: c.rank))


def auto_pick(candidates: tuple[Candidate, ...], policy: CusaxPolicy) -> Candidate | None:
    """The candidate to call at once, or None when the person must choose (C6, C7, C8).

    One candidate: call it (one telephony account, one address). With the accounts' CUSAX
    relationship known (S5, `cusax.related`), the single address in our own SIP domain is the
    contact's AOR at our service (S3): call it. Otherwise the phone asks."""
    if not candidates:
        return None
    if len(candidates) == 1:
        return candidates[0]
    own = [c for c in candidates if c.rank == 0]
    if policy.related and len(own) == 1:
        return own[0]
    return None


# ---------------------------------------------------------------- section 5: cost and federation


@lru_cache(maxsize=64)
def _pattern(text: str) -> re.Pattern[str] | None:
    try:
        return re.compile(text)
    except re.error:
        return None


def _number(uri: str) -> str:
    """The telephone number a tel: or SIP URI carries ("" when it is not a number)."""
    scheme, _, rest = uri.partition(":")
    part = rest if scheme.lower() == "tel" else rest.partition("@")[0] if "@" in rest else ""
    part = re.split(r"[;?]", part, maxsplit=1)[0]
    number = "".join(ch for ch in part if ch not in " -.()/")
    return number if re.fullmatch(r"\+?[0-9*#]+", number) else ""


def cost_warning(policy: CusaxPolicy, domain: str, candidate: Candidate, contact_jid: str) -> str:
    """Why calling this vCard tel deserves a warning ("" none), by the profile's rules.

    `outside_domain`: a SIP URI outside our SIP domain leaves the service. `pstn`: a number
    with + or 00 goes to the telephone network, and so does any number from a *federated*
    contact (its JID domain differs from ours: its numbers belong to another provider's plan).
    `patterns`: regular expressions searched in the number (or the address)."""
    rules = policy.cost
    uri = candidate.tel.uri
    contact_domain = contact_jid.rpartition("@")[2].lower()
    federated = bool(policy.xmpp_domain) and contact_domain != policy.xmpp_domain
    number = _number(uri)
    reasons: list[str] = []
    if rules.outside_domain and candidate.rank == 1:
        reasons.append(f"Outside {domain}: {_host(uri)[:60]}")
    if rules.pstn and number:
        international = number.startswith(("+", "00"))
        if international or (federated and candidate.rank == 2):
            reasons.append("Telephone network: may cost money")
    subject = number or uri
    matched = any((p := _pattern(text)) is not None and p.search(subject) for text in rules.patterns)
    if not reasons and matched:
        reasons.append("May cost money")
    if not reasons:
        return ""
    prefix = f"Contact at {contact_domain[:60]}. " if federated else ""
    return prefix + " ".join(reasons)

"""The phone agent's view of RFC 7081 behaviour (firmware/lab/agent.py): a summary of
`PhoneState.cusax` for e2e assertions, and lab-only operations on the SIP engine.

- `cusax_summary(state)`: DND, the call's party (identity, JID, why), the after-call chat offer,
  the call prompt, the linked conference and its participants, security parity, own presence;
- ops `last_invite` (the raw text of the last INVITE received: Call-Info as sent) and
  `extra_headers` (headers added to every outgoing INVITE: a crafted Call-Info, as a
  malicious or misconfigured caller would send).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from firmware.app import Phone
from firmware.machine_cusax import own_presence, selected_contact
from firmware.state import PhoneState

Op = Callable[[dict[str, Any]], Awaitable[Any]]


def cusax_summary(state: PhoneState) -> dict[str, Any]:
    cx = state.cusax
    security = state.settings.cusax.security
    party = cx.party
    prompt = cx.prompt
    room = state.chat.rooms.get(cx.conference)
    presence = own_presence(state)
    selected = selected_contact(state)
    return {
        "selected": selected[0] if selected is not None else "",
        "dnd": cx.dnd,
        "party": None
        if party is None
        else {"identity": party.identity.value, "jid": party.jid, "source": party.source},
        "offer": cx.offer,
        "prompt": None
        if prompt is None
        else {
            "jid": prompt.jid,
            "choices": [candidate.target for candidate in prompt.choices],
            "cursor": prompt.cursor,
            "warning": prompt.warning,
        },
        "conference": cx.conference,
        "audio": ["You", *room.on_phone] if room is not None else [],
        "chat_only": [n for n in room.occupants if n not in room.on_phone] if room is not None else [],
        "rooms": {jid: r.av_uri for jid, r in state.chat.rooms.items()},
        "tel_index": len(cx.tels),
        "reach_index": len(cx.reach),
        "security": {
            "sip": security.sip.describe() if security.sip is not None else "",
            "xmpp": security.xmpp.describe() if security.xmpp is not None else "",
            "weaker": security.weaker,
            "refused": security.refused,
            "line": security.line(),
        },
        "presence": None if presence is None else [presence[0].value, presence[1]],
    }


def cusax_ops(phone: Phone) -> dict[str, Op]:
    def engine() -> Any:
        from firmware.sip.engine import SipEngine

        sip = phone.engine
        if not isinstance(sip, SipEngine):
            raise RuntimeError("no SIP engine")
        return sip

    async def last_invite(req: dict[str, Any]) -> Any:
        return engine().last_invite

    async def extra_headers(req: dict[str, Any]) -> Any:
        engine().extra_headers = {str(k): str(v) for k, v in dict(req["headers"]).items()}
        return None

    return {"last_invite": last_invite, "extra_headers": extra_headers}

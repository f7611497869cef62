"""RFC 7081 on top of the call and chat machines: pure, like them, merged into firmware/machine.py.

- cusax_common(COMMON): the roster events also keep the tel index (`state.cusax.tels`, vCard tels
  -> JIDs) and the reachability index (`state.cusax.reach`, XEP-0152 addresses -> JIDs, hints
  only) in step, so a caller is matched in O(1) and no vCard is ever fetched at call time (C10).
- cusax_handlers(HANDLERS): wraps the per-phase handlers of keys, the hook switch, incoming calls
  and connected calls:
  * DND toggles do-not-disturb in any phase; while it is on, incoming calls get 486 Busy Here;
  * lifting the handset while a contact is selected (roster cursor, contact screen, a contact's
    conversation) calls that contact over SIP (C1, C2); so does "Call ..." on the contact screen.
    The address is picked by `firmware.cusax.auto_pick` (C6, C8) or chosen by the person on a
    prompt (C7); the profile's cost-warning rules may ask for a confirmation first (section 5);
  * every call's other party is matched to the roster: VERIFIED, CLAIMED_UNVERIFIED, UNKNOWN
    (section 3.5; a Call-Info impp hint or a reachability address is only a cue, C12);
  * a call linked to a group chat (section 4: a Call-Info grouptextchat room, or a joined room
    whose disco#info names the call's address) joins the room and shows it during the call;
  * after a call with a verified contact (or a conference), SELECT opens its chat (C10).
- cusax_timers(): the after-call chat offer's timeout; the chat screens' inactivity timeout also
  closes a prompt.
- cusax_after(old, new, cmds): what follows from the state whatever the event: outgoing INVITEs
  carry Call-Info (S6), the XMPP presence follows the hook switch ("On the phone"), the party
  and conference of a call are set and cleared, and a security mismatch is told once (sec. 8).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from firmware import commands as c
from firmware.chat_select import clamp, contact_tels, roster_cursor
from firmware.cusax import ON_THE_PHONE, Candidate, auto_pick, call_candidates, cost_warning, impp_header
from firmware.cusax_state import CusaxView, Identity, Party, Prompt
from firmware.events import (
    CallConnected,
    Event,
    IncomingCall,
    PresencesChanged,
    RosterChanged,
    RosterLoaded,
    Timer,
    VCardLoaded,
)
from firmware.machine_calls import BUSY_HERE, _to_idle, ignored, place_call
from firmware.machine_chat_nav import open_conversation
from firmware.roster import Roster
from firmware.state import Phase, PhoneState, View
from firmware.tel_index import TelIndex
from firmware.transition import Commands, Handler, Result
from firmware.xmpp.model import ChatState, Room, Show, Tel
from firmware.xmpp.tel import tel_key
from hal.types import AudioPath, HookChanged, Key, KeyPressed

OFFER_S = 30.0  # how long "Select: chat <name>" stays after a call
NO_NUMBER = "No number for {}"
PROMPT_PHASES = (Phase.IDLE, Phase.DIALTONE)  # a prompt exists only before a call


def _with(state: PhoneState, **changes: Any) -> PhoneState:
    return replace(state, cusax=replace(state.cusax, **changes))


# ---------------------------------------------------------------- the indexes (C10, C12)


def _tel_keys(roster: Roster, jid: str) -> frozenset[str]:
    """The match keys of a roster contact's tels (its vCard's when known); none for others."""
    contact = roster.contacts.get(jid)
    if contact is None:
        return frozenset()
    card = roster.cards.get(jid)
    tels = card.tels if card is not None and card.tels else contact.tels
    return frozenset(t.key for t in tels if t.key)


def _reach_keys(roster: Roster, jid: str) -> frozenset[str]:
    if jid not in roster.contacts:
        return frozenset()
    return frozenset(t.key for t in roster.presence(jid).reach if t.key)


def _reindexed(old: PhoneState, new: PhoneState, jids: Iterable[str] | None) -> PhoneState:
    """`new` with both indexes patched for `jids` (None: rebuilt from the whole roster)."""
    before, after = old.chat.roster, new.chat.roster
    if before is after:
        return new
    cx = new.cusax
    if jids is None:
        tels = TelIndex.build((jid, _tel_keys(after, jid)) for jid in after.contacts)
        reach = TelIndex.build((jid, _reach_keys(after, jid)) for jid in after.presences)
    else:
        touched = set(jids)
        tels = cx.tels.patched({j: (_tel_keys(before, j), _tel_keys(after, j)) for j in touched})
        reach = cx.reach.patched({j: (_reach_keys(before, j), _reach_keys(after, j)) for j in touched})
    if tels is cx.tels and reach is cx.reach:
        return new
    return replace(new, cusax=replace(cx, tels=tels, reach=reach))


def _touched(event: Event) -> Iterable[str] | None:
    if isinstance(event, RosterChanged):
        return [*(contact.jid for contact in event.changed), *event.removed]
    if isinstance(event, VCardLoaded):
        return (event.card.jid,)
    if isinstance(event, PresencesChanged):
        return (jid for jid, _ in event.updates)
    return None  # RosterLoaded: the whole roster


def _indexing(inner: Handler) -> Handler:
    def handler(state: PhoneState, event: Event) -> Result:
        new, cmds = inner(state, event)
        return _reindexed(state, new, _touched(event)), cmds

    return handler


def cusax_common(common: dict[type, Handler]) -> dict[type, Handler]:
    """The roster events' handlers, keeping the indexes in step."""
    return {
        etype: _indexing(common[etype])
        for etype in (RosterLoaded, RosterChanged, VCardLoaded, PresencesChanged)
    }


# ---------------------------------------------------------------- who is calling (section 3.5)


def identify(state: PhoneState, call_id: int, remote: str, hint: str | None) -> Party:
    """Match a call's other party to the roster in O(1): the vCard tels decide (VERIFIED); a
    Call-Info impp hint or a contact's reachability address that no vCard confirms is shown as a
    claim (CLAIMED_UNVERIFIED); else UNKNOWN."""
    key = tel_key(remote, state.settings.domain)
    listed = state.cusax.tels.get(key)
    hint = (hint or "").lower()
    if listed:
        return Party(call_id, Identity.VERIFIED, hint if hint in listed else listed[0], "vcard")
    if hint:
        return Party(call_id, Identity.CLAIMED_UNVERIFIED, hint, "call-info")
    reached = state.cusax.reach.get(key)
    if reached:
        return Party(call_id, Identity.CLAIMED_UNVERIFIED, reached[0], "reach")
    return Party(call_id, Identity.UNKNOWN)


def room_for(rooms: Iterable[Room], remote: str, domain: str) -> str:
    """The joined room whose disco#info names this call's address as its audio/video URI."""
    key = tel_key(remote, domain)
    if not key:
        return ""
    for room in rooms:
        if room.av_uri and tel_key(room.av_uri, domain) == key:
            return room.jid
    return ""


def _link_room(state: PhoneState, room: str) -> Result:
    """Section 4: the call is a conference with this group chat: join it (if not yet) and show it."""
    if not room or not state.chat.enabled:
        return state, ()
    cmds: Commands = () if room in state.chat.rooms else (c.JoinRoom(room),)
    return _with(state, conference=room), (*cmds, c.Log("info", f"call linked to group chat {room}"))


# ---------------------------------------------------------------- calling a contact (C1-C8, sec. 5)


def selected_contact(state: PhoneState) -> tuple[str, Tel | None] | None:
    """The contact under the cursor while idle (and the tel, on a contact's "Call" action)."""
    if state.phase is not Phase.IDLE or not state.chat.enabled:
        return None
    nav, roster = state.nav, state.chat.roster
    if nav.view is View.ROSTER and len(roster):
        return roster.at(roster_cursor(state)), None
    if nav.view is View.CONTACT and nav.contact in roster:
        tels = contact_tels(state, nav.contact)
        action = clamp(nav.action, 1 + len(tels))  # as the screen and its keys do: "Message", tels
        return nav.contact, tels[action - 1] if action > 0 else None
    if nav.view is View.CONVERSATION and nav.peer in roster:
        return nav.peer, None
    return None


def _quiet_off_hook(state: PhoneState) -> Result:
    """Handset lifted for a prompt: the dial-tone phase without the tone (the display asks)."""
    new = replace(state, phase=Phase.DIALTONE, route=AudioPath.HANDSET, off_hook=True, digits="", notice="")
    return new, (c.SetRoute(AudioPath.HANDSET), c.StartTimer(Timer.DIALTONE, state.settings.dialtone_s))


def _dial(state: PhoneState, jid: str, candidate: Candidate) -> Result:
    new, cmds = place_call(_with(state, prompt=None), candidate.target)
    if new.call is not None:
        new = _with(new, party=Party(new.call.call_id, Identity.VERIFIED, jid, "contact"), offer="")
    return new, cmds


def _prompted(state: PhoneState, prompt: Prompt) -> Result:
    if state.phase is Phase.IDLE and state.off_hook:  # lifted: keep the handset path, no tone
        quiet, cmds = _quiet_off_hook(state)
        return _with(quiet, prompt=prompt), cmds
    return _with(state, prompt=prompt), ()


def _confirm_or_dial(state: PhoneState, jid: str, prompt: Prompt) -> Result:
    candidate = prompt.chosen
    warning = cost_warning(state.settings.cusax, state.settings.domain, candidate, jid)
    if warning:
        return _prompted(state, replace(prompt, warning=warning))
    return _dial(state, jid, candidate)


def call_contact(state: PhoneState, jid: str, tel: Tel | None) -> Result:
    """Call a roster contact over SIP: the chosen tel, or the best one, or ask (C6, C7)."""
    tels = (tel,) if tel is not None else contact_tels(state, jid)
    candidates = call_candidates(tels, state.settings.domain)
    if not candidates:
        notice = NO_NUMBER.format(state.chat.label(jid))
        if state.off_hook:
            new, cmds = _quiet_off_hook(state)
            return replace(new, notice=notice), (*cmds, c.PlayTone(c.Tone.DIAL), _notice_timer(state))
        return replace(state, notice=notice), (_notice_timer(state),)
    pick = auto_pick(candidates, state.settings.cusax)
    if pick is None:
        return _prompted(state, Prompt(jid, candidates))
    return _confirm_or_dial(state, jid, Prompt(jid, (pick,)))


def _notice_timer(state: PhoneState) -> c.Command:
    return c.StartTimer(Timer.NOTICE, state.settings.notice_s)


def _cancel_prompt(state: PhoneState) -> Result:
    new = _with(state, prompt=None)
    if state.phase is Phase.DIALTONE:
        return new, (c.PlayTone(c.Tone.DIAL),)  # handset up: the ordinary dial tone now
    return new, ()


def _prompt_key(state: PhoneState, event: KeyPressed, inner: Handler) -> Result:
    prompt = state.cusax.prompt
    assert prompt is not None
    key = event.key
    if key in (Key.SELECT, Key.SPEAKER):
        if prompt.confirming:
            return _dial(state, prompt.jid, prompt.chosen)
        return _confirm_or_dial(state, prompt.jid, prompt)
    if key is Key.BACK:
        if prompt.confirming and len(prompt.choices) > 1:
            return _with(state, prompt=replace(prompt, warning="")), ()
        return _cancel_prompt(state)
    if key in (Key.UP, Key.DOWN) and not prompt.confirming:
        count = len(prompt.choices)
        cursor = (prompt.cursor + (1 if key is Key.DOWN else -1)) % count
        return _with(state, prompt=replace(prompt, cursor=cursor)), ()
    if key in (Key.VOL_UP, Key.VOL_DOWN):
        return inner(state, event)
    if key.dtmf is not None and key not in (Key.HASH,):  # digits: dial by hand instead
        new, cmds = _cancel_prompt(state)
        more = inner(new, event)
        return more[0], (*cmds, *more[1])
    return ignored(state, f"key {key.value} on the call prompt")


# ---------------------------------------------------------------- keys, hook, calls (wrappers)


def _offer_shown(state: PhoneState) -> bool:
    if not state.cusax.offer:
        return False
    if state.phase is Phase.ENDED:
        return not state.off_hook
    return state.phase is Phase.IDLE and state.nav.view is View.HOME


def _open_offer(state: PhoneState) -> Result:
    peer = state.cusax.offer
    cmds: Commands = ()
    if state.phase is Phase.ENDED:
        state, cmds = _to_idle(state)
    new, more = open_conversation(_with(state, offer=""), peer, View.HOME)
    return new, (*cmds, c.CancelTimer(Timer.CALL_CHAT), *more)


def _toggle_dnd(state: PhoneState) -> Result:
    dnd = not state.cusax.dnd
    return _with(state, dnd=dnd), (c.Log("info", f"do not disturb {'on' if dnd else 'off'}"),)


def _keys(inner: Handler) -> Handler:
    def handler(state: PhoneState, event: Event) -> Result:
        assert isinstance(event, KeyPressed)
        key = event.key
        if key is Key.DND:
            return _toggle_dnd(state)
        if state.cusax.prompt is not None and state.phase in PROMPT_PHASES:
            return _prompt_key(state, event, inner)
        if key is Key.SELECT and _offer_shown(state):
            return _open_offer(state)
        if key is Key.SELECT and state.phase is Phase.IDLE and state.nav.view is View.CONTACT:
            selected = selected_contact(state)
            if selected is not None and selected[1] is not None:  # "Call ..." (C5)
                return call_contact(state, *selected)
        return inner(state, event)

    return handler


def _hook(inner: Handler) -> Handler:
    def handler(state: PhoneState, event: Event) -> Result:
        assert isinstance(event, HookChanged)
        if state.phase is Phase.IDLE and event.off_hook:
            lifted = replace(state, off_hook=True)
            if state.cusax.prompt is not None:
                quiet, cmds = _quiet_off_hook(lifted)
                return quiet, cmds
            selected = selected_contact(state)
            if selected is not None:
                return call_contact(lifted, *selected)
        if state.cusax.prompt is not None and not event.off_hook:
            state = _with(state, prompt=None)  # hung up: the question is gone
        return inner(state, event)

    return handler


def _incoming(inner: Handler) -> Handler:
    def handler(state: PhoneState, event: Event) -> Result:
        assert isinstance(event, IncomingCall)
        if state.cusax.dnd:
            return state, (
                c.Hangup(event.call_id, BUSY_HERE),
                c.Log("info", f"do not disturb: {event.remote_uri[:80]} rejected (486)"),
            )
        new, cmds = inner(state, event)
        if new.call is None or new.call.call_id != event.call_id:
            return new, cmds
        party = identify(new, event.call_id, event.remote_uri, event.call_info_jid)
        new = _with(new, party=party, offer="", prompt=None)
        linked, more = _link_room(new, event.group_chat)
        return linked, (*cmds, *more)

    return handler


def _connected(inner: Handler) -> Handler:
    """A 200 OK may name the conference's group chat (Call-Info purpose=grouptextchat)."""

    def handler(state: PhoneState, event: Event) -> Result:
        assert isinstance(event, CallConnected)
        new, cmds = inner(state, event)
        if event.group_chat and new.call is not None and new.call.call_id == event.call_id:
            linked, more = _link_room(new, event.group_chat)
            return linked, (*cmds, *more)
        return new, cmds

    return handler


_WRAPPERS: dict[type, Callable[[Handler], Handler]] = {
    KeyPressed: _keys,
    HookChanged: _hook,
    IncomingCall: _incoming,
    CallConnected: _connected,
}


def cusax_handlers(handlers: dict[tuple[Phase, type], Handler]) -> dict[tuple[Phase, type], Handler]:
    """The given per-phase handlers of keys, hook, incoming and connected calls, wrapped."""
    return {
        (phase, etype): wrap(handlers[(phase, etype)])
        for phase in Phase
        for etype, wrap in _WRAPPERS.items()
        if (phase, etype) in handlers
    }


# ---------------------------------------------------------------- timers


def _offer_timeout(state: PhoneState, event: Event) -> Result:
    return (_with(state, offer=""), ()) if state.cusax.offer else (state, ())


def cusax_timers(timers: dict[tuple[Phase, Timer], Handler]) -> dict[tuple[Phase, Timer], Handler]:
    table: dict[tuple[Phase, Timer], Handler] = {(phase, Timer.CALL_CHAT): _offer_timeout for phase in Phase}
    chat_idle = timers.get((Phase.IDLE, Timer.CHAT_IDLE))
    if chat_idle is not None:

        def idle(state: PhoneState, event: Event) -> Result:
            return chat_idle(_with(state, prompt=None) if state.cusax.prompt else state, event)

        table[(Phase.IDLE, Timer.CHAT_IDLE)] = idle
    return table


# ---------------------------------------------------------------- after every event


def own_presence(state: PhoneState) -> tuple[Show, str] | None:
    """The XMPP presence the phone shows: the hook switch as presence ("On the phone", show away;
    dnd while do-not-disturb is on). None while the chat is not online."""
    if state.chat.state is not ChatState.ONLINE:
        return None
    dnd = state.cusax.dnd
    if state.active or state.phase in (Phase.CALLING, Phase.IN_CALL):
        return (Show.DND if dnd else Show.AWAY, ON_THE_PHONE)
    return (Show.DND, "") if dnd else (Show.AVAILABLE, "")


def _call_bookkeeping(new: PhoneState, cx: CusaxView) -> tuple[CusaxView, list[c.Command]]:
    cmds: list[c.Command] = []
    call = new.call
    if call is None:
        if cx.party is not None or cx.conference:
            party = cx.party
            verified = party.jid if party is not None and party.identity is Identity.VERIFIED else ""
            offer = cx.conference or verified
            if offer and new.chat.enabled:
                cmds.append(c.StartTimer(Timer.CALL_CHAT, OFFER_S))
            else:
                offer = ""
            cx = replace(cx, party=None, conference="", offer=offer)
        return cx, cmds
    if cx.party is None or cx.party.call_id != call.call_id:
        cx = replace(cx, party=identify(new, call.call_id, call.remote, None), offer="", conference="")
    if not cx.conference and new.chat.rooms:
        room = room_for(new.chat.rooms.values(), call.remote, new.settings.domain)
        if room:
            cx = replace(cx, conference=room)
    return cx, cmds


def cusax_after(old: PhoneState, new: PhoneState, cmds: Commands) -> Result:
    policy = new.settings.cusax
    cx, extra = _call_bookkeeping(new, new.cusax)
    if cx.prompt is not None and new.phase not in PROMPT_PHASES:
        cx = replace(cx, prompt=None)
    out = [*cmds, *extra]
    headers = impp_header(policy)
    if headers and any(isinstance(cmd, c.MakeCall) for cmd in out):
        out = [_with_headers(cmd, headers) for cmd in out]
    if cx is not new.cusax:
        new = replace(new, cusax=cx)
    before, after = own_presence(old), own_presence(new)
    presence_sent = any(isinstance(cmd, c.SetPresence) for cmd in out)
    if after is not None and (presence_sent or before != after):
        out = [cmd for cmd in out if not isinstance(cmd, c.SetPresence)]
        out.append(c.SetPresence(*after))
    security = policy.security
    if security.mismatch and not cx.warned and not new.notice and _started(old, new):
        new = replace(new, notice=security.notice(), cusax=replace(new.cusax, warned=True))
        out += [c.StartTimer(Timer.NOTICE, new.settings.notice_s), c.Log("warning", security.notice())]
    return new, tuple(out)


def _with_headers(cmd: c.Command, headers: tuple[tuple[str, str], ...]) -> c.Command:
    return replace(cmd, headers=(*cmd.headers, *headers)) if isinstance(cmd, c.MakeCall) else cmd


def _started(old: PhoneState, new: PhoneState) -> bool:
    """An account changed state (the phone is up): the moment to tell about a mismatch."""
    return old.registration != new.registration or old.chat.state is not new.chat.state


__all__ = [
    "call_contact",
    "cusax_after",
    "cusax_common",
    "cusax_handlers",
    "cusax_timers",
    "identify",
    "own_presence",
    "room_for",
    "selected_contact",
]

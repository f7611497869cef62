"""The call side of the state machine: dial tone, dialling, outgoing and incoming calls, in call,
ended. Pure functions of (state, event); `CALL_HANDLERS` is their table by (phase, event type),
merged into the one table in firmware/machine.py.
"""

from __future__ import annotations

from dataclasses import replace

from firmware import commands as c
from firmware.dialplan import DialplanError, to_uri
from firmware.events import (
    CallConnected,
    CallEnded,
    CallFailedToStart,
    CallMedia,
    CallRinging,
    Event,
    IncomingCall,
    Timer,
)
from firmware.machine_chat_nav import chat_key
from firmware.state import CallView, Direction, Phase, PhoneState, View
from firmware.transition import Commands, Handler, Result
from hal.types import AudioPath, HookChanged, Key, KeyPressed

BUSY_HERE = 486
DECLINE = 603
DIAL_KEYS = frozenset(
    {Key.D0, Key.D1, Key.D2, Key.D3, Key.D4, Key.D5, Key.D6, Key.D7, Key.D8, Key.D9, Key.STAR}
)
MAX_DIAL_LENGTH = 32

# SIP final response -> what a person reads on the display (RFC 3261 section 21).
END_REASONS: dict[int, str] = {
    200: "Call ended",
    404: "Not found",
    604: "Not found",
    480: "Unavailable",
    486: "Busy",
    600: "Busy",
    603: "Declined",
    408: "No answer",
    487: "Cancelled",
    401: "Not allowed",
    403: "Not allowed",
    407: "Not allowed",
    484: "Incomplete number",
    488: "Not acceptable",
}
BUSY_CODES = frozenset({486, 600})


def end_reason(code: int, reason: str) -> str:
    if code in END_REASONS:
        return END_REASONS[code]
    if 500 <= code < 600:
        return f"Server error {code}"
    if code == 0:
        return f"Call failed: {reason}" if reason else "Call failed"
    return f"Failed: {code} {reason}".strip()


# ---------------------------------------------------------------- helpers shared by several phases


def key_of(event: Event) -> Key:
    assert isinstance(event, KeyPressed)
    return event.key


def ignored(state: PhoneState, what: str) -> Result:
    return state, (c.Log("debug", f"{what} ignored in {state.phase.value}"),)


def _to_idle(state: PhoneState, *extra: c.Command) -> Result:
    new = replace(state, phase=Phase.IDLE, digits="", call=None, ended_reason="", route=AudioPath.HANDSET)
    cmds: list[c.Command] = [c.StopTone(), c.CancelTimer(Timer.INTERDIGIT), c.CancelTimer(Timer.DIALTONE)]
    cmds += [c.CancelTimer(Timer.ENDED), *extra]
    if state.route is not AudioPath.HANDSET:
        cmds.append(c.SetRoute(AudioPath.HANDSET))
    return new, tuple(cmds)


def _dialtone(state: PhoneState, route: AudioPath, off_hook: bool) -> Result:
    new = replace(state, phase=Phase.DIALTONE, route=route, off_hook=off_hook, digits="", notice="")
    return new, (
        c.SetRoute(route),
        c.PlayTone(c.Tone.DIAL),
        c.StartTimer(Timer.DIALTONE, state.settings.dialtone_s),
    )


def place_call(state: PhoneState, target: str) -> Result:
    """Dial `target` now: on the audio path in use (handset, or hands-free chosen while it is lifted),
    else hands-free."""
    route = state.route if state.active else AudioPath.SPEAKER
    timers = (c.CancelTimer(Timer.INTERDIGIT), c.CancelTimer(Timer.DIALTONE))
    try:
        uri = to_uri(target, state.settings.domain)
    except DialplanError as err:
        # No call: the route stays as it is (no SetRoute was issued for a call that never started).
        return _ended(replace(state, digits=target), str(err), busy=False, extra=timers)
    call = CallView(call_id=state.next_call_id, direction=Direction.OUTGOING, remote=uri)
    new = replace(
        state,
        phase=Phase.CALLING,
        call=call,
        route=route,
        digits="",
        last_dialed=uri,
        next_call_id=state.next_call_id + 1,
        notice="",
    )
    return new, (*timers, c.StopTone(), c.SetRoute(route), c.MakeCall(call.call_id, uri))


def _ended(state: PhoneState, reason: str, *, busy: bool, extra: Commands = ()) -> Result:
    """A call (or an attempt) is over: show why; tone only while someone holds the handset."""
    new = replace(state, phase=Phase.ENDED, call=None, ended_reason=reason)
    tone: c.Command = c.PlayTone(c.Tone.BUSY if busy else c.Tone.ERROR) if state.active else c.StopTone()
    return new, (*extra, c.StopRinger(), tone, c.StartTimer(Timer.ENDED, state.settings.ended_s))


def _reject_busy(state: PhoneState, event: Event) -> Result:
    """A second incoming call while the phone is in use gets 486 Busy Here."""
    assert isinstance(event, IncomingCall)
    return state, (c.Hangup(event.call_id, BUSY_HERE), c.Log("info", f"busy: rejected {event.remote_uri}"))


def _is_current(state: PhoneState, call_id: int) -> bool:
    return state.call is not None and state.call.call_id == call_id


def _volume(state: PhoneState, key: Key) -> Result:
    delta = state.settings.volume_step if key is Key.VOL_UP else -state.settings.volume_step
    level = max(0, min(100, state.volume + delta))
    if state.route is AudioPath.SPEAKER:
        new = replace(state, speaker_volume=level)
    else:
        new = replace(state, handset_volume=level)
    return new, (c.SetVolume(state.route, level),)


def stale_call_event(state: PhoneState, event: Event) -> Result:
    """Call events for a call the state no longer tracks: stale, log only."""
    return ignored(state, f"{type(event).__name__} for a call not in progress")


# ---------------------------------------------------------------- IDLE


def _idle_hook(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, HookChanged)
    if not event.off_hook:
        return replace(state, off_hook=False), ()
    return _dialtone(state, AudioPath.HANDSET, off_hook=True)


def _idle_key(state: PhoneState, event: Event) -> Result:
    key = key_of(event)
    if state.nav.view is not View.HOME or state.chat.enabled:
        chat = chat_key(state, key, place_call)  # the chat screens (None: not a chat key here)
        if chat is not None:
            return chat
    if key is Key.SPEAKER:
        return _dialtone(state, AudioPath.SPEAKER, off_hook=False)
    if key in DIAL_KEYS:
        # Pre-dialling on-hook: digits collect without a timeout; lifting or '#' places the call.
        return replace(state, phase=Phase.DIALING, digits=key.value, notice=""), ()
    if key is Key.REDIAL:
        return _redial(state)
    if key in (Key.VOL_UP, Key.VOL_DOWN):
        return _volume(state, key)
    return ignored(state, f"key {key.value}")


def _redial(state: PhoneState) -> Result:
    if not state.last_dialed:
        return replace(state, notice="No number to redial"), (
            c.StartTimer(Timer.NOTICE, state.settings.notice_s),
        )
    return place_call(state, state.last_dialed)


def _incoming(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, IncomingCall)
    call = CallView(event.call_id, Direction.INCOMING, event.remote_uri, display_name=event.display_name)
    new = replace(state, phase=Phase.RINGING, call=call, notice="", ended_reason="")
    return new, (c.CancelTimer(Timer.ENDED), c.StopTone(), c.StartRinger())


# ---------------------------------------------------------------- DIALTONE and DIALING


def _hang_up_while_dialing(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, HookChanged)
    if event.off_hook:
        if not state.off_hook and state.phase is Phase.DIALING and state.route is AudioPath.HANDSET:
            # Pre-dialled on-hook, now lifted: place the call on the handset.
            return place_call(replace(state, off_hook=True), state.digits)
        return replace(state, off_hook=True, route=AudioPath.HANDSET), (c.SetRoute(AudioPath.HANDSET),)
    if state.route is AudioPath.SPEAKER:
        return replace(state, off_hook=False), ()
    return _to_idle(replace(state, off_hook=False))


def _dialtone_key(state: PhoneState, event: Event) -> Result:
    key = key_of(event)
    if key in DIAL_KEYS:
        new = replace(state, phase=Phase.DIALING, digits=key.value)
        return new, (
            c.StopTone(),
            c.CancelTimer(Timer.DIALTONE),
            c.StartTimer(Timer.INTERDIGIT, state.settings.interdigit_s),
        )
    if key is Key.REDIAL:
        return _redial(state)
    if key is Key.SPEAKER:
        return _toggle_speaker_before_call(state)
    if key in (Key.VOL_UP, Key.VOL_DOWN):
        return _volume(state, key)
    return ignored(state, f"key {key.value}")


def _toggle_speaker_before_call(state: PhoneState) -> Result:
    if state.route is AudioPath.SPEAKER:
        if state.off_hook:
            return replace(state, route=AudioPath.HANDSET), (c.SetRoute(AudioPath.HANDSET),)
        return _to_idle(state)
    return replace(state, route=AudioPath.SPEAKER), (c.SetRoute(AudioPath.SPEAKER),)


def _dialing_key(state: PhoneState, event: Event) -> Result:
    key = key_of(event)
    timer: Commands = (c.StartTimer(Timer.INTERDIGIT, state.settings.interdigit_s),) if state.active else ()
    if key in DIAL_KEYS:
        if len(state.digits) >= MAX_DIAL_LENGTH:
            return ignored(state, "digit beyond the maximum length")
        return replace(state, digits=state.digits + key.value), timer
    if key in (Key.HASH, Key.SELECT):
        return place_call(state, state.digits)
    if key is Key.BACK:
        digits = state.digits[:-1]
        if digits:
            return replace(state, digits=digits), timer
        if state.active:
            return _dialtone(state, state.route, state.off_hook)
        return _to_idle(state)
    if key is Key.SPEAKER:
        if not state.active:
            # Pre-dialled on-hook: SPEAKER places the call hands-free, as lifting the handset would.
            return place_call(state, state.digits)
        return _toggle_speaker_before_call(state)
    if key in (Key.VOL_UP, Key.VOL_DOWN):
        return _volume(state, key)
    return ignored(state, f"key {key.value}")


def _interdigit_timeout(state: PhoneState, event: Event) -> Result:
    if not state.active:
        return ignored(state, "inter-digit timeout while pre-dialling on-hook")
    return place_call(state, state.digits)


def _dialtone_timeout(state: PhoneState, event: Event) -> Result:
    return _ended(state, "No number dialled", busy=False)


# ---------------------------------------------------------------- CALLING (outgoing, not answered)


def _calling_ringing(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, CallRinging)
    if state.call is None or not _is_current(state, event.call_id):
        return stale_call_event(state, event)
    call = replace(state.call, ringing=True, early_media=event.early_media)
    # With early media the far end plays its own ringback (or announcement): stop ours.
    tone: c.Command = c.StopTone() if event.early_media else c.PlayTone(c.Tone.RINGBACK)
    return replace(state, call=call), (tone,)


def _connected(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, CallConnected)
    if state.call is None or not _is_current(state, event.call_id):
        return stale_call_event(state, event)
    if state.phase is Phase.IN_CALL:
        return state, ()
    call = replace(state.call, connected_at=state.now)
    return replace(state, phase=Phase.IN_CALL, call=call), (c.StopTone(),)


def _media(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, CallMedia)
    if state.call is None or not _is_current(state, event.call_id):
        return stale_call_event(state, event)
    call = replace(
        state.call, media_active=event.active, local_hold=event.local_hold, remote_hold=event.remote_hold
    )
    return replace(state, call=call), ()


def _call_ended(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, CallEnded)
    if not _is_current(state, event.call_id):
        return stale_call_event(state, event)
    if state.phase is Phase.RINGING:
        return _ended(state, "Missed call", busy=False)
    # The far end hanging up an established call gives the disconnect (busy) tone, as on a PSTN
    # line; a call that never connected gives busy for 486/600 and reorder for everything else.
    busy = event.code in BUSY_CODES or state.phase is Phase.IN_CALL
    return _ended(state, end_reason(event.code, event.reason), busy=busy)


def _call_failed_to_start(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, CallFailedToStart)
    if state.phase is not Phase.CALLING or not _is_current(state, event.call_id):
        return ignored(state, "CallFailedToStart for a call not in progress")
    return _ended(state, end_reason(0, event.reason), busy=False)


def _hang_up_call(state: PhoneState, event: Event) -> Result:
    """Hook switch while a call exists (CALLING or IN_CALL)."""
    assert isinstance(event, HookChanged) and state.call is not None
    if event.off_hook:
        return replace(state, off_hook=True, route=AudioPath.HANDSET), (c.SetRoute(AudioPath.HANDSET),)
    if state.route is AudioPath.SPEAKER:
        return replace(state, off_hook=False), ()
    return _to_idle(replace(state, off_hook=False), c.Hangup(state.call.call_id))


def _calling_key(state: PhoneState, event: Event) -> Result:
    key = key_of(event)
    assert state.call is not None
    if key is Key.BACK and state.off_hook:
        # Cancelled with the handset lifted: back to dial tone, not an idle screen with the handset up.
        new, cmds = _dialtone(replace(state, call=None), state.route, off_hook=True)
        return new, (c.Hangup(state.call.call_id), *cmds)
    if key is Key.BACK or (key is Key.SPEAKER and not state.off_hook):
        return _to_idle(state, c.Hangup(state.call.call_id))
    if key is Key.SPEAKER:
        return _toggle_route(state)
    if key in (Key.VOL_UP, Key.VOL_DOWN):
        return _volume(state, key)
    return ignored(state, f"key {key.value}")


def _toggle_route(state: PhoneState) -> Result:
    route = AudioPath.HANDSET if state.route is AudioPath.SPEAKER else AudioPath.SPEAKER
    return replace(state, route=route), (c.SetRoute(route),)


# ---------------------------------------------------------------- RINGING (incoming)


def _ringing_hook(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, HookChanged)
    if not event.off_hook:
        return replace(state, off_hook=False), ()
    return _answer(replace(state, off_hook=True), AudioPath.HANDSET)


def _answer(state: PhoneState, route: AudioPath) -> Result:
    assert state.call is not None
    call = replace(state.call, connected_at=state.now)
    new = replace(state, phase=Phase.IN_CALL, call=call, route=route)
    return new, (c.StopRinger(), c.SetRoute(route), c.Answer(call.call_id))


def _ringing_key(state: PhoneState, event: Event) -> Result:
    key = key_of(event)
    assert state.call is not None
    if key in (Key.SPEAKER, Key.SELECT):
        return _answer(state, AudioPath.SPEAKER)
    if key is Key.BACK:
        return _to_idle(state, c.StopRinger(), c.Hangup(state.call.call_id, DECLINE))
    if key in (Key.VOL_UP, Key.VOL_DOWN):
        return _volume(state, key)
    return ignored(state, f"key {key.value}")


# ---------------------------------------------------------------- IN_CALL


def _in_call_key(state: PhoneState, event: Event) -> Result:
    key = key_of(event)
    assert state.call is not None
    if key.dtmf is not None:
        return state, (c.SendDtmf(state.call.call_id, key.dtmf),)
    if key is Key.HOLD:
        held = not state.call.local_hold
        cmd: c.Command = c.Hold(state.call.call_id) if held else c.Resume(state.call.call_id)
        return replace(state, call=replace(state.call, local_hold=held)), (cmd,)
    if key in (Key.VOL_UP, Key.VOL_DOWN):
        return _volume(state, key)
    if key is Key.SPEAKER:
        if not state.off_hook and state.route is AudioPath.SPEAKER:
            return _to_idle(state, c.Hangup(state.call.call_id))
        return _toggle_route(state)
    return ignored(state, f"key {key.value}")


# ---------------------------------------------------------------- ENDED


def _ended_hook(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, HookChanged)
    if event.off_hook:
        return _dialtone(replace(state, ended_reason=""), AudioPath.HANDSET, off_hook=True)
    return _to_idle(replace(state, off_hook=False))


def _ended_key(state: PhoneState, event: Event) -> Result:
    key = key_of(event)
    if key is Key.REDIAL:
        return _redial(state)
    if key is Key.SPEAKER and state.route is AudioPath.SPEAKER and not state.off_hook:
        return _to_idle(state)
    if key in DIAL_KEYS and not state.active:
        return replace(state, phase=Phase.DIALING, digits=key.value, ended_reason=""), (
            c.CancelTimer(Timer.ENDED),
        )
    if key in (Key.VOL_UP, Key.VOL_DOWN):
        return _volume(state, key)
    return ignored(state, f"key {key.value}")


def _ended_timeout(state: PhoneState, event: Event) -> Result:
    if state.off_hook:
        return state, ()  # the handset is still up: keep the reason and the tone until it goes down
    return _to_idle(state)


def _ended_incoming(state: PhoneState, event: Event) -> Result:
    if state.off_hook:
        return _reject_busy(state, event)
    # The ENDED screen is dismissed: close a hands-free path (a missed call must not sound an error
    # tone on the speaker) and forget a failed dial string.
    new, cmds = _incoming(replace(state, route=AudioPath.HANDSET, digits=""), event)
    if state.route is not AudioPath.HANDSET:
        cmds = (c.SetRoute(AudioPath.HANDSET), *cmds)
    return new, cmds


# ---------------------------------------------------------------- the table

_CALL_EVENTS: dict[type, Handler] = {
    CallRinging: stale_call_event,
    CallConnected: stale_call_event,
    CallMedia: stale_call_event,
    CallEnded: stale_call_event,
    CallFailedToStart: _call_failed_to_start,
}


def _phase(phase: Phase, table: dict[type, Handler]) -> dict[tuple[Phase, type], Handler]:
    merged = {**_CALL_EVENTS, **table}
    return {(phase, etype): handler for etype, handler in merged.items()}


CALL_HANDLERS: dict[tuple[Phase, type], Handler] = {
    **_phase(Phase.IDLE, {HookChanged: _idle_hook, KeyPressed: _idle_key, IncomingCall: _incoming}),
    **_phase(
        Phase.DIALTONE,
        {HookChanged: _hang_up_while_dialing, KeyPressed: _dialtone_key, IncomingCall: _reject_busy},
    ),
    **_phase(
        Phase.DIALING,
        {HookChanged: _hang_up_while_dialing, KeyPressed: _dialing_key, IncomingCall: _reject_busy},
    ),
    **_phase(
        Phase.CALLING,
        {
            HookChanged: _hang_up_call,
            KeyPressed: _calling_key,
            IncomingCall: _reject_busy,
            CallRinging: _calling_ringing,
            CallConnected: _connected,
            CallMedia: _media,
            CallEnded: _call_ended,
        },
    ),
    **_phase(
        Phase.RINGING,
        {
            HookChanged: _ringing_hook,
            KeyPressed: _ringing_key,
            IncomingCall: _reject_busy,
            CallEnded: _call_ended,
            CallMedia: _media,
        },
    ),
    **_phase(
        Phase.IN_CALL,
        {
            HookChanged: _hang_up_call,
            KeyPressed: _in_call_key,
            IncomingCall: _reject_busy,
            CallConnected: _connected,
            CallMedia: _media,
            CallEnded: _call_ended,
        },
    ),
    **_phase(Phase.ENDED, {HookChanged: _ended_hook, KeyPressed: _ended_key, IncomingCall: _ended_incoming}),
}

CALL_TIMERS: dict[tuple[Phase, Timer], Handler] = {
    (Phase.DIALING, Timer.INTERDIGIT): _interdigit_timeout,
    (Phase.DIALTONE, Timer.DIALTONE): _dialtone_timeout,
    (Phase.ENDED, Timer.ENDED): _ended_timeout,
}

"""The phone's behaviour as a pure function: `step(state, event) -> (state, commands)`.

No I/O happens here: the dispatcher carries out the returned commands. Every handler is listed in
one table (`HANDLERS`, keyed by phase and event type); events that mean the same in every phase
(clock, registration, notices, and the XMPP events of firmware/machine_chat.py) are handled by
`COMMON` first. While the phone is idle on-hook, keys go to the chat screens first (`chat_key`);
any call takes the display back from them (`leave_idle`). The status screen and the provisioning
sign-in dialog (firmware/machine_status.py) take idle keys before both; the dialog is on screen
whenever it is open and the phone is idle (`sign_in_shown`).
"""

from __future__ import annotations

from dataclasses import replace

from firmware import commands as c
from firmware.events import (
    DialRequest,
    Event,
    Notice,
    RegistrationChanged,
    Tick,
    Timer,
    TimerFired,
)
from firmware.machine_calls import (
    CALL_HANDLERS,
    CALL_TIMERS,
    ignored,
    place_call,
)
from firmware.machine_chat import CHAT_COMMON
from firmware.machine_chat_nav import CHAT_TIMERS, leave_idle
from firmware.machine_cusax import cusax_after, cusax_common, cusax_handlers, cusax_timers
from firmware.machine_status import STATUS_COMMON, STATUS_TIMERS, sign_in_shown, with_status_keys
from firmware.state import Phase, PhoneState, Registration
from firmware.transition import Handler, Result
from hal.types import KeyPressed


def step(state: PhoneState, event: Event) -> Result:
    """The only entry point: one event in, the next state and the commands to carry out."""
    common = COMMON.get(type(event))
    if common is not None:
        new, cmds = common(state, event)
    else:
        handler = HANDLERS.get((state.phase, type(event)))
        if handler is None:
            return state, (c.Log("debug", f"{type(event).__name__} ignored in {state.phase.value}"),)
        new, cmds = handler(state, event)
    if state.phase is Phase.IDLE and new.phase is not Phase.IDLE:
        new = leave_idle(new)  # a call takes the display over from the chat screens
    new = sign_in_shown(new)  # idle again: a pending sign-in dialog comes back
    return cusax_after(state, new, cmds)  # RFC 7081: Call-Info, hook-switch presence (machine_cusax)


# ---------------------------------------------------------------- phase-independent events


def _on_tick(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, Tick)
    return replace(state, now=event.now), ()


def _on_registration(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, RegistrationChanged)
    reg = Registration(event.state, event.code, event.reason)
    return replace(state, registration=reg), (
        c.Log("info", f"registration {event.state.value} {event.code}"),
    )


def _on_notice(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, Notice)
    return replace(state, notice=event.text), (c.StartTimer(Timer.NOTICE, state.settings.notice_s),)


def _on_timer(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, TimerFired)
    if event.timer is Timer.NOTICE:
        return replace(state, notice=""), ()
    handler = TIMER_HANDLERS.get((state.phase, event.timer))
    if handler is None:
        return ignored(state, f"stale timer {event.timer.value}")
    return handler(state, event)


def _on_dial_request(state: PhoneState, event: Event) -> Result:
    assert isinstance(event, DialRequest)
    if state.phase in (Phase.IDLE, Phase.DIALTONE, Phase.DIALING, Phase.ENDED):
        new, cmds = place_call(state, event.target)
        return new, (c.CancelTimer(Timer.ENDED), *cmds)
    return replace(state, notice="Busy: hang up first"), (
        c.StartTimer(Timer.NOTICE, state.settings.notice_s),
    )


COMMON: dict[type, Handler] = {
    Tick: _on_tick,
    RegistrationChanged: _on_registration,
    Notice: _on_notice,
    TimerFired: _on_timer,
    DialRequest: _on_dial_request,
    **CHAT_COMMON,  # XMPP events: roster, presence, messages, in every phase (firmware/machine_chat.py)
    **STATUS_COMMON,  # provisioning status and sign-in requests (firmware/machine_status.py)
}


# ---------------------------------------------------------------- the table

# One table for the whole phone: the call phases (firmware/machine_calls.py); the chat screens
# take keys through chat_key() while idle, and their data events are in COMMON above.
HANDLERS: dict[tuple[Phase, type], Handler] = {
    **CALL_HANDLERS,
    # The status screen and the sign-in dialog first, then the chat screens and the idle phone.
    (Phase.IDLE, KeyPressed): with_status_keys(CALL_HANDLERS[(Phase.IDLE, KeyPressed)]),
}

TIMER_HANDLERS: dict[tuple[Phase, Timer], Handler] = {
    **CALL_TIMERS,  # inter-digit, dial tone, ended screen
    **CHAT_TIMERS,  # multi-tap pause, message banner, chat screens' inactivity
    **STATUS_TIMERS,  # the sign-in dialog's multi-tap pause
}

# RFC 7081 (firmware/machine_cusax.py) wraps entries of the three tables above: the roster events
# keep the tel index; keys, hook, incoming and connected calls get DND, calling contacts, caller ID.
COMMON.update(cusax_common(COMMON))
HANDLERS.update(cusax_handlers(HANDLERS))
TIMER_HANDLERS.update(cusax_timers(TIMER_HANDLERS))

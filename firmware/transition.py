"""The state machine's one shape, shared by its modules (firmware/machine.py and the machine_*
modules it merges): a handler takes the state and an event and returns the next state with the
commands the dispatcher carries out."""

from __future__ import annotations

from collections.abc import Callable

from firmware import commands as c
from firmware.events import Event
from firmware.state import PhoneState

Commands = tuple[c.Command, ...]
Result = tuple[PhoneState, Commands]
Handler = Callable[[PhoneState, Event], Result]

"""A faithful fake of the `RPi.GPIO` module that simulates the wiring electrically.

It follows rpi-lgpio (the RPi.GPIO implementation we ship): the same constants, the same argument
checks and the same exceptions on misuse (no setmode, input on a pin never set up, output to an
input, pull-up on an output...), so a backend that passes against it uses the API correctly.

The pins live on a small circuit. Closed switches join pins into nets; a net reads LOW if a
contact grounds it or an output drives it LOW, HIGH if an output drives it HIGH, else it follows
the inputs' pull resistors, and floats (reads LOW, so a missing pull-up shows as pressed keys).
Tests press keys of the wired matrix with hold(row, col) and move the hook with set_off_hook().
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from hal.config import HookConfig, KeypadConfig

UNKNOWN = -1
BOARD = 10
BCM = 11
PUD_OFF = 20
PUD_DOWN = 21
PUD_UP = 22
OUT = 0
IN = 1
LOW = 0
HIGH = 1
RISING = 31
FALLING = 32
BOTH = 33

# Physical header pin -> BCM GPIO (Model B+ onwards), as in rpi-lgpio.
_BOARD_MAP = {
    3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24, 19: 10, 21: 9,
    22: 25, 23: 11, 24: 8, 26: 7, 29: 5, 31: 6, 32: 12, 33: 13, 35: 19, 36: 16, 37: 26, 38: 20, 40: 21,
}  # fmt: skip

NO_MODE = "Please set pin numbering mode using GPIO.setmode(GPIO.BOARD) or GPIO.setmode(GPIO.BCM)"


@dataclass
class _Pin:
    direction: int
    pull: int = PUD_OFF
    value: int = LOW


class FakeGPIO:
    """Module-like object: pass it where the code expects `RPi.GPIO`."""

    UNKNOWN = UNKNOWN
    BOARD = BOARD
    BCM = BCM
    PUD_OFF = PUD_OFF
    PUD_DOWN = PUD_DOWN
    PUD_UP = PUD_UP
    OUT = OUT
    IN = IN
    LOW = LOW
    HIGH = HIGH
    RISING = RISING
    FALLING = FALLING
    BOTH = BOTH
    VERSION = "0.7.2"

    def __init__(self, keypad: KeypadConfig | None = None, hook: HookConfig | None = None) -> None:
        self._lock = threading.RLock()
        self._mode = UNKNOWN
        self._pins: dict[int, _Pin] = {}
        self._switches: set[frozenset[int]] = set()
        self._grounded: set[int] = set()
        self.warnings = True
        self.contentions = 0  # reads of a net driven HIGH and LOW at once (a short through keys)
        self.cleanup_log: list[list[int] | None] = []
        self.keypad = keypad
        self.hook = hook
        if hook is not None:
            self.set_off_hook(False)

    # -- the circuit, driven by tests ------------------------------------------------------------

    def hold(self, row: int, col: int) -> None:
        """Close the key switch at matrix position (row, col) (indices into the keypad wiring)."""
        with self._lock:
            self._switches.add(self._key_switch(row, col))

    def release(self, row: int, col: int) -> None:
        with self._lock:
            self._switches.discard(self._key_switch(row, col))

    def release_all(self) -> None:
        with self._lock:
            self._switches.clear()

    def set_off_hook(self, off_hook: bool) -> None:
        """Move the handset: an active-low switch grounds its pin off-hook, the other kind on-hook."""
        assert self.hook is not None, "no hook wired"
        grounded = off_hook if self.hook.active_low else not off_hook
        with self._lock:
            if grounded:
                self._grounded.add(self.hook.pin)
            else:
                self._grounded.discard(self.hook.pin)

    def _key_switch(self, row: int, col: int) -> frozenset[int]:
        assert self.keypad is not None, "no keypad wired"
        return frozenset((self.keypad.rows[row], self.keypad.cols[col]))

    # -- inspection -----------------------------------------------------------------------------

    def is_setup(self, gpio: int) -> bool:
        return gpio in self._pins

    def direction(self, gpio: int) -> int | None:
        pin = self._pins.get(gpio)
        return None if pin is None else pin.direction

    def pull(self, gpio: int) -> int | None:
        pin = self._pins.get(gpio)
        return None if pin is None else pin.pull

    def driven(self, gpio: int) -> int | None:
        """The level an output pin drives (None for inputs and free pins)."""
        pin = self._pins.get(gpio)
        return pin.value if pin is not None and pin.direction == OUT else None

    # -- the RPi.GPIO API -------------------------------------------------------------------------

    def getmode(self) -> int | None:
        return None if self._mode == UNKNOWN else self._mode

    def setmode(self, new_mode: int) -> None:
        with self._lock:
            if self._mode != UNKNOWN and new_mode != self._mode:
                raise ValueError("A different mode has already been set!")
            if new_mode not in (BOARD, BCM):
                raise ValueError("An invalid mode was passed to setmode()")
            self._mode = new_mode

    def setwarnings(self, value: Any) -> None:
        self.warnings = bool(value)

    def setup(
        self, chanlist: Any, direction: int, pull_up_down: int | None = None, initial: Any = None
    ) -> None:
        if direction == OUT:
            if pull_up_down is not None:
                raise ValueError("pull_up_down parameter is not valid for outputs")
        elif direction == IN:
            if initial is not None:
                raise ValueError("initial parameter is not valid for inputs")
            if pull_up_down is None:
                pull_up_down = PUD_OFF
            elif pull_up_down not in (PUD_UP, PUD_DOWN, PUD_OFF):
                raise ValueError(
                    "Invalid value for pull_up_down - should be either PUD_OFF, PUD_UP or PUD_DOWN"
                )
        else:
            raise ValueError("An invalid direction was passed to setup()")
        with self._lock:
            for gpio in self._gpio_list(chanlist):
                if direction == IN:
                    assert pull_up_down is not None
                    self._pins[gpio] = _Pin(IN, pull=pull_up_down)
                else:
                    level = self._read(gpio) if initial is None else int(bool(initial))
                    self._pins[gpio] = _Pin(OUT, value=level)

    def output(self, channel: Any, value: Any) -> None:
        with self._lock:
            gpios = self._gpio_list(channel)
            values = self._value_list(value)
            if len(gpios) != len(values):
                if len(gpios) > 1 and len(values) == 1:
                    values = values * len(gpios)
                else:
                    raise RuntimeError("Number of channels != number of values")
            for gpio, level in zip(gpios, values, strict=True):
                pin = self._pins.get(gpio)
                if pin is None or pin.direction != OUT:
                    raise RuntimeError("The GPIO channel has not been set up as an OUTPUT")
                pin.value = level

    def input(self, channel: int) -> int:
        with self._lock:
            gpio = self._to_gpio(channel)
            pin = self._pins.get(gpio)
            if pin is None:
                raise RuntimeError("You must setup() the GPIO channel first")
            # Like the real chip: an output reads back the level it drives.
            return pin.value if pin.direction == OUT else self._read(gpio)

    def cleanup(self, chanlist: Any = None) -> None:
        with self._lock:
            if self._mode == UNKNOWN and not self._pins:
                return  # rpi-lgpio: nothing was ever opened
            self.cleanup_log.append(None if chanlist is None else list(self._gpio_list(chanlist)))
            if chanlist is None:
                self._pins.clear()
                self._mode = UNKNOWN
                return
            for gpio in self._gpio_list(chanlist):
                self._pins.pop(gpio, None)

    # -- internals -------------------------------------------------------------------------------

    def _to_gpio(self, channel: Any) -> int:
        if self._mode == UNKNOWN:
            raise RuntimeError(NO_MODE)
        if not isinstance(channel, int):
            raise ValueError("Channel must be an integer or list/tuple of integers")
        if self._mode == BCM:
            if not 0 <= channel < 54:
                raise ValueError("The channel sent is invalid on a Raspberry Pi")
            return channel
        if channel not in _BOARD_MAP:
            raise ValueError("The channel sent is invalid on a Raspberry Pi")
        return _BOARD_MAP[channel]

    def _gpio_list(self, chanlist: Any) -> tuple[int, ...]:
        if isinstance(chanlist, Iterable):
            return tuple(self._to_gpio(c) for c in chanlist)
        return (self._to_gpio(chanlist),)

    @staticmethod
    def _value_list(value: Any) -> tuple[int, ...]:
        if isinstance(value, Iterable):
            return tuple(int(bool(v)) for v in value)
        return (int(bool(value)),)

    def _net(self, gpio: int) -> set[int]:
        net, todo = {gpio}, [gpio]
        while todo:
            here = todo.pop()
            for switch in self._switches:
                if here in switch:
                    for other in switch - net:
                        net.add(other)
                        todo.append(other)
        return net

    def _read(self, gpio: int) -> int:
        net = self._net(gpio)
        pins = [self._pins[p] for p in net if p in self._pins]
        drives = {p.value for p in pins if p.direction == OUT}
        grounded = bool(net & self._grounded)
        if grounded or LOW in drives:
            if HIGH in drives:
                self.contentions += 1
            return LOW
        if HIGH in drives:
            return HIGH
        pulls = {p.pull for p in pins if p.direction == IN}
        if PUD_UP in pulls:
            return HIGH
        return LOW  # pulled down, or floating

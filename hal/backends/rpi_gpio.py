"""Keypad matrix and hook switch on Raspberry Pi GPIO, through the RPi.GPIO API.

The API is provided by `rpi-lgpio` (works on every Pi, the Pi 5 included) or the original RPi.GPIO.
Both are imported here only, lazily, and a test passes a fake module with the same API instead.
Both parts poll: a matrix must be scanned anyway, and polling the hook at the same rate through the
same debouncer is simpler and more predictable than edge interrupts with their own bounce filter.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from hal.config import HookConfig, KeypadConfig
from hal.debounce import HookDebouncer, KeyDebouncer
from hal.errors import DeviceError
from hal.interfaces import EventSink
from hal.types import HookChanged, KeyPressed

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# The RPi.GPIO module (or a test fake of it). It ships no type information, so it travels as Any.
GpioModule = Any

HOOK_POLL_INTERVAL_MS = 5
_JOIN_TIMEOUT_S = 1.0


def load_gpio() -> GpioModule:
    """Import RPi.GPIO, turning its import-time failures into a DeviceError that says what to do."""
    try:
        import RPi.GPIO as gpio
    except ImportError as exc:
        raise DeviceError("RPi.GPIO is not installed: install the 'rpi' extra (it brings rpi-lgpio)") from exc
    except RuntimeError as exc:
        # RPi.GPIO raises RuntimeError at import off a Pi, and RPi.GPIO 0.7 does on a Pi 5.
        raise DeviceError(f"RPi.GPIO cannot drive this machine's GPIO ({exc}); use rpi-lgpio") from exc
    return gpio


def claim_bcm(gpio: GpioModule) -> None:
    """Select BCM numbering (the numbers in the hardware profile), once per process."""
    # Warnings only report pins a crashed previous run left claimed; stop() cleans our pins up.
    gpio.setwarnings(False)
    try:
        gpio.setmode(gpio.BCM)
    except ValueError as exc:
        raise DeviceError("GPIO numbering was already set to BOARD in this process; hal needs BCM") from exc


class Ticker:
    """Calls `tick` every `interval_s` on a daemon thread until stopped. start/stop are idempotent."""

    def __init__(self, name: str, interval_s: float, tick: Callable[[], None]) -> None:
        self._name = name
        self._interval_s = interval_s
        self._tick = tick
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    def start(self) -> None:
        if self._thread is not None:
            return
        # A fresh event per run, so a stop that is still joining cannot leak into the next run.
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name=self._name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        if thread is not threading.current_thread():
            thread.join(_JOIN_TIMEOUT_S)

    def _run(self, stop: threading.Event) -> None:
        failures = 0
        while not stop.wait(self._interval_s):
            try:
                self._tick()
            except Exception:
                # Keep scanning (a glitch must not kill the keypad) but do not flood the log at 200 Hz.
                failures += 1
                if failures == 1 or failures % 1000 == 0:
                    log.exception("%s failed (%d times)", self._name, failures)


def _deliver(sink: EventSink | None, events: list[KeyPressed] | list[HookChanged]) -> None:
    if sink is None:
        return
    for event in events:
        sink(event)


class _PolledPins:
    """What the keypad and the hook share: pins claimed at construction and released by stop(),
    a sink set by start(), a Ticker polling them (None in tests, which poll by hand)."""

    _ticker: Ticker | None

    def __init__(self, gpio: GpioModule) -> None:
        self._gpio = gpio
        self._sink: EventSink | None = None
        self._lock = threading.Lock()
        self._pins_ready = False

    @property
    def pins(self) -> list[int]:
        raise NotImplementedError

    def _configure_pins(self) -> None:
        raise NotImplementedError

    def _setup_pins(self) -> None:
        if not self._pins_ready:
            self._configure_pins()
            self._pins_ready = True

    def start(self, sink: EventSink) -> None:
        with self._lock:
            self._setup_pins()
            self._sink = sink
        if self._ticker is not None:
            self._ticker.start()

    def stop(self) -> None:
        # Stop the thread first so no poll runs while the pins are released.
        if self._ticker is not None:
            self._ticker.stop()
        with self._lock:
            self._sink = None
            if self._pins_ready:
                self._gpio.cleanup(self.pins)
                self._pins_ready = False


class GpioKeypad(_PolledPins):
    """A key matrix: rows are outputs idling HIGH, columns inputs with pull-ups.

    One scan drives each row LOW in turn and reads the columns: a closed key connects its column to
    the LOW row, so it reads LOW. No settling delay is needed: a GPIO call takes microseconds, while
    a column's pull-up (~50 kOhm) and a short ribbon cable (~20 pF) settle in about one microsecond.
    """

    def __init__(self, gpio: GpioModule, config: KeypadConfig, clock: Clock, threads: bool = True) -> None:
        super().__init__(gpio)
        self._config = config
        self._clock = clock
        # Debounce matrix positions, not Key values: a key map may carry the same key twice.
        self._debouncer: KeyDebouncer[tuple[int, int]] = KeyDebouncer(config.debounce_ms)
        interval_s = config.scan_interval_ms / 1000
        self._ticker = Ticker("keypad-scan", interval_s, self._tick) if threads else None
        self._setup_pins()

    @property
    def pins(self) -> list[int]:
        return [*self._config.rows, *self._config.cols]

    def _configure_pins(self) -> None:
        gpio = self._gpio
        gpio.setup(list(self._config.rows), gpio.OUT, initial=gpio.HIGH)
        gpio.setup(list(self._config.cols), gpio.IN, pull_up_down=gpio.PUD_UP)

    def read_matrix(self) -> set[tuple[int, int]]:
        """One electrical scan: the (row, col) positions whose contacts are closed right now."""
        gpio = self._gpio
        closed: set[tuple[int, int]] = set()
        for r, row_pin in enumerate(self._config.rows):
            gpio.output(row_pin, gpio.LOW)
            try:
                for c, col_pin in enumerate(self._config.cols):
                    if gpio.input(col_pin) == gpio.LOW:
                        closed.add((r, c))
            finally:
                gpio.output(row_pin, gpio.HIGH)
        return closed

    def scan_once(self, now: float) -> list[KeyPressed]:
        """Scan and debounce once at time `now`; deliver and return the new key presses."""
        with self._lock:
            if not self._pins_ready:
                return []  # a last tick racing stop(): the pins are gone, nothing to read
            pressed = self._debouncer.update(self.read_matrix(), now)
            sink = self._sink
        # Row-major order, so keys that settle in the same scan are reported in a stable order.
        events = [
            KeyPressed(key) for r, c in sorted(pressed) if (key := self._config.key_at(r, c)) is not None
        ]
        # Outside the lock: the sink may call back into the board (even stop()).
        _deliver(sink, events)
        return events

    def _tick(self) -> None:
        self.scan_once(self._clock())


class GpioHook(_PolledPins):
    """The hook switch on one input with a pull-up, polled and debounced."""

    def __init__(self, gpio: GpioModule, config: HookConfig, clock: Clock, threads: bool = True) -> None:
        super().__init__(gpio)
        self._config = config
        self._clock = clock
        self._setup_pins()
        # The position at power-up is taken as settled and not reported: ask is_off_hook() for it.
        self._debouncer = HookDebouncer(config.debounce_ms, self._read(), clock())
        interval_s = HOOK_POLL_INTERVAL_MS / 1000
        self._ticker = Ticker("hook-poll", interval_s, self._tick) if threads else None

    @property
    def pins(self) -> list[int]:
        return [self._config.pin]

    def _configure_pins(self) -> None:
        self._gpio.setup(self._config.pin, self._gpio.IN, pull_up_down=self._gpio.PUD_UP)

    def _read(self) -> bool:
        low = self._gpio.input(self._config.pin) == self._gpio.LOW
        return low if self._config.active_low else not low

    def is_off_hook(self) -> bool:
        return self._debouncer.state

    def poll(self, now: float) -> HookChanged | None:
        """Sample and debounce once at time `now`; deliver and return a settled change, if any."""
        with self._lock:
            if not self._pins_ready:
                return None
            settled = self._debouncer.update(self._read(), now)
            sink = self._sink
        if settled is None:
            return None
        event = HookChanged(off_hook=settled)
        _deliver(sink, [event])
        return event

    def _tick(self) -> None:
        self.poll(self._clock())

"""The simulated board: a complete phone in pure Python, for tests, demos and the terminal console.

It is a first-class backend, not a mock: raw key and hook levels go through the same debouncers as
on the Pi, sampled at the configured scan interval on a simulated clock, so a test that "flaps"
the hook at 50 Hz sees exactly what the firmware would see on hardware, without sleeping.

Time: the board keeps a simulated time that never runs behind the injected `clock` (default
time.monotonic). Each action samples at that time, and `advance(seconds)` moves it forward in
scan-interval steps. Events reach the sink synchronously, in the thread that called the action.

Python API (all on SimBoard):
    press(key)            one debounced press and release -> exactly one KeyPressed
    key_down(key) / key_up(key) / advance(seconds)   hold a key as long as you like
    lift() / hang_up()    the handset, debounced -> one HookChanged (if the position changes)
    flap(times, hz)       hook chatter; only the final settled position is reported
    screen_text() / screen_png() / save_png(path) / frames_shown / on_frame
    is_ringing() / volume(path) / route()
    events                every event produced, in order (delivered or not)
"""

from __future__ import annotations

import io
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from hal.config import AudioConfig, DisplayConfig, HalConfig, HookConfig, KeypadConfig
from hal.debounce import HookDebouncer, KeyDebouncer
from hal.errors import HalError
from hal.interfaces import EventSink
from hal.types import AudioPath, Frame, HalEvent, HookChanged, Key, KeyPressed

FrameCallback = Callable[[Frame], None]


def parse_key(key: Key | str) -> Key:
    """A Key from a Key, its value ("5", "select") or its name ("SELECT", "D5")."""
    if isinstance(key, Key):
        return key
    try:
        return Key(key)
    except ValueError:
        pass
    try:
        return Key[key.upper()]
    except KeyError:
        raise HalError(f"unknown key {key!r}") from None


EVENT_HISTORY = 1000  # SimBoard.events keeps this many of the latest events


class SimKeypad:
    """The configured key matrix, with keys held down by the board's key_down()/press()."""

    def __init__(self, config: KeypadConfig) -> None:
        self.keys = frozenset(
            k for r in range(len(config.rows)) for c in range(len(config.cols)) if (k := config.key_at(r, c))
        )
        self._debouncer: KeyDebouncer[Key] = KeyDebouncer(config.debounce_ms)
        self.down: set[Key] = set()
        self._sink: EventSink | None = None

    def start(self, sink: EventSink) -> None:
        self._sink = sink

    def stop(self) -> None:
        self._sink = None

    def sample(self, now: float) -> list[HalEvent]:
        events: list[HalEvent] = [KeyPressed(key) for key in self._debouncer.update(self.down, now)]
        if self._sink is not None:
            for event in events:
                self._sink(event)
        return events


class SimHook:
    """The hook switch; the handset starts on-hook."""

    def __init__(self, config: HookConfig, now: float) -> None:
        self.raw_off_hook = False
        self._debouncer = HookDebouncer(config.debounce_ms, False, now)
        self._sink: EventSink | None = None

    def start(self, sink: EventSink) -> None:
        self._sink = sink

    def stop(self) -> None:
        self._sink = None

    def is_off_hook(self) -> bool:
        return self._debouncer.state

    def sample(self, now: float) -> list[HalEvent]:
        settled = self._debouncer.update(self.raw_off_hook, now)
        if settled is None:
            return []
        event = HookChanged(off_hook=settled)
        if self._sink is not None:
            self._sink(event)
        return [event]


class SimDisplay:
    """Keeps the last frame; calls each `on_frame` callback after every show()."""

    def __init__(self, config: DisplayConfig) -> None:
        width, height = config.size
        self._size = (height, width) if config.rotate in (1, 3) else (width, height)
        self.last: Frame | None = None
        self.frames_shown = 0
        self.on_frame: list[FrameCallback] = []
        self._closed = False

    @property
    def size(self) -> tuple[int, int]:
        return self._size

    def show(self, frame: Frame) -> None:
        if self._closed:
            raise HalError("display used after close()")
        if frame.image.size != self._size:
            raise HalError(f"frame is {frame.image.size}, the display is {self._size}")
        # convert() copies, so a caller reusing its image for the next frame cannot change this one.
        self.last = Frame(frame.image.convert("1"), tuple(frame.text))
        self.frames_shown += 1
        for callback in list(self.on_frame):
            callback(self.last)

    def image(self) -> Image.Image:
        """The panel as it looks now (blank before the first frame)."""
        return self.last.image if self.last is not None else Image.new("1", self._size, 0)

    def close(self) -> None:
        self._closed = True


class SimAudio:
    """Volumes, route and ringer as plain state. There is no sound card: sound_device() is None."""

    def __init__(self, config: AudioConfig) -> None:
        self._volumes = {AudioPath.HANDSET: config.handset_volume, AudioPath.SPEAKER: config.speaker_volume}
        self._route = AudioPath.HANDSET
        self._ringing = False

    def start_ringer(self) -> None:
        self._ringing = True

    def stop_ringer(self) -> None:
        self._ringing = False

    def is_ringing(self) -> bool:
        return self._ringing

    def set_volume(self, path: AudioPath, percent: int) -> None:
        self._volumes[path] = max(0, min(100, int(percent)))

    def volume(self, path: AudioPath) -> int:
        return self._volumes[path]

    def set_route(self, path: AudioPath) -> None:
        self._route = path

    def route(self) -> AudioPath:
        return self._route

    def sound_device(self) -> str | None:
        return None

    def close(self) -> None:
        self._ringing = False


class SimBoard:
    """A simulated desk phone with the same interface as the Pi board (see the module docstring)."""

    name = "sim"

    def __init__(self, config: HalConfig, clock: Callable[[], float] | None = None) -> None:
        self.config = config
        self._clock = clock if clock is not None else time.monotonic
        self._t = self._clock()
        self._scan_s = config.keypad.scan_interval_ms / 1000
        # Re-entrant: a sink may call back into the board from the same thread.
        self._lock = threading.RLock()
        self.keypad = SimKeypad(config.keypad)
        self.hook = SimHook(config.hook, self._t)
        self.display = SimDisplay(config.display)
        self.audio = SimAudio(config.audio)
        # The latest events, for tests to read; bounded because a demo phone runs for weeks.
        self.events: deque[HalEvent] = deque(maxlen=EVENT_HISTORY)
        self._stopped = False

    # -- Board -----------------------------------------------------------------------------------

    def start(self, sink: EventSink) -> None:
        self.keypad.start(sink)
        self.hook.start(sink)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self.keypad.stop()
        self.hook.stop()
        self.display.close()
        self.audio.close()

    # -- simulated time ----------------------------------------------------------------------------

    def now(self) -> float:
        """The simulated time: never behind the injected clock."""
        with self._lock:
            self._t = max(self._t, self._clock())
            return self._t

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass, sampling keys and hook every scan interval as the Pi's threads do."""
        with self._lock:
            start = self.now()
            steps = math.ceil(seconds / self._scan_s - 1e-9) if seconds > 0 else 0
            for i in range(1, steps + 1):
                # Never backwards: now() may have moved _t past this step if the real clock ran ahead.
                self._t = max(self._t, start + min(i * self._scan_s, seconds))
                self._sample(self._t)

    def _sample(self, now: float | None = None) -> None:
        now = self.now() if now is None else now
        self.events.extend(self.keypad.sample(now))
        self.events.extend(self.hook.sample(now))

    # -- keypad ------------------------------------------------------------------------------------

    def _keypad_key(self, key: Key | str) -> Key:
        parsed = parse_key(key)
        if parsed not in self.keypad.keys:
            raise HalError(f"key {parsed.value!r} is not on this keypad")
        return parsed

    def key_down(self, key: Key | str) -> None:
        """Close a key's contact (it is reported once it has been down for the debounce time)."""
        with self._lock:
            self.keypad.down.add(self._keypad_key(key))
            self._sample()

    def key_up(self, key: Key | str) -> None:
        """Open a key's contact."""
        with self._lock:
            self.keypad.down.discard(self._keypad_key(key))
            self._sample()

    def press(self, key: Key | str) -> None:
        """Press and release a key, each held for the debounce time: exactly one KeyPressed."""
        debounce_s = self.config.keypad.debounce_ms / 1000
        with self._lock:
            self.key_down(key)
            self.advance(debounce_s)
            self.key_up(key)
            self.advance(debounce_s)

    # -- hook --------------------------------------------------------------------------------------

    def set_hook(self, off_hook: bool) -> None:
        """Move the raw hook contact without waiting for it to settle."""
        with self._lock:
            self.hook.raw_off_hook = off_hook
            self._sample()

    def lift(self) -> None:
        """Take the handset off the hook and let the switch settle."""
        self._settle_hook(True)

    def hang_up(self) -> None:
        """Put the handset back and let the switch settle."""
        self._settle_hook(False)

    def _settle_hook(self, off_hook: bool) -> None:
        with self._lock:
            self.set_hook(off_hook)
            self.advance(self.config.hook.debounce_ms / 1000)

    def flap(self, times: int, hz: float = 50.0) -> None:
        """Chatter: toggle the hook contact `times` times as a square wave of `hz`, then settle.

        An odd count ends in the other position (one HookChanged), an even count where it began
        (none): the debouncer never accepts a level that lasted less than its debounce time.
        """
        if hz <= 0:
            raise ValueError("hz must be > 0")
        with self._lock:
            for _ in range(times):
                self.set_hook(not self.hook.raw_off_hook)
                self.advance(1 / (2 * hz))
            self.advance(self.config.hook.debounce_ms / 1000)

    # -- display and audio -------------------------------------------------------------------------

    @property
    def on_frame(self) -> list[FrameCallback]:
        """Callables run with each frame after show() (the terminal console redraws from here)."""
        return self.display.on_frame

    @property
    def frames_shown(self) -> int:
        return self.display.frames_shown

    def screen_text(self) -> list[str]:
        """The text lines of the last frame shown (empty before the first)."""
        last = self.display.last
        return list(last.text) if last is not None else []

    def screen_png(self) -> bytes:
        """The last frame as a 1:1 PNG."""
        buffer = io.BytesIO()
        self.display.image().save(buffer, format="PNG")
        return buffer.getvalue()

    def save_png(self, path: str | Path) -> None:
        Path(path).write_bytes(self.screen_png())

    def is_ringing(self) -> bool:
        return self.audio.is_ringing()

    def volume(self, path: AudioPath) -> int:
        return self.audio.volume(path)

    def route(self) -> AudioPath:
        return self.audio.route()

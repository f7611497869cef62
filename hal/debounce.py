"""Pure debouncers: raw samples in, clean events out. Time is passed in, so tests never sleep.

Mechanical contacts bounce for a few milliseconds when they close or open, and a worn hook switch
can chatter for much longer. Both debouncers accept a level only once it has been seen unchanged
for `debounce_ms`, measured from the first sample that showed it. Samples must come with a
monotonic `now` in seconds; the caller decides how often to sample (a scan thread, or a simulated
clock).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)

# Sample times are floats built from sums of intervals: without this slack a level seen for
# exactly debounce_ms (0.005 * 4 != 0.02) would wait one more scan.
_EPSILON_S = 1e-9


class _Settler:
    """One contact: its raw level, the time that level was first seen, and its accepted level."""

    __slots__ = ("_debounce_s", "raw", "since", "stable")

    def __init__(self, debounce_s: float, level: bool, now: float) -> None:
        self._debounce_s = debounce_s
        self.stable = level
        self.raw = level
        self.since = now

    def sample(self, level: bool, now: float) -> bool:
        """Feed one sample; True when the accepted level changed on this sample."""
        if level != self.raw:
            self.raw = level
            self.since = now
        if self.raw != self.stable and now - self.since >= self._debounce_s - _EPSILON_S:
            self.stable = self.raw
            return True
        return False


class KeyDebouncer(Generic[K]):
    """Debounces a whole key matrix from sets of keys seen down in one scan.

    A key is reported once, when it has been down for `debounce_ms`; holding it reports nothing
    more, and it can only be reported again after it has been up for `debounce_ms` (so bounce on
    release is not a second press).
    """

    def __init__(self, debounce_ms: int) -> None:
        if debounce_ms < 0:
            raise ValueError("debounce_ms must be >= 0")
        self._debounce_s = debounce_ms / 1000
        self._keys: dict[K, _Settler] = {}

    def update(self, down: Iterable[K], now: float) -> list[K]:
        """Feed one full scan (the keys whose contacts read closed); return keys newly pressed."""
        down_set = set(down)
        for key in down_set:
            if key not in self._keys:
                # An idle key starts "up since now": the press timer starts at this sample.
                self._keys[key] = _Settler(self._debounce_s, False, now)
        pressed: list[K] = []
        for key, settler in list(self._keys.items()):
            if settler.sample(key in down_set, now) and settler.stable:
                pressed.append(key)
            if not settler.stable and not settler.raw:
                # Forget idle keys so the table only holds keys that are moving or held.
                del self._keys[key]
        return pressed

    def held(self) -> set[K]:
        """Keys currently accepted as down."""
        return {key for key, settler in self._keys.items() if settler.stable}


class HookDebouncer:
    """Debounces the hook switch: reports a new position only after it has been stable.

    Chatter that never stays put for `debounce_ms` reports nothing; chatter that ends in the old
    position reports nothing; two consecutive reports are never the same position.
    """

    def __init__(self, debounce_ms: int, initial: bool, now: float = 0.0) -> None:
        if debounce_ms < 0:
            raise ValueError("debounce_ms must be >= 0")
        self._settler = _Settler(debounce_ms / 1000, initial, now)

    @property
    def state(self) -> bool:
        """The last accepted position (True: off-hook)."""
        return self._settler.stable

    def update(self, off_hook: bool, now: float) -> bool | None:
        """Feed one sample; return the new position when it just settled, else None."""
        if self._settler.sample(off_hook, now):
            return self._settler.stable
        return None

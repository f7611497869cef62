"""Bounding and cleaning text from the network, and the small rate limiters the engine uses.

Everything a contact or a server sends is hostile until shown otherwise: control characters
(they would move the cursor of a terminal or break a screen's layout), unbounded length, floods.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict

from firmware.ratelimit import Clock, TokenBucket

__all__ = ["Clock", "TokenBucket"]


def clean_text(text: str, limit: int, *, newlines: bool = False) -> tuple[str, int]:
    """Drop control characters (C0, DEL, C1; newline kept when `newlines`), then cut to `limit`.

    Returns (text, number of characters cut off at the end). Control characters removed are not
    counted as cut: they carry nothing a person reads.
    """
    early_cut = max(0, len(text) - 4 * limit)  # bound the work on a huge input before looking at it
    if early_cut:
        text = text[: 4 * limit]
    if newlines:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Keep the common case cheap: most text has no control character at all.
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F for ch in text):
        text = "".join(
            ch for ch in text if not (ord(ch) < 0x20 or 0x7F <= ord(ch) <= 0x9F) or (newlines and ch == "\n")
        )
    if len(text) <= limit:
        return text, early_cut
    return text[:limit], len(text) - limit + early_cut


class Buckets:
    """One TokenBucket per key (a contact), at most `max_keys` kept (least recently used go first)."""

    def __init__(self, rate: float, burst: float, clock: Clock = time.monotonic, max_keys: int = 512) -> None:
        self.rate, self.burst, self._clock, self._max = rate, burst, clock, max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def take(self, key: str) -> bool:
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = TokenBucket(self.rate, self.burst, self._clock)
            if len(self._buckets) > self._max:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        return bucket.take()

    def __len__(self) -> int:
        return len(self._buckets)


class DropLog:
    """Logs dropped things without becoming a flood itself: the first drop at once, then at most one
    summary line per `interval` seconds with how many were dropped since."""

    def __init__(self, logger: logging.Logger, interval: float = 5.0, clock: Clock = time.monotonic) -> None:
        self._log, self._interval, self._clock = logger, interval, clock
        self._last: float | None = None
        self._suppressed = 0
        self.total = 0

    def dropped(self, what: str, *args: object) -> None:
        self.total += 1
        now = self._clock()
        if self._last is not None and now - self._last < self._interval:
            self._suppressed += 1
            return
        more = f" (+{self._suppressed} more dropped since the last report)" if self._suppressed else ""
        self._log.warning(what + more, *args)
        self._last, self._suppressed = now, 0

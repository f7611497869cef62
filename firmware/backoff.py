"""Reconnect/retry policy as an explicit object, shared by SIP registration (and later XMPP)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

# A desk phone must be back within seconds of its server's return (not pjsip's 300 s default),
# yet a fleet must not hammer a recovering server in lockstep: exponential growth to a low cap,
# with jitter so phones that lost the server together do not retry together.
INITIAL_DELAY_S = 0.5
MAX_DELAY_S = 4.0
FACTOR = 2.0
JITTER = 0.1  # +-10 %


@dataclass
class Backoff:
    initial: float = INITIAL_DELAY_S
    maximum: float = MAX_DELAY_S
    factor: float = FACTOR
    jitter: float = JITTER
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self) -> float:
        """Delay before the next attempt; each call counts one more failed attempt."""
        base = min(self.maximum, self.initial * self.factor**self.attempts)
        self.attempts += 1
        return base * (1 + self.rng.uniform(-self.jitter, self.jitter))

    def reset(self) -> None:
        """The connection worked: start again from the initial delay next time."""
        self.attempts = 0

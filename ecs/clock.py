"""Where time comes from, for everything that rate-limits, coalesces or expires.

Caches, the emotion signaller, the stream consumer's timers and the model's circuit breaker take
a ``Clock`` instead of calling ``time.monotonic()`` themselves, so tests drive time (a clock that
starts a few seconds after boot, a clock that jumps an hour) instead of sleeping.

Monotonic time is the host's uptime: on a machine booted a minute ago it reads about 60. So
"never happened" must be ``None``, never a default of ``0.0``: ``last + interval`` with
``last = 0.0`` would hold a user's first signal until ``interval`` seconds after boot.
"""

from __future__ import annotations

import time
from collections.abc import Callable

Clock = Callable[[], float]
"""Seconds as a float; only differences between two readings of the same clock mean anything."""

monotonic: Clock = time.monotonic
"""For intervals and local expiries: never jumps with NTP or the wall clock."""

wall: Clock = time.time
"""Unix seconds, for comparing with timestamps made elsewhere (a token's ``exp``)."""

"""How busy this process is answering requests, so work that can wait does wait.

The HTTP front counts every request it answers (Slack's, the platform's webhooks); the two
appliers — the Slack inbox and the platform's inbound events — make the changes those
answers promised, on the same cores and, on SQLite, behind the same write lock. While the
process is busy answering they wait for a lull, each for a bounded time, so a burst is
answered first and applied right after; a steady trickle never counts as busy and is
applied at once.

Busy means a request in hand more than `BUSY_SHARE` of a `SAMPLE_SECONDS` sample (a burst
keeps one in hand nearly all the time; tens of requests a second leave most of it free).
Waiters poll: an answer never pays for waking anyone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class AnswerLoad:
    SAMPLE_SECONDS = 0.05
    BUSY_SHARE = 0.5

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answering = 0  # requests in hand right now
        self._answered_at = 0.0  # when the last one was answered (monotonic)
        self._busy_total = 0.0  # seconds with at least one request in hand, so far
        self._busy_from = 0.0  # when the current such stretch began (monotonic)

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the answer to one request (nesting is fine: it counts once)."""
        with self._lock:
            if not self._answering:
                self._busy_from = time.monotonic()
            self._answering += 1
        try:
            yield
        finally:
            with self._lock:
                self._answering -= 1
                self._answered_at = time.monotonic()
                if not self._answering:
                    self._busy_total += self._answered_at - self._busy_from

    def _busy_time(self, now: float) -> float:
        """Seconds spent answering so far, the stretch in hand included (under the lock)."""
        return self._busy_total + (now - self._busy_from if self._answering else 0.0)

    def idle(self) -> bool:
        """No request in hand, and none answered within the last sample."""
        with self._lock:
            return not self._answering and time.monotonic() - self._answered_at >= (
                self.SAMPLE_SECONDS
            )

    def wait_for_lull(self, until: float, stop: threading.Event) -> None:
        """Return at once when idle; else when a sample finds this process answering less
        than BUSY_SHARE of the time, at `until` (monotonic), or when `stop` is set."""
        while not stop.is_set():
            now = time.monotonic()
            if now >= until or self.idle():
                return
            with self._lock:
                busy = self._busy_time(now)
            stop.wait(min(self.SAMPLE_SECONDS, until - now))
            later = time.monotonic()
            with self._lock:
                share = (self._busy_time(later) - busy) / max(later - now, 1e-6)
            if share < self.BUSY_SHARE:
                return


_PROCESS = AnswerLoad()


def process_load() -> AnswerLoad:
    """This process's load: what the HTTP front counts and the appliers consult (a forked
    worker starts from the parent's counts, which are idle before it serves anything)."""
    return _PROCESS

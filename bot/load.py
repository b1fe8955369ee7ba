"""How busy this process is answering requests, so work that can wait does wait.

The HTTP front counts every request it answers (Slack's, the platform's webhooks); the two
appliers — the Slack inbox and the platform's inbound events — make the changes those
answers promised, on the same cores and, on SQLite, behind the same write lock. While the
process is busy answering they wait for a lull, each for a bounded time, so a burst is
answered first and applied right after; a steady trickle never counts as busy and is
applied at once.

Busy means a request in hand now, or for `BUSY_SHARE` or more of the last
`SAMPLE_SECONDS` (a burst keeps one in hand nearly all the time; tens of requests a second
leave most of it free, and the applier goes in the gaps between them). Waiters poll every
few milliseconds: an answer never pays for waking anyone.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class AnswerLoad:
    SAMPLE_SECONDS = 0.05
    BUSY_SHARE = 0.5

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answering = 0  # requests in hand right now
        self._busy_total = 0.0  # seconds with at least one request in hand, so far
        self._busy_from = 0.0  # when the current such stretch began (monotonic)
        #: (when, busy seconds so far, a request in hand from then on): one per change,
        #: the last SAMPLE_SECONDS or so of them, to measure the share just past.
        self._marks: deque[tuple[float, float, bool]] = deque([(0.0, 0.0, False)])

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Around the answer to one request (nesting is fine: it counts once)."""
        with self._lock:
            if not self._answering:
                self._busy_from = time.monotonic()
                self._mark(self._busy_from, True)
            self._answering += 1
        try:
            yield
        finally:
            with self._lock:
                self._answering -= 1
                if not self._answering:
                    now = time.monotonic()
                    self._busy_total += now - self._busy_from
                    self._mark(now, False)

    def _mark(self, now: float, busy: bool) -> None:
        self._marks.append((now, self._busy_total, busy))
        while len(self._marks) > 2 and self._marks[1][0] < now - self.SAMPLE_SECONDS:
            self._marks.popleft()  # the oldest kept is at or before the sample's start

    def _busy_at(self, when: float) -> float:
        """Seconds spent answering up to `when` (within the last sample), under the lock."""
        at, busy, in_hand = self._marks[0]
        for mark in self._marks:
            if mark[0] > when:
                break
            at, busy, in_hand = mark
        return busy + (when - at if in_hand else 0.0)

    def share(self) -> float:
        """The share of the last SAMPLE_SECONDS with a request in hand."""
        now = time.monotonic()
        with self._lock:
            return (self._busy_at(now) - self._busy_at(now - self.SAMPLE_SECONDS)) / (
                self.SAMPLE_SECONDS
            )

    def idle(self) -> bool:
        """No request in hand, and none in the last sample."""
        return self.share() == 0.0

    def busy(self) -> bool:
        """A request in hand right now, or in hand BUSY_SHARE of the last sample or more."""
        with self._lock:
            if self._answering:
                return True
        return self.share() >= self.BUSY_SHARE

    def give_way(self, age: float, bound: float, stop: threading.Event) -> None:
        """Wait for a lull on behalf of work already `age` seconds old, until it is `bound`
        seconds old (an age below 0, from a clock set back, counts as 0)."""
        left = bound - min(bound, max(0.0, age))
        self.wait_for_lull(time.monotonic() + left, stop)

    def wait_for_lull(self, until: float, stop: threading.Event) -> None:
        """Return as soon as the process is not busy (at once, then, between the requests
        of a trickle), at `until` (monotonic), or when `stop` is set. Polled every fifth
        of a sample."""
        while not stop.is_set() and time.monotonic() < until:
            if not self.busy():
                return
            stop.wait(min(self.SAMPLE_SECONDS / 5, max(0.0, until - time.monotonic())))


_PROCESS = AnswerLoad()


def process_load() -> AnswerLoad:
    """This process's load: what the HTTP front counts and the appliers consult (a forked
    worker starts from the parent's counts, which are idle before it serves anything)."""
    return _PROCESS

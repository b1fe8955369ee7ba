"""Notes and button presses: answered as soon as they are safely stored, applied right after.

A clinician's note or click is stored in the `slack_inbox` table (one INSERT, committed) and
Slack gets its answer at once; the change itself — the policy, the audit, the follow-up
prompts, the chart write — is made by an applier thread of the same process within
milliseconds, through exactly the listener code that used to run inside the request. So a
slow step (a busy database, Healthie, a Slack post) can no longer push the answer past Slack's
3 seconds, and nothing acknowledged is lost: a row a stopped or crashed process left behind is
applied by the next applier that looks (every `POLL_SECONDS`, and at start).

What the applier cannot do is said to the person who asked, as the listener's own error would
have been: a refusal ("that prompt is out of date") ephemerally or by DM, a failure with a
reference id. A database that is busy for a moment is tried again (with back-off) up to
`MAX_ATTEMPTS` times.

`background=False` applies each row in the request that stored it (still through this table).
In the background mode nothing is applied until `start` (serve) runs the applier thread, or
`drain` (the tests, the demo) applies what is waiting in the caller's thread.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection, Engine

from bot.clock import Clock
from bot.domain.errors import DomainError, NotSaved
from bot.load import AnswerLoad, process_load
from storage import slack_inbox as rows
from storage.retry import BudgetExhausted, is_transient, within_budget

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], rows.Item], None]
"""Applies one stored request (its kept body, and the row for its id and attempts)."""

Reporter = Callable[[Exception, dict[str, Any]], None]
"""Tells the person who asked that their request failed (the app's error handler)."""


class SlackInbox:
    LEASE = timedelta(seconds=60)
    MAX_ATTEMPTS = 5
    POLL_SECONDS = 5.0
    BATCH = 5
    #: The applier gives way while this process is busy answering (`bot.load`), but no
    #: stored row waits longer than this for a lull: a short burst is answered first and
    #: applied right after. Longer, and work piles up under sustained load until the
    #: applier must catch up at the answers' expense (30 s: 720 -> 174 req/s after half a
    #: minute of `endurance.py`; 3 s: a steady 166-196). A trickle never waits.
    YIELD_SECONDS = 3.0

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        background: bool,
        write_budget: float = 2.0,
        appliers: int = 2,
        load: AnswerLoad | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self.background = background
        self._budget = write_budget
        #: Threads applying at once (each claims its own rows): two overlap a press's wait
        #: on Slack. More only fight over the database: on SQLite's one write lock, four
        #: per process turned a steady 60 notes/s on one client into a pile-up (the change
        #: 28 ms -> 1.9 s behind by the last quarter, p95), and 2,000 presses took 50 s to
        #: apply against 41 s with two; PostgreSQL the same with either (48 / 47 s).
        self._appliers = max(1, appliers)
        self._handlers: dict[str, Handler] = {}
        self._report: Reporter | None = None
        self._cond = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._woken = False
        self._busy = 0  # rows this process is applying right now (for `drain`)
        #: How busy this process is answering (`bot.load`): the applier waits for a lull.
        self.load = load or process_load()
        self._stopping = threading.Event()  # also ends a wait for a lull

    # -- wiring ---------------------------------------------------------------------------
    def handle(self, kind: str, handler: Handler) -> None:
        self._handlers[kind] = handler

    def report_with(self, reporter: Reporter) -> None:
        self._report = reporter

    @property
    def owner(self) -> str:
        """Who holds a lease: the host and process (a forked worker is its own owner)."""
        return f"{socket.gethostname()}:{os.getpid()}"

    # -- the request's side ---------------------------------------------------------------
    def answering(self) -> AbstractContextManager[None]:
        """Around each Slack request (the HTTP front counts its requests too; nesting is
        fine): while the process is busy answering, the applier waits."""
        return self.load.answering()

    def accept(
        self,
        kind: str,
        body: Mapping[str, Any],
        *,
        user: str,
        once: tuple[str, str] | None = None,
        check: Callable[[Connection], None] | None = None,
    ) -> int | None:
        """Store one request, committed before this returns (the caller answers Slack next);
        its row id, or None when `once` (a source and an id, such as a slash command's
        trigger_id) was stored before, so nothing is stored twice. `check` runs first in
        the same transaction (a permission read); what it raises is raised, nothing stored.

        A busy database is tried again within the write budget, else `NotSaved`. In the
        background mode the applier is woken; otherwise the row is applied here and its
        failure raised to the caller, as the listener's own would have been."""
        if kind not in self._handlers:
            raise KeyError(f"no handler for {kind!r}")
        kept = dict(body)

        def store() -> int | None:
            now = self._clock.now()
            with self._engine.begin() as connection:
                if check is not None:
                    check(connection)
                key = f"{once[0]}:{once[1]}" if once is not None else None
                return rows.put(
                    connection, kind=kind, user_id=user, body=kept, now=now, once=key
                )

        try:
            row_id = within_budget(store, seconds=self._budget)
        except BudgetExhausted as exhausted:
            log.warning("a %s was not stored: %s", kind, exhausted)
            raise NotSaved() from exhausted
        if row_id is None:
            return None
        if self.background:
            self.wake()
        else:
            self._apply_now(row_id)
        return row_id

    def _claim(self, limit: int, ids: list[int] | None = None) -> list[rows.Item]:
        now = self._clock.now()
        with self._engine.begin() as connection:
            return rows.claim(
                connection,
                owner=self.owner,
                now=now,
                lease_until=now + self.LEASE,
                limit=limit,
                ids=ids,
            )

    def _apply_now(self, row_id: int) -> None:
        for item in self._claim(1, [row_id]):
            if self._apply(item, raise_errors=True):
                self._end([item], rows.DONE, None)

    # -- the applier ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the applier threads (idempotent); they first apply what was left waiting."""
        with self._cond:
            self._stopping.clear()
            self._woken = True
            self._threads = [t for t in self._threads if t.is_alive()]
            while len(self._threads) < self._appliers:
                thread = threading.Thread(
                    target=self._run, name=f"slack-inbox-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._cond.notify_all()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the rows in hand (what is left waits for the next start)."""
        with self._cond:
            self._stopping.set()
            self._cond.notify_all()
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def wake(self) -> None:
        """Tell an applier thread (if `start` ran) that a row is waiting: one is enough
        (one that claims a full batch wakes the next)."""
        with self._cond:
            self._woken = True
            self._cond.notify()

    def drain(self, timeout: float = 10.0) -> int:
        """Apply everything due now in this thread (tests, the demo, a clean stop); returns
        how many rows it applied. Waits for rows the applier thread holds to finish."""
        deadline = time.monotonic() + timeout
        applied = 0
        while True:
            # A read first: after most requests nothing is waiting, and a claim is a write.
            done = self.run_once() if self.waiting() else 0
            applied += done
            if done:
                continue
            with self._cond:
                busy = self._busy
            if not busy or time.monotonic() >= deadline:
                return applied
            time.sleep(0.01)

    def waiting(self) -> int:
        with self._engine.connect() as connection:
            return rows.waiting(connection)

    def run_once(self, limit: int | None = None) -> int:
        """Claim and apply one batch of due rows; how many were claimed."""
        with self._cond:
            self._busy += 1  # from before the claim, so `drain` never misses a row in hand
        try:
            claimed = self._claim(limit or self.BATCH)
            applier = threading.current_thread() in self._threads
            applied: list[rows.Item] = []
            try:
                for item in claimed:
                    if applier:
                        self._give_way(item)
                    if self._apply(item, raise_errors=False):
                        applied.append(item)
            finally:
                # One write marks the batch done: a write per row was a third of the
                # writes (and of the turns at SQLite's one write lock) an applied note
                # cost. A crash before it leaves the rows to be taken over after their
                # lease, as a crash mid-row always did, and applying again adds nothing.
                self._end(applied, rows.DONE, None)
            return len(claimed)
        finally:
            with self._cond:
                self._busy -= 1

    def _give_way(self, item: rows.Item) -> None:
        """Wait while the process is busy answering, until `item` is YIELD_SECONDS old."""
        age = (self._clock.now() - item.received_at).total_seconds()
        self.load.give_way(age, self.YIELD_SECONDS, self._stopping)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._woken and not self._stopping.is_set():
                    if not self._cond.wait(self.POLL_SECONDS):
                        break  # look for rows another process left behind
                if self._stopping.is_set():
                    return
                self._woken = False
            # Claiming is a write: under a burst of answers, it waits with the rows.
            self.load.give_way(0.0, self.YIELD_SECONDS, self._stopping)
            try:
                while claimed := self.run_once():
                    if claimed >= self.BATCH:
                        self.wake()  # more may be waiting: the other appliers help
                    with self._cond:
                        if self._stopping.is_set():
                            return
            except Exception:
                log.exception("the Slack inbox could not be read; trying again shortly")
                time.sleep(1.0)

    def _apply(self, item: rows.Item, *, raise_errors: bool) -> bool:
        """Apply one row: True when it was done (the caller marks it); a refusal, a failure
        or another try is marked here."""
        handler = self._handlers.get(item.kind)
        ref = uuid.uuid4().hex[:8]
        try:
            if handler is None:
                raise LookupError(f"no handler for {item.kind!r}")
            handler(item.body, item)
        except DomainError as refusal:
            transient = isinstance(refusal, NotSaved)
            if transient and not raise_errors and item.attempts < self.MAX_ATTEMPTS:
                self._retry(item, f"transient: NotSaved (ref {ref})")
                return False
            self._end([item], rows.REFUSED, f"{type(refusal).__name__} (ref {ref})")
            if raise_errors:
                raise
            if item.taken_over:
                # Its first applier stopped mid-way and may have made the change: a
                # refusal now ("already done") is not news to the person who asked.
                log.info("%s %d refused after a take-over (ref %s)", item.kind, item.id, ref)
                return False
            self._tell(refusal, item)
            return False
        except Exception as error:
            transient = is_transient(error) or isinstance(error, BudgetExhausted)
            if transient and not raise_errors and item.attempts < self.MAX_ATTEMPTS:
                self._retry(item, f"transient: {type(error).__name__} (ref {ref})")
                return False
            log.error("%s %d failed (ref %s)", item.kind, item.id, ref, exc_info=error)
            self._end([item], rows.DEAD, f"{type(error).__name__} (ref {ref})")
            if raise_errors:
                raise
            self._tell(error, item)
            return False
        return True

    def _end(self, items: list[rows.Item], status: str, error: str | None) -> None:
        if not items:
            return
        with self._engine.begin() as connection:
            held = rows.end(
                connection,
                row_ids=[item.id for item in items],
                owner=self.owner,
                status=status,
                now=self._clock.now(),
                error=error,
            )
        if held < len(items):
            log.warning(
                "%d of %d %s row(s) were taken over before they were marked %s",
                len(items) - held,
                len(items),
                items[0].kind,
                status,
            )

    def _retry(self, item: rows.Item, error: str) -> None:
        wait = min(30.0, 0.5 * 2 ** (item.attempts - 1))
        with self._engine.begin() as connection:
            rows.retry(
                connection,
                row_id=item.id,
                owner=self.owner,
                at=self._clock.now() + timedelta(seconds=wait),
                error=error,
            )
        log.info("%s %d will be tried again in %.1f s (%s)", item.kind, item.id, wait, error)

    def _tell(self, error: Exception, item: rows.Item) -> None:
        if self._report is None:
            return
        try:
            self._report(error, item.body)
        except Exception:
            log.exception(
                "could not tell %s what happened to %s %d", item.user_id, item.kind, item.id
            )

"""Platform events are acknowledged once stored, then applied right after: in order, once.

A webhook's answer waits only for `Inbox` (the `EventSink` the handlers get): the client is
looked up and the event stored under its unique delivery id in one short transaction, so the
platform hears 200 within milliseconds and a redelivery answers "duplicate". The heavier part
(the policy fold, prompts queued to the outbox, live prompts refreshed) is `InboundApplier`'s:
a background thread woken by each receipt applies what waits, oldest first, through the
`ServiceSink`, whose transaction claims the delivery id again, so an event applied but not yet
marked (a crash in between) has no second effect when the applier meets it again.

What was stored but not applied when a process stopped is applied when an applier runs next:
at start, on every receipt, every `idle_seconds` (events another `serve --workers` process
stored), and on each scheduler tick.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from bot.clock import Clock
from bot.domain.errors import NotSaved
from bot.load import AnswerLoad, process_load
from bot.platform.events import EventSink, PlatformEvent, PlatformEventType, SinkResult
from bot.platform.generic import loggable_id
from storage import inbound as store
from storage.retry import BudgetExhausted, within_budget

log = logging.getLogger(__name__)

#: Failed attempts before an event is given up (logged as an error); the delays between
#: attempts double from 2 s up to `MAX_RETRY_DELAY`.
MAX_ATTEMPTS = 8
MAX_RETRY_DELAY = timedelta(minutes=10)
#: Applied events are marked this many at a time (and at the end of each batch).
MARK_EVERY = 20
#: While the process is busy answering (`bot.load`: a burst of webhooks, or of Slack), the
#: applier waits for a lull before each event, until the event is this old: the
#: acknowledgements get the CPU and the database's write lock first, and what they stored is
#: applied right after the burst (in a long one, as each event reaches this age).
YIELD_SECONDS = 3.0


def event_payload(event: PlatformEvent) -> dict[str, Any]:
    """What is stored of an event: its type, ids and dates (never any message text)."""
    data: dict[str, Any] = {
        "type": event.type.value,
        "chart_id": event.client_id,
        "occurred_at": event.occurred_at.isoformat(),
        "session_at": event.session_at.isoformat() if event.session_at else None,
        "text_present": event.text_present,
        "provider_id": event.provider_id,
        "cancellation": event.cancellation,
        "rescheduled_to": event.rescheduled_to.isoformat() if event.rescheduled_to else None,
    }
    return {k: v for k, v in data.items() if v is not None}


def event_from_row(row: store.Pending) -> PlatformEvent:
    data = row.payload

    def when(field: str) -> datetime | None:
        value = data.get(field)
        return datetime.fromisoformat(value) if value else None

    occurred_at = when("occurred_at")
    assert occurred_at is not None
    return PlatformEvent(
        event_id=row.delivery_id,
        type=PlatformEventType(data["type"]),
        client_id=str(data["chart_id"]),
        occurred_at=occurred_at,
        session_at=when("session_at"),
        source="healthie" if row.source == "healthie" else "generic",
        text_present=bool(data.get("text_present", False)),
        provider_id=data.get("provider_id"),
        cancellation=data.get("cancellation"),
        rescheduled_to=when("rescheduled_to"),
    )


class Inbox:
    """The `EventSink` a webhook handler is given: store the event, wake the applier.

    RECEIVED, DUPLICATE or UNKNOWN_CLIENT (nothing stored); raises `NotSaved` when the event
    could not be stored within the write budget (the handler answers 5xx and the platform
    delivers it again, which is safe: nothing was stored).
    """

    def __init__(
        self, engine: Engine, clock: Clock, *, budget_seconds: float, applier: InboundApplier
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.budget_seconds = budget_seconds
        self.applier = applier

    def __call__(self, event: PlatformEvent, /) -> SinkResult:
        payload = event_payload(event)

        def store_it() -> store.Receipt:
            with self.engine.begin() as connection:
                return store.receive(
                    connection,
                    delivery_id=event.event_id,
                    source=event.source,
                    chart_id=event.client_id,
                    payload=payload,
                    now=self.clock.now(),
                )

        try:
            receipt = within_budget(store_it, seconds=self.budget_seconds)
        except BudgetExhausted as exhausted:
            log.warning("platform event %s not stored: %s", loggable_id(event.event_id), exhausted)
            raise NotSaved() from exhausted
        if receipt is store.Receipt.UNKNOWN_CLIENT:
            return SinkResult.UNKNOWN_CLIENT
        if receipt is store.Receipt.DUPLICATE:
            return SinkResult.DUPLICATE
        self.applier.wake()
        return SinkResult.RECEIVED


@dataclass
class Drained:
    """What one `drain` did."""

    applied: int = 0
    failed: int = 0


class InboundApplier:
    """Applies stored platform events in the order received, each once.

    `start()` runs it on background threads (what `serve` does); `drain()` applies
    everything that waits, in the caller's thread (the scheduler's tick, tests, the demo).

    Clients are spread over `lanes` by id (`client_id % lanes`); each lane is applied by one
    applier at a time per database (`storage.inbound.ApplierTurn`), in the order received,
    so a client's events never overtake each other while different clients' events are
    applied side by side. SQLite has one writer, so it gets one lane whatever is asked.
    """

    def __init__(
        self,
        engine: Engine,
        sink: EventSink,
        clock: Clock,
        *,
        batch: int = 100,
        idle_seconds: float = 0.25,
        lanes: int = 4,
        load: AnswerLoad | None = None,
    ) -> None:
        self.engine = engine
        self.sink = sink
        self.clock = clock
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.lanes = lanes if engine.dialect.name == "postgresql" else 1
        self.turns = [store.ApplierTurn(engine, lane=n) for n in range(self.lanes)]
        self._wakeups = [threading.Event() for _ in range(self.lanes)]
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.load = load or process_load()
        self.name = f"applier-{uuid.uuid4().hex[:6]}"

    def wake(self) -> None:
        """An event was stored (in this process): apply it now, unless busy with others."""
        for wakeup in self._wakeups:
            wakeup.set()

    def _give_way(self, row: store.Pending) -> None:
        """Wait for a lull in the answers, until `row` is YIELD_SECONDS old."""
        age = (self.clock.now() - row.received_at).total_seconds()
        self.load.give_way(age, YIELD_SECONDS, self._stopping)

    def drain(self, *, wait: bool = True) -> Drained:
        """Apply every stored event that is due, oldest first; returns what it did. Without
        `wait`, a lane another applier is working on is left to it."""
        done = Drained()
        for lane in range(self.lanes):
            self._drain_lane(lane, done, wait=wait)
        return done

    def _drain_lane(self, lane: int, done: Drained, *, wait: bool) -> None:
        held: set[int] = set()  # clients whose event failed: their later events wait
        with self.turns[lane](wait=wait) as mine:
            if not mine:
                return
            while not self._stopping.is_set():
                with self.engine.connect() as connection:
                    rows = store.pending(
                        connection,
                        now=self.clock.now(),
                        limit=self.batch,
                        lane=(lane, self.lanes),
                    )
                if not rows:
                    break
                applied: list[tuple[int, str]] = []
                before = done.applied
                try:
                    for row in rows:
                        if self._stopping.is_set():
                            break
                        if row.client_id in held:
                            continue
                        self._give_way(row)
                        result = self._apply(row)
                        if result is None:
                            done.failed += 1
                            held.add(row.client_id)
                            continue
                        done.applied += 1
                        applied.append((row.id, result.value))
                        if len(applied) >= MARK_EVERY:
                            self._mark(applied)
                            applied = []
                finally:
                    self._mark(applied)
                if done.applied == before:
                    break  # what is left waits for its retry time (or for a failed one)

    def _apply(self, row: store.Pending) -> SinkResult | None:
        """Apply one event; None when it failed and waits for another try."""
        event: PlatformEvent | None = None
        try:
            event = event_from_row(row)
            return self.sink(event)
        except Exception as error:  # one bad event must not stop the others
            self._failed(row, event, error)
            return None

    def _mark(self, outcomes: list[tuple[int, str]]) -> None:
        """Mark applied events, several per transaction: one applied but not yet marked (the
        process stopped in between) is met again and answers DUPLICATE, changing nothing."""
        if not outcomes:
            return

        def mark() -> None:
            with self.engine.begin() as connection:
                store.mark(connection, outcomes, now=self.clock.now())

        within_budget(mark, seconds=30.0)

    def _failed(self, row: store.Pending, event: PlatformEvent | None, error: Exception) -> None:
        attempts = row.attempts + 1
        what = f"{loggable_id(row.delivery_id)} ({event.type.value if event else 'unreadable'})"
        now = self.clock.now()
        if attempts >= MAX_ATTEMPTS:
            log.error(
                "platform event %s given up after %d attempts (%s)",
                what,
                attempts,
                error.__class__.__name__,
                exc_info=not isinstance(error, NotSaved),
            )
            self._mark([(row.id, "given_up")])
            return
        delay = min(MAX_RETRY_DELAY, timedelta(seconds=2**attempts))
        log.warning(
            "platform event %s not applied (attempt %d, %s); tried again in %d s",
            what,
            attempts,
            error.__class__.__name__,
            delay.total_seconds(),
            exc_info=not isinstance(error, NotSaved),
        )

        def defer() -> None:
            with self.engine.begin() as connection:
                store.defer(connection, row.id, attempts=attempts, retry_at=now + delay)

        within_budget(defer, seconds=30.0)

    # -- the background threads ------------------------------------------------------------
    def start(self) -> InboundApplier:
        """Apply what waits now (events left by a stopped process), then on every wake-up."""
        self._stopping.clear()
        for lane in range(self.lanes):
            self._wakeups[lane].set()
            thread = threading.Thread(
                target=self._run, args=(lane,), name=f"{self.name}-{lane}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        return self

    def _run(self, lane: int) -> None:
        wakeup = self._wakeups[lane]
        while not self._stopping.is_set():
            wakeup.wait(self.idle_seconds)
            wakeup.clear()
            if self._stopping.is_set():
                break
            try:
                self._drain_lane(lane, Drained(), wait=False)
            except Exception:
                log.exception("the inbound applier failed; it tries again shortly")
                self._stopping.wait(self.idle_seconds)

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the events in hand and stop; what waits is applied by the next applier."""
        self._stopping.set()
        for wakeup in self._wakeups:
            wakeup.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

"""Writes that cannot be made right now are tried again inside a time budget, or refused whole.

A request has a budget (Slack gives up after 3 s). Inside `within_budget(...)`, every
transaction is told how long it may wait for a lock (SQLite's busy timeout, PostgreSQL's
`lock_timeout`), and a unit of work that fails for a passing reason — SQLite's `database is
locked`, a PostgreSQL deadlock or serialization failure, a lock wait that ran out, a dropped
connection — is rolled back and run again from the start while time remains. When it runs out,
`BudgetExhausted` is raised: the caller says plainly that nothing was saved (the rolled-back
transaction left nothing half-done).
"""

from __future__ import annotations

import bisect
import fcntl
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import Engine, event
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError

T = TypeVar("T")

#: SQLite's wait for the write lock outside any budget (the scheduler, the CLI).
DEFAULT_SQLITE_BUSY_MS = 30_000
#: Never wait less than this for a lock: a shorter wait only turns a queue into refusals.
MIN_WAIT_MS = 50

#: The lock waits actually set, in ms: the remaining budget rounded down to one of these
#: (about a fifth below it at most; a budget is 60 s at most). The wait goes into the SQL
#: text (a PRAGMA or `SET` takes no parameters), and every distinct text takes a slot in the
#: driver's per-connection statement cache (sqlite3: 128, LRU); one text per millisecond
#: left filled it with PRAGMAs that crowded out the real queries. Now: a few dozen at most.
WAIT_STEPS_MS: tuple[int, ...] = tuple(
    sorted({round(MIN_WAIT_MS * 1.25**k) for k in range(33)} | {DEFAULT_SQLITE_BUSY_MS})
)

_deadline: ContextVar[float | None] = ContextVar("write_deadline", default=None)

#: PostgreSQL SQLSTATEs worth another try: serialization failure, deadlock, lock not
#: available (lock_timeout), query cancelled (statement_timeout), and the connection classes.
_PG_TRANSIENT = {"40001", "40P01", "55P03", "57014", "57P01", "08000", "08003", "08006"}
_SQLITE_TRANSIENT = ("database is locked", "database is busy", "database table is locked")


class BudgetExhausted(Exception):
    """The write was tried until the budget ran out; nothing of it was kept."""

    def __init__(self, attempts: int, cause: BaseException) -> None:
        self.attempts = attempts
        super().__init__(f"gave up after {attempts} attempt(s): {cause.__class__.__name__}")


def is_transient(error: BaseException) -> bool:
    """Whether trying the same unit of work again may well succeed."""
    if not isinstance(error, DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    if code is not None:
        return str(code) in _PG_TRANSIENT or str(code).startswith("08")
    message = str(original).lower()
    return any(words in message for words in _SQLITE_TRANSIENT)


def remaining_ms() -> int | None:
    """Milliseconds left in the current budget (never below MIN_WAIT_MS), None outside one."""
    deadline = _deadline.get()
    if deadline is None:
        return None
    return max(MIN_WAIT_MS, int((deadline - time.monotonic()) * 1000))


def lock_wait_step(ms: int) -> int:
    """`ms` rounded down to the nearest of WAIT_STEPS_MS (never below the smallest)."""
    return WAIT_STEPS_MS[max(0, bisect.bisect_right(WAIT_STEPS_MS, ms) - 1)]


@contextmanager
def lock_waits_within(seconds: float) -> Iterator[None]:
    """Bound every lock wait in the block by one deadline, without trying anything again
    (for work with effects outside the database, e.g. posting to Slack)."""
    if _deadline.get() is not None:
        yield
        return
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def within_budget(
    work: Callable[[], T], *, seconds: float, sleep: Callable[[float], Any] = time.sleep
) -> T:
    """Run `work` (one or more whole units of work) until it succeeds or `seconds` pass.

    Nested calls join the outer budget and leave the retrying to it (the outer call is
    the one that starts again from the beginning).
    """
    if _deadline.get() is not None:
        return work()
    token = _deadline.set(time.monotonic() + seconds)
    attempts = 0
    try:
        while True:
            attempts += 1
            try:
                return work()
            except DBAPIError as error:
                if not is_transient(error):
                    raise
                deadline = _deadline.get()
                assert deadline is not None
                pause = min(0.2, 0.01 * 2**attempts) * random.uniform(0.5, 1.0)
                if time.monotonic() + pause >= deadline:
                    raise BudgetExhausted(attempts, error) from error
                sleep(pause)
    finally:
        _deadline.reset(token)


def install_lock_waits(engine: Engine) -> None:
    """Each transaction waits for locks no longer than its budget allows."""
    postgres = engine.dialect.name == "postgresql"

    @event.listens_for(engine, "begin")
    def _lock_wait(connection: Any) -> None:
        wait = remaining_ms()
        if postgres:
            # A session setting, sent only when it changes (a round trip per transaction
            # saved); 0, the server's default, outside a budget. A SET inside a transaction
            # that rolls back is undone with it: `_forget_lock_wait` then forgets it here too.
            timeout = 0 if wait is None else lock_wait_step(wait)
            info = connection.connection.info
            if info.get(_TIMEOUT_SET) != timeout:
                connection.exec_driver_sql(f"SET lock_timeout = {timeout}")
                info[_TIMEOUT_SET] = timeout
            return
        dbapi = connection.connection.driver_connection
        if dbapi is None:
            return
        busy = DEFAULT_SQLITE_BUSY_MS if wait is None else lock_wait_step(wait)
        info = connection.connection.info
        if info.get(_BUSY_SET) != busy:  # a connection keeps it: set only when it changes
            dbapi.execute(f"PRAGMA busy_timeout = {busy}")
            info[_BUSY_SET] = busy

    if postgres:

        @event.listens_for(engine, "rollback")
        def _forget_lock_wait(connection: Any) -> None:
            try:
                info = connection.connection.info
            except SQLAlchemyError:  # a connection lost mid-way: its successor starts afresh
                return
            info.pop(_TIMEOUT_SET, None)

    else:
        _queue_sqlite_writers(engine)


_BUSY_SET = "discharge_busy_timeout_ms"
_TIMEOUT_SET = "discharge_lock_timeout_ms"
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "SAVEPOINT")
_HELD = "discharge_write_turn"


def _queue_sqlite_writers(engine: Engine) -> None:
    """SQLite has one write lock, and a writer that finds it taken sleeps and polls (up to
    100 ms a nap), so under load the lock sits free while waiters sleep and the slowest
    wait for seconds. Writers therefore queue for their turn, taken at a transaction's first
    write and given back at its end: the threads of one process on a lock of their own, and
    then the processes writing the same file (`serve --workers`, a `tick` beside it) on
    `WriterTurn`, so SQLite's own wait is left to writers that are not ours."""
    turn = threading.Lock()
    path = engine.url.database
    shared = WriterTurn(f"{path}-writer.lock") if path and path != ":memory:" else None

    @event.listens_for(engine, "before_cursor_execute")
    def _take_turn(connection: Any, _c: Any, statement: str, *_: Any) -> None:
        info = connection.connection.info
        if info.get(_HELD) or not statement.lstrip()[:9].upper().startswith(_WRITES):
            return
        wait = remaining_ms()
        deadline = time.monotonic() + (DEFAULT_SQLITE_BUSY_MS if wait is None else wait) / 1000
        if not turn.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise _locked(statement)
        if shared is not None and not shared.acquire(deadline):
            turn.release()
            raise _locked(statement)
        info[_HELD] = True

    def _give_back(info: dict[str, Any]) -> None:
        if info.pop(_HELD, False):
            if shared is not None:
                shared.release()
            turn.release()

    @event.listens_for(engine, "commit")
    def _after_commit(connection: Any) -> None:
        _give_back(connection.connection.info)

    @event.listens_for(engine, "rollback")
    def _after_rollback(connection: Any) -> None:
        _give_back(connection.connection.info)

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi: Any, record: Any) -> None:
        _give_back(record.info)


def _locked(statement: str) -> OperationalError:
    """What SQLite itself raises when its write lock stays taken (a transient error)."""
    return OperationalError(statement, None, sqlite3.OperationalError("database is locked"))


class WriterTurn:
    """One writer at a time across the processes of one SQLite file: an exclusive `flock`
    on a file beside it, held from a transaction's first write to its end.

    A waiter tries again every few tenths of a millisecond, so it takes the turn as soon as
    it is free, where SQLite's busy handler sleeps up to 100 ms a nap. Opened once per
    process (a forked worker opens its own: a lock on an inherited descriptor would be
    shared with the parent). The kernel drops the lock of a process that dies. Only the
    order of our own writers depends on it: SQLite's lock still guards the file."""

    FIRST_PAUSE = 0.0002
    LONGEST_PAUSE = 0.002

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def _descriptor(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def acquire(self, deadline: float) -> bool:
        """Take the turn before `deadline` (monotonic); False if another kept it."""
        fd = self._descriptor()
        pause = self.FIRST_PAUSE
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(pause)
                pause = min(pause * 2, self.LONGEST_PAUSE)

    def release(self) -> None:
        fcntl.flock(self._descriptor(), fcntl.LOCK_UN)

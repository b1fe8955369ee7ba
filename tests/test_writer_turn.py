"""SQLite's writers take their turn on one lock shared by every process writing the file
(`storage.retry.WriterTurn`), given back when the transaction ends, whatever ends it."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from storage.db import make_engine
from storage.retry import WriterTurn, within_budget


def soon(seconds: float = 0.05) -> float:
    return time.monotonic() + seconds


def test_one_holder_at_a_time_and_the_next_one_gets_it_when_given_back(tmp_path: Path) -> None:
    first, second = WriterTurn(str(tmp_path / "w.lock")), WriterTurn(str(tmp_path / "w.lock"))
    assert first.acquire(soon())
    assert not second.acquire(soon())  # waited until its deadline, then said no
    first.release()
    assert second.acquire(soon())
    second.release()


def _try_in_child(path: str, seconds: float, results: multiprocessing.Queue) -> None:
    turn = WriterTurn(path)
    results.put(turn.acquire(soon(seconds)))
    turn.release()


def test_a_forked_process_waits_for_the_parents_turn(tmp_path: Path) -> None:
    path = str(tmp_path / "w.lock")
    turn = WriterTurn(path)
    turn.acquire(soon())  # opened before the fork: the child must not share it
    fork = multiprocessing.get_context("fork")
    results: multiprocessing.Queue = fork.Queue()
    child = fork.Process(target=_try_in_child, args=(path, 0.1, results))
    child.start()
    assert results.get(timeout=10) is False
    child.join(10)
    turn.release()
    child = fork.Process(target=_try_in_child, args=(path, 5.0, results))
    child.start()
    assert results.get(timeout=10) is True
    child.join(10)


def test_a_transaction_holds_the_turn_from_its_first_write_to_its_end(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = make_engine(url)
    other = WriterTurn(f"{tmp_path / 'db.sqlite'}-writer.lock")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    for ending in ("commit", "rollback"):
        connection = engine.connect()
        transaction = connection.begin()
        connection.execute(text("SELECT count(*) FROM t"))
        assert other.acquire(soon())  # a read takes no turn
        other.release()
        connection.execute(text("INSERT INTO t VALUES (1)"))
        assert not other.acquire(soon())
        getattr(transaction, ending)()
        assert other.acquire(soon())
        other.release()
        connection.close()
    engine.dispose()


def test_a_writer_that_cannot_have_the_turn_within_its_budget_is_refused(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
    holder = WriterTurn(f"{tmp_path / 'db.sqlite'}-writer.lock")
    assert holder.acquire(soon())

    def write() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (1)"))

    started = time.monotonic()
    with pytest.raises(Exception, match="gave up"):
        within_budget(write, seconds=0.3)
    assert time.monotonic() - started < 5
    holder.release()
    within_budget(write, seconds=0.3)  # free again: written at once
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM t")) == 1
    engine.dispose()

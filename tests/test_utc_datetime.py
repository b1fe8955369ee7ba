"""Instants read back from either backend are aware UTC, the same instant that was stored,
also when the reader remembers repeated values (issue #14: a caseload's schedules
repeat, and parsing each was a tenth of reading it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, insert, select

import storage.types
from storage.types import UtcDateTime

START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def table() -> Table:
    return Table(
        "instants_under_test",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("at", UtcDateTime(), nullable=True),
    )


@pytest.mark.parametrize("remembered", [4096, 2])
def test_instants_come_back_aware_utc_and_equal_repeated_or_not(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, remembered: int
) -> None:
    monkeypatch.setattr(storage.types, "_REMEMBERED", remembered)  # 2: forgets constantly
    instants = table()
    toronto = timezone(timedelta(hours=-5))
    stored = [
        START,
        START.astimezone(toronto),  # the same instant, written in another zone
        None,
        START + timedelta(days=1),
        START + timedelta(microseconds=1),
        START + timedelta(days=1),
        START,
    ]
    instants.create(engine)
    try:
        with engine.begin() as connection:
            connection.execute(insert(instants), [{"at": at} for at in stored])
        for _ in range(2):  # the second read finds them remembered
            with engine.connect() as connection:
                read = connection.execute(select(instants.c.at).order_by(instants.c.id))
                got = [row.at for row in read]
            assert got == stored
            assert all(at is None or at.utcoffset() == timedelta(0) for at in got)
            assert all(at is None or at.tzinfo is UTC for at in got)
    finally:
        instants.drop(engine)


def test_a_naive_instant_is_refused(engine: Engine) -> None:
    instants = table()
    instants.create(engine)
    try:
        with pytest.raises(Exception, match="naive"), engine.begin() as connection:
            connection.execute(insert(instants), [{"at": datetime(2026, 3, 2, 15, 0)}])
    finally:
        instants.drop(engine)

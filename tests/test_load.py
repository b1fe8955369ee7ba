"""`bot.load`: work that can wait gives way while the process is busy answering, for a
bounded time, and not at all for a trickle of requests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.load import AnswerLoad


@contextmanager
def answering_every(load: AnswerLoad, hold: float, gap: float) -> Iterator[None]:
    """A thread answering requests that take `hold` seconds, `gap` seconds apart."""
    done = threading.Event()

    def serve() -> None:
        while not done.is_set():
            with load.answering():
                time.sleep(hold)
            time.sleep(gap)

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        time.sleep(0.1)
        yield
    finally:
        done.set()
        thread.join()


def waited(load: AnswerLoad, seconds: float, stop: threading.Event | None = None) -> float:
    started = time.monotonic()
    load.wait_for_lull(started + seconds, stop or threading.Event())
    return time.monotonic() - started


def test_an_idle_process_does_not_wait() -> None:
    assert waited(AnswerLoad(), 5.0) < 0.5


def test_a_burst_is_waited_out_but_only_until_the_bound() -> None:
    load = AnswerLoad()
    with answering_every(load, hold=0.02, gap=0.0005):  # a request in hand ~97% of the time
        took = waited(load, 0.6)
    assert took >= 0.5  # it waited (almost) to its bound
    assert took < 3.0  # and no longer


def test_a_trickle_is_not_a_burst() -> None:
    load = AnswerLoad()
    with answering_every(load, hold=0.003, gap=0.02):  # in hand ~13% of the time
        took = waited(load, 5.0)
    assert took < 1.0


def test_a_stop_ends_the_wait() -> None:
    load = AnswerLoad()
    stop = threading.Event()
    with answering_every(load, hold=0.02, gap=0.0005):
        threading.Timer(0.2, stop.set).start()
        took = waited(load, 30.0, stop)
    assert took < 5.0


def test_nested_answers_count_once() -> None:
    load = AnswerLoad()
    with load.answering(), load.answering():
        assert not load.idle()
    time.sleep(load.SAMPLE_SECONDS * 1.5)
    assert load.idle()

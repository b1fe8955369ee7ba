"""A progress line for long commands: redrawn in place on a terminal, silent elsewhere."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

WIDTH = 24  # characters of bar


class ProgressLine:
    """`update(done, total)` redraws one line (`\\r`, no newline) on `stream` when it is a
    terminal; in a pipe, a log or a cron mail it writes nothing, so the command's one-line
    summary is all that is left there. `finish()` ends the line."""

    def __init__(
        self,
        stream: TextIO,
        *,
        label: str,
        unit: str = "clients",
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.label = label
        self.unit = unit
        self.timer = timer
        self.started = timer()
        self.drawn = False
        try:
            self.live = stream.isatty()
        except (AttributeError, ValueError):  # a closed or odd stream: stay quiet
            self.live = False

    def update(self, done: int, total: int) -> None:
        if not self.live:
            return
        share = done / total if total else 1.0
        filled = round(WIDTH * share)
        elapsed = max(self.timer() - self.started, 1e-9)
        rate = done / elapsed
        self.stream.write(
            f"\r{self.label} [{'#' * filled}{'.' * (WIDTH - filled)}] "
            f"{done:,}/{total:,} {self.unit} {share:4.0%}, {rate:,.0f}/s, {elapsed:.1f} s"
        )
        self.stream.flush()
        self.drawn = True

    def finish(self) -> None:
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()
            self.drawn = False

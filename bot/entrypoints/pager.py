"""Long output through a pager on a terminal, as git does: $PAGER, else `less`, else plain."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TextIO, cast


def pager_command(environ: Mapping[str, str]) -> str | None:
    """The pager to run: $PAGER when set (empty or `cat`: none), else `less` when
    installed. Less gets git's LESS=FRX unless the user set LESS: it quits at once when the
    text fits one screen, keeps colours, and leaves the text on the screen."""
    chosen = environ.get("PAGER")
    if chosen is not None:
        chosen = chosen.strip()
        return None if chosen in ("", "cat") else chosen
    return "less" if shutil.which("less") else None


@contextmanager
def output_pager(
    *,
    enabled: bool = True,
    stdout: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> Iterator[TextIO]:
    """A stream to write long output to: a pager's input when `stdout` is a terminal and
    a pager is configured, else `stdout` itself. Quitting the pager early ends the output
    quietly (the writer's BrokenPipeError is swallowed here, and only here)."""
    out = stdout or sys.stdout
    env = dict(os.environ if environ is None else environ)
    command = pager_command(env) if enabled and _isatty(out) else None
    if command is None:
        yield out
        return
    env.setdefault("LESS", "FRX")
    try:
        process = subprocess.Popen(  # noqa: S602 - $PAGER is a shell command line, as for git
            command, shell=True, stdin=subprocess.PIPE, env=env, text=True, encoding="utf-8"
        )
    except OSError:
        yield out
        return
    assert process.stdin is not None
    try:
        yield cast(TextIO, process.stdin)
        process.stdin.close()
    except BrokenPipeError:
        pass  # the reader quit the pager before the end
    finally:
        with suppress(BrokenPipeError):
            process.stdin.close()
        process.wait()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

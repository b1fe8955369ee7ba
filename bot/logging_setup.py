"""Logging: one JSON object per line when not on a terminal, a readable line when on one.

Every line carries the ids in force when it was written -- `request_id` (one per HTTP request
to the front) and `episode_id` (the episode a tick or a delivery is working on) -- set with
`log_context(...)`. Ids, kinds, sizes and durations only: never a request body, a name or note
text. Newlines in a message are escaped, so one record is always one line.
`LOG_FORMAT=json|text` overrides the terminal check.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO, Any

HANDLER_NAME = "discharge-bot"
_CONTEXT: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "discharge_bot_log_context", default=None
)


@contextlib.contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Attach these ids (e.g. request_id, episode_id) to every record logged inside."""
    current = _CONTEXT.get() or {}
    token = _CONTEXT.set({**current, **{k: v for k, v in ids.items() if v is not None}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def current_context() -> dict[str, Any]:
    return dict(_CONTEXT.get() or {})


def _one_line(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\r", "\\r").replace("\n", "\\n")


class ContextFilter(logging.Filter):
    """Copies the ids of `log_context` onto each record (as `record.ids`)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.ids = current_context()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "ids", None) or {})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = getattr(record, "ids", None) or {}
        if ids:
            line += " [" + " ".join(f"{k}={v}" for k, v in ids.items()) + "]"
        head, sep, trace = line.partition("\nTraceback")
        return _one_line(head) + (sep + trace if sep else "")


def configure_logging(
    *, verbose: bool = False, stream: IO[str] | None = None, json_lines: bool | None = None
) -> logging.Handler:
    """Install our handler on the root logger (replacing one installed before; handlers
    others added, such as pytest's, stay); returns it."""
    stream = stream or sys.stderr
    if json_lines is None:
        chosen = os.environ.get("LOG_FORMAT", "").strip().lower()
        json_lines = chosen == "json" or (chosen != "text" and not _isatty(stream))
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(ContextFilter())
    handler.set_name(HANDLER_NAME)
    root = logging.getLogger()
    for old in list(root.handlers):
        if old.get_name() == HANDLER_NAME:
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    if not verbose:
        logging.getLogger("alembic").setLevel(logging.WARNING)
    return handler


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False

"""What may reach a log: ids, kinds, sizes, durations and error classes; never a body.

Two guards, both installed wherever the bot builds a Slack client, a Bolt app or a
database engine (so a test, `serve` and every CLI command get them alike):

* `quiet_libraries()` raises the libraries that log request or message bodies, or SQL
  parameters, to WARNING: Bolt logs the whole body of a request that fails its signature
  check at INFO, slack_sdk logs every Web API request and answer (message text included) at
  DEBUG, SQLAlchemy and psycopg log statements with their parameters at INFO/DEBUG.
* `escape_line` puts text (a driver's error message, say) on one line before it is printed.
  The process's formatters (bot.logging_setup) escape newlines in every record.
"""

from __future__ import annotations

import logging

#: Loggers whose INFO/DEBUG records carry request bodies, message text or SQL parameters.
NOISY_LOGGERS = (
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy.engine",
    "sqlalchemy.pool",
    "psycopg",
    "urllib3",
)

_CONTROL = {i: f"\\x{i:02x}" for i in range(32) if i not in (9,)}
_CONTROL.update({10: "\\n", 13: "\\r", 0x7F: "\\x7f", 0x2028: "\\u2028", 0x2029: "\\u2029"})


def escape_line(text: str) -> str:
    """`text` on one line: newlines and control characters shown as escapes."""
    return text.translate(_CONTROL)


def quiet_libraries() -> None:
    """Keep library loggers that echo bodies or SQL parameters at WARNING and above."""
    for name in NOISY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET or logger.level < logging.WARNING:
            logger.setLevel(logging.WARNING)

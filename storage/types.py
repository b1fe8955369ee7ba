"""Column types: instants are stored as aware UTC on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator

#: Distinct stored instants the reader remembers. The models share one `UtcDateTime` (their
#: `type_annotation_map`), so this is one memory per database engine, for every instant
#: column: ~0.8 MB at most (datetimes are immutable, so a remembered one is shared safely).
_REMEMBERED = 4096


class UtcDateTime(TypeDecorator[datetime]):
    """`timestamptz` on PostgreSQL; on SQLite, UTC text read back as aware UTC.

    Naive datetimes are refused on the way in: a missing zone is a bug, not a guess.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"refusing to store naive datetime {value.isoformat()}")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def result_processor(self, dialect: Dialect, coltype: Any) -> Any:
        """The stored value -> aware UTC, remembered for the last few thousand distinct
        values: schedules repeat (100,000 clients' due dates take ~2,000 values), and
        parsing and converting each was a tenth of reading the whole caseload."""
        convert = super().result_processor(dialect, coltype)
        if convert is None:
            return None
        seen: dict[Any, Any] = {}

        def process(value: Any) -> Any:
            if value is None:
                return None
            try:
                return seen[value]
            except KeyError:
                pass
            if len(seen) >= _REMEMBERED:
                seen.clear()
            found = seen[value] = convert(value)
            return found

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

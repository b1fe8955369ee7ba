"""What several benchmarks share: a PostgreSQL database of their own on a fresh machine."""

from __future__ import annotations

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage.db import normalise_url


def ensure_postgres_database(url: str) -> str:
    """Create the database `url` names when the server does not have it yet (a fresh
    machine has only `postgres` and the session's `test`); returns `url` unchanged.

    The benchmark then empties it itself: this never drops anything."""
    target = make_url(normalise_url(url))
    name = target.database
    if not name:
        raise SystemExit(f"{url}: name a database in the URL")
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            exists = connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if not exists:
                quoted = admin.dialect.identifier_preparer.quote(name)
                connection.execute(text(f"CREATE DATABASE {quoted}"))
    finally:
        admin.dispose()
    return url

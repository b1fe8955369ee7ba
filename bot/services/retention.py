"""Key rotation and the retention purge: the two admin jobs over the sensitive columns.

Both work on the stored values directly (not through the ORM types), so a rotation reads
exactly what is on disk and writes exactly what it means to, and a purge never needs a key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Connection, Engine, column, insert, select, table, update
from sqlalchemy.sql.expression import ColumnClause

from storage.crypto import SEALED_FIELDS, Keyring, is_encrypted
from storage.models import AuditEntry, Episode

#: (table, id column, sensitive column): every text column that may hold a ciphertext
#: (and admin_notes.fields, whose clinical values are sealed one by one).
SENSITIVE = (
    ("admin_notes", "id", "body"),
    ("clients", "id", "first_name"),
    ("headsups", "id", "reason"),
    ("slack_inbox", "id", "body"),
)
PURGED_PREFIX = "[removed by the retention purge"
PURGED_BODY = PURGED_PREFIX + " on {day}; the audit trail keeps what happened]"


@dataclass(frozen=True)
class RotationReport:
    rewritten: dict[str, int]
    encrypted_after: bool

    def __str__(self) -> str:
        parts = ", ".join(f"{n} {name}" for name, n in self.rewritten.items())
        how = "under the current key" if self.encrypted_after else "in plain text (no key set)"
        return f"Re-wrote {parts} {how}."


def rotate_keys(engine: Engine, keyring: Keyring) -> RotationReport:
    """Re-encrypt every sensitive value under the keyring's newest key, in one transaction.

    Plain values (written before a key was set) are encrypted too; a value no key opens
    stops the rotation with nothing changed (EncryptionError)."""
    rewritten: dict[str, int] = {}
    with engine.begin() as connection:
        for table_name, id_name, column_name in SENSITIVE:
            ids: ColumnClause[Any] = column(id_name)
            values: ColumnClause[Any] = column(column_name)
            target = table(table_name, ids, values)
            rows = connection.execute(select(ids, values).where(values.is_not(None))).all()
            count = 0
            for row_id, stored in rows:
                if not keyring.encrypting and not is_encrypted(stored):
                    continue
                fresh = keyring.reencrypt(stored)
                connection.execute(update(target).where(ids == row_id).values({column_name: fresh}))
                count += 1
            rewritten[f"{table_name}.{column_name}"] = count
        rewritten["admin_notes.fields"] = _rotate_fields(connection, keyring)
    return RotationReport(rewritten, keyring.encrypting)


def _rotate_fields(connection: Connection, keyring: Keyring) -> int:
    ids: ColumnClause[Any] = column("id")
    fields: ColumnClause[Any] = column("fields", JSON)
    target = table("admin_notes", ids, fields)
    count = 0
    for row_id, stored in connection.execute(select(ids, fields).where(fields.is_not(None))):
        value = json.loads(stored) if isinstance(stored, str) else stored
        if not isinstance(value, dict):
            continue
        sealed = {k: v for k, v in value.items() if k in SEALED_FIELDS and isinstance(v, str)}
        if not sealed or (not keyring.encrypting and not any(map(is_encrypted, sealed.values()))):
            continue
        fresh = {**value, **{k: keyring.reencrypt(v) for k, v in sealed.items()}}
        connection.execute(update(target).where(ids == row_id).values(fields=fresh))
        count += 1
    return count


@dataclass(frozen=True)
class PurgeReport:
    before: datetime
    episodes: int
    notes: int
    summaries: int

    def __str__(self) -> str:
        day = self.before.date().isoformat()
        if not self.episodes:
            return f"No episode closed before {day} still holds note text; nothing removed."
        return (
            f"Removed the text of {self.notes} note(s), {self.summaries} of them discharge "
            f"summaries (body and fields), from {self.episodes} episode(s) closed before {day}. "
            "Events, dates, states and the audit trail are kept."
        )


def purge_closed(engine: Engine, *, before: datetime, now: datetime, actor: str) -> PurgeReport:
    """Blank note bodies, summary fields and heads-up reasons of episodes closed before
    `before`.

    Each purged episode gets an audit entry saying what was removed, by whom, when. Notes
    already purged are not counted again."""
    marker = PURGED_BODY.format(day=now.date().isoformat())
    headsups = table("headsups", column("episode_id"), column("reason"))
    notes = table(
        "admin_notes",
        column("id"),
        column("episode_id"),
        column("kind"),
        column("body"),
        column("fields"),
    )
    with engine.begin() as connection:
        closed = connection.execute(
            select(Episode.id, Episode.client_id).where(
                Episode.closed_at.is_not(None), Episode.closed_at < before
            )
        ).all()
        episodes = note_total = summary_total = 0
        for episode_id, client_id in closed:
            rows = connection.execute(
                select(notes.c.id, notes.c.kind, notes.c.body).where(
                    notes.c.episode_id == episode_id
                )
            ).all()
            live = [
                (note_id, kind)
                for note_id, kind, body in rows
                if not str(body or "").startswith(PURGED_PREFIX)
            ]
            reasons = connection.execute(
                update(headsups)
                .where(headsups.c.episode_id == episode_id, headsups.c.reason.is_not(None))
                .values(reason=None)
            ).rowcount
            if not live and not reasons:
                continue
            ids = [note_id for note_id, _ in live]
            summaries = sum(1 for _, kind in live if kind == "discharge_summary")
            if ids:
                connection.execute(
                    update(notes).where(notes.c.id.in_(ids)).values(body=marker, fields=None)
                )
            connection.execute(
                insert(AuditEntry).values(
                    at=now,
                    actor=actor,
                    action="retention_purge",
                    client_id=client_id,
                    episode_id=episode_id,
                    details={
                        "notes": len(ids),
                        "summaries": summaries,
                        "headsup_reasons": reasons,
                        "closed_before": before.isoformat(),
                    },
                )
            )
            episodes += 1
            note_total += len(ids)
            summary_total += summaries
    return PurgeReport(before, episodes, note_total, summary_total)


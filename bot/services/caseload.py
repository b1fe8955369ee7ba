"""The caseload import: parsed rows in, clients, clinicians and planned episodes out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.domain.calendar import WorkingHours
from bot.domain.model import EpisodeHistory, Event, EventKind, OpenReason, State
from bot.domain.plausibility import check_text
from bot.domain.policy import assess
from bot.services.caseload_file import CaseloadRow as CaseloadInput
from bot.services.caseload_file import ImportReport
from bot.services.episodes import Episodes, stored_columns
from bot.services.types import Actor
from storage.models import AuditEntry, Client, Clinician, Episode, EventRecord
from storage.repository import Repository

#: Rows per batch: one lookup of the batch's known clients, then one executemany per table.
BATCH = 2000

#: Clients added or changed from which an import counts as a bulk write
#: (`UnitOfWork.after_bulk_write`).
BULK = 10_000

#: Called after each batch with (rows done, rows in the file).
Progress = Callable[[int, int], None]


class CaseloadImport:
    """Importing (and re-importing) the practice's caseload file."""

    def __init__(self, episodes: Episodes) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock

    def import_caseload(
        self,
        rows: Sequence[CaseloadInput],
        *,
        actor: Actor,
        progress: Progress | None = None,
        batch: int = BATCH,
    ) -> ImportReport:
        """Write parsed rows in one transaction (all or nothing); the same file twice
        changes nothing.

        New clients get an episode whose schedule is planned at once (nothing is queued:
        saying things is the tick's job). For known clients a reassignment, a changed first
        name, a later last contact or a new booking is applied; anything else is left alone.

        Rows go in batches: the batch's known clients are read in one query, and its new
        clients, their episodes, their opening events and the audit entries are each one
        executemany. What is written (ids included) is what writing one row at a time in
        file order writes.
        """
        for row in rows:
            check_text(row.client_id, row.clinician_slack_id, row.first_name or "")
        tally = _Tally()
        now = self.clock.now()
        with self.uow() as repo:
            clinicians = repo.clinicians_by_slack_ids([r.clinician_slack_id for r in rows])
            for start in range(0, len(rows), batch):
                self._batch(repo, rows[start : start + batch], clinicians, now, actor, tally)
                if progress is not None:
                    progress(min(start + batch, len(rows)), len(rows))
        if tally.created + tally.updated >= BULK:
            self.uow.after_bulk_write(("clients", "episodes", "events", "audit_log"))
        return ImportReport(tally.created, tally.updated, tally.unchanged, tally.clinicians)

    def _batch(
        self,
        repo: Repository,
        rows: Sequence[CaseloadInput],
        clinicians: dict[str, Clinician],
        now: datetime,
        actor: Actor,
        tally: _Tally,
    ) -> None:
        known = repo.clients_by_chart_ids([r.client_id for r in rows])
        audits: list[dict[str, Any]] = []  # in file order, as one row at a time writes them
        new: list[tuple[CaseloadInput, Clinician, dict[str, Any]]] = []
        for row in rows:
            clinician = self._clinician(repo, row, clinicians, now, actor, audits, tally)
            found = known.get(row.client_id)
            if found is None:
                entry = _audit(
                    now,
                    actor,
                    "client_imported",
                    None,
                    None,
                    {"line": row.line, "source": actor.source.value},
                )
                audits.append(entry)
                new.append((row, clinician, entry))
                tally.created += 1
                continue
            client, episode = found
            entry_or_none = self._update(repo, client, episode, row, clinician, now, actor)
            if entry_or_none is None:
                tally.unchanged += 1
            else:
                audits.append(entry_or_none)
                tally.updated += 1
        repo.flush()  # clinicians' and known clients' changes, before the new rows
        self._insert_new(repo, new, now)
        repo.insert_many(AuditEntry, audits)

    def _clinician(
        self,
        repo: Repository,
        row: CaseloadInput,
        clinicians: dict[str, Clinician],
        now: datetime,
        actor: Actor,
        audits: list[dict[str, Any]],
        tally: _Tally,
    ) -> Clinician:
        clinician = clinicians.get(row.clinician_slack_id)
        if clinician is None:
            clinician = Clinician(
                slack_user_id=row.clinician_slack_id,
                timezone=row.clinician_timezone,
                timezone_source="caseload" if row.clinician_timezone else None,
                created_at=now,
            )
            repo.add(clinician)
            repo.flush()
            clinicians[row.clinician_slack_id] = clinician
            tally.clinicians += 1
        elif row.clinician_timezone and clinician.timezone != row.clinician_timezone:
            clinician.timezone = row.clinician_timezone
            clinician.timezone_source = "caseload"
        if row.clinician_platform_id and clinician.platform_user_id != row.clinician_platform_id:
            clinician.platform_user_id = row.clinician_platform_id  # the file wins
            audits.append(
                _audit(
                    now,
                    actor,
                    "clinician_platform_id",
                    None,
                    None,
                    {
                        "clinician": clinician.slack_user_id,
                        "platform_user_id": row.clinician_platform_id,
                        "source": "caseload",
                    },
                )
            )
        if row.clinician_name and clinician.display_name != row.clinician_name:
            clinician.display_name = row.clinician_name
            clinician.display_name_source = "caseload"
        return clinician

    def _insert_new(
        self,
        repo: Repository,
        new: Sequence[tuple[CaseloadInput, Clinician, dict[str, Any]]],
        now: datetime,
    ) -> None:
        """The batch's new clients, each with an imported episode planned at once and its
        opening event; fills the ids into their audit entries."""
        if not new:
            return
        repo.insert_many(
            Client,
            [
                {
                    "chart_id": row.client_id,
                    "clinician_id": clinician.id,
                    "first_name": row.first_name,  # encrypted by the column's type
                    "platform_user_id": row.client_id,
                    "created_at": now,
                    "updated_at": now,
                }
                for row, clinician, _ in new
            ],
        )
        by_chart = repo.ids_by(Client.chart_id, [row.client_id for row, _, _ in new])
        client_ids = [by_chart[row.client_id] for row, _, _ in new]
        hours: dict[int, WorkingHours] = {}
        opened = Event(EventKind.EPISODE_OPENED, now, label=OpenReason.IMPORTED.value, known_at=now)
        episodes = []
        for (row, clinician, _), client_id in zip(new, client_ids, strict=True):
            bookings = (
                [row.next_session_at.isoformat()]
                if row.next_session_at and row.next_session_at > now
                else []
            )
            history = EpisodeHistory(
                opened_at=now,
                baseline_contact_at=row.last_contact_at,
                opened_reason=OpenReason.IMPORTED,
                events=(opened,),
                booked_sessions=tuple(datetime.fromisoformat(b) for b in bookings),
                baseline_session_at=row.last_session_at,
            )
            if clinician.id not in hours:
                hours[clinician.id] = self.episodes.hours_for(clinician)
            assessment = assess(history, self.episodes.policy, hours[clinician.id], now)
            episodes.append(
                {
                    "client_id": client_id,
                    "opened_at": now,
                    "opened_reason": OpenReason.IMPORTED.value,
                    "baseline_contact_at": row.last_contact_at,
                    "baseline_session_at": row.last_session_at,
                    "handed_over_from": None,
                    "booked_sessions": bookings,
                    **stored_columns(assessment, now),
                }
            )
        repo.insert_many(Episode, episodes)
        by_client = repo.ids_by(Episode.client_id, client_ids)  # a new client has one episode
        episode_ids = [by_client[client_id] for client_id in client_ids]
        repo.insert_many(
            EventRecord,
            [
                {
                    "client_id": client_id,
                    "episode_id": episode_id,
                    "kind": EventKind.EPISODE_OPENED.value,
                    "occurred_at": now,
                    "recorded_at": now,
                    "actor": "system",
                    "source": "system",
                    "session_at": None,
                    "data": {"label": OpenReason.IMPORTED.value},
                }
                for client_id, episode_id in zip(client_ids, episode_ids, strict=True)
            ],
        )
        for (_, _, entry), client_id, episode_id in zip(new, client_ids, episode_ids, strict=True):
            entry["client_id"] = client_id
            entry["episode_id"] = episode_id

    def _update(
        self,
        repo: Repository,
        client: Client,
        episode: Episode | None,
        row: CaseloadInput,
        clinician: Clinician,
        now: datetime,
        actor: Actor,
    ) -> dict[str, Any] | None:
        """Apply a known client's row; its audit entry, or None when nothing changed."""
        changes: dict[str, str] = {}
        if client.clinician_id != clinician.id:
            changes["clinician"] = clinician.slack_user_id
            client.clinician_id = clinician.id
            client.clinician = clinician
        if row.first_name != client.first_name:
            changes["first_name"] = "changed"  # the name itself stays out of the audit trail
            client.first_name = row.first_name
        if episode is None:  # every imported client has one; be safe for hand-made rows
            episode = self.episodes.episode(repo, client)
        if episode.state == State.ACTIVE.value:
            known = episode.baseline_contact_at
            if known is None or row.last_contact_at > known:
                episode.baseline_contact_at = row.last_contact_at
                changes["last_contact_at"] = row.last_contact_at.isoformat()
            if row.last_session_at and (
                episode.baseline_session_at is None
                or row.last_session_at > episode.baseline_session_at
            ):
                episode.baseline_session_at = row.last_session_at
                changes["last_session_at"] = row.last_session_at.isoformat()
            booking = row.next_session_at
            if (
                booking
                and booking > now
                and booking.isoformat() not in (episode.booked_sessions or [])
            ):
                episode.booked_sessions = [*(episode.booked_sessions or []), booking.isoformat()]
                changes["next_session_at"] = booking.isoformat()
        if not changes:
            return None
        client.updated_at = now
        self.episodes.store(episode, self.episodes.assess(repo, client, episode, now), now)
        return _audit(
            now, actor, "client_updated", client.id, episode.id, {"line": row.line, **changes}
        )


class _Tally:
    def __init__(self) -> None:
        self.created = self.updated = self.unchanged = self.clinicians = 0


def _audit(
    now: datetime,
    actor: Actor,
    action: str,
    client_id: int | None,
    episode_id: int | None,
    details: dict[str, Any],
) -> dict[str, Any]:
    return {
        "at": now,
        "actor": actor.id,
        "action": action,
        "client_id": client_id,
        "episode_id": episode_id,
        "details": details,
    }

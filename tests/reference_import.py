"""The caseload import as it was before the batched one: one ORM row at a time.

Kept verbatim (modulo its name) as the reference the batched `CaseloadImport` must equal
row for row (`tests/test_caseload_bulk.py`) and as the baseline `benchmarks/import_status.py`
times beside it. Not used by the bot.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.domain.model import OpenReason, State
from bot.domain.plausibility import check_text
from bot.services.caseload_file import CaseloadRow as CaseloadInput
from bot.services.caseload_file import ImportReport
from bot.services.episodes import Episodes
from bot.services.types import Actor
from storage.models import Client, Clinician
from storage.repository import Repository


class RowByRowImport:
    """The pre-batch import: a query or two and a flush per row."""

    def __init__(self, episodes: Episodes) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock

    def import_caseload(self, rows: Sequence[CaseloadInput], *, actor: Actor) -> ImportReport:
        """Write parsed rows in one transaction; the same file twice changes nothing.

        New clients get an episode whose schedule is planned at once (nothing is queued:
        saying things is the tick's job). For known clients a reassignment, a changed first
        name, a later last contact or a new booking is applied; anything else is left alone.
        """
        for row in rows:
            check_text(row.client_id, row.clinician_slack_id, row.first_name or "")
        created = updated = unchanged = new_clinicians = 0
        now = self.clock.now()
        with self.uow() as repo:
            for row in rows:
                clinician = repo.clinician_by_slack_id(row.clinician_slack_id)
                if clinician is None:
                    clinician = Clinician(
                        slack_user_id=row.clinician_slack_id,
                        timezone=row.clinician_timezone,
                        timezone_source="caseload" if row.clinician_timezone else None,
                        created_at=now,
                    )
                    repo.add(clinician)
                    repo.flush()
                    new_clinicians += 1
                elif row.clinician_timezone and clinician.timezone != row.clinician_timezone:
                    clinician.timezone = row.clinician_timezone
                    clinician.timezone_source = "caseload"
                if row.clinician_platform_id and (
                    clinician.platform_user_id != row.clinician_platform_id
                ):
                    clinician.platform_user_id = row.clinician_platform_id  # the file wins
                    repo.audit(
                        at=now,
                        actor=actor.id,
                        action="clinician_platform_id",
                        details={
                            "clinician": clinician.slack_user_id,
                            "platform_user_id": row.clinician_platform_id,
                            "source": "caseload",
                        },
                    )
                if row.clinician_name and clinician.display_name != row.clinician_name:
                    clinician.display_name = row.clinician_name
                    clinician.display_name_source = "caseload"
                client = repo.client_by_chart_id(row.client_id)
                if client is None:
                    self._import_new(repo, row, clinician, now, actor)
                    created += 1
                elif self._import_update(repo, client, row, clinician, now, actor):
                    updated += 1
                else:
                    unchanged += 1
        return ImportReport(created, updated, unchanged, new_clinicians)

    def _import_new(
        self,
        repo: Repository,
        row: CaseloadInput,
        clinician: Clinician,
        now: datetime,
        actor: Actor,
    ) -> None:
        client = Client(
            chart_id=row.client_id,
            clinician_id=clinician.id,
            first_name=row.first_name,
            platform_user_id=row.client_id,
            created_at=now,
            updated_at=now,
        )
        client.clinician = clinician
        repo.add(client)
        repo.flush()
        bookings = (
            [row.next_session_at] if row.next_session_at and row.next_session_at > now else []
        )
        episode = self.episodes.open(
            repo,
            client,
            OpenReason.IMPORTED,
            now,
            row.last_contact_at,
            bookings,
            last_session=row.last_session_at,
        )
        self.episodes.store(episode, self.episodes.assess(repo, client, episode, now), now)
        repo.audit(
            at=now,
            actor=actor.id,
            action="client_imported",
            client_id=client.id,
            episode_id=episode.id,
            details={"line": row.line, "source": actor.source.value},
        )

    def _import_update(
        self,
        repo: Repository,
        client: Client,
        row: CaseloadInput,
        clinician: Clinician,
        now: datetime,
        actor: Actor,
    ) -> bool:
        changes: dict[str, str] = {}
        if client.clinician_id != clinician.id:
            changes["clinician"] = clinician.slack_user_id
            client.clinician_id = clinician.id
            client.clinician = clinician
        if row.first_name != client.first_name:
            changes["first_name"] = "changed"  # the name itself stays out of the audit trail
            client.first_name = row.first_name
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
            return False
        client.updated_at = now
        self.episodes.store(episode, self.episodes.assess(repo, client, episode, now), now)
        repo.audit(
            at=now,
            actor=actor.id,
            action="client_updated",
            client_id=client.id,
            episode_id=episode.id,
            details={"line": row.line, **changes},
        )
        return True

"""The chart is the system of record: admin notes and the summary draft written into it, the
clinician's unsigned notes read from it, and who the clinician is there.

Every write happens after the local record is committed (a platform outage never loses what
the clinician did) and is best effort: when the platform cannot take it, the note stays "to
paste" and the clinician's DM gives the exact text and a *Documented in chart* button. Only a
note that is in the chart (written there, or confirmed pasted) counts for checklist step 1.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from bot.domain.checklist import check_can_complete
from bot.domain.errors import DomainError
from bot.domain.model import ChecklistStep, Event, EventKind, State
from bot.services.episodes import Episodes
from bot.services.ports import ChartPort, chart_of
from bot.services.readmodels import ChartLink, ChartNote
from bot.services.types import Actor, Outcome, Source
from storage.models import AdminNote, Client, Episode
from storage.repository import Repository

log = logging.getLogger(__name__)

PLATFORM_CHART = Actor("platform:chart", Source.PLATFORM)
UNMATCHED_RETRY = timedelta(hours=6)


class Chart:
    """What the bot writes to and reads from the client's chart in the platform."""

    def __init__(self, episodes: Episodes, platform: object | None = None) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock
        self.port: ChartPort | None = chart_of(platform)
        self._unmatched: dict[str, datetime] = {}  # slack id -> when its email matched nobody

    # -- admin notes ---------------------------------------------------------------------------
    def write_note(self, note_id: int) -> ChartLink | None:
        """Write a stored admin note into the chart, dated the day of the attempt.

        A check-in's note that lands there is recorded as documented (NOTE_IN_CHART). None when
        there is no chart, no form, or the platform failed (logged; the note stays to paste).
        """
        if self.port is None:
            return None
        with self.uow() as repo:
            note = repo.note_by_id(note_id)
            if note is None or _chart(note) is not None:
                return None
            client = repo.session.get(Client, note.client_id)
            if client is None:
                return None
            platform_id = client.platform_user_id or client.chart_id
            body, dated, chart_id = note.body, note.created_at, client.chart_id
        try:
            link = self.port.write_admin_note(platform_id, body, dated=dated)
        except Exception as exc:
            log.warning("could not write admin note %s for %s to the chart: %s",
                        note_id, chart_id, exc.__class__.__name__)
            return None
        if link is None:
            return None
        self._store_link(note_id, link, in_chart=True)
        return link

    def confirm_documented(self, chart_id: str, number: int, *, actor: Actor) -> Outcome:
        """*Documented in chart*: the clinician pasted check-in `number`'s admin note."""
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            episode = self.episodes.episode(repo, client)
            note = checkin_note(repo, episode, number)
            if note is None:
                raise DomainError(f"Check-in {number} isn't documented yet; mark it as sent first.")
            now = self.clock.now()
            fields = dict(note.fields or {})
            if fields.get("documented") or fields.get("chart"):
                raise DomainError(f"Check-in {number}'s admin note is already in the chart.")
            fields["documented"] = {"by": actor.id, "at": now.isoformat()}
            note.fields = fields
            return self.episodes.apply(
                repo, client, Event(EventKind.NOTE_IN_CHART, now, number=number), actor,
                action="note_documented", details={"number": number, "note_id": note.id},
            )

    def _store_link(self, note_id: int, link: ChartLink, *, in_chart: bool) -> None:
        now = self.clock.now()
        with self.uow() as repo:
            note = repo.note_by_id(note_id)
            if note is None:
                return
            note.fields = {**(note.fields or {}), "chart": {
                "id": link.id, "url": link.url, "title": link.title,
                "on": link.on.isoformat() if link.on else None}}
            client = repo.session.get(Client, note.client_id)
            number = (note.fields or {}).get("number")
            repo.audit(at=now, actor=PLATFORM_CHART.id, action="note_in_chart",
                       client_id=note.client_id, episode_id=note.episode_id,
                       details={"note_id": note.id, "kind": note.kind, "chart_note": link.id})
            if in_chart and note.kind == "checkin" and number and client is not None:
                episode = repo.session.get(Episode, note.episode_id) if note.episode_id else None
                if episode is not None and episode.closed_at is None:
                    self.episodes.apply(
                        repo, client, Event(EventKind.NOTE_IN_CHART, now, number=int(number)),
                        PLATFORM_CHART, action="note_in_chart",
                        details={"number": int(number), "note_id": note.id},
                    )

    # -- the discharge summary draft -----------------------------------------------------------
    def write_summary(self, note_id: int) -> ChartLink | None:
        """The stored summary as an unsigned charting note for the clinician to sign."""
        if self.port is None:
            return None
        with self.uow() as repo:
            note = repo.note_by_id(note_id)
            client = repo.session.get(Client, note.client_id) if note else None
            if note is None or client is None or _chart(note) is not None:
                return None
            platform_id = client.platform_user_id or client.chart_id
            body, dated, chart_id = note.body, note.created_at, client.chart_id
        try:
            link = self.port.write_summary_draft(platform_id, body, dated=dated)
        except Exception as exc:
            log.warning("could not write the summary %s for %s to the chart: %s",
                        note_id, chart_id, exc.__class__.__name__)
            return None
        if link is not None:
            self._store_link(note_id, link, in_chart=False)
        return link

    # -- checklist step 2 ----------------------------------------------------------------------
    def unsigned_notes(self, chart_id: str, *, actor: Actor) -> tuple[ChartLink, ...] | None:
        """The client's notes not yet signed/locked; None when the platform cannot say."""
        if self.port is None:
            return None
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            platform_id = client.platform_user_id or client.chart_id
        try:
            return tuple(self.port.unsigned_notes(platform_id))
        except Exception as exc:
            log.warning("could not read %s's notes from the platform: %s",
                        chart_id, exc.__class__.__name__)
            return None

    def settle_notes_signed(
        self, chart_id: str, *, actor: Actor, unsigned: tuple[ChartLink, ...] | None = None
    ) -> bool:
        """Tick step 2 for the platform when it is next and the chart has no unsigned note
        (`unsigned`: what the caller just read, to save asking again)."""
        if self.port is None:
            return False
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            episode = self.episodes.episode(repo, client)
            a = self.episodes.assess(repo, client, episode, self.clock.now())
            if not _step_two_next(a.state, a.checklist.next_step):
                return False
        if unsigned is None:
            unsigned = self.unsigned_notes(chart_id, actor=actor)
        if unsigned is None or unsigned:
            return False
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            episode = self.episodes.episode(repo, client)
            now = self.clock.now()
            a = self.episodes.assess(repo, client, episode, now)
            if not _step_two_next(a.state, a.checklist.next_step):
                return False
            check_can_complete(a.checklist, ChecklistStep.NOTES_SIGNED, by_platform=False)
            self.episodes.apply(
                repo, client,
                Event(EventKind.STEP_COMPLETED, now, step=ChecklistStep.NOTES_SIGNED),
                PLATFORM_CHART, action="step_completed",
                details={"step": ChecklistStep.NOTES_SIGNED.value, "by": "platform"},
            )
        return True

    def notes_changed(self, chart_id: str, *, actor: Actor) -> list[str]:
        """A note was signed or locked in the chart: tick step 2 if none is left unsigned,
        else refresh the checklist so its list of unsigned notes follows. Returns keys queued."""
        if self.settle_notes_signed(chart_id, actor=actor):
            return []
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            return self.episodes.refresh_live(repo, client, self.clock.now())

    # -- who is who, and the calendar ----------------------------------------------------------
    def map_clinician(self, slack_user_id: str, email: str | None) -> bool:
        """Learn the clinician's platform id from their Slack email, when none is on record."""
        if self.port is None or not email:
            return False
        tried = self._unmatched.get(slack_user_id)
        if tried is not None and self.clock.now() - tried < UNMATCHED_RETRY:
            return False  # asked recently and nobody had that email: don't ask on every DM
        with self.uow() as repo:
            clinician = repo.clinician_by_slack_id(slack_user_id)
            if clinician is None or clinician.platform_user_id:
                return False
        try:
            member = self.port.member_id_for_email(email)
        except Exception as exc:
            log.warning("could not look clinician %s up in the platform: %s",
                        slack_user_id, exc.__class__.__name__)
            return False
        if member is None:
            log.info("clinician %s: no platform member has their Slack email", slack_user_id)
            self._unmatched[slack_user_id] = self.clock.now()
            return False
        with self.uow() as repo:
            clinician = repo.clinician_by_slack_id(slack_user_id)
            if clinician is None or clinician.platform_user_id:
                return False
            clinician.platform_user_id = member
            repo.audit(at=self.clock.now(), actor="slack", action="clinician_platform_id",
                       details={"clinician": slack_user_id, "platform_user_id": member,
                                "source": "email"})
        return True

    def last_session(self, client: Client, *, before: datetime) -> datetime | None:
        """The client's last attended session with this clinician per the platform, if any."""
        if self.port is None:
            return None
        try:
            return self.port.last_session(
                client.platform_user_id or client.chart_id, client.clinician.platform_user_id,
                before=before,
            )
        except Exception as exc:
            log.warning("could not read %s's last session from the platform: %s",
                        client.chart_id, exc.__class__.__name__)
            return None


def _step_two_next(state: State, next_step: ChecklistStep | None) -> bool:
    return state is State.INACTIVE and next_step is ChecklistStep.NOTES_SIGNED


# -- reading what the chart knows, for the read models ---------------------------------------


def checkin_note(repo: Repository, episode: Episode, number: int) -> AdminNote | None:
    """The admin note of check-in `number` in this episode (the latest, if written twice)."""
    found = [
        n for n in repo.notes_of(episode.client_id)
        if n.episode_id == episode.id and n.kind == "checkin"
        and (n.fields or {}).get("number") == number
    ]
    return found[-1] if found else None


def chart_note_of(note: AdminNote) -> ChartNote:
    """Where a stored note stands with the chart: its link, or the text to paste."""
    link = _chart(note)
    if link is not None:
        return ChartNote(link=link)
    fields = note.fields or {}
    return ChartNote(paste=note.body, documented=bool(fields.get("documented")))


def _chart(note: AdminNote) -> ChartLink | None:
    chart: Any = (note.fields or {}).get("chart")
    if not isinstance(chart, dict):
        return None
    on = chart.get("on")
    return ChartLink(
        title=str(chart.get("title") or "Note"), url=chart.get("url"),
        on=datetime.fromisoformat(on) if on else None, id=chart.get("id"),
    )

"""The weekly CCT digest: what waits on the Care Coordination Team, once a week."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.domain.model import Closure, Recipient, State
from bot.services.episodes import Episodes
from bot.services.readmodels import DigestData, OutboxKind
from bot.services.report import build as build_report
from bot.services.report import digest_line
from bot.services.report import is_empty as report_is_empty
from smart_phrases import DigestContext, DigestRow, RenderContext
from storage.models import OutboxMessage
from storage.repository import Repository


class Digest:
    """Building, wording and queueing the weekly CCT digest."""

    def __init__(self, episodes: Episodes) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock
        self.settings = episodes.settings
        self.phrases = episodes.phrases

    def digest(self, repo: Repository, start: date, end: date) -> DigestData:
        zone = ZoneInfo(self.settings.practice_timezone)
        waiting: dict[str, list[str]] = {}
        for episode in repo.open_episodes(
            states=[
                State.DISCHARGED.value,
                State.CARE_TEAM_REMOVAL.value,
                State.REMATCH.value,
                State.INACTIVE.value,
                State.OUTREACH.value,
                State.PAUSED.value,
            ]
        ):
            waiting.setdefault(episode.state, []).append(episode.client.chart_id)
        begin = datetime.combine(start, datetime.min.time(), tzinfo=zone)
        finish = datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        archived = [
            e.client.chart_id
            for e in repo.episodes_closed_between(start=begin, end=finish)
            if e.closure == Closure.ARCHIVED.value
        ]
        rows = (
            ("Chart checks / archives waiting", waiting.get(State.DISCHARGED.value, [])),
            ("Care-team removals waiting", waiting.get(State.CARE_TEAM_REMOVAL.value, [])),
            ("Rematch requests waiting", waiting.get(State.REMATCH.value, [])),
            ("Discharge checklists open", waiting.get(State.INACTIVE.value, [])),
            (
                "Clients in outreach",
                waiting.get(State.OUTREACH.value, []) + waiting.get(State.PAUSED.value, []),
            ),
            ("Files archived this week", archived),
        )
        week = build_report(
            repo.session,
            since=begin,
            until=finish,
            practice_name=self.settings.practice_name or "the practice",
            total_checkins=self.settings.checkins,
            min_cell=self.settings.report_min_cell,
        )
        return DigestData(
            start,
            end,
            tuple((title, tuple(sorted(ids))) for title, ids in rows),
            reengagement=None if report_is_empty(week) else digest_line(week),
        )

    def render(self, digest: DigestData) -> str:
        context = RenderContext(
            digest=DigestContext(
                period_start=digest.period_start,
                period_end=digest.period_end,
                rows=tuple(
                    DigestRow(title, len(labels), labels) for title, labels in digest.rows if labels
                ),
                reengagement=digest.reengagement,
            )
        )
        return self.phrases.render("cct_weekly_digest", context, channel="slack")

    def queue_weekly_digest(self, now: datetime | None = None) -> str | None:
        """Queue the CCT digest for the week that ended yesterday (practice zone).

        Once per week however often it is called; None when there is nothing to report.
        """
        at = now or self.clock.now()
        today = at.astimezone(ZoneInfo(self.settings.practice_timezone)).date()
        end = today - timedelta(days=1)
        start = end - timedelta(days=6)
        with self.uow() as repo:
            digest = self.digest(repo, start, end)
            if digest.empty:
                return None
            key = f"digest:{end.isoformat()}"
            written = repo.add_outbox(
                OutboxMessage(
                    idempotency_key=key,
                    episode_id=None,
                    kind=OutboxKind.CCT_DIGEST.value,
                    recipient_kind=Recipient.CCT.value,
                    recipient=self.settings.cct_channel_id,
                    payload={"period_start": start.isoformat(), "period_end": end.isoformat()},
                    status="pending",
                    deliver_after=at,
                    attempts=0,
                    created_at=at,
                )
            )
            return key if written else None

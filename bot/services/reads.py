"""The reads the surfaces need: the caseload, a client's timeline, a phrase context,
the outbox, and App Home."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.domain.calendar import WorkingHours
from bot.domain.checklist import ORDER as CHECKLIST_ORDER
from bot.domain.checklist import TITLES as CHECKLIST_TITLES
from bot.domain.model import (
    Closure,
    EpisodeHistory,
    EventKind,
    Recipient,
    State,
    StepKind,
    Trigger,
)
from bot.domain.policy import Assessment, DueStep, assess, checkin_title
from bot.services.episodes import (
    POLICY_KINDS,
    Episodes,
    StoredEvent,
    history_of,
    step_label,
)
from bot.services.readmodels import HomeData, HomeRow
from bot.services.types import Actor
from bot.services.wording import render_context
from smart_phrases import RenderContext
from storage import home_reads
from storage.models import Clinician, EventRecord, OutboxMessage
from storage.repository import CaseloadEntry, EpisodeEntry, EventEntry, Repository

#: Clients per page of the caseload read.
PAGE = 1000


@dataclass(frozen=True)
class _PageRead:
    """What one caseload page needs from the database, read in one transaction."""

    table: list[CaseloadEntry]
    episodes: dict[int, EpisodeEntry]
    records: dict[int, list[EventEntry]]
    #: The page's clinicians not among those already known, by id.
    clinicians: dict[int, Clinician]

    @classmethod
    def of(cls, repo: Repository, table: list[CaseloadEntry], known: frozenset[int]) -> _PageRead:
        unsettled = [r for r in table if not r.settled]
        ids = [r.episode_id for r in unsettled if r.episode_id is not None]
        unknown = list({r.clinician_id for r in unsettled} - known)
        return cls(
            table,
            repo.episode_entries(ids),
            repo.event_entries_of_episodes(ids, kinds=POLICY_KINDS),
            dict(repo.clinicians_by_ids(unknown)),
        )


class CaseloadRow(NamedTuple):
    """One client's line of the caseload (a tuple: status builds 100,000 of them)."""

    chart_id: str
    clinician: str
    state: State
    next_step: str | None
    due_at: datetime | None
    last_contact_at: datetime | None
    checkins_sent: int
    next_title: str | None = None  # the next step as people read it ("Final check-in")


@dataclass(frozen=True)
class EpisodeView:
    episode_id: int
    opened_at: datetime
    opened_reason: str
    closed_at: datetime | None
    assessment: Assessment
    events: tuple[EventRecord, ...]


@dataclass(frozen=True)
class Timeline:
    chart_id: str
    clinician: str
    timezone: str
    episodes: tuple[EpisodeView, ...]


class Reads:
    """What the CLI and Slack show; nothing here writes."""

    def __init__(self, episodes: Episodes) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock
        self.settings = episodes.settings
        self.policy = episodes.policy

    def caseload(self, *, clinician_slack_id: str | None = None) -> list[CaseloadRow]:
        """Every client (of one clinician, or all), in chart-id order."""
        return list(self.caseload_rows(clinician_slack_id=clinician_slack_id))

    def caseload_rows(
        self,
        *,
        clinician_slack_id: str | None = None,
        offset: int = 0,
        limit: int | None = None,
        page: int = PAGE,
    ) -> Iterator[CaseloadRow]:
        """The caseload in chart-id order (from `offset`, at most `limit` rows), read a
        page at a time, each page its own short transaction, so a caller can stream it
        (a pager, a file) without holding the database.

        A page is one query of plain rows. A settled episode (active, nothing due yet, its
        cache written before now) is shown from its cached state and schedule; the others
        (and episodes cached before `last_contact_at` was) are assessed from their events.
        Those cost three more queries for the whole page (their episodes, their events,
        clinicians not seen yet), so a page costs at most four queries however many clients
        or events there are."""
        now = self.clock.now()
        hours: dict[int, WorkingHours] = {}  # by clinician id, across pages
        after: str | None = None
        left = limit
        clinician_id: int | None = None
        with self.uow() as repo:
            if clinician_slack_id is not None:
                clinician = repo.clinician_by_slack_id(clinician_slack_id)
                if clinician is None:
                    return
                clinician_id = clinician.id
            if offset > 0:
                after = repo.chart_id_at(offset - 1, clinician_id=clinician_id)
                if after is None:
                    return
        def read(after: str | None, size: int, known: frozenset[int]) -> _PageRead:
            with self.uow() as repo:
                table = repo.caseload_table(
                    now=now, clinician_id=clinician_id, after_chart=after, limit=size
                )
                return _PageRead.of(repo, table, known)

        # The next page is read (by one helper thread, in its own transaction) while this
        # one is assessed and written out: on PostgreSQL the server's time and ours overlap.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="caseload-read") as ahead:
            size = page if left is None else min(page, left)
            pending: Future[_PageRead] | None = ahead.submit(read, after, size, frozenset())
            while pending is not None:
                got = pending.result()
                table = got.table
                pending = None
                more = len(table) == size and (left is None or left > len(table))
                if more:
                    left = None if left is None else left - len(table)
                    size = page if left is None else min(page, left)
                    known = frozenset(hours) | frozenset(got.clinicians)
                    pending = ahead.submit(read, table[-1].chart_id, size, known)
                try:
                    rows = self._caseload_page(got, now, hours)
                except BaseException:
                    if pending is not None:
                        pending.cancel()
                    raise
                yield from rows

    def caseload_count(self, *, clinician_slack_id: str | None = None) -> int:
        with self.uow() as repo:
            if clinician_slack_id is None:
                return repo.count_clients()
            clinician = repo.clinician_by_slack_id(clinician_slack_id)
            return 0 if clinician is None else repo.count_clients(clinician_id=clinician.id)

    def _caseload_page(
        self, got: _PageRead, now: datetime, hours: dict[int, WorkingHours]
    ) -> list[CaseloadRow]:
        """Rows for one page: settled episodes from their cache, the others assessed from
        their events, read for the page in one query (plain rows, no ORM objects)."""
        total = self.policy.checkins
        table, episodes, records = got.table, got.episodes, got.records
        unsettled = [r for r in table if not r.settled]
        for i, clinician in got.clinicians.items():
            hours.setdefault(i, self.episodes.hours_for(clinician))
        assessed: dict[str, CaseloadRow] = {}
        for r in unsettled:
            if r.episode_id is None:  # a hand-made client without an episode: open one
                with self.uow() as repo:
                    client = repo.client_by_id(r.client_id)
                    assert client is not None
                    episode = self.episodes.episode(repo, client)
                    history = self.episodes.history(repo, episode)
            else:
                history = history_of(episodes[r.episode_id], r.clinician_id, records[r.episode_id])
            a = assess(history, self.policy, hours[r.clinician_id], now)
            upcoming = a.due[0] if a.due else a.next
            assessed[r.chart_id] = CaseloadRow(
                chart_id=r.chart_id,
                clinician=r.slack_user_id,
                state=a.state,
                next_step=step_label(upcoming),
                due_at=upcoming.due_at if upcoming else None,
                last_contact_at=a.last_contact_at,
                checkins_sent=a.checkins_sent,
                next_title=_title(upcoming, a, total),
            )
        return [
            assessed[r.chart_id]
            if r.chart_id in assessed
            else CaseloadRow(
                chart_id=r.chart_id,
                clinician=r.slack_user_id,
                state=State.ACTIVE,
                next_step=r.next_step,
                due_at=r.next_due_at,
                last_contact_at=r.last_contact_at,
                checkins_sent=r.checkins_sent or 0,
                next_title=_stored_title(r.next_step, r.trigger, total),
            )
            for r in table
        ]

    def timeline(self, chart_id: str, *, actor: Actor) -> Timeline:
        now = self.clock.now()
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            views = []
            for episode in repo.episodes_of(client.id):
                views.append(
                    EpisodeView(
                        episode_id=episode.id,
                        opened_at=episode.opened_at,
                        opened_reason=episode.opened_reason,
                        closed_at=episode.closed_at,
                        assessment=self.episodes.assess(repo, client, episode, now),
                        events=tuple(repo.events_of(episode.id)),
                    )
                )
            return Timeline(
                chart_id=client.chart_id,
                clinician=client.clinician.slack_user_id,
                timezone=client.clinician.timezone or self.settings.practice_timezone,
                episodes=tuple(views),
            )

    def phrase_context(self, chart_id: str, *, audience: str, actor: Actor) -> RenderContext:
        """A real client's context for `phrases render --client`.

        The first name is only included for client-audience phrases.
        """
        now = self.clock.now()
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            assessment = self.episodes.assess(
                repo, client, self.episodes.episode(repo, client), now
            )
            upcoming = assessment.due[0] if assessment.due else assessment.next
            return render_context(
                self.settings,
                self.policy,
                self.episodes.hours_for(client.clinician),
                client,
                assessment,
                recipient=Recipient.CCT if audience == "cct" else Recipient.CLINICIAN,
                for_client_chat=audience == "client",
                next_step=step_label(upcoming),
                due_at=upcoming.due_at if upcoming else None,
                reason=assessment.reasons[-1].split(": ", 1)[-1] if assessment.reasons else None,
                today=now,
            )

    def outbox(self, *, statuses: Sequence[str] | None = None) -> list[OutboxMessage]:
        with self.uow() as repo:
            return list(repo.outbox(statuses=statuses))

    # -- App Home --------------------------------------------------------------------------------
    def home(self, slack_user_id: str, *, is_cct: bool, recent_days: int = 30) -> HomeData:
        """A user's App Home. The settled clients (active, nothing due: most of a caseload)
        are only counted, in SQL; the others are read as plain rows (the columns the policy
        reads, no names) a page at a time, with their events, and assessed. A fixed number
        of queries per page of unsettled clients, none per client."""
        now = self.clock.now()
        rows = _HomeRows()
        with self.uow() as repo:
            clinician = repo.clinician_by_slack_id(slack_user_id)
            zone = (
                self.episodes.zone_of(clinician) if clinician else self.settings.practice_timezone
            )
            if clinician is not None:
                hours = self.episodes.hours_for(clinician)
                rows.active = home_reads.count_settled(
                    repo.session, clinician_id=clinician.id, at=now
                )
                for chart, closed_at, history, records in self._unsettled(repo, clinician.id, now):
                    a = assess(history, self.policy, hours, now)
                    self._place(rows, a, chart, closed_at, records, zone, now, recent_days)
            queue = (
                [
                    HomeRow(
                        row.chart_id,
                        State(row.state),
                        _CCT_WAITING[State(row.state)],
                        row.updated_at,
                        row.clinician,
                    )
                    for row in home_reads.waiting_for_cct(
                        repo.session, states=[s.value for s in _CCT_WAITING]
                    )
                ]
                if is_cct
                else []
            )
        return HomeData(
            user_id=slack_user_id,
            zone=zone,
            now=now,
            is_cct=is_cct,
            is_clinician=clinician is not None,
            needs_action=tuple(rows.needs),
            outreach=tuple(
                sorted(rows.outreach, key=lambda r: (r.due_at is None, r.due_at or now))
            ),
            discharging=tuple(rows.discharging),
            recent=tuple(sorted(rows.recent, key=lambda r: r.due_at or now, reverse=True)),
            active_count=rows.active,
            cct_queue=tuple(queue),
        )

    def _unsettled(
        self, repo: Repository, clinician_id: int, now: datetime, *, page: int = 500
    ) -> Iterator[tuple[str, datetime | None, EpisodeHistory, Sequence[StoredEvent]]]:
        """The clinician's clients that are not settled, in chart-id order: two queries per
        `page` clients (their rows, their events)."""
        after: str | None = None
        while True:
            found = home_reads.unsettled_page(
                repo.session, clinician_id=clinician_id, at=now, after_chart=after, limit=page
            )
            if not found:
                return
            ids = [r.episode_id for r in found if r.episode_id is not None]
            records = home_reads.events_of(repo.session, ids, kinds=POLICY_KINDS)
            notes = repo.note_dates_of(ids)  # the admin notes the history shows apart
            for row in found:
                if row.episode_id is None:  # a hand-made client without one: open it
                    client = repo.client_by_id(row.client_id)
                    assert client is not None
                    episode = self.episodes.episode(repo, client)
                    stored = repo.events_of(episode.id, kinds=POLICY_KINDS)
                    history = self.episodes.history(repo, episode, stored)
                    yield row.chart_id, episode.closed_at, history, stored
                    continue
                events = records[row.episode_id]
                history = history_of(row, row.clinician_id, events, notes=notes[row.episode_id])
                yield row.chart_id, row.closed_at, history, events
            if len(found) < page:
                return
            after = found[-1].chart_id

    def _place(
        self,
        rows: _HomeRows,
        a: Assessment,
        chart: str,
        closed_at: datetime | None,
        records: Sequence[StoredEvent],
        zone: str,
        now: datetime,
        recent_days: int,
    ) -> None:
        """Put one assessed client into the App Home list it belongs to."""
        total = self.policy.checkins
        upcoming = a.due[0] if a.due else a.next
        if a.state is State.ACTIVE:
            rows.active += 1
        elif a.state is State.REPLY_REVIEW:
            rows.needs.append(HomeRow(chart, a.state, "Replied: classify the reply"))
        elif a.state in (State.OUTREACH, State.PAUSED):
            n = a.next_checkin_number or total + 1
            title = a.checkin_title(n, total)
            prompted = {
                (r.data or {}).get("prompt") for r in records if r.kind == EventKind.PROMPTED.value
            }
            due_now = n <= total and (
                f"checkin-{n}" in prompted or any(s.kind is StepKind.CHECKIN for s in a.due)
            )
            if a.state is State.PAUSED:
                end = a.paused_until
                until = f" until {_local_day(end, zone)}" if end else ""
                rows.outreach.append(HomeRow(chart, a.state, f"Outreach paused{until}"))
            elif a.held_by_booking is not None:
                rows.outreach.append(
                    HomeRow(
                        chart,
                        a.state,
                        f"{title} waits for the session booked "
                        f"{_local_day(a.held_by_booking, zone)}",
                    )
                )
            elif due_now:
                rows.needs.append(HomeRow(chart, a.state, f"{title} is due"))
            elif n <= total:
                due = upcoming.due_at if upcoming else None
                rows.outreach.append(HomeRow(chart, a.state, f"{title} next", due))
            else:
                due = upcoming.due_at if upcoming else None
                rows.outreach.append(
                    HomeRow(chart, a.state, f"All {total} check-ins sent; checklist opens", due)
                )
        elif a.state is State.INACTIVE:
            nxt = a.checklist.next_step
            words = CHECKLIST_TITLES[nxt] if nxt else "finish the checklist"
            rows.discharging.append(
                HomeRow(
                    chart,
                    a.state,
                    f"Checklist {a.checklist.done_count}/{len(CHECKLIST_ORDER)}. Next: {words}",
                )
            )
        elif a.state in _CCT_WAITING:
            rows.discharging.append(HomeRow(chart, a.state, _CCT_WAITING[a.state]))
        elif (
            a.state is State.CLOSED
            and closed_at is not None
            and closed_at >= now - timedelta(days=recent_days)
        ):
            words = _CLOSURE_WORDS.get(a.closure, "Closed") if a.closure else "Closed"
            rows.recent.append(HomeRow(chart, a.state, words, closed_at))


@dataclass
class _HomeRows:
    """App Home's lists while they are filled."""

    needs: list[HomeRow] = field(default_factory=list)
    outreach: list[HomeRow] = field(default_factory=list)
    discharging: list[HomeRow] = field(default_factory=list)
    recent: list[HomeRow] = field(default_factory=list)
    active: int = 0


_CCT_WAITING: dict[State, str] = {
    State.DISCHARGED: "Waiting for CCT: chart check and archive",
    State.CARE_TEAM_REMOVAL: "Waiting for CCT: care-team removal",
    State.REMATCH: "Waiting for CCT: rematch (Fit Guarantee)",
}
_CLOSURE_WORDS: dict[Closure, str] = {
    Closure.ARCHIVED: "Discharged and archived",
    Closure.CARE_TEAM_REMOVED: "Removed from the care team",
    Closure.REMATCHED: "Rematched with another clinician",
    Closure.MET_GOALS: "Met their goals (Discharge - Completed)",
}


def _local_day(at: datetime, zone: str) -> str:
    return at.astimezone(ZoneInfo(zone)).strftime("%a %b %-d")


@lru_cache(maxsize=256)
def _stored_title(label: str | None, trigger: str | None, total: int) -> str | None:
    """`_title` for a step cached as its label (`step_label`: "checkin 2", "checklist")."""
    if label is None:
        return None
    kind, _, number = label.partition(" ")
    if kind == StepKind.CHECKIN.value and number.isdigit():
        return checkin_title(int(number), total, attendance=trigger == Trigger.ATTENDANCE.value)
    return kind.replace("_", " ")


def _title(step: DueStep | None, a: Assessment, total: int) -> str | None:
    """A step named as prompts name it: the check-in by its title, else in words."""
    if step is None:
        return None
    if step.kind is StepKind.CHECKIN and step.number is not None:
        return a.checkin_title(step.number, total)
    return step.kind.value.replace("_", " ")

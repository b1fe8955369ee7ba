"""What the Slack surface reads and records through the services: message read models,
App Home, the CCT buttons, the weekly digest, and what a click did.

Views never query the database; these methods hand them plain values (bot.readmodels).
`CareService` inherits them; they rely on its core use cases (authorisation, assessment,
the outbox), which is what the type-checking base below says.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.domain.checklist import ORDER as CHECKLIST_ORDER
from bot.domain.checklist import TITLES as CHECKLIST_TITLES
from bot.domain.errors import DomainError, NotAllowed
from bot.domain.model import ChecklistStep, Closure, EventKind, Recipient, State, StepKind
from bot.domain.policy import Assessment, assess
from bot.readmodels import (
    ChecklistLine,
    DigestData,
    HomeData,
    HomeRow,
    OutboxKind,
    OutboxMessageData,
    Resolution,
    Resolved,
)
from bot.service_types import (
    SCHEDULER,
    Actor,
    Outcome,
    Source,
    checkin_phrase,
    saved_or_refused,
)
from bot.wording import render_context
from smart_phrases import DigestContext, DigestRow, RenderContext
from storage.models import Client, Clinician, Episode, EventRecord, OutboxMessage
from storage.repository import Repository

if TYPE_CHECKING:
    from bot.services import CoreService as _Core
else:
    _Core = object

log = logging.getLogger(__name__)


class SurfaceReads(_Core):
    def zone_of(self, clinician: Clinician) -> str:
        return clinician.timezone or self.settings.practice_timezone

    def is_clinician(self, slack_user_id: str) -> bool:
        with self.uow() as repo:
            return repo.clinician_by_slack_id(slack_user_id) is not None

    def clinician_profile(self, slack_user_id: str) -> tuple[str | None, str | None, str | None]:
        """(zone, zone source, display name) on record for a clinician, or Nones."""
        with self.uow() as repo:
            c = repo.clinician_by_slack_id(slack_user_id)
            if c is None:
                return None, None, None
            return c.timezone, c.timezone_source, c.display_name

    @saved_or_refused
    def learn_clinician(
        self, slack_user_id: str, *, timezone: str | None, display_name: str | None
    ) -> bool:
        """Store what Slack says about a clinician; a zone the caseload set always wins.

        A new zone re-plans the clinician's open episodes, so prompts follow their hours.
        True when anything changed.
        """
        now = self.clock.now()
        with self.uow() as repo:
            clinician = repo.clinician_by_slack_id(slack_user_id)
            if clinician is None:
                return False
            changes: dict[str, str] = {}
            if display_name and clinician.display_name != display_name:
                clinician.display_name = display_name
                changes["display_name"] = "changed"
            if (
                timezone
                and clinician.timezone_source != "caseload"
                and (clinician.timezone != timezone or clinician.timezone_source != "slack")
            ):
                moved = clinician.timezone != timezone
                clinician.timezone = timezone
                clinician.timezone_source = "slack"
                changes["timezone"] = timezone
                if moved:
                    for client in repo.clients(clinician_id=clinician.id):
                        episode = repo.current_episode(client.id)
                        if episode is not None and episode.closed_at is None:
                            self._store(episode, self._assess(repo, client, episode, now), now)
            if changes:
                repo.audit(
                    at=now,
                    actor="slack",
                    action="clinician_profile",
                    details={"clinician": slack_user_id, **changes},
                )
            return bool(changes)

    # -- the outbox, for the dispatcher ----------------------------------------------------
    def outbox_message(self, outbox_id: int) -> OutboxMessageData:
        """One outbox row rendered for Slack; for an in-place update, its target's content."""
        now = self.clock.now()
        with self.uow() as repo:
            row = repo.outbox_by_id(outbox_id)
            if row is None:
                raise DomainError("That message is no longer on record.")
            target = row
            if row.kind == OutboxKind.MESSAGE_UPDATE:
                found = repo.outbox_by_id(int(row.payload["target"]))
                if found is None:
                    raise DomainError("The message to update is no longer on record.")
                target = found
            data = self._message_data(repo, target, now)
        if (
            data.kind == StepKind.CHECKLIST.value
            and data.current
            and data.attempt == 0
            and data.next_step is ChecklistStep.OTHER_PROVIDERS
            and data.chart_id
        ):
            others = self.other_providers(data.chart_id, actor=SCHEDULER)
            data = replace(data, other_providers=tuple(others) if others is not None else None)
        return replace(data, delivery_id=row.id)

    @saved_or_refused
    def retire_message(self, outbox_id: int) -> None:
        """The message shows its final form; later refreshes leave it alone."""
        with self.uow() as repo:
            row = repo.outbox_by_id(outbox_id)
            if row is not None and not (row.payload or {}).get("retired"):
                row.payload = {**(row.payload or {}), "retired": True}

    @saved_or_refused
    def queue_delivery_failure(self, outbox_id: int, error: str) -> str | None:
        """Tell CCT a message was dead-lettered: its kind, the chart id and Slack's error,
        and how to re-send it. No client detail beyond the chart id. Once per message."""
        channel = self.settings.cct_channel_id
        if not channel:
            return None
        now = self.clock.now()
        with self.uow() as repo:
            row = repo.outbox_by_id(outbox_id)
            if row is None:
                return None
            chart = (row.payload or {}).get("chart_id") or "-"
            to = "the clinician's DM" if row.recipient_kind == "clinician" else "the CCT channel"
            text = (
                f":warning: A {row.kind.replace('_', ' ')} message for {chart} could not be "
                f"delivered to {to} ({error}). Once the cause is fixed, an admin can re-send "
                f"it with `discharge-bot outbox retry {row.id}`."
            )
            key = f"dead:{row.idempotency_key}"
            written = repo.add_outbox(
                OutboxMessage(
                    idempotency_key=key,
                    episode_id=row.episode_id,
                    kind="delivery_failed",
                    recipient_kind="cct",
                    recipient=channel,
                    payload={"text": text, "for": row.id},
                    status="pending",
                    deliver_after=now,
                    attempts=0,
                    created_at=now,
                )
            )
            return key if written else None

    def _message_data(
        self, repo: Repository, row: OutboxMessage, now: datetime
    ) -> OutboxMessageData:
        payload = row.payload or {}
        base: dict[str, Any] = {
            "id": row.id,
            "delivery_id": row.id,
            "key": row.idempotency_key,
            "kind": row.kind,
            "attempt": int(payload.get("attempt") or 0),
            "recipient_kind": row.recipient_kind,
            "recipient": row.recipient,
            "status": row.status,
            "channel": row.channel,
            "ts": row.ts,
            "total": self.policy.checkins,
            "snooze_days": tuple(self.settings.snooze_days),
            "discharged_group": self.settings.discharged_group_name,
            "resolutions": tuple(_resolution(r) for r in payload.get("resolutions", [])),
        }
        if row.kind == OutboxKind.CCT_DIGEST:
            digest = self._digest(
                repo,
                date.fromisoformat(payload["period_start"]),
                date.fromisoformat(payload["period_end"]),
            )
            return OutboxMessageData(
                **base,
                zone=self.settings.practice_timezone,
                text=self._render_digest(digest),
                current=False,
            )
        if row.kind == OutboxKind.SUMMARY_NOTE:
            note = repo.note_by_id(int(payload["note_id"]))
            if note is None:
                raise DomainError("That note is no longer on record.")
            owner = repo.session.get(Client, note.client_id)
            return OutboxMessageData(
                **base,
                zone=self.zone_of(owner.clinician) if owner else self.settings.practice_timezone,
                text=note.body,
                chart_id=owner.chart_id if owner else None,
                current=False,
            )
        episode = repo.session.get(Episode, row.episode_id) if row.episode_id else None
        if episode is None:
            raise DomainError("That message's episode is no longer on record.")
        client = episode.client
        hours = self.hours_for(client.clinician)
        a = self._assess(repo, client, episode, now)
        kind = StepKind(row.kind)
        to_cct = row.recipient_kind == Recipient.CCT.value
        number = payload.get("number")
        attempt = base["attempt"]
        open_episode = episode.closed_at is None and a.state is not State.CLOSED

        def render(name: str, **kw: Any) -> str:
            context = render_context(
                self.settings,
                self.policy,
                hours,
                client,
                a,
                recipient=Recipient.CCT if to_cct else Recipient.CLINICIAN,
                today=now,
                **kw,
            )
            return self.phrases.render(name, context, channel="slack")

        def first_due() -> datetime | None:
            first = repo.outbox_by_key(row.idempotency_key.rsplit(":", 1)[0] + ":0")
            due = (first.payload or {}).get("due_at") if first else payload.get("due_at")
            return datetime.fromisoformat(due) if due else None

        extra: dict[str, Any] = {}
        if kind is StepKind.CHECKIN:
            n = int(number or a.checkins_sent + 1)
            extra["number"] = n
            extra["current"] = (
                open_episode and a.state is State.OUTREACH and a.checkins_sent + 1 == n
            )
            extra["preview"] = render(checkin_phrase(n, self.policy.checkins), number=n)
            extra["can_send_for_me"] = self.platform is not None
            if attempt:
                label = f"Check-in {n} of {self.policy.checkins}"
                text = render("step_overdue", next_step=label, due_at=first_due())
            else:
                why = _reason(a, "outreach start", "attendance")
                text = render("checkin_due", number=n, reason=why)
        elif kind is StepKind.CLASSIFY_REPLY:
            extra["current"] = open_episode and a.state is State.REPLY_REVIEW
            if attempt:
                text = render(
                    "step_overdue", next_step="Classifying the client's reply", due_at=first_due()
                )
            else:
                text = render("reply_received")
        elif kind is StepKind.CHECKLIST:
            current = open_episode and a.state is State.INACTIVE
            extra["current"] = current
            extra["checklist"] = self._checklist_lines(repo, episode, a)
            extra["next_step"] = a.checklist.next_step if current else None
            extra["can_move_for_me"] = self.platform is not None
            if attempt:
                nxt = a.checklist.next_step
                title = CHECKLIST_TITLES[nxt] if nxt else "The discharge checklist"
                text = render("step_overdue", next_step=title, due_at=first_due())
            else:
                text = render("discharge_checklist", reason=_reason(a, "discharge checklist"))
        elif kind is StepKind.REENGAGED_NOTICE:
            extra["current"] = False
            text = render("client_reengaged")
        elif kind is StepKind.RETURNED_NOTICE:
            extra["current"] = False
            text = render("client_returned")
        elif kind is StepKind.CCT_ESCALATION:
            extra["current"] = open_episode
            step_key = str(payload.get("step") or "").removesuffix("-escalation")
            text = render(
                "cct_escalation", next_step=self._step_title(step_key, a), due_at=first_due()
            )
        else:
            waiting = {
                StepKind.CCT_CARE_TEAM_REMOVAL: (State.CARE_TEAM_REMOVAL, "cct_care_team_removal"),
                StepKind.CCT_REMATCH: (State.REMATCH, "cct_rematch"),
                StepKind.CCT_ARCHIVE: (State.DISCHARGED, "cct_chart_check"),
            }[kind]
            extra["current"] = open_episode and a.state is waiting[0]
            text = render(waiting[1])
        return OutboxMessageData(
            **base,
            zone=self.zone_of(client.clinician),
            text=text,
            chart_id=client.chart_id,
            clinician=client.clinician.slack_user_id,
            state=a.state,
            **extra,
        )

    def _step_title(self, step_key: str, a: Assessment) -> str:
        if step_key.startswith("checkin-"):
            return f"Check-in {step_key.removeprefix('checkin-')} of {self.policy.checkins}"
        if step_key.startswith("classify-"):
            return "Classifying the client's reply"
        nxt = a.checklist.next_step
        return CHECKLIST_TITLES[nxt] if nxt else "The discharge checklist"

    def _checklist_lines(
        self, repo: Repository, episode: Episode, a: Assessment
    ) -> tuple[ChecklistLine, ...]:
        done: dict[ChecklistStep, EventRecord] = {}
        for event in repo.events_of(episode.id):
            step = (event.data or {}).get("step")
            if event.kind == EventKind.STEP_COMPLETED.value and step:
                done[ChecklistStep(step)] = event
        lines = []
        for step in CHECKLIST_ORDER:
            record: EventRecord | None = done.get(step)
            automatic = step is ChecklistStep.ATTEMPTS_DOCUMENTED and a.checklist.attempts_auto
            lines.append(
                ChecklistLine(
                    step=step,
                    title=CHECKLIST_TITLES[step],
                    done_at=record.occurred_at
                    if record
                    else (a.checkin_dates[-1] if automatic and a.checkin_dates else None),
                    done_by=record.actor if record else None,
                    answer=(record.data or {}).get("answer") if record else None,
                    automatic=automatic and record is None,
                )
            )
        return tuple(lines)

    # -- what a click did, shown on the message it came from ---------------------------------
    @saved_or_refused
    def after_slack_action(
        self,
        chart_id: str,
        *,
        actor: Actor,
        outbox_id: int | None = None,
        action: Resolved | None = None,
        detail: str | None = None,
    ) -> list[str]:
        """Record on the clicked message what was done, by whom and when, and queue in-place
        updates of that message and of every other live prompt about this client (so buttons
        that no longer apply disappear). Returns the outbox keys queued."""
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            keys: list[str] = []
            touched: set[int] = set()
            if outbox_id is not None and action is not None:
                row = repo.outbox_by_id(outbox_id)
                if row is not None and row.episode_id in {
                    e.id for e in repo.episodes_of(client.id)
                }:
                    entry = {"action": action.value, "by": actor.id, "at": now.isoformat()}
                    if detail:
                        entry["detail"] = detail
                    payload = dict(row.payload or {})
                    payload["resolutions"] = [*payload.get("resolutions", []), entry]
                    row.payload = payload
                    key = self._queue_update(repo, row, now)
                    keys += [key] if key else []
                    touched.add(row.id)
            keys += self._refresh_live(repo, client, now, skip=touched)
            return keys

    def check_prompt(self, outbox_id: int, chart_id: str, *, actor: Actor) -> OutboxMessageData:
        """Refuse a click on a prompt that is not the actor's, or no longer current.

        Authorization comes first, so a stranger learns nothing about the prompt.
        """
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            row = repo.outbox_by_id(outbox_id)
            if row is None or (row.payload or {}).get("chart_id") != client.chart_id:
                raise DomainError("That button doesn't match a message on record.")
            data = self._message_data(repo, row, now)
        if not data.current:
            raise DomainError("This prompt was already dealt with, so nothing changed.")
        return data

    def outbox_chart_id(self, outbox_id: int) -> str | None:
        with self.uow() as repo:
            row = repo.outbox_by_id(outbox_id)
            return str(row.payload.get("chart_id")) if row and row.payload.get("chart_id") else None

    # -- CCT buttons ---------------------------------------------------------------------------
    def _cct_row(self, repo: Repository, outbox_id: int, actor: Actor) -> OutboxMessage:
        if not actor.is_cct:
            raise NotAllowed("Only the Care Coordination Team can take or close CCT requests.")
        row = repo.outbox_by_id(outbox_id)
        if row is None or row.recipient_kind != Recipient.CCT.value:
            raise DomainError("That CCT request is no longer on record.")
        done = [r for r in (row.payload or {}).get("resolutions", []) if r["action"] == "done"]
        if done:
            raise DomainError(f"<@{done[0]['by']}> already marked this done.")
        return row

    @saved_or_refused
    def cct_take(self, outbox_id: int, *, actor: Actor) -> list[str]:
        """A CCT member takes a request: recorded and shown on the message."""
        now = self.clock.now()
        with self.uow() as repo:
            row = self._cct_row(repo, outbox_id, actor)
            taken = [
                r for r in (row.payload or {}).get("resolutions", []) if r["action"] == "taken"
            ]
            if taken and taken[-1]["by"] == actor.id:
                raise DomainError("You've already taken this one.")
            payload = dict(row.payload or {})
            entry = {"action": Resolved.TAKEN.value, "by": actor.id, "at": now.isoformat()}
            payload["resolutions"] = [*payload.get("resolutions", []), entry]
            row.payload = payload
            repo.audit(
                at=now,
                actor=actor.id,
                action="cct_taken",
                episode_id=row.episode_id,
                details={"outbox": row.idempotency_key},
            )
            key = self._queue_update(repo, row, now)
            return [key] if key else []

    def cct_complete(self, outbox_id: int, *, actor: Actor) -> tuple[Outcome | None, list[str]]:
        """*Done* on a CCT request: the record moves on (archive / removal / rematch done);
        an escalation is only acknowledged. Returns the outcome and the keys queued."""
        with self.uow() as repo:
            row = self._cct_row(repo, outbox_id, actor)
            kind = row.kind
            chart_id = str((row.payload or {}).get("chart_id"))
        outcome = None
        if kind != StepKind.CCT_ESCALATION.value:
            outcome = self.cct_done(chart_id, actor=actor)
        keys = self.after_slack_action(
            chart_id, actor=actor, outbox_id=outbox_id, action=Resolved.DONE
        )
        return outcome, [*(outcome.queued if outcome else ()), *keys]

    # -- the discharge summary, back to its author ---------------------------------------------
    @saved_or_refused
    def queue_summary_note(self, chart_id: str, note_id: int, *, actor: Actor) -> str:
        """Queue the rendered summary note for the author's DM (never a channel)."""
        now = self.clock.now()
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            recipient = actor.id if actor.source is Source.SLACK else client.clinician.slack_user_id
            key = f"note:{note_id}"
            repo.add_outbox(
                OutboxMessage(
                    idempotency_key=key,
                    episode_id=None,
                    kind=OutboxKind.SUMMARY_NOTE.value,
                    recipient_kind=Recipient.CLINICIAN.value,
                    recipient=recipient,
                    payload={"note_id": note_id, "chart_id": client.chart_id},
                    status="pending",
                    deliver_after=now,
                    attempts=0,
                    created_at=now,
                )
            )
            return key

    def checklist_message_id(self, chart_id: str, *, actor: Actor) -> int | None:
        """The outbox row of the client's open checklist message, when it was sent."""
        with self.uow() as repo:
            client = self._client(repo, chart_id, actor)
            episode = self._episode(repo, client)
            row = repo.outbox_by_key(f"ep{episode.id}:checklist:0")
            return row.id if row else None

    # -- App Home --------------------------------------------------------------------------------
    def home(self, slack_user_id: str, *, is_cct: bool, recent_days: int = 30) -> HomeData:
        now = self.clock.now()
        needs: list[HomeRow] = []
        outreach: list[HomeRow] = []
        discharging: list[HomeRow] = []
        recent: list[HomeRow] = []
        queue: list[HomeRow] = []
        active = 0
        total = self.policy.checkins
        with self.uow() as repo:
            clinician = repo.clinician_by_slack_id(slack_user_id)
            zone = self.zone_of(clinician) if clinician else self.settings.practice_timezone
            pages = (
                self._caseload_pages(repo, clinician_id=clinician.id) if clinician else iter(())
            )
            hours = self.hours_for(clinician) if clinician else None
            for client, episode, records in pages:
                assert hours is not None
                a = assess(self._history(repo, episode, records), self.policy, hours, now)
                upcoming = a.due[0] if a.due else a.next
                chart = client.chart_id
                prompted = {
                    (r.data or {}).get("prompt")
                    for r in records
                    if r.kind == EventKind.PROMPTED.value
                }
                if a.state is State.ACTIVE:
                    active += 1
                elif a.state is State.REPLY_REVIEW:
                    needs.append(HomeRow(chart, a.state, "Replied: classify the reply"))
                elif a.state in (State.OUTREACH, State.PAUSED):
                    n = a.checkins_sent + 1
                    due_now = n <= total and (
                        f"checkin-{n}" in prompted or any(s.kind is StepKind.CHECKIN for s in a.due)
                    )
                    if a.state is State.PAUSED:
                        outreach.append(HomeRow(chart, a.state, "Outreach paused"))
                    elif due_now:
                        needs.append(HomeRow(chart, a.state, f"Check-in {n} of {total} is due"))
                    elif n <= total:
                        due = upcoming.due_at if upcoming else None
                        outreach.append(
                            HomeRow(chart, a.state, f"Check-in {n} of {total} next", due)
                        )
                    else:
                        due = upcoming.due_at if upcoming else None
                        outreach.append(
                            HomeRow(
                                chart, a.state, f"All {total} check-ins sent; checklist opens", due
                            )
                        )
                elif a.state is State.INACTIVE:
                    nxt = a.checklist.next_step
                    words = CHECKLIST_TITLES[nxt] if nxt else "finish the checklist"
                    discharging.append(
                        HomeRow(
                            chart,
                            a.state,
                            f"Checklist {a.checklist.done_count}/{len(CHECKLIST_ORDER)}. "
                            f"Next: {words}",
                        )
                    )
                elif a.state in _CCT_WAITING:
                    discharging.append(HomeRow(chart, a.state, _CCT_WAITING[a.state]))
                elif (
                    a.state is State.CLOSED
                    and episode.closed_at is not None
                    and episode.closed_at >= now - timedelta(days=recent_days)
                ):
                    words = _CLOSURE_WORDS.get(a.closure, "Closed") if a.closure else "Closed"
                    recent.append(HomeRow(chart, a.state, words, episode.closed_at))
            if is_cct:
                for episode in repo.open_episodes(states=[s.value for s in _CCT_WAITING]):
                    client = episode.client
                    queue.append(
                        HomeRow(
                            client.chart_id,
                            State(episode.state),
                            _CCT_WAITING[State(episode.state)],
                            episode.updated_at,
                            client.clinician.slack_user_id,
                        )
                    )
        return HomeData(
            user_id=slack_user_id,
            zone=zone,
            now=now,
            is_cct=is_cct,
            is_clinician=clinician is not None,
            needs_action=tuple(needs),
            outreach=tuple(sorted(outreach, key=lambda r: (r.due_at is None, r.due_at or now))),
            discharging=tuple(discharging),
            recent=tuple(sorted(recent, key=lambda r: r.due_at or now, reverse=True)),
            active_count=active,
            cct_queue=tuple(queue),
        )

    # -- the weekly CCT digest -----------------------------------------------------------------
    def _digest(self, repo: Repository, start: date, end: date) -> DigestData:
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
        return DigestData(start, end, tuple((title, tuple(sorted(ids))) for title, ids in rows))

    def _render_digest(self, digest: DigestData) -> str:
        context = RenderContext(
            digest=DigestContext(
                period_start=digest.period_start,
                period_end=digest.period_end,
                rows=tuple(
                    DigestRow(title, len(labels), labels) for title, labels in digest.rows if labels
                ),
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
            digest = self._digest(repo, start, end)
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


def _reason(a: Assessment, *about: str) -> str | None:
    """The latest reason (mentioning one of `about`, when given), capitalised, for a phrase."""
    found = [r for r in a.reasons if not about or any(word in r for word in about)]
    if not found:
        return None
    words = found[-1].split(": ", 1)[-1]
    return words[:1].upper() + words[1:]


def _resolution(entry: dict[str, Any]) -> Resolution:
    return Resolution(
        action=Resolved(entry["action"]),
        by=str(entry["by"]),
        at=datetime.fromisoformat(entry["at"]),
        detail=entry.get("detail"),
    )

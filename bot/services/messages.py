"""What the Slack surface reads and records about its messages: each outbox row's read
model, what a click did, and delivery failures.

Views never query the database; these methods hand them plain values (bot.services.readmodels).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from bot.domain.checklist import ORDER as CHECKLIST_ORDER
from bot.domain.checklist import TITLES as CHECKLIST_TITLES
from bot.domain.errors import DomainError
from bot.domain.model import ChecklistStep, EventKind, OpenReason, Recipient, State, StepKind
from bot.domain.policy import Assessment
from bot.services.chart import Chart, chart_note_of, checkin_note
from bot.services.checklist import Checklist
from bot.services.digest import Digest
from bot.services.episodes import Episodes
from bot.services.readmodels import (
    ChecklistLine,
    OutboxKind,
    OutboxMessageData,
    Resolution,
    Resolved,
)
from bot.services.types import SCHEDULER, Actor, checkin_phrase, saved_or_refused
from bot.services.wording import render_context
from storage.models import Client, Episode, EventRecord, OutboxMessage
from storage.repository import Repository


class Messages:
    """Outbox rows as read models, and the record of what was done on them."""

    def __init__(
        self, episodes: Episodes, checklist: Checklist, digest: Digest, chart: Chart | None = None
    ) -> None:
        self.episodes = episodes
        self.chart = chart or checklist.chart
        self.uow = episodes.uow
        self.clock = episodes.clock
        self.settings = episodes.settings
        self.policy = episodes.policy
        self.phrases = episodes.phrases
        self.checklist = checklist
        self.digest = digest

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
            others = self.checklist.other_providers(data.chart_id, actor=SCHEDULER)
            data = replace(data, other_providers=tuple(others) if others is not None else None)
        if (
            data.kind == StepKind.CHECKLIST.value
            and data.current
            and data.attempt == 0
            and data.next_step is ChecklistStep.NOTES_SIGNED
            and data.chart_id
        ):
            # Step 2 from the chart: list what is unsigned, or tick it when nothing is.
            unsigned = self.chart.unsigned_notes(data.chart_id, actor=SCHEDULER)
            if unsigned == () and self.chart.settle_notes_signed(
                data.chart_id, actor=SCHEDULER, unsigned=unsigned
            ):
                return self.outbox_message(outbox_id)
            data = replace(data, unsigned_notes=unsigned)
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
            digest = self.digest.digest(
                repo,
                date.fromisoformat(payload["period_start"]),
                date.fromisoformat(payload["period_end"]),
            )
            return OutboxMessageData(
                **base,
                zone=self.settings.practice_timezone,
                text=self.digest.render(digest),
                current=False,
            )
        if row.kind == OutboxKind.SUMMARY_NOTE:
            note = repo.note_by_id(int(payload["note_id"]))
            if note is None:
                raise DomainError("That note is no longer on record.")
            owner = repo.session.get(Client, note.client_id)
            note_state = chart_note_of(note)
            return OutboxMessageData(
                **base,
                zone=self.episodes.zone_of(owner.clinician)
                if owner
                else self.settings.practice_timezone,
                text=note.body,
                chart_id=owner.chart_id if owner else None,
                current=False,
                chart_note=note_state if note_state.link is not None else None,
            )
        episode = repo.session.get(Episode, row.episode_id) if row.episode_id else None
        if episode is None:
            raise DomainError("That message's episode is no longer on record.")
        client = episode.client
        hours = self.episodes.hours_for(client.clinician)
        a = self.episodes.assess(repo, client, episode, now)
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
            extra["title"] = a.checkin_title(n, self.policy.checkins)
            extra["pause_days"] = tuple(sorted({14, self.settings.pause_days, 60, 90}))
            extra["current"] = (
                open_episode and a.state is State.OUTREACH and a.next_checkin_number == n
            )
            extra["preview"] = render(checkin_phrase(n, self.policy.checkins), number=n)
            extra["can_send_for_me"] = self.checklist.platform is not None
            documented = checkin_note(repo, episode, n)
            if documented is not None:
                extra["chart_note"] = chart_note_of(documented)
            if attempt:
                label = a.checkin_title(n, self.policy.checkins)
                text = render("step_overdue", next_step=label, due_at=first_due())
            else:
                why = _reason(a, "outreach start", "attendance")
                if a.checkin_dates and n > 1:
                    previous = a.checkin_dates[-1].astimezone(hours.zone)
                    on = f"{previous:%B} {previous.day}, {previous.year}"
                    why = f"No reply since the last check-in on {on}"
                    heard = a.last_contact_at
                    if heard is not None and heard > a.checkin_dates[-1]:
                        local_heard = heard.astimezone(hours.zone)
                        why = (
                            "Outreach carries on after the client's message of "
                            f"{local_heard:%B} {local_heard.day}, {local_heard.year}"
                        )
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
            extra["can_move_for_me"] = self.checklist.platform is not None
            extra["other_sessions"] = tuple(
                f"{(at.astimezone(hours.zone)):%B} {at.astimezone(hours.zone).day}, "
                f"{at.astimezone(hours.zone).year} (provider {provider})"
                for at, provider in a.other_sessions
            )
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
            handed_over = episode.opened_reason == OpenReason.HANDED_OVER.value
            text = render("client_handed_over" if handed_over else "client_returned")
        elif kind is StepKind.PAUSE_ENDS:
            extra["current"] = False
            text = render("pause_ends")
        elif kind is StepKind.CCT_ESCALATION:
            extra["current"] = open_episode
            step_key = str(payload.get("step") or "").removesuffix("-escalation")
            origin = payload.get("origin_due_at")  # when the late step itself was due
            text = render(
                "cct_escalation",
                next_step=self._step_title(step_key, a),
                due_at=datetime.fromisoformat(origin) if origin else first_due(),
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
            zone=self.episodes.zone_of(client.clinician),
            text=text,
            chart_id=client.chart_id,
            clinician=client.clinician.slack_user_id,
            state=a.state,
            **extra,
        )

    def _step_title(self, step_key: str, a: Assessment) -> str:
        if step_key.startswith("checkin-"):
            number = int(step_key.removeprefix("checkin-"))
            return a.checkin_title(number, self.policy.checkins)
        if step_key.startswith("classify-"):
            return "Review of the client's reply"
        nxt = a.checklist.next_step
        return "Discharge checklist" + (f": {CHECKLIST_TITLES[nxt]}" if nxt else "")

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
            client = self.episodes.client(repo, chart_id, actor)
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
                    key = self.episodes.queue_update(repo, row, now)
                    keys += [key] if key else []
                    touched.add(row.id)
            keys += self.episodes.refresh_live(repo, client, now, skip=touched)
            return keys

    def check_prompt(
        self, outbox_id: int, chart_id: str, *, actor: Actor, current: bool = True
    ) -> OutboxMessageData:
        """Refuse a click on a prompt that is not the actor's, or (with `current`) no longer
        current; a documented check-in's *Documented in chart* asks with current=False.

        Authorization comes first, so a stranger learns nothing about the prompt.
        """
        now = self.clock.now()
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            row = repo.outbox_by_id(outbox_id)
            if row is None or (row.payload or {}).get("chart_id") != client.chart_id:
                raise DomainError("That button doesn't match a message on record.")
            data = self._message_data(repo, row, now)
        if current and not data.current:
            raise DomainError("This prompt was already dealt with, so nothing changed.")
        return data

    def outbox_chart_id(self, outbox_id: int) -> str | None:
        with self.uow() as repo:
            row = repo.outbox_by_id(outbox_id)
            return str(row.payload.get("chart_id")) if row and row.payload.get("chart_id") else None


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

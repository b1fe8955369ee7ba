"""The discharge checklist and summary: opening it, ticking steps, the summary note,
the platform's group move and care-team question."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import date, timedelta

from bot.domain.checklist import check_can_complete
from bot.domain.errors import DomainError, NeedsReason
from bot.domain.model import ChecklistStep, Event, EventKind, Recipient, State
from bot.domain.plausibility import NUL_REFUSAL
from bot.domain.policy import unmet_criteria
from bot.services.chart import Chart
from bot.services.episodes import Episodes
from bot.services.ports import PlatformPort, require_platform
from bot.services.readmodels import OutboxKind
from bot.services.types import Actor, Outcome, Source, saved_or_refused
from bot.services.wording import effort_lines, render_context
from smart_phrases import SummaryContext
from storage.models import OutboxMessage

log = logging.getLogger(__name__)


RISK_LEVELS = ("none", "low", "moderate", "high")
SUMMARY_REASON = "Unplanned Discontinuation / Client Inactivity"


class SummaryInvalid(DomainError):
    """The summary form has problems; `problems` maps each field to what to fix."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__(" ".join(problems.values()))


@dataclass(frozen=True)
class SummaryPrefill:
    chart_id: str
    reason: str
    last_session_date: date | None
    efforts: tuple[tuple[date, str], ...]
    state: State


class Checklist:
    """The discharge checklist, its summary note and the platform steps it offers."""

    def __init__(
        self, episodes: Episodes, platform: PlatformPort | None = None, chart: Chart | None = None
    ) -> None:
        self.episodes = episodes
        self.chart = chart or Chart(episodes, platform)
        self.uow = episodes.uow
        self.clock = episodes.clock
        self.settings = episodes.settings
        self.policy = episodes.policy
        self.phrases = episodes.phrases
        self.platform = platform

    @saved_or_refused
    def open_discharge(
        self, chart_id: str, *, actor: Actor, reason: str | None = None
    ) -> Outcome:
        """Open the checklist by hand. Before the guide's criteria are met this needs the
        clinician's reason: NeedsReason names what is unmet; with a reason both are audited
        and carried into the discharge summary."""
        why = (reason or "").strip()
        if len(why) > 500:
            raise DomainError("Keep the reason under 500 characters.")
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            now = self.clock.now()
            current = self.episodes.assess(repo, client, self.episodes.episode(repo, client), now)
            hours = self.episodes.hours_for(client.clinician)
            unmet = unmet_criteria(
                current, self.policy, lambda at: hours.local_date(at).strftime("%B %-d, %Y")
            )
            if unmet and not why:
                raise NeedsReason(
                    unmet,
                    f"To open the checklist anyway, give your reason: "
                    f"`/care discharge {client.chart_id} <reason>`.",
                )
            label = (
                f"Opened before the guide's criteria were met ({'; '.join(unmet)}). "
                f"Reason given: {why}"
                if unmet
                else None
            )
            return self.episodes.apply(
                repo,
                client,
                Event(EventKind.DISCHARGE_OPENED, now, label=label),
                actor,
                action="discharge_opened",
                details={"unmet": list(unmet), "reason": why} if unmet else None,
            )

    @saved_or_refused
    def complete_step(
        self,
        chart_id: str,
        step: ChecklistStep,
        *,
        actor: Actor,
        answer: str | None = None,
        by_platform: bool = False,
        delivery_id: str | None = None,
        reason: str | None = None,
    ) -> Outcome:
        """Tick a checklist step in order (the platform may report the group move any time).

        `reason`: the clinician's confirmation for "attempts documented" when none is."""
        if step is ChecklistStep.OTHER_PROVIDERS and answer not in ("yes", "no"):
            raise DomainError("Answer yes or no: is the client still seeing other providers?")
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            now = self.clock.now()
            if delivery_id is not None and not repo.claim_delivery(
                source=actor.source.value, delivery_id=delivery_id, now=now
            ):
                episode = self.episodes.episode(repo, client)
                return Outcome(
                    client.chart_id,
                    self.episodes.assess(repo, client, episode, now),
                    duplicate=True,
                )
            episode = self.episodes.episode(repo, client)
            current = self.episodes.assess(repo, client, episode, now)
            if current.state is State.INACTIVE:
                check_can_complete(
                    current.checklist,
                    step,
                    by_platform=by_platform,
                    reason=reason,
                    chart_id=client.chart_id,
                )
            why = (reason or "").strip() or None
            return self.episodes.apply(
                repo,
                client,
                Event(EventKind.STEP_COMPLETED, now, step=step, answer=answer, label=why),
                actor,
                action="step_completed",
                details={"step": step.value, "answer": answer, **({"reason": why} if why else {})},
            )

    # -- the discharge summary ----------------------------------------------------------------
    def summary_prefill(self, chart_id: str, *, actor: Actor) -> SummaryPrefill:
        """What the summary modal starts with: the reason, last session, efforts with dates."""
        now = self.clock.now()
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            a = self.episodes.assess(repo, client, self.episodes.episode(repo, client), now)
            hours = self.episodes.hours_for(client.clinician)
            last_session = a.last_session_at or self.chart.last_session(client, before=now)
            return SummaryPrefill(
                chart_id=client.chart_id,
                reason=SUMMARY_REASON,
                last_session_date=hours.local_date(last_session) if last_session else None,
                efforts=tuple(
                    (hours.local_date(at), text) for at, text in effort_lines(a, self.policy)
                ),
                state=a.state,
            )

    @saved_or_refused
    def save_discharge_summary(
        self,
        chart_id: str,
        *,
        treatment_focus: str,
        goals_progress: str,
        risk_level: str,
        considerations: str = "",
        last_session_date: str | date | None = None,
        actor: Actor,
    ) -> Outcome:
        """Store the summary note, tick its checklist step and hand the rendered note back.

        `last_session_date` is the clinician's correction of the last attended session (the
        record's date otherwise; "none on record" when neither says).

        Raises SummaryInvalid (with one message per field) before anything is written.
        """
        problems: dict[str, str] = {}
        if not treatment_focus.strip():
            problems["treatment_focus"] = "Describe the treatment focus."
        if not goals_progress.strip():
            problems["goals_progress"] = "Describe the goals and progress to last contact."
        if risk_level not in RISK_LEVELS:
            problems["risk_level"] = "Choose the risk level at last contact."
        for name, value in (
            ("treatment_focus", treatment_focus),
            ("goals_progress", goals_progress),
            ("considerations", considerations),
        ):
            if len(value) > 3000:
                problems[name] = "Keep this under 3,000 characters."
            elif "\x00" in value:
                problems[name] = NUL_REFUSAL
        last_session: date | None = None
        if isinstance(last_session_date, date):
            last_session = last_session_date
        elif last_session_date:
            try:
                last_session = date.fromisoformat(last_session_date)
            except ValueError:
                problems["last_session_date"] = "Choose a date, or leave it empty."
        if last_session is not None and last_session > self.clock.now().date() + timedelta(
            days=1
        ):
            problems["last_session_date"] = "The last session can't be in the future."
        if problems:
            raise SummaryInvalid(problems)
        fields = {
            "treatment_focus": treatment_focus.strip(),
            "goals_progress": goals_progress.strip(),
            "risk_level": risk_level,
            "considerations": considerations.strip(),
            **({"last_session_date": last_session.isoformat()} if last_session else {}),
        }
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            now = self.clock.now()
            episode = self.episodes.episode(repo, client)
            current = self.episodes.assess(repo, client, episode, now)
            if current.state is not State.INACTIVE:
                raise DomainError("The discharge checklist isn't open for this client.")
            check_can_complete(current.checklist, ChecklistStep.SUMMARY_NOTE, by_platform=False)
            hours = self.episodes.hours_for(client.clinician)
            if current.last_session_at is None:  # the platform may know one the log does not
                current = replace(
                    current, last_session_at=self.chart.last_session(client, before=now)
                )
            base = render_context(
                self.settings,
                self.policy,
                hours,
                client,
                current,
                recipient=Recipient.CLINICIAN,
                reason=SUMMARY_REASON,
                today=now,
            )
            assert base.episode is not None  # render_context always fills it
            context = replace(
                base,
                episode=replace(
                    base.episode,
                    last_session_date=last_session or base.episode.last_session_date,
                ),
                summary=SummaryContext(
                    treatment_focus=fields["treatment_focus"],
                    goals_progress=fields["goals_progress"],
                    risk_level=risk_level.capitalize(),
                    considerations=fields["considerations"],
                ),
            )
            body = self.phrases.render("discharge_summary", context, channel="plain")
            note = self.episodes.add_note(
                repo,
                client,
                episode,
                kind="discharge_summary",
                author=actor.id,
                body=body,
                now=now,
                fields=fields,
            )
            outcome = self.episodes.apply(
                repo,
                client,
                Event(EventKind.STEP_COMPLETED, now, step=ChecklistStep.SUMMARY_NOTE),
                actor,
                action="step_completed",
                details={"step": ChecklistStep.SUMMARY_NOTE.value, "note_id": note.id},
            )
            outcome = replace(outcome, note_id=note.id, text=body)
        self.chart.write_summary(note.id)  # an unsigned draft in the chart, where it can
        return outcome

    def move_to_discharged_group(self, chart_id: str, *, actor: Actor) -> Outcome:
        """Checklist step 5 through the platform: move the client, then tick the step."""
        platform = require_platform(self.platform)
        now = self.clock.now()
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            current = self.episodes.assess(repo, client, self.episodes.episode(repo, client), now)
            if current.state is not State.INACTIVE:
                raise DomainError("The discharge checklist isn't open for this client.")
            check_can_complete(current.checklist, ChecklistStep.MOVED_TO_GROUP, by_platform=False)
            platform_id = client.platform_user_id or client.chart_id
        try:
            platform.move_to_group(platform_id, self.settings.discharged_group_name)
        except Exception as exc:
            log.warning(
                "platform refused the group move for %s: %s", chart_id, exc.__class__.__name__
            )
            raise DomainError(
                f"The platform didn't move the client to {self.settings.discharged_group_name}: "
                f"{exc}. Move them there yourself, then confirm the step."
            ) from exc
        return self.complete_step(chart_id, ChecklistStep.MOVED_TO_GROUP, actor=actor)

    def other_providers(self, chart_id: str, *, actor: Actor) -> list[str] | None:
        """The client's other providers per the platform, or None when no platform can tell."""
        if self.platform is None:
            return None
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
            platform_id = client.platform_user_id or client.chart_id
            clinician_platform_id = client.clinician.platform_user_id
        try:
            return self.platform.other_providers(platform_id, clinician_platform_id)
        except Exception as exc:
            log.warning(
                "platform could not list the care team for %s: %s", chart_id, exc.__class__.__name__
            )
            return None

    # -- the discharge summary, back to its author ---------------------------------------------
    @saved_or_refused
    def queue_summary_note(self, chart_id: str, note_id: int, *, actor: Actor) -> str:
        """Queue the rendered summary note for the author's DM (never a channel)."""
        now = self.clock.now()
        with self.uow() as repo:
            client = self.episodes.client(repo, chart_id, actor)
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
            client = self.episodes.client(repo, chart_id, actor)
            episode = self.episodes.episode(repo, client)
            row = repo.outbox_by_key(f"ep{episode.id}:checklist:0")
            return row.id if row else None

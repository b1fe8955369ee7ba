"""Buttons and selects on the bot's messages: check-ins, reply classification, the
checklist and the CCT requests. Each: ack, parse the typed value, one service, follow up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.domain.errors import DomainError
from bot.domain.model import ChecklistStep, Classification
from bot.services.readmodels import Resolved
from bot.slack.ids import Id, PromptValue, SummaryMetadata, any_variant, parse
from bot.slack.listeners import follow, stored_first, surface_of, user_of
from bot.slack.views.format import when
from bot.slack.views.messages import CLASSIFICATION_WORDS
from bot.slack.views.summary import summary_modal


def register(app: App) -> None:
    for action_id, listener in (
        (str(Id.MARK_SENT), mark_sent),
        (str(Id.SEND_FOR_ME), send_for_me),
        (str(Id.CLIENT_REPLIED), client_replied),
        (str(Id.SNOOZE), snooze),
        (str(Id.PAUSE), pause),
        (str(Id.NOTE_DOCUMENTED), note_documented),
        (any_variant(Id.CLASSIFY), classify),
        (str(Id.STEP_CONFIRM), confirm_step),
        (any_variant(Id.OTHER_PROVIDERS), other_providers),
        (str(Id.MOVE_FOR_ME), move_for_me),
        (str(Id.MOVED_CONFIRM), moved_confirm),
        (str(Id.CCT_TAKE), cct_take),
        (str(Id.CCT_DONE), cct_done),
    ):
        app.action(action_id)(stored_first(action_id, listener))
    # Opens a modal: Slack's trigger_id lasts 3 s, so it runs inside the request.
    app.action(str(Id.OPEN_SUMMARY))(open_summary)


def _value(body: dict[str, Any]) -> PromptValue:
    action = body["actions"][0]
    raw = action.get("value")
    if raw is None and action.get("selected_option"):
        raw = action["selected_option"].get("value")
    return parse(PromptValue, raw)


def mark_sent(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    _document_checkin(ack, body, context, Resolved.MARKED_SENT)


def send_for_me(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    _document_checkin(ack, body, context, Resolved.SENT_FOR_ME)


def _document_checkin(ack: Ack, body: dict[str, Any], context: BoltContext, how: Resolved) -> None:
    """Mark as sent / Send for me: the prompt's own number, so a second click (or a stale
    prompt) is refused instead of documenting the next check-in."""
    ack()
    surface, value = surface_of(context), _value(body)
    actor = surface.actor(user_of(body))
    data = surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    if how is Resolved.SENT_FOR_ME:
        outcome = surface.services.outreach.send_checkin_via_platform(
            value.c, actor=actor, number=data.number
        )
    else:
        outcome = surface.services.outreach.mark_checkin_sent(
            value.c, actor=actor, number=data.number
        )
    follow(
        surface,
        value.c,
        actor,
        outcome.queued,
        outbox_id=value.o,
        action=how,
        detail=(data.title or f"check-in {data.number} of {data.total}").lower(),
    )


def client_replied(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    actor = surface.actor(user_of(body))
    surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    outcome = surface.services.recording.record_client_message(
        value.c, occurred_at=surface.services.clock.now(), actor=actor
    )
    follow(
        surface, value.c, actor, outcome.queued, outbox_id=value.o, action=Resolved.CLIENT_REPLIED
    )


def snooze(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    actor = surface.actor(user_of(body))
    data = surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    try:
        days = int(value.v or "")
    except ValueError:
        raise DomainError("Choose how many days to snooze for.") from None
    outcome = surface.services.outreach.snooze_checkin(value.c, days=days, actor=actor)
    until = surface.services.clock.now()
    upcoming = outcome.assessment.next
    detail = f"{days} day" + ("" if days == 1 else "s")
    if upcoming is not None and upcoming.due_at > until:
        detail += f", back {when(upcoming.due_at, data.zone)}"
    follow(
        surface,
        value.c,
        actor,
        outcome.queued,
        outbox_id=value.o,
        action=Resolved.SNOOZED,
        detail=detail,
    )


def note_documented(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    """*Documented in chart*: the clinician pasted the check-in's admin note into the chart."""
    ack()
    surface, value = surface_of(context), _value(body)
    actor = surface.actor(user_of(body))
    surface.services.messages.check_prompt(value.o, value.c, actor=actor, current=False)
    try:
        number = int(value.v or "")
    except ValueError:
        raise DomainError("That button is out of date. Open the latest message.") from None
    outcome = surface.services.chart.confirm_documented(value.c, number, actor=actor)
    follow(surface, value.c, actor, outcome.queued, outbox_id=value.o)


def pause(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    actor = surface.actor(user_of(body))
    data = surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    chosen = value.v or ""
    days = int(chosen) if chosen.isdigit() else surface.services.outreach.settings.pause_days
    until = surface.services.outreach.clock.now() + timedelta(days=days)
    outcome = surface.services.outreach.pause_outreach(value.c, actor=actor, until=until)
    follow(
        surface,
        value.c,
        actor,
        outcome.queued,
        outbox_id=value.o,
        action=Resolved.PAUSED,
        detail=f"until {when(until, data.zone)}; you'll be reminded that day",
    )


def classify(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    try:
        choice = Classification(value.v or "")
    except ValueError:
        raise DomainError("Choose what the reply means.") from None
    actor = surface.actor(user_of(body))
    surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    outcome = surface.services.replies.classify_reply(value.c, choice, actor=actor)
    follow(
        surface,
        value.c,
        actor,
        outcome.queued,
        outbox_id=value.o,
        action=Resolved.CLASSIFIED,
        detail=CLASSIFICATION_WORDS[choice],
    )


def _step(value: PromptValue) -> ChecklistStep:
    try:
        return ChecklistStep(value.v or "")
    except ValueError:
        raise DomainError("That checklist button is out of date.") from None


def confirm_step(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    step = _step(value)
    if step in (ChecklistStep.OTHER_PROVIDERS, ChecklistStep.SUMMARY_NOTE):
        raise DomainError("That step has its own button on the checklist.")
    actor = surface.actor(user_of(body))
    surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    outcome = surface.services.checklist.complete_step(value.c, step, actor=actor)
    follow(surface, value.c, actor, outcome.queued)


def other_providers(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    if value.v not in ("yes", "no"):
        raise DomainError("Answer yes or no.")
    actor = surface.actor(user_of(body))
    surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    outcome = surface.services.checklist.complete_step(
        value.c, ChecklistStep.OTHER_PROVIDERS, answer=value.v, actor=actor
    )
    follow(surface, value.c, actor, outcome.queued)


def open_summary(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    actor = surface.actor(user_of(body))
    surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    prefill = surface.services.checklist.summary_prefill(value.c, actor=actor)
    view = summary_modal(prefill, SummaryMetadata(c=value.c, o=value.o))
    client.views_open(trigger_id=body["trigger_id"], view=view)


def move_for_me(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    actor = surface.actor(user_of(body))
    surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    outcome = surface.services.checklist.move_to_discharged_group(value.c, actor=actor)
    follow(surface, value.c, actor, outcome.queued)


def moved_confirm(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    actor = surface.actor(user_of(body))
    surface.services.messages.check_prompt(value.o, value.c, actor=actor)
    outcome = surface.services.checklist.complete_step(
        value.c, ChecklistStep.MOVED_TO_GROUP, actor=actor
    )
    follow(surface, value.c, actor, outcome.queued)


def cct_take(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    keys = surface.services.cct.cct_take(value.o, actor=surface.actor(user_of(body)))
    surface.dispatcher.deliver(keys)


def cct_done(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    _, keys = surface.services.cct.cct_complete(value.o, actor=surface.actor(user_of(body)))
    surface.dispatcher.deliver(keys)

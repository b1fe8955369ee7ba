"""`/care`: parse the text, call one service, answer ephemerally in the HTTP response."""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from slack_bolt import Ack, App, BoltContext

from bot.domain.model import ChecklistStep
from bot.slack.care import CareCommand, CareUsageError, Verb, parse_care, session_instant
from bot.slack.listeners import follow, surface_of
from bot.slack.views.format import SlackMessage, when
from bot.slack.views.replies import (
    caseload_reply,
    help_reply,
    status_reply,
    text_reply,
    usage_reply,
)

if TYPE_CHECKING:
    from bot.slack.inbox import SlackInbox
    from bot.slack.surface import Surface

NOTE = "care:note"

log = logging.getLogger(__name__)


def register(app: App) -> None:
    app.command("/care")(care)


def register_stored(inbox: SlackInbox, surface: Surface) -> None:
    """What the inbox does with a stored `/care note`: add it, once (`once` is the row)."""

    def add_note(body: dict[str, Any], item: Any) -> None:
        actor = surface.actor(str(body["user_id"]))
        surface.services.notes.log_note(
            str(body["chart"]), str(body["text"]), actor=actor, once=f"slack-inbox:{item.id}"
        )

    inbox.handle(NOTE, add_note)


def _ephemeral(message: SlackMessage) -> dict[str, Any]:
    return {"response_type": "ephemeral", **message.to_dict()}


ALREADY_RECEIVED = "That command was already received; it was not done twice."


def care(ack: Ack, command: dict[str, Any], context: BoltContext) -> None:
    """A slash command carries a trigger_id unique to one invocation: a replayed command is
    answered "already received" and does nothing (a note claims it in the write that
    stores the note; every other command before it runs)."""
    surface = surface_of(context)
    user = str(command["user_id"])
    try:
        parsed = parse_care(str(command.get("text") or ""))
    except CareUsageError as problem:
        ack(**_ephemeral(usage_reply(str(problem))))
        return
    if parsed.verb is Verb.NOTE:
        ack(**answer_note(surface, command, parsed))
        return
    trigger = _trigger(command)
    if trigger and not surface.services.recording.claim_inbound("slack-command", trigger):
        log.info("slash command replayed (same trigger_id); ignored")
        ack(**_ephemeral(text_reply(ALREADY_RECEIVED)))
        return
    surface.learn(user)
    ack(**_ephemeral(run(surface, parsed, user, trigger=trigger)))


def answer_note(surface: Surface, command: dict[str, Any], parsed: CareCommand) -> dict[str, Any]:
    """The answer to a `/care note` (from this listener, and from the fast lane in
    `bot.slack.door`, which answers notes without Bolt): checked, stored, answered."""
    user = str(command["user_id"])
    surface.learn(user)
    return _ephemeral(run(surface, parsed, user, trigger=_trigger(command)))


def _trigger(command: dict[str, Any]) -> str | None:
    return str(command.get("trigger_id") or "")[:200] or None


def run(
    surface: Surface, cmd: CareCommand, user: str, *, trigger: str | None = None
) -> SlackMessage:
    service = surface.services
    if cmd.verb is Verb.HELP:
        return help_reply()
    chart = cmd.client or ""
    if cmd.verb is Verb.NOTE:
        # Checked here (text, client, permission) so the answer can say it is added; stored
        # before the answer, written into the log and the chart right after (`add_note`).
        note = service.notes.check_note(chart, cmd.text or "", actor=surface.actor(user))
        body = {"command": "/care", "user_id": user, "chart": note.chart_id, "text": note.text}
        once = ("slack-command", trigger) if trigger else None
        if surface.inbox.accept(NOTE, body, user=user, once=once, check=note.verify) is None:
            return text_reply(ALREADY_RECEIVED)
        return text_reply(f"Admin note added to {chart}'s log.")
    zone = surface.zone_for(user)
    if cmd.verb is Verb.CASELOAD or (cmd.verb is Verb.STATUS and cmd.client is None):
        rows = service.reads.caseload(clinician_slack_id=user)
        return caseload_reply(rows, zone, summary_only=cmd.verb is Verb.STATUS, page=cmd.page)
    actor = surface.actor(user)
    if cmd.verb is Verb.STATUS:
        return status_reply(service.reads.timeline(chart, actor=actor), zone)
    if cmd.verb is Verb.SESSION and cmd.outcome is not None:
        at = session_instant(cmd.on, service.clock.now(), zone)
        outcome = service.recording.record_session(chart, cmd.outcome, occurred_at=at, actor=actor)
        words = cmd.outcome.value.removeprefix("session_").replace("_", "-")
        follow(surface, chart, actor, outcome.queued)
        state = outcome.assessment.state.value.replace("_", " ")
        return text_reply(f"Recorded: {chart}'s session {words}. The client is now {state}.")
    if cmd.verb is Verb.OUTREACH:
        outcome = service.outreach.start_outreach(chart, actor=actor)
        sent = follow(surface, chart, actor, outcome.queued)
        tail = (
            " The check-in 1 prompt is in your DMs."
            if sent
            else " The check-in 1 prompt arrives in your working hours."
        )
        return text_reply(f"Outreach started for {chart}.{tail}")
    if cmd.verb is Verb.PAUSE:
        until = datetime.combine(cmd.on, time(0), tzinfo=ZoneInfo(zone)) if cmd.on else None
        outcome = service.outreach.pause_outreach(chart, actor=actor, until=until)
        follow(surface, chart, actor, outcome.queued)
        end = outcome.assessment.paused_until
        day = f" until {when(end, zone)}" if end else ""
        return text_reply(
            f"Outreach paused for {chart}{day}; you'll be reminded that day. "
            f"Resume sooner with `/care resume {chart}`."
        )
    if cmd.verb is Verb.ATTEMPTS:
        outcome = service.checklist.complete_step(
            chart, ChecklistStep.ATTEMPTS_DOCUMENTED, actor=actor, reason=cmd.text
        )
        follow(surface, chart, actor, outcome.queued)
        return text_reply(f"“Attempts documented” ticked for {chart}, with your reason on record.")
    if cmd.verb is Verb.RESUME:
        outcome = service.outreach.resume_outreach(chart, actor=actor)
        follow(surface, chart, actor, outcome.queued)
        return text_reply(f"Outreach resumed for {chart}.")
    if cmd.verb is Verb.REPLIED:
        outcome = service.recording.record_client_message(
            chart, occurred_at=service.clock.now(), actor=actor
        )
        follow(surface, chart, actor, outcome.queued)
        return text_reply(
            f"Noted: {chart} replied, so outreach has stopped. "
            "You'll get a message asking what the reply means."
        )
    outcome = service.checklist.open_discharge(chart, actor=actor, reason=cmd.text)
    sent = follow(surface, chart, actor, outcome.queued)
    where = "is in your DMs" if sent else "arrives in your working hours"
    return text_reply(f"The discharge checklist for {chart} {where}.")

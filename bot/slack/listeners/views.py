"""Modal submissions: the discharge summary (validation errors shown in the modal)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext

from bot.services.checklist import SummaryInvalid
from bot.slack.ids import Id, SummaryMetadata, parse
from bot.slack.listeners import follow, surface_of, user_of
from bot.slack.views.summary import FIELD_BLOCKS


def register(app: App) -> None:
    app.view(str(Id.SUMMARY_MODAL))(submit_summary)


def _element(values: dict[str, Any], block: Id, action: Id) -> dict[str, Any]:
    """One input's state; anything not shaped as Slack sends it reads as empty."""
    inputs = values.get(str(block))
    element = inputs.get(str(action)) if isinstance(inputs, dict) else None
    return element if isinstance(element, dict) else {}


def _text(values: dict[str, Any], block: Id, action: Id) -> str:
    value = _element(values, block, action).get("value")
    return value if isinstance(value, str) else ""


def _choice(values: dict[str, Any], block: Id, action: Id) -> str:
    option = _element(values, block, action).get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) else ""


def _date(values: dict[str, Any], block: Id, action: Id) -> str | None:
    element = (values.get(str(block)) or {}).get(str(action)) or {}
    chosen = element.get("selected_date")
    return str(chosen) if chosen else None


def submit_summary(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], context: BoltContext
) -> None:
    """Validate and store in one service call; only then close the modal.

    The rendered note goes to the author's DM through the outbox, never to a channel.
    """
    surface = surface_of(context)
    meta = parse(SummaryMetadata, view.get("private_metadata"))
    values = (view.get("state") or {}).get("values") or {}
    actor = surface.actor(user_of(body))
    try:
        outcome = surface.services.checklist.save_discharge_summary(
            meta.c,
            treatment_focus=_text(values, Id.B_FOCUS, Id.A_FOCUS),
            goals_progress=_text(values, Id.B_GOALS, Id.A_GOALS),
            risk_level=_choice(values, Id.B_RISK, Id.A_RISK),
            considerations=_text(values, Id.B_CONSIDERATIONS, Id.A_CONSIDERATIONS),
            last_session_date=_date(values, Id.B_LAST_SESSION, Id.A_LAST_SESSION),
            actor=actor,
        )
    except SummaryInvalid as invalid:
        ack(
            response_action="errors",
            errors={FIELD_BLOCKS[name]: problem for name, problem in invalid.problems.items()},
        )
        return
    ack()
    assert outcome.note_id is not None
    note_key = surface.services.checklist.queue_summary_note(meta.c, outcome.note_id, actor=actor)
    follow(surface, meta.c, actor, [note_key, *outcome.queued])

"""The early heads-up's buttons (in the DM and on App Home) and its *Expected* modal.
Each: ack, parse the typed value, one service, then the in-place update goes out."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.domain.errors import DomainError
from bot.slack.ids import HeadsUpValue, Id, parse
from bot.slack.listeners import surface_of, user_of
from bot.slack.listeners.home import publish
from bot.slack.views.headsups import expected_modal, reach_out_modal


def register(app: App) -> None:
    app.action(str(Id.HEADSUP_REACH_OUT))(reach_out)
    app.action(str(Id.HEADSUP_EXPECTED))(expected)
    app.action(str(Id.HEADSUP_DISMISS))(dismiss)
    app.view(str(Id.HEADSUP_EXPECTED_MODAL))(submit_expected)


def _value(body: dict[str, Any]) -> HeadsUpValue:
    return parse(HeadsUpValue, body["actions"][0].get("value"))


def _after(client: WebClient, context: BoltContext, body: dict[str, Any], keys: list[str]) -> None:
    """Deliver the in-place update now, and re-publish App Home when the click came from it."""
    surface = surface_of(context)
    surface.dispatcher.deliver(keys)
    if (body.get("view") or {}).get("type") == "home":
        publish(client, context, user_of(body))


def reach_out(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    actor = surface.actor(user_of(body))
    text, keys = surface.services.headsups.reach_out(value.h, actor=actor)
    client.views_open(trigger_id=body["trigger_id"], view=reach_out_modal(value.c, text))
    _after(client, context, body, keys)


def expected(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    surface.services.headsups.check(value.h, actor=surface.actor(user_of(body)))
    client.views_open(trigger_id=body["trigger_id"], view=expected_modal(value))


def dismiss(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    surface, value = surface_of(context), _value(body)
    _, keys = surface.services.headsups.dismiss(value.h, actor=surface.actor(user_of(body)))
    _after(client, context, body, keys)


def submit_expected(
    ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient, context: BoltContext
) -> None:
    surface = surface_of(context)
    value = parse(HeadsUpValue, view.get("private_metadata"))
    values = (view.get("state") or {}).get("values") or {}
    reason = ((values.get(str(Id.B_HEADSUP_REASON)) or {}).get(str(Id.A_HEADSUP_REASON)) or {}).get(
        "value"
    ) or ""
    try:
        _, keys = surface.services.headsups.expected(
            value.h, str(reason), actor=surface.actor(user_of(body))
        )
    except DomainError as problem:
        ack(response_action="errors", errors={str(Id.B_HEADSUP_REASON): str(problem)})
        return
    ack()
    surface.dispatcher.deliver(keys)
    publish(client, context, user_of(body))

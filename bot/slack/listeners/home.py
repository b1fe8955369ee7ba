"""App Home: published when opened or refreshed; "See all" opens a paged modal."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.slack.ids import CaseloadMetadata, Id, PageValue, parse
from bot.slack.listeners import surface_of, user_of
from bot.slack.views.headsups import home_with_headsups
from bot.slack.views.home import caseload_modal, home_view


def register(app: App) -> None:
    app.event("app_home_opened")(home_opened)
    app.action(str(Id.HOME_REFRESH))(refresh)
    app.action(str(Id.HOME_MORE))(see_all)
    app.action(re.compile(rf"^{Id.HOME_PAGE}:"))(page)


def publish(client: WebClient, context: BoltContext, user: str) -> None:
    surface = surface_of(context)
    surface.learn(user)
    data = surface.services.reads.home(user, is_cct=surface.directory.is_cct(user))
    view = home_with_headsups(home_view(data), surface.services.headsups.open_for(user))
    client.views_publish(user_id=user, view=view)


def home_opened(event: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    if event.get("tab", "home") == "home":
        publish(client, context, str(event["user"]))


def refresh(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    publish(client, context, user_of(body))


def see_all(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    surface, user = surface_of(context), user_of(body)
    value = parse(PageValue, body["actions"][0].get("value"))
    data = surface.services.reads.home(user, is_cct=surface.directory.is_cct(user))
    view = caseload_modal(data, CaseloadMetadata(section=value.section, page=value.page))
    client.views_open(trigger_id=body["trigger_id"], view=view)


def page(ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
    ack()
    surface, user = surface_of(context), user_of(body)
    value = parse(PageValue, body["actions"][0].get("value"))
    data = surface.services.reads.home(user, is_cct=surface.directory.is_cct(user))
    view = caseload_modal(data, CaseloadMetadata(section=value.section, page=value.page))
    client.views_update(view_id=body["view"]["id"], hash=body["view"].get("hash"), view=view)

"""The Slack app manifest an admin pastes into api.slack.com to create or update the app.

Two shapes: HTTP mode (Slack calls `{public base}/slack/events` for commands, events and
interactivity) and Socket Mode (no request URLs; the app connects out with SLACK_APP_TOKEN).
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.settings import Settings

APP_NAME = "Discharge Bot"
COMMAND = "/care"
SLACK_PATH = "/slack/events"

BOT_SCOPES = (
    "chat:write",  # DMs to clinicians, messages in the CCT channel the bot was invited to
    "commands",  # /care
    "im:write",  # conversations.open: a DM with a clinician
    "im:history",  # message.im events; reconciling in-flight DMs against their history
    "users:read",  # users.info: a clinician's time zone
    "usergroups:read",  # usergroups.users.list: who is CCT (CCT_USERGROUP_ID)
    "channels:history",  # reconciling in-flight posts in a public CCT channel
    "groups:history",  # ... or a private one
)
"""Least privilege: no chat:write.public (the bot is invited to the CCT channel)."""

BOT_EVENTS = (
    "app_home_opened",  # render the App Home caseload
    "message.im",  # a clinician writing to the bot's Messages tab gets pointed to /care
)


def _events_url(request_url: str) -> str:
    base = request_url.rstrip("/")
    return base if base.endswith(SLACK_PATH) else base + SLACK_PATH


def build_manifest(
    settings: Settings, *, request_url: str | None, socket_mode: bool
) -> dict[str, Any]:
    """The manifest as a dict.

    `request_url` is the bot's public base URL (`https://bot.example.org`) or the full
    `…/slack/events` URL; it is required in HTTP mode and ignored in Socket Mode.
    `settings` is taken so the CLI has one call; nothing in it changes the manifest today
    (the scopes cover CCT by user group as well as by a list of ids).
    """
    del settings  # see the docstring
    if not socket_mode and not request_url:
        raise ValueError(
            "HTTP mode needs the bot's public URL (e.g. https://bot.example.org); "
            "or use Socket Mode"
        )
    if request_url and not socket_mode and not request_url.startswith("https://"):
        raise ValueError(f"Slack only calls https:// URLs, not {request_url!r}")
    url = _events_url(request_url) if request_url and not socket_mode else None

    command: dict[str, Any] = {
        "command": COMMAND,
        "description": "Clients' discharge workflow: status, outreach, notes, checklist",
        "usage_hint": "help | status [R-1042] | outreach R-1042 | note R-1042 text | caseload",
        "should_escape": False,
    }
    events: dict[str, Any] = {"request_url": url} if url else {}
    events["bot_events"] = list(BOT_EVENTS)
    interactivity: dict[str, Any] = {"is_enabled": True}
    if url:
        command["url"] = url
        interactivity["request_url"] = url

    return {
        "_metadata": {"major_version": 1, "minor_version": 1},
        "display_information": {
            "name": APP_NAME,
            "description": "Carries clinicians through closing a file when a client goes quiet.",
            "background_color": "#2f4858",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": "discharge-bot", "always_online": True},
            "slash_commands": [command],
        },
        "oauth_config": {"scopes": {"bot": list(BOT_SCOPES)}},
        "settings": {
            "event_subscriptions": events,
            "interactivity": interactivity,
            "org_deploy_enabled": False,
            "socket_mode_enabled": socket_mode,
            "token_rotation_enabled": False,
        },
    }


def manifest_yaml(settings: Settings, *, request_url: str | None, socket_mode: bool) -> str:
    """The manifest as YAML, keys in Slack's documented order, ready to paste."""
    manifest = build_manifest(settings, request_url=request_url, socket_mode=socket_mode)
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)

"""Events API: direct messages to the bot get a pointer to `/care` (the bot reads no DMs)."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient


def register(app: App) -> None:
    app.event("message")(direct_message)


def direct_message(event: dict[str, Any], client: WebClient) -> None:
    """Someone wrote in the bot's Messages tab: say how to use it, visible only to them.

    Bot messages, edits and other subtypes are ignored. The text itself is never read or
    stored (it may hold client details).
    """
    if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
        return
    client.chat_postEphemeral(
        channel=str(event["channel"]),
        user=str(event["user"]),
        text="I don't read messages here. Type `/care help` to see what I can do, or open "
        "my Home tab for your caseload.",
    )

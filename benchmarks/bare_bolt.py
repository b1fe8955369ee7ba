"""The baselines of benchmarks/ack.py: a bare Bolt app whose `/care` and button only ack.

Bolt's Flask adapter under gunicorn, as a Bolt app is usually served. BARE_PBR=1 builds it
with `process_before_response=True` (the listener runs before the answer, as ours does);
otherwise with Bolt's defaults (the answer waits for nothing, the listener runs in a thread).

    BARE_PBR=1 SLACK_SIGNING_SECRET=... gunicorn -w 2 benchmarks.bare_bolt:app
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request
from slack_bolt import Ack, App
from slack_bolt.adapter.flask import SlackRequestHandler
from slack_sdk import WebClient

bolt = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    # The same loopback fake Web API ours talks to (Bolt asks auth.test who it is).
    client=WebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
    token_verification_enabled=False,
    request_verification_enabled=True,
    process_before_response=os.environ.get("BARE_PBR") == "1",
)


@bolt.command("/care")
def care(ack: Ack) -> None:
    ack()


@bolt.action("checkin_mark_sent")
def mark_sent(ack: Ack, body: dict[str, Any]) -> None:
    ack()


app = Flask(__name__)
handler = SlackRequestHandler(bolt)


@app.route("/slack/events", methods=["POST"])
def slack_events() -> Any:
    return handler.handle(request)

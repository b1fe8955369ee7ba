"""The baseline of benchmarks/webhooks.py: a bare Flask app that checks a generic webhook's
signature exactly as ours does (`verify_generic_signature`, the same 5-minute window) and
answers 200 without storing anything.

    PLATFORM_WEBHOOK_SECRET=... gunicorn -w 2 benchmarks.bare_webhook:app
"""

from __future__ import annotations

import os
from typing import Any

from flask import Flask, request

from bot.clock import SystemClock
from bot.platform.events import WebhookError
from bot.platform.generic import verify_generic_signature

SECRET = os.environ["PLATFORM_WEBHOOK_SECRET"]
WALL = SystemClock()

app = Flask(__name__)


@app.route("/platform/events", methods=["POST"])
def platform_events() -> Any:
    body = request.get_data()
    try:
        verify_generic_signature(request.headers, body, secret=SECRET, wall_clock=WALL)
    except WebhookError as refused:
        return {"ok": False, "error": refused.reason}, refused.status
    return {"ok": True}

"""`discharge-bot serve`: the Slack app, the webhooks, the health check and the scheduler."""

from __future__ import annotations

import logging

from pydantic import SecretStr

from bot.bootstrap import build_runtime
from bot.http import create_wsgi_app, serve_http, start_socket_mode
from bot.scheduler import start_scheduler
from bot.settings import Settings
from bot.slack.app import build_surface, create_app
from bot.slack_client import make_web_client
from bot.web import HealthCheck, platform_routes

log = logging.getLogger(__name__)


class MissingSlackConfig(Exception):
    """A setting `serve` cannot start without; the message names it."""


def check_slack_settings(settings: Settings) -> None:
    missing = []
    if settings.slack_bot_token is None:
        missing.append("SLACK_BOT_TOKEN (the bot token, xoxb-…)")
    if settings.slack_app_token is None and settings.slack_signing_secret is None:
        missing.append("SLACK_SIGNING_SECRET (from the app's Basic Information page)")
    if missing:
        raise MissingSlackConfig(
            "cannot start without " + " and ".join(missing) + ". Create the app from "
            "`discharge-bot manifest`, install it, and set these environment variables."
        )


def serve(settings: Settings) -> None:
    """Blocks until the process is stopped."""
    check_slack_settings(settings)
    runtime = build_runtime(settings)
    client = make_web_client(settings)
    surface = build_surface(
        settings,
        client=client,
        session_factory=runtime.uow.session_factory,
        clock=runtime.clock,
        phrases=runtime.phrases,
        platform=runtime.healthie,
    )
    if settings.slack_signing_secret is None:  # Socket Mode needs no request signatures
        settings = settings.model_copy(update={"slack_signing_secret": SecretStr("socket-mode")})
    app = create_app(
        settings,
        client=client,
        session_factory=runtime.uow.session_factory,
        clock=runtime.clock,
        surface=surface,
    )
    scheduler = start_scheduler(
        surface.service, surface.dispatcher, tick_seconds=settings.tick_seconds
    )
    routes = platform_routes(runtime, runtime.healthie)
    socket = None
    try:
        if settings.slack_app_token is not None:
            log.info("Slack traffic over Socket Mode; HTTP serves /platform/* and /healthz")
            socket = start_socket_mode(app, settings.slack_app_token.get_secret_value())
            wsgi = create_wsgi_app(slack_app=None, routes=routes, health=HealthCheck(runtime))
        else:
            wsgi = create_wsgi_app(slack_app=app, routes=routes, health=HealthCheck(runtime))
        serve_http(wsgi, port=settings.port)
    finally:
        scheduler.shutdown(wait=False)
        if socket is not None:
            socket.close()  # type: ignore[no-untyped-call]
        runtime.close()

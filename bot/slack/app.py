"""The one place the Slack app is built: services, dispatcher, directory, listeners, errors."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse
from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import Clock
from bot.domain.errors import DomainError
from bot.logsafe import quiet_libraries
from bot.services import build_services
from bot.services.ports import PlatformPort
from bot.settings import Settings
from bot.slack.directory import SlackDirectory
from bot.slack.dispatch import Dispatcher
from bot.slack.door import FastLane
from bot.slack.guard import VERIFIED, SignatureGate, first_input_block
from bot.slack.inbox import SlackInbox
from bot.slack.listeners import (
    STORED_FIRST,
    actions,
    commands,
    events,
    headsups,
    home,
    views,
)
from bot.slack.surface import Surface
from smart_phrases import PhraseLibrary
from storage.repository import UnitOfWork

log = logging.getLogger(__name__)


def build_surface(
    settings: Settings,
    *,
    client: WebClient,
    session_factory: sessionmaker[Session],
    clock: Clock,
    phrases: PhraseLibrary | None = None,
    platform: PlatformPort | None = None,
) -> Surface:
    services = build_services(
        UnitOfWork(session_factory),
        clock,
        settings,
        phrases or PhraseLibrary.load(settings.smart_phrases_dir),
        platform=platform,
    )
    directory = SlackDirectory(client, settings)
    engine = session_factory.kw["bind"]
    inbox = SlackInbox(
        engine,
        clock,
        background=settings.apply_in_background,
        write_budget=settings.write_budget_seconds,
    )
    return Surface(settings, services, Dispatcher(services, client, directory), directory, inbox)


def create_app(
    settings: Settings,
    *,
    client: WebClient,
    session_factory: sessionmaker[Session],
    clock: Clock,
    phrases: PhraseLibrary | None = None,
    platform: PlatformPort | None = None,
    surface: Surface | None = None,
) -> App:
    """The Bolt app. Pass `surface` when the caller (serve, tests) also needs its
    dispatcher and services; otherwise one is built here from the same arguments."""
    if settings.slack_signing_secret is None:
        raise ValueError("SLACK_SIGNING_SECRET is needed to verify Slack's requests")
    surface = surface or build_surface(
        settings,
        client=client,
        session_factory=session_factory,
        clock=clock,
        phrases=phrases,
        platform=platform,
    )
    secret = settings.slack_signing_secret.get_secret_value()
    quiet_libraries()
    app = App(
        client=client,
        # Bolt copies the root level onto its loggers and logs whole responses at DEBUG and
        # failed requests' bodies at INFO: its logger (and every one it derives) stays at
        # WARNING whatever the process's level.
        logger=_bolt_logger(),
        signing_secret=secret,
        process_before_response=True,
        token_verification_enabled=False,
        # Our gate verifies first and never raises or logs a body (Bolt's did both).
        request_verification_enabled=False,
        before_authorize=SignatureGate(secret),
    )

    @app.middleware
    def answers_first(next: Callable[[], None]) -> None:
        """While a request is answered, stored notes and presses wait (briefly) for it.
        Over HTTP the front counts it already; this counts what arrives over Socket Mode."""
        with surface.inbox.answering():
            next()

    @app.middleware
    def once_per_event(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        """Slack re-sends an event it thinks we missed (X-Slack-Retry-Num); its event_id is
        recorded before any listener runs, so a retry has no second effect. (A slash
        command's trigger_id is claimed by `/care` itself, in the same write as its work
        where it can: see `listeners.commands.care`.)"""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        if event_id and not surface.services.recording.claim_inbound("slack-event", str(event_id)):
            log.info("event %s already handled; ignoring Slack's retry", event_id)
            return BoltResponse(status=200, body="")
        next()
        return None

    @app.middleware
    def provide_surface(context: BoltContext, next: Callable[[], None]) -> None:
        context["surface"] = surface
        next()

    for listeners in (commands, actions, views, events, home, headsups):
        listeners.register(app)
    app.error(on_error)
    _wire_inbox(surface, client)
    return app


def _wire_inbox(surface: Surface, client: WebClient) -> None:
    """What the inbox applies, and how it tells someone their request failed: the listener
    code and the error handler a request would have used."""
    inbox = surface.inbox

    def context() -> BoltContext:
        return _verified_context(surface, client)

    def no_ack(*_args: Any, **_kwargs: Any) -> None:
        return None

    for kind, listener in STORED_FIRST.items():
        inbox.handle(
            kind,
            lambda body, _item, listener=listener: listener(no_ack, body, context()),  # type: ignore[misc]
        )
    commands.register_stored(inbox, surface)

    def tell(error: Exception, body: dict[str, Any]) -> None:
        answer = on_error(error, body, client, context())
        if "command" in body and answer.body:
            # A command's answer went out long ago: say it in the person's DM instead.
            text = json.loads(answer.body).get("text")
            user = _user_id(body)
            if text and user:
                client.chat_postMessage(channel=user, text=text)

    inbox.report_with(tell)


def create_fast_lane(settings: Settings, surface: Surface, client: WebClient) -> FastLane:
    """The lane that answers a note or a stored-first press before Bolt (`bot.slack.door`),
    with the same surface, signing secret and error handler as the app `create_app` built."""
    if settings.slack_signing_secret is None:
        raise ValueError("SLACK_SIGNING_SECRET is needed to verify Slack's requests")

    def report(error: Exception, body: dict[str, Any]) -> BoltResponse:
        return on_error(error, body, client, _verified_context(surface, client))

    return FastLane(surface, settings.slack_signing_secret.get_secret_value(), report)


def _verified_context(surface: Surface, client: WebClient) -> BoltContext:
    """A listener's context outside Bolt's dispatch (the inbox, the fast lane): both run
    only what a verified request stored or carried."""
    return BoltContext({"surface": surface, VERIFIED: True, "client": client})


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("bot.slack.bolt")
    logger.setLevel(logging.WARNING)
    return logger


def on_error(
    error: Exception, body: dict[str, Any], client: WebClient, context: BoltContext
) -> BoltResponse:
    """The one error handler: a refusal becomes an ephemeral message with a reference id;
    anything else a polite apology with the id, the full trace in the log.

    A request whose signature was not verified gets 401 and nothing else: no reply, no
    Web API call, no trace (its body is whatever a stranger chose to send)."""
    ref = uuid.uuid4().hex[:8]
    if not context.get(VERIFIED):
        log.info("unverified slack request refused (401) after %s", type(error).__name__)
        return BoltResponse(status=401, body='{"error":"invalid request"}')
    user = _user_id(body)
    if isinstance(error, DomainError):
        log.info("refused for %s (ref %s): %s", user, ref, error)
        text = f":no_entry: {error} _(ref {ref})_"
    else:
        log.error("listener failed for %s (ref %s)", user, ref, exc_info=error)
        text = (
            ":warning: Sorry, something went wrong on our side. Please try again; if it "
            f"keeps happening, give the practice admin this reference: *{ref}*."
        )
    if "command" in body:
        return _json({"response_type": "ephemeral", "text": text})
    kind = body.get("type")
    if kind == "view_submission":
        block = first_input_block(body.get("view") or {})
        if block:
            return _json({"response_action": "errors", "errors": {block: text.replace("*", "")}})
        return _json({})
    if kind == "block_actions" and user:
        channel = (body.get("container") or {}).get("channel_id") or (
            body.get("channel") or {}
        ).get("id")
        try:
            if channel:
                client.chat_postEphemeral(channel=channel, user=user, text=text)
            else:  # App Home or a modal: the user's DM with the bot
                client.chat_postMessage(channel=user, text=text)
        except Exception:
            log.exception("could not tell %s about ref %s", user, ref)
    return BoltResponse(status=200, body="")


def _json(payload: dict[str, Any]) -> BoltResponse:
    return BoltResponse(
        status=200,
        body=json.dumps(payload),
        headers={"content-type": "application/json;charset=utf-8"},
    )


def _user_id(body: dict[str, Any]) -> str | None:
    user = body.get("user")
    if isinstance(user, dict):
        return str(user.get("id"))
    if "user_id" in body:
        return str(body["user_id"])
    event = body.get("event") or {}
    return str(event["user"]) if isinstance(event, dict) and event.get("user") else None

"""`discharge-bot serve`: the Slack app, the webhooks, the health check and the scheduler."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import time
from types import FrameType

from pydantic import SecretStr

from bot.delivery.slack_client import make_web_client
from bot.entrypoints.bootstrap import Runtime, build_runtime, warn_if_unencrypted
from bot.entrypoints.http import (
    create_wsgi_app,
    listening_socket,
    serve_http,
    start_socket_mode,
)
from bot.entrypoints.scheduler import Scheduler, run_until_signalled
from bot.entrypoints.web import HealthCheck, platform_routes
from bot.settings import Settings
from bot.slack.app import build_surface, create_app, create_fast_lane
from bot.slack.surface import Surface

log = logging.getLogger(__name__)


class MissingSlackConfig(Exception):
    """A setting `serve` cannot start without; the message names it."""


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM ends `serve` the way Ctrl-C does, so the finally-blocks run."""
    raise KeyboardInterrupt


def worker(settings: Settings) -> None:
    """Only the scheduler: tick, deliver, weekly digest, until SIGTERM (the Procfile's worker).

    Without SLACK_BOT_TOKEN it still ticks (what is due is queued) and says nothing is sent.
    """
    warn_if_unencrypted(settings)
    runtime = build_runtime(settings)
    try:
        if settings.slack_bot_token is None:
            log.warning(
                "SLACK_BOT_TOKEN is not set: the worker queues what is due but sends nothing"
            )
            run_until_signalled(Scheduler(runtime.services, None, inbound=runtime.inbound))
            return
        surface = _surface(settings, runtime)
        run_until_signalled(
            Scheduler(surface.services, surface.dispatcher, inbound=runtime.inbound)
        )
    finally:
        runtime.close()


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


def _surface(settings: Settings, runtime: Runtime) -> Surface:
    client = make_web_client(settings)
    return build_surface(
        settings,
        client=client,
        session_factory=runtime.uow.session_factory,
        clock=runtime.clock,
        phrases=runtime.phrases,
        platform=runtime.chart,
    )


def serve(settings: Settings, *, scheduler_on: bool = True) -> None:
    """Blocks until SIGTERM/SIGINT; the scheduler (unless off) stops gracefully first.

    With DISCHARGE_HTTP_WORKERS above 1 (HTTP mode), that many processes share the port:
    Python runs one thread at a time per process, so this is how `serve` uses every core.
    """
    check_slack_settings(settings)
    warn_if_unencrypted(settings)
    if settings.http_workers > 1 and settings.slack_app_token is None:
        _serve_workers(settings, scheduler_on=scheduler_on)
        return
    _serve_one(settings, scheduler_on=scheduler_on)


def _serve_workers(settings: Settings, *, scheduler_on: bool) -> None:
    """Bind the port once, fork the workers (the first also runs the scheduler), restart
    one that dies, and on SIGTERM/SIGINT stop them all gracefully (each finishes its
    requests and its scheduler batch) before returning."""
    sock = listening_socket(settings.port)
    children: dict[int, int] = {}  # pid -> worker number
    stopping = False

    def start(number: int) -> None:
        # Signals are held across the fork: a SIGTERM before the worker has its own handler
        # would run the parent's `stop` in the worker (which then serves on), and one before
        # the parent has recorded the worker would stop every worker but this one.
        held = {signal.SIGTERM, signal.SIGINT}
        signal.pthread_sigmask(signal.SIG_BLOCK, held)
        pid = os.fork()
        if pid == 0:  # the worker: its own engine, pool and threads, made after the fork
            code = 0
            try:
                # Not the parent's handlers: a SIGTERM even while starting ends this worker.
                signal.signal(signal.SIGTERM, _interrupt)
                signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent relays a Ctrl-C
                signal.pthread_sigmask(signal.SIG_UNBLOCK, held)
                _serve_one(settings, scheduler_on=scheduler_on and number == 0, sockets=[sock])
            except KeyboardInterrupt:
                pass
            except BaseException:
                log.exception("worker %d failed", number)
                code = 1
            finally:
                os._exit(code)
        children[pid] = number
        signal.pthread_sigmask(signal.SIG_UNBLOCK, held)

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        for number in range(settings.http_workers):
            start(number)
        log.info("serving HTTP on port %d with %d workers", settings.port, len(children))
        while children:
            try:
                pid, status = os.wait()
            except ChildProcessError:
                break
            except InterruptedError:  # pragma: no cover - PEP 475 retries os.wait itself
                continue
            number = children.pop(pid, -1)
            if number >= 0 and not stopping:
                log.warning("worker %d exited (status %d); starting it again", number, status)
                time.sleep(1)  # a worker that dies at start must not spin the machine
                start(number)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        sock.close()


def _serve_one(
    settings: Settings, *, scheduler_on: bool, sockets: list[socket.socket] | None = None
) -> None:
    runtime = build_runtime(settings)
    surface = _surface(settings, runtime)
    client = surface.dispatcher.client
    if settings.slack_signing_secret is None:  # Socket Mode needs no request signatures
        settings = settings.model_copy(update={"slack_signing_secret": SecretStr("socket-mode")})
    app = create_app(
        settings,
        client=client,
        session_factory=runtime.uow.session_factory,
        clock=runtime.clock,
        surface=surface,
    )
    scheduler = (
        Scheduler(surface.services, surface.dispatcher, inbound=runtime.inbound)
        if scheduler_on
        else None
    )
    if scheduler is not None:
        scheduler.start()
    if surface.inbox.background:
        surface.inbox.start()  # first applies what a stopped process left stored
    routes = platform_routes(runtime, runtime.healthie)
    if routes and runtime.inbound is not None:
        runtime.inbound.start()  # webhooks are acknowledged once stored, applied right after
    health = HealthCheck(
        runtime, slack_token_error=lambda: surface.dispatcher.engine.token_dead
    )
    previous = signal.signal(signal.SIGTERM, _interrupt)
    socket_mode = None
    try:
        if settings.slack_app_token is not None:
            log.info("Slack traffic over Socket Mode; HTTP serves /platform/* and /healthz")
            socket_mode = start_socket_mode(app, settings.slack_app_token.get_secret_value())
            wsgi = create_wsgi_app(slack_app=None, routes=routes, health=health)
        else:
            lane = create_fast_lane(settings, surface, client)
            wsgi = create_wsgi_app(slack_app=app, routes=routes, health=health, slack_lane=lane)
        serve_http(wsgi, port=settings.port, threads=settings.http_threads, sockets=sockets)
    except KeyboardInterrupt:
        log.info("stopping")
    finally:
        signal.signal(signal.SIGTERM, previous)
        surface.inbox.stop()
        if scheduler is not None:
            scheduler.stop()
        if socket_mode is not None:
            socket_mode.close()  # type: ignore[no-untyped-call]
        runtime.close()

"""The HTTP front's own routes: the platform webhooks and the health check."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import text

from bot.clock import SystemClock
from bot.entrypoints.bootstrap import Runtime
from bot.entrypoints.http import RouteHandler
from bot.platform.generic import handle_generic
from bot.platform.healthie import handle_healthie
from bot.platform.healthie_api import HealthieClient
from bot.platform.inbound import Inbox
from storage import inbound, slack_inbox

#: A tick older than this many scheduler periods (and at least 5 minutes) is stale.
STALE_TICKS = 5


def platform_routes(runtime: Runtime, healthie: HealthieClient | None) -> dict[str, RouteHandler]:
    """The webhook routes that are configured; an unconfigured one is simply not served (404).

    Both acknowledge an event once it is stored; `runtime.inbound` applies it right after
    (its thread, started by `serve`, or `drain()`)."""
    settings = runtime.settings
    assert runtime.inbound is not None, "build_runtime gives every runtime its applier"
    sink = Inbox(
        runtime.engine,
        runtime.clock,
        budget_seconds=settings.write_budget_seconds,
        applier=runtime.inbound,
    )
    routes: dict[str, RouteHandler] = {}
    if settings.platform_webhook_secret is not None:
        routes["/platform/events"] = functools.partial(
            handle_generic,
            secret=settings.platform_webhook_secret.get_secret_value(),
            wall_clock=SystemClock(),  # signature windows use the real clock, always
            sink=sink,
        )
    if healthie is not None and settings.healthie_webhook_secret is not None:
        routes["/platform/healthie"] = functools.partial(
            handle_healthie,
            secret=settings.healthie_webhook_secret.get_secret_value(),
            client=healthie,
            sink=sink,
            clock=runtime.clock,
            discharged_group_name=settings.discharged_group_name,
            path_prefix=settings.healthie_webhook_path_prefix,
        )
    return routes


class HealthCheck:
    """Healthy when the database answers and the scheduler has ticked recently.

    A process that has just started is given the same grace a tick has before it counts
    as stale, so a fresh deploy is not reported down before its first tick.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        wall: SystemClock | None = None,
        slack_token_error: Callable[[], str | None] | None = None,
    ) -> None:
        self.runtime = runtime
        self.slack_token_error = slack_token_error
        self.wall = wall or SystemClock()
        self.started = time.monotonic()
        self.stale_after = max(STALE_TICKS * runtime.settings.tick_seconds, 300)

    def _platform(self, details: dict[str, Any]) -> None:
        """Healthie's version warnings, as its last answers carried them (no call is made)."""
        healthie = self.runtime.healthie
        if healthie is None:
            return
        details["healthie"] = {
            "api_version": healthie.api_version,
            "warnings": [
                {"code": w.code, "sunset_date": w.sunset_date,
                 "latest_version": w.latest_version}
                for w in healthie.warnings.current()
            ],
        }

    def __call__(self) -> tuple[bool, Mapping[str, Any]]:
        details: dict[str, Any] = {}
        try:
            with self.runtime.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
                # Answered but not applied yet (normally 0 within a second): Slack's notes
                # and presses, and the platform's events.
                waiting = slack_inbox.waiting(connection)
                events = inbound.count_pending(connection)
            details["database"] = "ok"
            details["slack_inbox_waiting"] = waiting
            details["platform_events_waiting"] = events
        except Exception as exc:
            details["database"] = f"unreachable ({exc.__class__.__name__})"
            return False, details
        dead = self.slack_token_error() if self.slack_token_error is not None else None
        if dead is not None:
            details["slack"] = f"the bot's token was refused ({dead}); delivery is stopped"
            return False, details
        with self.runtime.uow() as repo:
            mark = repo.get_mark("last_tick")
        up_for = time.monotonic() - self.started
        if mark is None:
            self._platform(details)
            details["last_tick"] = "never"
            return up_for < self.stale_after, details
        self._platform(details)
        age = (self.runtime.clock.now() - mark.at).total_seconds()
        details["last_tick_age_seconds"] = round(age, 1)
        details["stale_after_seconds"] = self.stale_after
        return age <= self.stale_after, details

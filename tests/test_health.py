"""/healthz: the database answers and the scheduler has ticked recently, over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine

from bot.clock import FixedClock
from bot.entrypoints.bootstrap import build_runtime
from bot.entrypoints.http import ServerThread, create_wsgi_app
from bot.entrypoints.web import HealthCheck
from bot.settings import Settings


def get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_healthz_turns_unhealthy_when_the_last_tick_is_stale(settings: Settings) -> None:
    clock = FixedClock(datetime(2026, 3, 16, 14, tzinfo=UTC))
    runtime = build_runtime(settings, clock=clock)
    front = create_wsgi_app(slack_app=None, health=HealthCheck(runtime))
    with ServerThread(front) as server:
        status, body = get(f"{server.url}/healthz")
        assert status == 200  # just started, no tick yet: within the grace period
        assert body["details"] == {"database": "ok", "last_tick": "never"}

        runtime.services.outreach.tick()
        clock.advance(timedelta(minutes=2))
        status, body = get(f"{server.url}/healthz")
        assert status == 200
        assert body["details"]["last_tick_age_seconds"] == 120.0  # type: ignore[index]

        clock.advance(timedelta(minutes=10))  # the scheduler has stopped ticking
        status, body = get(f"{server.url}/healthz")
        assert status == 503
        assert body["ok"] is False
    runtime.close()


def test_healthz_says_when_the_database_is_unreachable(settings: Settings) -> None:
    runtime = build_runtime(settings)
    runtime.engine.dispose()
    runtime.engine = create_engine(  # a server that is not there
        "postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 1}
    )
    front = create_wsgi_app(slack_app=None, health=HealthCheck(runtime))
    with ServerThread(front) as server:
        status, body = get(f"{server.url}/healthz")
    assert status == 503
    assert str(body["details"]["database"]).startswith("unreachable")  # type: ignore[index]
    runtime.close()

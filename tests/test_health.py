"""/healthz: the database answers and the scheduler has ticked recently, over real HTTP."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta

from pydantic import SecretStr
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
        assert body["details"] == {
            "database": "ok", "slack_inbox_waiting": 0, "platform_events_waiting": 0,
            "last_tick": "never",
        }

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


def test_healthz_shows_healthies_version_warnings(settings: Settings) -> None:
    from tests.fakes.healthie import API_KEY, FakeHealthie

    fake = FakeHealthie().start()
    fake.add_user("4242")
    try:
        configured = settings.model_copy(update={
            "healthie_api_url": fake.url, "healthie_api_key": SecretStr(API_KEY),
            "healthie_api_version": "2026-01-01"})
        runtime = build_runtime(configured, clock=FixedClock(datetime(2026, 11, 29, tzinfo=UTC)))
        assert runtime.healthie is not None
        front = create_wsgi_app(slack_app=None, health=HealthCheck(runtime))
        with ServerThread(front) as server:
            _, before = get(f"{server.url}/healthz")
            runtime.healthie.get_user("4242")  # any call: Healthie attaches the warning
            status, after = get(f"{server.url}/healthz")
        runtime.close()
    finally:
        fake.stop()

    assert before["details"]["healthie"] == {  # type: ignore[index]
        "api_version": "2026-01-01", "warnings": []}
    assert status == 200  # a warning is not an outage
    assert after["details"]["healthie"]["warnings"] == [{  # type: ignore[index]
        "code": "API_VERSION_SUNSET_WARNING", "sunset_date": "2027-01-31",
        "latest_version": "2026-07-01"}]


def test_healthz_is_unhealthy_once_slack_refuses_the_bots_token(settings: Settings) -> None:
    runtime = build_runtime(settings)
    refused: list[str] = []
    health = HealthCheck(runtime, slack_token_error=lambda: refused[0] if refused else None)
    front = create_wsgi_app(slack_app=None, health=health)
    with ServerThread(front) as server:
        assert get(f"{server.url}/healthz")[0] == 200
        refused.append("account_inactive")
        status, body = get(f"{server.url}/healthz")
    runtime.close()

    assert status == 503
    assert "account_inactive" in str(body["details"]["slack"])  # type: ignore[index]

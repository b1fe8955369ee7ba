"""A restart in the middle of a simulated week misses nothing and repeats nothing.

The same week is played twice against the fake Slack with an hourly tick: once straight
through, once with the process dying on Wednesday morning mid-delivery — one message
already taken by Slack but not yet recorded, others claimed and abandoned — and a new
process taking over. The messages in Slack must be the same, each exactly once.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient

from bot.clock import FixedClock
from bot.delivery.outbox import METADATA_EVENT
from bot.delivery.slack_client import make_web_client
from bot.settings import Settings
from bot.slack.app import build_surface
from smart_phrases import PhraseLibrary
from storage import outbox as store
from storage.db import make_engine, make_session_factory, migrate
from tests.fakes.slack_api import FakeSlackAPI
from tests.helpers import ADMIN, HEADER
from tests.resilience.conftest import delivered

MONDAY = datetime(2026, 3, 16, 4, 0, tzinfo=UTC)  # Monday 00:00 in Toronto
WEDNESDAY_MORNING = datetime(2026, 3, 18, 13, 0, tzinfo=UTC)  # 09:00: the overnight prompts


def caseload() -> str:
    """Twelve clients whose check-in 1 falls across the week, some outside working hours."""
    lines = [HEADER.strip()]
    for n in range(12):
        last = datetime(2026, 3, 2, 4, 0, tzinfo=UTC) + timedelta(hours=11 * n)
        lines.append(f"R-{n},U0CLIN{n % 3:04d},Name{n},{last.isoformat()},,America/Toronto")
    return "\n".join(lines) + "\n"


def play_week(tmp_path: Path, phrases: PhraseLibrary, *, crash_at: datetime | None) -> Counter[str]:
    from bot.services.caseload_file import parse_caseload

    url = f"sqlite:///{tmp_path / ('crash' if crash_at else 'straight')}.db"
    engine = make_engine(url)
    migrate(engine)
    factory = make_session_factory(engine)
    clock = FixedClock(MONDAY)
    with FakeSlackAPI() as fake:
        settings = Settings(
            _env_file=None,
            database_url=url,
            slack_api_url=fake.url,
            slack_bot_token="xoxb-test",
            cct_channel_id="C0CCT",
            slack_pace_seconds=0.0,
            outbox_lease_seconds=60,
        )

        def boot() -> tuple[object, WebClient]:
            client = make_web_client(settings, timeout=5)
            surface = build_surface(
                settings, client=client, session_factory=factory, clock=clock, phrases=phrases
            )
            return surface, client

        surface, client = boot()
        surface.services.caseload.import_caseload(  # type: ignore[attr-defined]
            parse_caseload(caseload(), practice_timezone="America/Toronto"), actor=ADMIN
        )
        at = MONDAY
        while at < MONDAY + timedelta(days=7):
            clock.set(at)
            surface.services.outreach.tick()  # type: ignore[attr-defined]
            if crash_at is not None and at == crash_at:
                die_mid_delivery(surface, client, clock)
                surface, client = boot()  # a new process takes over
            else:
                surface.dispatcher.deliver_due()  # type: ignore[attr-defined]
            at += timedelta(hours=1)
        found = delivered(fake)
    engine.dispose()
    return found


def die_mid_delivery(surface: object, client: WebClient, clock: FixedClock) -> None:
    """Claim the due rows, get one into Slack, record nothing more: then vanish."""
    uow = surface.services.uow  # type: ignore[attr-defined]
    with uow() as repo:
        rows = list(
            store.claim(
                repo.session,
                owner="dying-worker",
                now=clock.now(),
                lease_until=clock.now() + timedelta(seconds=60),
                limit=50,
            )
        )
    assert len(rows) >= 2, "the crash should find work in hand"
    first = rows[0]
    dm = client.conversations_open(users=first.recipient)["channel"]["id"]
    client.chat_postMessage(
        channel=dm,
        text="(posted just before the crash)",
        metadata={
            "event_type": METADATA_EVENT,
            "event_payload": {"idempotency_key": first.idempotency_key},
        },
    )


def test_a_restart_mid_week_misses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    phrases = PhraseLibrary.load()
    straight = play_week(tmp_path, phrases, crash_at=None)
    restarted = play_week(tmp_path, phrases, crash_at=WEDNESDAY_MORNING)
    assert len(straight) >= 12  # every client's check-in 1, and the nudges that came due
    assert set(straight.values()) == {1}
    assert restarted == straight

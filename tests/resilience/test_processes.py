"""The real processes: `serve` answers /healthz and stops on SIGTERM within 10 s; the
scheduler's jobs are the two DESIGN names, with the digest on the practice's Monday morning;
a broken phrase set stops the bot from starting."""

from __future__ import annotations

import json
import signal
import socket
import time
import urllib.request
from pathlib import Path

import pytest

from bot.entrypoints.cli import main
from bot.entrypoints.scheduler import Scheduler
from bot.settings import Settings
from storage.db import make_engine, migrate
from tests.fakes.slack_api import FakeSlackAPI
from tests.resilience.conftest import bot_env, start_bot

pytestmark = pytest.mark.once


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_answers_healthz_and_stops_on_sigterm_within_ten_seconds(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    migrate(make_engine(url))
    port = free_port()
    with FakeSlackAPI() as fake:
        env = bot_env(url, fake, SLACK_SIGNING_SECRET="s3cret", PORT=str(port))
        server = start_bot("serve", env=env)
        try:
            deadline = time.monotonic() + 30
            body = None
            while time.monotonic() < deadline and body is None:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                        body = json.loads(r.read())
                except OSError:
                    time.sleep(0.2)
            assert body is not None, "serve never answered /healthz"
            assert body["details"]["database"] == "ok"
            server.send_signal(signal.SIGTERM)
            started = time.monotonic()
            assert server.wait(timeout=15) == 0
            assert time.monotonic() - started < 10
        finally:
            if server.poll() is None:
                server.kill()


def test_the_scheduler_runs_the_tick_and_a_weekly_digest_in_the_practice_zone(
    settings: Settings, service: object
) -> None:
    scheduler = Scheduler(service, None)  # type: ignore[arg-type]
    scheduler.start()
    try:
        jobs = {job.id: job for job in scheduler._scheduler.get_jobs()}
        assert set(jobs) == {"tick", "digest"}
        assert jobs["tick"].trigger.interval.total_seconds() == settings.tick_seconds
        assert (jobs["tick"].coalesce, jobs["tick"].max_instances) == (True, 1)
        digest = str(jobs["digest"].trigger)
        assert "day_of_week='0'" in digest
        assert "hour='9'" in digest
        assert "minute='0'" in digest
        assert str(jobs["digest"].trigger.timezone) == settings.practice_timezone
    finally:
        assert scheduler.stop(timeout=5)


def test_a_broken_phrase_set_stops_the_bot_from_starting(
    tmp_path: Path, settings: Settings, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "phrases"
    folder.mkdir()
    source = (Path(__file__).resolve().parents[2] / "smart_phrases" / "defaults" / "checkin_due.j2")
    (folder / "checkin_due.j2").write_text(
        source.read_text(encoding="utf-8") + "\n{{ episode.nonsense }\n", encoding="utf-8"
    )
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMART_PHRASES_DIR", str(folder))
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert "the Smart Phrase set is broken" in err
    assert "checkin_due.j2:" in err

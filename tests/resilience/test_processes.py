"""The real processes: `serve` answers /healthz and stops on SIGTERM within 10 s; the
scheduler's jobs are the two DESIGN names, with the digest on the practice's Monday morning;
a broken phrase set stops the bot from starting."""

from __future__ import annotations

import json
import os
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


def _children(pid: int) -> set[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def _healthz(port: int) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
            return dict(json.loads(r.read()))
    except OSError:
        return None


def test_serve_with_workers_shares_the_port_restarts_a_dead_worker_and_stops_them_all(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'serve.db'}"
    migrate(make_engine(url))
    port = free_port()
    with FakeSlackAPI() as fake:
        env = bot_env(url, fake, SLACK_SIGNING_SECRET="s3cret", PORT=str(port))
        server = start_bot("serve", "--workers", "2", env=env)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and (
                len(_children(server.pid)) < 2 or _healthz(port) is None
            ):
                time.sleep(0.2)
            workers = _children(server.pid)
            assert len(workers) == 2
            assert all(_healthz(port) is not None for _ in range(10))
            victim = min(workers)
            os.kill(victim, signal.SIGKILL)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and (
                len(_children(server.pid)) < 2 or victim in _children(server.pid)
            ):
                time.sleep(0.2)
            replaced = _children(server.pid)
            assert len(replaced) == 2
            assert victim not in replaced
            server.send_signal(signal.SIGTERM)
            started = time.monotonic()
            assert server.wait(timeout=15) == 0
            assert time.monotonic() - started < 10
            for pid in replaced:  # no worker outlives the parent
                assert (
                    not Path(f"/proc/{pid}").exists()
                    or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
                )
            assert _healthz(port) is None
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
    tmp_path: Path,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    folder = tmp_path / "phrases"
    folder.mkdir()
    source = Path(__file__).resolve().parents[2] / "smart_phrases" / "defaults" / "checkin_due.j2"
    (folder / "checkin_due.j2").write_text(
        source.read_text(encoding="utf-8") + "\n{{ episode.nonsense }\n", encoding="utf-8"
    )
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SMART_PHRASES_DIR", str(folder))
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert "the Smart Phrase set is broken" in err
    assert "checkin_due.j2:" in err

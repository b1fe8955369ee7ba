"""The CLI's Slack commands: manifest, serve's refusal without credentials, tick delivering."""

from __future__ import annotations

import pytest
import yaml

from bot.entrypoints.cli import main
from bot.services import Services
from tests.fakes.slack_api import FakeSlackAPI, fake_slack  # noqa: F401
from tests.helpers import import_rows


def test_manifest_prints_http_and_socket_mode_shapes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest", "--url", "https://bot.example.org"]) == 0
    http = yaml.safe_load(capsys.readouterr().out)
    assert http["features"]["slash_commands"][0]["url"] == "https://bot.example.org/slack/events"
    assert main(["manifest", "--socket-mode"]) == 0
    socket = yaml.safe_load(capsys.readouterr().out)
    assert socket["settings"]["socket_mode_enabled"] is True


def test_manifest_without_a_url_in_http_mode_says_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["manifest"]) == 2
    assert "public URL" in capsys.readouterr().err


def test_serve_refuses_to_start_without_slack_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_BOT_TOKEN" in err
    assert "SLACK_SIGNING_SECRET" in err


def test_tick_queues_only_without_a_token_and_delivers_with_one(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    service: Services,
    fake_slack: FakeSlackAPI,  # noqa: F811
) -> None:
    import_rows(service, "R-1,U0CLIN0001,Zephyrine,2026-02-01T10:00,,")
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("CCT_CHANNEL_ID", "C0CCT")

    assert main(["tick", "--now", "2026-03-02T15:00Z"]) == 0
    out = capsys.readouterr().out
    assert "1 message(s) queued" in out
    assert "SLACK_BOT_TOKEN is not set" in out
    assert fake_slack.calls() == []

    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.url)
    assert main(["tick", "--now", "2026-03-02T15:05Z"]) == 0
    assert "Slack: 1 delivered." in capsys.readouterr().out
    [post] = fake_slack.calls("chat.postMessage")
    assert post.body["channel"] == fake_slack.dm_channel("U0CLIN0001")  # the DM, opened first
    assert main(["tick", "--now", "2026-03-02T15:06Z"]) == 0
    assert len(fake_slack.calls("chat.postMessage")) == 1  # sent once

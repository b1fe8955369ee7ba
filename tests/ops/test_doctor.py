"""`discharge-bot doctor` names each problem of a broken installation and how to fix it."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.entrypoints.cli import main
from bot.entrypoints.ops.doctor import CHECKS, Finding, check, print_report, run_checks
from bot.platform.healthie_doctor import REQUIRED_WEBHOOK_EVENTS
from bot.settings import Settings
from bot.slack.manifest import BOT_SCOPES
from storage.db import make_engine, migrate
from tests.fakes.healthie import API_KEY, FakeHealthie
from tests.fakes.slack_api import FakeSlackAPI

#: The demo, doctor and logging pick their own backend (SQLite files of their own).
pytestmark = pytest.mark.once


CHANNEL = "C0CCTDOC01"
NOW = FixedClock(datetime(2026, 11, 29, 15, 0, tzinfo=UTC))


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/graphql"


@pytest.fixture
def migrated_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    engine = make_engine(url)
    migrate(engine)
    engine.dispose()
    return url


@pytest.fixture
def healthie() -> Iterator[FakeHealthie]:
    fake = FakeHealthie().start()
    fake.add_group("11", "Discharged Clients")
    fake.add_form("300", "Outreach Admin Note", questions=[("3001", "textarea", "Note")])
    fake.add_form("301", "Discharge Summary", questions=[("3011", "textarea", "Summary")])
    fake.add_webhook("1", url="https://bot.example.org/platform/healthie",
                     event_types=list(REQUIRED_WEBHOOK_EVENTS), should_retry=True)
    yield fake
    fake.stop()


def report(findings: list[Finding]) -> tuple[int, str]:
    out = io.StringIO()
    return print_report(findings, out), out.getvalue()


def failing(findings: list[Finding]) -> dict[str, str]:
    return {f.check: f.detail for f in findings if f.status == "fail"}


def test_doctor_names_every_problem_of_a_broken_installation(tmp_path: Path) -> None:
    phrases = tmp_path / "phrases"
    phrases.mkdir()
    (phrases / "checkin_1.j2").write_text("{# no header #}\n{% if %}broken", encoding="utf-8")
    with FakeSlackAPI(scopes=["chat:write", "commands", "channels:read"]) as slack:
        slack.add_channel(CHANNEL, name="care-coordination", is_member=False)
        settings = Settings(
            _env_file=None,
            database_url=f"sqlite:///{tmp_path / 'never-migrated.db'}",
            slack_bot_token=SecretStr("xoxb-doctor"),
            slack_signing_secret=SecretStr("s"),
            slack_api_url=slack.url,
            cct_channel_id=CHANNEL,
            cct_user_ids=["U0CCT1"],
            smart_phrases_dir=phrases,
            healthie_api_url=closed_port_url(),
            healthie_api_key=SecretStr(API_KEY),
            healthie_api_version="2026-01-01",
            healthie_timeout_seconds=2,
        )
        findings = run_checks(settings, timeout=2, clock=NOW)

    failed = failing(findings)
    assert "never migrated" in failed["database"]
    assert "checkin_1.j2" in failed["smart phrases"]
    assert "im:write" in failed["slack scopes"]
    assert "users:read" in failed["slack scopes"]
    assert "not a member of #care-coordination" in failed["cct channel"]
    assert "did not answer" in failed["healthie"]
    warned = {f.check: f.detail for f in findings if f.status == "warn"}
    assert "sunset on 2027-01-31" in warned["healthie version"]
    assert "channels:read" in warned["slack scopes"]  # granted but not needed
    status, text = report(findings)
    assert status == 1
    assert "Run `discharge-bot migrate`." in text
    assert "/invite @discharge-bot" in text
    assert "reinstall it to the workspace" in text
    assert "HEALTHIE_API_VERSION=2026-07-01" in text


def test_doctor_reads_membership_from_history_without_channels_read(migrated_url: str) -> None:
    with FakeSlackAPI(scopes=list(BOT_SCOPES)) as slack:
        slack.add_channel(CHANNEL, is_member=False)
        settings = Settings(
            _env_file=None, database_url=migrated_url, slack_bot_token=SecretStr("xoxb-d"),
            slack_signing_secret=SecretStr("s"), slack_api_url=slack.url,
            cct_channel_id=CHANNEL, cct_user_ids=["U0CCT1"],
        )
        findings = run_checks(settings, timeout=2, clock=NOW)
        assert [c.method for c in slack.calls("conversations.history")]  # the fallback ran
    assert "not_in_channel" in failing(findings)["cct channel"]


def test_doctor_reports_a_revoked_token(migrated_url: str) -> None:
    with FakeSlackAPI(bot_token="xoxb-the-real-one") as slack:
        settings = Settings(
            _env_file=None, database_url=migrated_url, slack_bot_token=SecretStr("xoxb-old"),
            slack_signing_secret=SecretStr("s"), slack_api_url=slack.url,
            cct_channel_id=CHANNEL, cct_user_ids=["U0CCT1"],
        )
        findings = run_checks(settings, timeout=2, clock=NOW)
    assert "invalid_auth" in failing(findings)["slack token"]
    assert {f.check: f.status for f in findings}["cct channel"] == "skip"
    assert "xoxb-old" not in report(findings)[1]


def test_doctor_passes_a_working_installation(migrated_url: str, healthie: FakeHealthie) -> None:
    with FakeSlackAPI(scopes=list(BOT_SCOPES)) as slack:
        slack.add_channel(CHANNEL, name="care-coordination")
        settings = Settings(
            _env_file=None, database_url=migrated_url, slack_bot_token=SecretStr("xoxb-ok"),
            slack_signing_secret=SecretStr("s"), slack_api_url=slack.url,
            cct_channel_id=CHANNEL, cct_user_ids=["U0CCT1"],
            platform_webhook_secret=SecretStr("p"),
            healthie_api_url=healthie.url, healthie_api_key=SecretStr(API_KEY),
            healthie_webhook_secret=SecretStr("w"), healthie_api_version="2026-07-01",
            practice_name="Northside Therapy",
        )
        findings = run_checks(settings, timeout=2, clock=NOW)
    status, text = report(findings)
    assert status == 0, text
    assert "Everything checked is in order." in text
    assert "the bot can read and post in C0CCTDOC01" in text


def test_a_missing_discharged_group_and_a_past_sunset_fail(
    migrated_url: str, healthie: FakeHealthie
) -> None:
    settings = Settings(
        _env_file=None, database_url=migrated_url, healthie_api_url=healthie.url,
        healthie_api_key=SecretStr(API_KEY), healthie_api_version="2025-01-01",
        discharged_group_name="Closed Files",
    )
    after_sunset = FixedClock(datetime(2027, 2, 1, 12, tzinfo=UTC))
    failed = failing(run_checks(settings, timeout=2, clock=after_sunset))
    assert "was sunset on 2027-01-31" in failed["healthie version"]
    assert "no client group named 'Closed Files'" in failed["healthie"]


def test_a_check_added_by_another_module_runs_and_a_crashing_one_is_reported(
    migrated_url: str,
) -> None:
    before = list(CHECKS)
    try:
        @check("forms")
        def forms(_doctor: object) -> Finding:
            raise RuntimeError("form lookup exploded")

        findings = run_checks(Settings(_env_file=None, database_url=migrated_url), clock=NOW)
    finally:
        CHECKS[:] = before
    assert "form lookup exploded" in failing(findings)["forms"]


def test_doctor_command_exits_non_zero_and_says_what_to_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["doctor", "--timeout", "2"]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] configuration" in out
    assert "SLACK_BOT_TOKEN" in out
    assert "-> Run `discharge-bot migrate`." in out


def test_doctor_names_the_missing_healthie_forms_and_webhooks(migrated_url: str) -> None:
    fake = FakeHealthie().start()
    try:
        fake.add_group("11", "Discharged Clients")
        settings = Settings(
            _env_file=None, database_url=migrated_url, healthie_api_url=fake.url,
            healthie_api_key=SecretStr(API_KEY), healthie_api_version="2026-07-01",
        )
        findings = run_checks(settings, timeout=2, clock=NOW)
    finally:
        fake.stop()
    warned = {f.check: f.detail for f in findings if f.status == "warn"}
    assert "'Outreach Admin Note'" in warned["healthie admin note form"]
    assert "'Discharge Summary'" in warned["healthie discharge form"]
    assert "appointment.updated" in warned["healthie webhooks"]
    shown = report(findings)[1]
    assert "recurring appointments" in shown.lower()

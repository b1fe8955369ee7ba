"""The Healthie GraphQL client against the fake: confirmed outbound calls and failure typing."""

from __future__ import annotations

import logging
import socket
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from bot.platform.healthie_api import (
    GroupNotFound,
    HealthieClient,
    PlatformRejected,
    PlatformThrottled,
    PlatformUnavailable,
    healthie_client_from_settings,
    parse_healthie_datetime,
    profile_url,
)
from tests.fakes.healthie import API_KEY, API_VERSION, FakeHealthie
from tests.platform.conftest import CLIENT, CLINICIAN, DISCHARGED_GROUP


def test_every_request_carries_healthies_auth_and_version_headers(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    healthie_client.get_user(CLIENT)

    headers = fake_healthie.calls[0].headers
    assert headers["authorization"] == f"Basic {API_KEY}"
    assert headers["authorizationsource"] == "API"
    assert headers["healthie-graphql-api-version"] == API_VERSION
    assert headers["content-type"] == "application/json"


def test_send_for_me_posts_the_check_in_into_the_clinicians_conversation(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    fake_healthie.add_conversation("900", owner_id=CLINICIAN, member_ids=[CLIENT])
    text = "Hi Sam,\nI noticed we haven't connected in a while & wanted to check in <3"

    note_id = healthie_client.send_chat_message(CLIENT, CLINICIAN, text)

    lookup = fake_healthie.calls_to("conversationMemberships")[0]
    assert lookup.variables == {"client_id": CLIENT, "provider_id": CLINICIAN}
    [create] = fake_healthie.calls_to("createNote")
    assert create.operation == "DischargeBotCreateNote"
    assert create.variables == {
        "conversation_id": "900",
        "content": "Hi Sam,\nI noticed we haven't connected in a while &amp; "
        "wanted to check in &lt;3",
        "org_chat": True,
        "hide_org_chat_confirmation": True,
    }
    assert fake_healthie.state.notes[note_id]["conversation_id"] == "900"
    assert fake_healthie.calls_to("createConversation") == []


def test_send_for_me_opens_a_conversation_when_there_is_none(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    note_id = healthie_client.send_chat_message(CLIENT, CLINICIAN, "Checking in.")

    [created] = fake_healthie.calls_to("createConversation")
    assert created.variables == {"owner_id": CLINICIAN, "simple_added_users": f"user-{CLIENT}"}
    conversation_id = fake_healthie.state.notes[note_id]["conversation_id"]
    assert fake_healthie.state.conversations[conversation_id]["owner_id"] == CLINICIAN
    assert fake_healthie.calls_to("createNote")[0].variables["content"] == "Checking in."


def test_group_chats_are_not_used_for_a_check_in(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    fake_healthie.add_user("4343")
    fake_healthie.add_conversation("901", owner_id=CLINICIAN, member_ids=[CLIENT, "4343"])

    healthie_client.send_chat_message(CLIENT, CLINICIAN, "Checking in.")

    assert len(fake_healthie.calls_to("createConversation")) == 1
    assert fake_healthie.calls_to("createNote")[0].variables["conversation_id"] != "901"


def test_without_a_clinician_id_the_api_accounts_own_conversation_is_used(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    healthie_client.send_chat_message(CLIENT, None, "Checking in.")

    assert fake_healthie.calls_to("createNote")[0].variables["org_chat"] is False


def test_empty_message_is_refused_before_calling_healthie(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    with pytest.raises(ValueError, match="empty"):
        healthie_client.send_chat_message(CLIENT, CLINICIAN, "   ")
    assert fake_healthie.calls == []


def test_move_to_group_finds_the_group_by_exact_name_and_updates_the_client(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    fake_healthie.add_group("12", "Discharged Clients (old)")

    group_id = healthie_client.move_to_group(CLIENT, DISCHARGED_GROUP)

    assert group_id == "11"
    assert fake_healthie.calls_to("userGroups")[0].variables == {"keywords": DISCHARGED_GROUP}
    [update] = fake_healthie.calls_to("updateClient")
    assert update.operation == "DischargeBotMoveToGroup"
    assert update.variables == {"id": CLIENT, "user_group_id": "11"}
    assert fake_healthie.state.users[CLIENT]["user_group_id"] == "11"


def test_move_to_a_missing_group_says_so_and_changes_nothing(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    with pytest.raises(GroupNotFound, match="no client group named exactly 'Closed Files'"):
        healthie_client.move_to_group(CLIENT, "Closed Files")

    assert fake_healthie.calls_to("updateClient") == []
    assert fake_healthie.state.users[CLIENT]["user_group_id"] == "10"


def test_refused_mutation_is_a_rejection_not_an_outage(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    with pytest.raises(PlatformRejected, match="updateClient refused"):
        healthie_client.move_to_group("no-such-client", DISCHARGED_GROUP)


def test_other_providers_are_named_with_their_role_never_the_clinician(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient,
) -> None:
    fake_healthie.add_user("78", is_patient=False, full_name="Dana Reyes", title="Psychiatrist")
    fake_healthie.add_user("79", is_patient=False, full_name="Lee Park", qualifications="RD")
    fake_healthie.add_user(CLINICIAN, is_patient=False, full_name="Sam Okafor", title="Therapist")

    assert healthie_client.other_providers(CLIENT, CLINICIAN) == [
        "Dana Reyes (Psychiatrist)", "Lee Park (RD)"]
    assert healthie_client.other_providers(CLIENT, "78") == [
        "Sam Okafor (Therapist)", "Lee Park (RD)"]


def test_care_team_refuses_to_guess_without_the_clinicians_platform_id(
    healthie_client: HealthieClient,
) -> None:
    with pytest.raises(PlatformRejected, match="Healthie id is not known"):
        healthie_client.other_providers(CLIENT, None)


def test_other_providers_is_empty_for_a_client_seen_only_by_this_clinician(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    fake_healthie.add_user("4444", dietitian_id=CLINICIAN)

    assert healthie_client.other_providers("4444", CLINICIAN) == []


@pytest.mark.parametrize("failure", ["graphql_error", "http_500", "hang"])
def test_platform_failures_are_typed_as_unavailable(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient, failure: str
) -> None:
    fake_healthie.fail_next(failure)
    started = time.monotonic()

    with pytest.raises(PlatformUnavailable, match="DischargeBotUser"):
        healthie_client.get_user(CLIENT)

    assert time.monotonic() - started < 3
    assert healthie_client.get_user(CLIENT) is not None  # and the next call works


def test_wrong_api_key_is_unavailable_with_the_http_status(fake_healthie: FakeHealthie) -> None:
    client = HealthieClient(fake_healthie.url, "wrong-key", timeout=0.5)

    with pytest.raises(PlatformUnavailable, match="HTTP 401"):
        client.get_user(CLIENT)


def test_unreachable_healthie_is_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = HealthieClient(f"http://127.0.0.1:{port}/graphql", API_KEY, timeout=0.5)

    with pytest.raises(PlatformUnavailable, match="unreachable"):
        client.get_note("1")


def test_outbound_failure_midway_sends_nothing(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    fake_healthie.add_conversation("900", owner_id=CLINICIAN, member_ids=[CLIENT])
    fake_healthie.fail_next("http_500")

    with pytest.raises(PlatformUnavailable):
        healthie_client.send_chat_message(CLIENT, CLINICIAN, "Checking in.")

    assert fake_healthie.calls_to("createNote") == []


@pytest.mark.parametrize(
    ("app_url", "expected"),
    [
        ("https://secure.gethealthie.com", "https://secure.gethealthie.com/users/4242"),
        ("https://care.example.org/", "https://care.example.org/users/4242"),
        ("https://care.example.org/clients/{client_id}/overview",
         "https://care.example.org/clients/4242/overview"),
        (None, None),
    ],
)
def test_profile_url_is_a_deep_link_to_the_client(
    app_url: str | None, expected: str | None
) -> None:
    assert profile_url(app_url, CLIENT) == expected


def test_profile_url_escapes_the_client_id() -> None:
    assert profile_url("https://x.test", "R 1/2") == "https://x.test/users/R%201%2F2"


@pytest.mark.parametrize(
    "value", ["2025-03-10T10:00:00-05:00", "2025-03-10 10:00:00 -0500", "2025-03-10T15:00:00Z"]
)
def test_healthie_date_formats_are_read_as_utc(value: str) -> None:
    parsed = parse_healthie_datetime(value)
    assert parsed is not None
    assert parsed.isoformat() == "2025-03-10T15:00:00+00:00"


def test_healthie_date_without_zone_is_refused() -> None:
    with pytest.raises(PlatformRejected):
        parse_healthie_datetime("2025-03-10 10:00:00")


def test_adapter_is_on_only_with_both_url_and_key(fake_healthie: FakeHealthie) -> None:
    from bot.settings import Settings

    off = Settings(healthie_api_url=fake_healthie.url)
    on = Settings(healthie_api_url=fake_healthie.url, healthie_api_key=API_KEY)

    assert healthie_client_from_settings(off) is None
    client = healthie_client_from_settings(on, timeout=0.5)
    assert client is not None
    assert client.get_user(CLIENT) is not None


# --- transport: pooling, rate limiting, version warnings ------------------------------------


def test_calls_share_one_kept_alive_connection(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    for _ in range(5):
        healthie_client.get_user(CLIENT)

    assert len(fake_healthie.connections) == 1


@pytest.mark.parametrize("failure", ["throttled", "http_429"])
def test_rate_limited_call_backs_off_and_retries(
    fake_healthie: FakeHealthie, failure: str
) -> None:
    pauses: list[float] = []
    client = HealthieClient(fake_healthie.url, API_KEY, timeout=2, sleep=pauses.append)
    fake_healthie.fail_next(failure, times=2)

    assert client.get_user(CLIENT) is not None

    assert len(pauses) == 2
    if failure == "throttled":
        assert pauses == [1.0, 2.0]  # exponential
    else:
        assert pauses == [2.0, 2.0]  # the server's Retry-After


def test_rate_limiting_that_persists_gives_up_after_bounded_tries(
    fake_healthie: FakeHealthie,
) -> None:
    pauses: list[float] = []
    client = HealthieClient(fake_healthie.url, API_KEY, timeout=2, sleep=pauses.append,
                            max_attempts=3)
    fake_healthie.fail_next("throttled", times=10)

    with pytest.raises(PlatformThrottled):
        client.get_user(CLIENT)

    assert len(fake_healthie.calls_to("user")) == 3
    assert sum(pauses) <= 8


def test_default_version_is_the_one_that_outlives_the_2027_sunset(
    fake_healthie: FakeHealthie, healthie_client: HealthieClient
) -> None:
    healthie_client.get_user(CLIENT)

    assert fake_healthie.calls[0].headers["healthie-graphql-api-version"] == "2026-07-01"
    assert healthie_client.warnings.current() == []


def test_sunset_warning_is_kept_and_logged_once_a_day(
    fake_healthie: FakeHealthie, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FixedClock(datetime(2026, 11, 29, 9, tzinfo=UTC))
    client = HealthieClient(fake_healthie.url, API_KEY, api_version="2026-01-01", clock=clock)

    with caplog.at_level(logging.WARNING, logger="bot.platform.healthie_api"):
        client.get_user(CLIENT)
        client.get_user(CLIENT)
        clock.advance(timedelta(days=1))
        client.get_user(CLIENT)

    [warning] = client.warnings.current()
    assert (warning.code, warning.sunset_date, warning.latest_version) == (
        "API_VERSION_SUNSET_WARNING", "2027-01-31", "2026-07-01")
    logged = [r for r in caplog.records if "API_VERSION_SUNSET_WARNING" in r.getMessage()]
    assert len(logged) == 2  # one per day, not one per response

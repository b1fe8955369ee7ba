"""Settings that a practice admin types by hand are checked, with a message that says how."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.settings import Settings


@pytest.mark.parametrize(("raw", "expected"), [
    ("1,3,7", [1, 3, 7]),
    ("14, 2 ,2", [2, 14]),
    ("100", [100]),
])
def test_snooze_days_accept_whole_days_from_1_to_100(
    monkeypatch: pytest.MonkeyPatch, raw: str, expected: list[int]
) -> None:
    monkeypatch.setenv("DISCHARGE_SNOOZE_DAYS", raw)

    assert Settings(_env_file=None).snooze_days == expected


@pytest.mark.parametrize(("raw", "says"), [
    ("", "at least one"),
    (" , ", "at least one"),
    ("0,3", "from 1 to 100; got 0"),
    ("-2", "got -2"),
    ("101", "got 101"),
    ("3,soon", "valid integer"),
])
def test_snooze_days_outside_the_range_or_empty_are_refused(
    monkeypatch: pytest.MonkeyPatch, raw: str, says: str
) -> None:
    monkeypatch.setenv("DISCHARGE_SNOOZE_DAYS", raw)

    with pytest.raises(ValidationError) as refused:
        Settings(_env_file=None)

    assert says in str(refused.value)


def test_healthie_api_version_defaults_to_the_one_not_sunset_in_2027() -> None:
    assert Settings(_env_file=None).healthie_api_version == "2026-07-01"

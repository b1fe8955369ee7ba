"""The fake Slack Web API lives in the package (`bot.devtools.fake_slack`, the demo uses it);
this module re-exports it for the tests, with the pytest fixture."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.devtools.fake_slack import *  # noqa: F403 - the tests' historical import path
from bot.devtools.fake_slack import FakeSlackAPI


@pytest.fixture
def fake_slack() -> Iterator[FakeSlackAPI]:
    """A running fake Slack Web API, stopped after the test."""
    with FakeSlackAPI() as fake:
        yield fake

"""Helpers to run the real `discharge-bot` in child processes against the fake Slack."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.fakes.slack_api import FakeSlackAPI
from tests.helpers import delivered

__all__ = ["bot_env", "delivered", "start_bot"]

ROOT = Path(__file__).resolve().parents[2]


def bot_env(database_url: str, fake: FakeSlackAPI, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "CCT_", "DISCHARGE_", "HEALTHIE_", "PLATFORM_"))
    }
    env.update(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=fake.url,
        CCT_CHANNEL_ID="C0CCT",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def start_bot(*args: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )

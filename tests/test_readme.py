"""The README stays true: every policy setting is documented with its real default."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()
POLICY_FIELDS = [
    name
    for name, field in Settings.model_fields.items()
    if field.validation_alias is None and name != "clock_start"
]


def test_every_policy_setting_is_in_the_readme_table() -> None:
    for name in POLICY_FIELDS:
        assert f"`DISCHARGE_{name.upper()}`" in README, name


def test_readme_defaults_match_the_code() -> None:
    defaults = Settings(_env_file=None)
    rows = dict(re.findall(r"^\| `DISCHARGE_([A-Z_]+)` \| ([^|]+) \|", README, re.MULTILINE))
    for name in (
        "silence_days",
        "consecutive_missed",
        "checkins",
        "outreach_interval_days",
        "no_reply_weeks",
        "reply_window_days",
        "nudge_after_days",
        "max_nudges",
        "escalate_after_days",
    ):
        assert rows[name.upper()].strip() == str(getattr(defaults, name)), name


def test_quickstart_has_exactly_two_commands() -> None:
    section = README.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```sh\n(.*?)```", section, re.DOTALL)
    assert block is not None
    commands = [line for line in block.group(1).splitlines() if line.strip()]
    assert len(commands) == 2
    assert all(
        Path(__file__).resolve().parents[1].joinpath(c.split()[1]).is_file() for c in commands
    )

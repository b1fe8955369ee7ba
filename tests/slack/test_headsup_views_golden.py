"""The heads-up's views as golden JSON (UPDATE_GOLDEN=1 rewrites them), validated by
slack_sdk.models. Pure: fixed read models in, no database, clock or Slack."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_sdk.models.views import View

from bot.services.readmodels import HeadsUpData
from bot.slack.ids import HeadsUpValue
from bot.slack.views.format import SlackMessage
from bot.slack.views.headsups import (
    expected_modal,
    headsup_message,
    home_with_headsups,
    reach_out_modal,
)

GOLDEN = Path(__file__).parent / "golden"
AT = datetime(2026, 4, 6, 15, 5, tzinfo=UTC)
LINE = "missed 2 of the last 4; usual gap 7 days, now 19"
DATA = HeadsUpData(
    id=3,
    outbox_id=11,
    chart_id="R-1042",
    label="R-1042",
    profile_url="https://platform.example/clients/R-1042",
    line=LINE,
    text=f"A gentle heads-up about *<https://platform.example/clients/R-1042|R-1042>*: {LINE}.",
    status="open",
    current=True,
    zone="America/Toronto",
)


def views() -> dict[str, SlackMessage | View]:
    return {
        "headsup_open": headsup_message(DATA),
        "headsup_expected": headsup_message(
            HeadsUpData(**{**DATA.__dict__, "status": "expected", "current": False,
                           "resolved_by": "U0CLIN0001", "resolved_at": AT})
        ),
        "headsup_overtaken": headsup_message(HeadsUpData(**{**DATA.__dict__, "current": False})),
        "headsup_expected_modal": expected_modal(HeadsUpValue(h=3, c="R-1042")),
        "headsup_reach_out_modal": reach_out_modal(
            "R-1042", "Hi [client first name],\n\nI wanted to check in.\n\nTake care,\nDana"
        ),
        "headsup_home": home_with_headsups(View(type="home", blocks=[]), [DATA]),
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(views()))
def test_headsup_view_matches_its_golden_json_and_validates(name: str) -> None:
    view = views()[name]
    rendered = view.to_dict()
    if isinstance(view, View):
        view.validate_json()
    path = GOLDEN / f"{name}.json"
    text = json.dumps(rendered, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path.name} is missing; run with UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(encoding="utf-8")


def test_an_answered_heads_up_has_no_buttons_and_never_shows_a_reason() -> None:
    answered = headsup_message(HeadsUpData(**{**DATA.__dict__, "status": "dismissed"}))
    assert "actions" not in json.dumps(answered.to_dict())

"""Golden renders of every default phrase for the sample episode.

A wording change shows up as a reviewable diff of the golden file. Regenerate with
`UPDATE_GOLDEN=1 pytest tests/smart_phrases/test_golden.py` and read the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from smart_phrases import Channel, PhraseLibrary, sample_context
from smart_phrases.environment import DEFAULT_CHANNEL

GOLDEN = Path(__file__).with_name("golden")
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

PHRASE_NAMES = (
    "checkin_1", "checkin_2", "checkin_3", "checkin_due", "reply_received",
    "discharge_checklist", "step_overdue", "client_returned", "client_reengaged",
    "discharge_summary", "checkin_admin_note", "cct_chart_check", "cct_care_team_removal",
    "cct_rematch", "cct_escalation", "cct_weekly_digest", "pause_ends", "client_handed_over",
    "checkin_active", "headsup",
)  # fmt: skip


def cases() -> list[tuple[str, Channel]]:
    library = PhraseLibrary.load()
    found: list[tuple[str, Channel]] = []
    for name in library.names():
        meta = library.get(name).meta
        found.append((name, DEFAULT_CHANNEL[meta.format]))
        if meta.audience == "client":
            found.append((name, "slack"))  # the preview the clinician sees
    return found


def test_the_app_can_rely_on_every_fixed_phrase_name() -> None:
    assert sorted(PhraseLibrary.load().names()) == sorted(PHRASE_NAMES)


@pytest.fixture(scope="module")
def library() -> PhraseLibrary:
    return PhraseLibrary.load()


@pytest.mark.parametrize(("name", "channel"), cases())
def test_default_phrase_matches_its_golden_render(
    library: PhraseLibrary, name: str, channel: Channel
) -> None:
    text = library.render(name, sample_context(library.get(name).meta.audience), channel=channel)
    golden = GOLDEN / f"{name}.{channel}.txt"

    if UPDATE:
        golden.write_text(text + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file {golden.name}; run with UPDATE_GOLDEN=1"
    assert text + "\n" == golden.read_text(encoding="utf-8")

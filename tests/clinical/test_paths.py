"""The clinical scenario suite: every path of the guide, and every item of issue #11, as the
exact table of what the clinician, the CCT and the client saw on a simulated calendar.

Where each item of the issue is shown (each table fails on the code before it):
1. attendance path: `attendance`, `attendance_booked_attended`, `attendance_booked_missed`
2. return after discharge: `return_by_booking`, `return_by_message`
3. last attended session, "none on record", admin notes as efforts: `communication`,
   `manual_discharge`, `return_by_message`
4. rematch / care-team removal, then care goes on: `rematch_then_silence`
5. checklist opened early: `manual_discharge`
6. other providers, provider cancellations, deleted appointments: `other_providers`,
   `not_the_clients_doing`
7. rescheduling: `cancel_and_rebook`
8. escalation dates and headings: `escalation_dates`
9. working hours for every delivery: `weekend_overdue`, `cct_in_practice_hours`
10. crisis line and practice name in the closing message, pause until, final check-in naming,
    honest summary wording: `communication`, `pause_until`, `manual_discharge`
"""

from __future__ import annotations

import pytest

from smart_phrases import PhraseLibrary
from tests.clinical.harness import clinic, local
from tests.clinical.paths import Path, paths
from tests.clinical.render import DOC, render


@pytest.mark.parametrize("path", paths(), ids=lambda p: p.key)
def test_every_path_shows_exactly_these_dates_and_messages(
    path: Path, phrases: PhraseLibrary, database_url: str
) -> None:
    with clinic(local(*path.start), phrases, database_url=database_url) as practice:
        path.play(practice)
        seen = practice.table()
    assert seen == path.table.strip().splitlines()


def test_docs_paths_md_is_current() -> None:
    """Regenerate with `python -m tests.clinical.render` after a table changes."""
    assert DOC.read_text(encoding="utf-8") == render(), "docs/paths.md is stale"

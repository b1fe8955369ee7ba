"""Sample data lint renders every phrase against, and golden tests use.

Two shapes per audience: the full sample (every optional field filled, long enough
lists to exercise loops and the Slack length limit) and the minimal one (every
optional field empty), so a phrase that prints a missing date is caught by lint
and not by a real client with no session on record.
"""

from __future__ import annotations

from datetime import date

from smart_phrases.context import (
    ClientContext,
    ClinicianContext,
    DigestContext,
    DigestRow,
    Effort,
    EpisodeContext,
    PracticeContext,
    RenderContext,
    SummaryContext,
)
from smart_phrases.environment import Audience

SAMPLE_FIRST_NAME = "Sam"


def sample_context(audience: Audience, *, minimal: bool = False) -> RenderContext:
    """A realistic context for a phrase of `audience`.

    Only client-audience samples carry a first name, mirroring what the app should
    do. `minimal=True` leaves every optional field empty (None, no efforts, no digest
    rows) while still giving each object a phrase of that audience may need.
    """
    clinician = ClinicianContext(display_name="Alex Rivera", slack_user_id="U0123ABCD")
    practice = PracticeContext(
        name="Sample Practice",
        discharged_group_name="Discharged Clients",
        crisis_line=None if minimal else "call or text 988, any time",
    )
    today = date(2025, 3, 3)
    if minimal:
        return RenderContext(
            client=ClientContext(chart_id="R-1042", label="R-1042"),
            clinician=clinician,
            episode=EpisodeContext(
                checkin_number=1, checkins_total=3, checkin_title="Check-in 1 of 3"
            ),
            practice=practice,
            summary=(
                SummaryContext(treatment_focus="-", goals_progress="-", risk_level="-")
                if audience == "clinician"
                else None
            ),
            digest=(
                DigestContext(period_start=date(2025, 2, 24), period_end=date(2025, 3, 2))
                if audience == "cct"
                else None
            ),
            today=today,
        )
    return RenderContext(
        client=ClientContext(
            chart_id="R-1042",
            label="R-1042",
            first_name=SAMPLE_FIRST_NAME if audience == "client" else None,
            profile_url="https://platform.example/clients/R-1042",
        ),
        clinician=clinician,
        episode=EpisodeContext(
            checkin_number=3,
            checkins_total=3,
            checkin_title="Final check-in",
            last_session_date=date(2025, 1, 6),
            last_contact_date=date(2025, 1, 20),
            due_date=date(2025, 3, 3),
            efforts=(
                Effort(date(2025, 2, 3), "Check-in 1 sent through the client chat"),
                Effort(date(2025, 2, 17), "Check-in 2 sent through the client chat"),
            ),
            next_step="Discharge summary note",
            reason="No contact for 14 days and no session booked",
        ),
        practice=practice,
        summary=(
            SummaryContext(
                treatment_focus="Anxiety management and sleep routine",
                goals_progress=(
                    "Goal 1 (fewer panic episodes): partly met, from weekly to monthly. "
                    "Goal 2 (regular sleep): in progress at last contact."
                ),
                risk_level="Low; no safety concerns reported at last contact",
                considerations="Client mentioned a possible move out of province",
            )
            if audience == "clinician"
            else None
        ),
        digest=(
            DigestContext(
                period_start=date(2025, 2, 24),
                period_end=date(2025, 3, 2),
                rows=(
                    DigestRow("In outreach", 12, tuple(f"R-{1000 + n}" for n in range(12))),
                    DigestRow("Discharge checklists open", 2, ("R-1042", "R-1107")),
                    DigestRow("Waiting for CCT chart check", 1, ("R-0987",)),
                    DigestRow("Steps escalated to CCT", 1, ("R-0912",)),
                    DigestRow("Discharged this week", 3, ("R-0871", "R-0903", "R-0955")),
                    DigestRow("Returned after discharge", 0),
                ),
                reengagement="Re-engagement this week: outreach opened 9, re-engaged 5, came "
                "back after a heads-up <5, discharged <5, care-team removals 0, rematches 0",
            )
            if audience == "cct"
            else None
        ),
        today=today,
    )

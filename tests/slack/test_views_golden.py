"""Every view as golden JSON (UPDATE_GOLDEN=1 rewrites them), validated by slack_sdk.models.

Views are pure, so these build them from fixed read models: no database, no clock, no Slack.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.domain.checklist import TITLES
from bot.domain.model import ChecklistStep, State
from bot.services.checklist import SUMMARY_REASON, SummaryPrefill
from bot.services.readmodels import (
    ChecklistLine,
    HomeData,
    HomeRow,
    OutboxMessageData,
    Resolution,
    Resolved,
)
from bot.slack.ids import CaseloadMetadata, SummaryMetadata
from bot.slack.views.format import SlackMessage
from bot.slack.views.home import caseload_modal, home_view
from bot.slack.views.messages import outbox_message
from bot.slack.views.replies import help_reply, usage_reply
from bot.slack.views.summary import summary_modal

GOLDEN = Path(__file__).parent / "golden"
AT = datetime(2026, 3, 16, 14, 5, tzinfo=UTC)
ZONE = "America/Toronto"


def base(**kw: Any) -> OutboxMessageData:
    fields: dict[str, Any] = dict(
        id=7, delivery_id=7, key="ep1:checkin-1:0", kind="checkin", attempt=0,
        recipient_kind="clinician", recipient="U0CLIN0001", status="pending", channel=None,
        ts=None, zone=ZONE, text="*Check-in 1 of 3 is due* for *R-1042*.", chart_id="R-1042",
        clinician="U0CLIN0001", number=1, total=3, state=State.OUTREACH,
        preview="Hi [client first name],\n\nIt's been a little while.\n\nTake care,\nDana",
    )
    fields.update(kw)
    return OutboxMessageData(**fields)


def lines(done: int) -> tuple[ChecklistLine, ...]:
    out = []
    for i, step in enumerate(ChecklistStep):
        out.append(
            ChecklistLine(
                step, TITLES[step],
                done_at=AT if i < done else None,
                done_by=None if i == 0 else ("U0CLIN0001" if i < done else None),
                answer="no" if step is ChecklistStep.OTHER_PROVIDERS and i < done else None,
                automatic=i == 0,
            )
        )
    return tuple(out)


MESSAGES: dict[str, OutboxMessageData] = {
    "checkin_due": base(),
    "checkin_due_send_for_me": base(can_send_for_me=True),
    "checkin_marked_sent": base(
        resolutions=(Resolution(Resolved.MARKED_SENT, "U0CLIN0001", AT, "check-in 1 of 3"),)
    ),
    "checkin_superseded": base(current=False, state=State.PAUSED),
    "classify_reply": base(kind="classify_reply", text="*R-1042 replied*, so outreach has stopped."),
    "checklist_other_providers": base(
        kind="checklist", text="*Discharge checklist for R-1042*", checklist=lines(2),
        next_step=ChecklistStep.OTHER_PROVIDERS, other_providers=("Dr. Lee",),
        state=State.INACTIVE,
    ),
    "checklist_move": base(
        kind="checklist", text="*Discharge checklist for R-1042*", checklist=lines(4),
        next_step=ChecklistStep.MOVED_TO_GROUP, can_move_for_me=True, state=State.INACTIVE,
    ),
    "checklist_complete": base(
        kind="checklist", text="*Discharge checklist for R-1042*", checklist=lines(5),
        current=False, state=State.DISCHARGED,
    ),
    "checklist_nudge": base(kind="checklist", attempt=1, text="A gentle reminder: *x*."),
    "cct_archive": base(
        kind="cct_archive", recipient_kind="cct", recipient="C0CCT", text="*Chart check and archive* for *R-1042*",
        state=State.DISCHARGED,
    ),
    "cct_taken": base(
        kind="cct_rematch", recipient_kind="cct", recipient="C0CCT", text="*Rematch request*",
        state=State.REMATCH, resolutions=(Resolution(Resolved.TAKEN, "U0CCT00001", AT),),
    ),
    "cct_done": base(
        kind="cct_rematch", recipient_kind="cct", recipient="C0CCT", text="*Rematch request*",
        state=State.CLOSED, current=False,
        resolutions=(
            Resolution(Resolved.TAKEN, "U0CCT00001", AT),
            Resolution(Resolved.DONE, "U0CCT00001", AT),
        ),
    ),
    "returned_notice": base(kind="returned_notice", text="*R-1042 is back.*", current=False),
    "summary_note": base(kind="summary_note", text="Discharge summary\nReason: <inactivity> & more"),
    "cct_digest": base(kind="cct_digest", recipient_kind="cct", text="*Discharge digest*\n• Clients in outreach: *1* (R-1)"),
}

HOME = HomeData(
    user_id="U0CLIN0001", zone=ZONE, now=AT, is_cct=True, is_clinician=True,
    needs_action=(HomeRow("R-1", State.OUTREACH, "Check-in 1 of 3 is due"),),
    outreach=tuple(HomeRow(f"R-{n}", State.OUTREACH, "Check-in 2 of 3 next", AT) for n in range(10, 22)),
    discharging=(HomeRow("R-3", State.INACTIVE, "Checklist 2/5. Next: x"),),
    recent=(HomeRow("R-4", State.CLOSED, "Discharged and archived", AT),),
    active_count=5,
    cct_queue=(HomeRow("R-5", State.REMATCH, "Waiting for CCT: rematch", AT, "U0CLIN0002"),),
)

PREFILL = SummaryPrefill(
    chart_id="R-1042", reason=SUMMARY_REASON, last_session_date=date(2026, 3, 2),
    efforts=((date(2026, 3, 16), "Outreach check-in 1 of 3 sent"),), state=State.INACTIVE,
)


def views() -> dict[str, SlackMessage | View]:
    out: dict[str, SlackMessage | View] = {name: outbox_message(d) for name, d in MESSAGES.items()}
    out["summary_modal"] = summary_modal(PREFILL, SummaryMetadata(c="R-1042", o=7))
    out["home"] = home_view(HOME)
    out["caseload_modal"] = caseload_modal(HOME, CaseloadMetadata(section="outreach", page=0))
    out["help_reply"] = help_reply()
    out["usage_reply"] = usage_reply("I don't know the command `x`.")
    return out


@pytest.mark.parametrize("name", sorted(views()))
def test_view_matches_its_golden_json_and_validates(name: str) -> None:
    view = views()[name]
    rendered = view.to_dict()  # slack_sdk.models validates every block on the way
    if isinstance(view, View):
        view.validate_json()
        assert len(rendered["blocks"]) <= 100
    else:
        assert len(rendered["blocks"]) <= 50  # a message's limit
    path = GOLDEN / f"{name}.json"
    text = json.dumps(rendered, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_GOLDEN") == "1" or not path.exists():
        if os.environ.get("UPDATE_GOLDEN") != "1":
            pytest.fail(f"{path.name} is missing; run with UPDATE_GOLDEN=1 to write it")
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_summary_note_is_escaped_for_slack() -> None:
    rendered = json.dumps(outbox_message(MESSAGES["summary_note"]).to_dict())
    assert "&lt;inactivity&gt; &amp; more" in rendered

"""The discharge summary modal: pre-filled from the record, the clinical parts typed in."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.services.checklist import RISK_LEVELS, SummaryPrefill
from bot.slack.ids import Id, SummaryMetadata
from bot.slack.views.format import day

#: Which input block shows a SummaryInvalid problem for each service field.
FIELD_BLOCKS = {
    "treatment_focus": str(Id.B_FOCUS),
    "goals_progress": str(Id.B_GOALS),
    "risk_level": str(Id.B_RISK),
    "considerations": str(Id.B_CONSIDERATIONS),
    "last_session_date": str(Id.B_LAST_SESSION),
}


def summary_modal(prefill: SummaryPrefill, metadata: SummaryMetadata) -> View:
    lines = [f"• {day(on)}: {what}" for on, what in prefill.efforts]
    efforts = "\n".join(lines) or "• none on record"
    facts = (
        f"*Client:* {prefill.chart_id}\n"
        f"*Reason:* {prefill.reason}\n"
        f"*Efforts made to re-engage:*\n{efforts}"
    )
    return View(
        type="modal",
        callback_id=str(Id.SUMMARY_MODAL),
        private_metadata=metadata.dump(),
        title="Discharge summary",
        submit="Save note",
        close="Cancel",
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=facts)),
            InputBlock(
                block_id=str(Id.B_LAST_SESSION),
                label="Last session attended",
                hint="From the record; correct it if the chart says otherwise. Leave it empty "
                "when there is none on record.",
                optional=True,
                element=DatePickerElement(
                    action_id=str(Id.A_LAST_SESSION),
                    placeholder="none on record",
                    initial_date=prefill.last_session_date.isoformat()
                    if prefill.last_session_date
                    else None,
                ),
            ),
            InputBlock(
                block_id=str(Id.B_FOCUS),
                label="Treatment focus",
                element=PlainTextInputElement(
                    action_id=str(Id.A_FOCUS), multiline=True, max_length=3000
                ),
            ),
            InputBlock(
                block_id=str(Id.B_GOALS),
                label="Goals and progress to last contact",
                element=PlainTextInputElement(
                    action_id=str(Id.A_GOALS), multiline=True, max_length=3000
                ),
            ),
            InputBlock(
                block_id=str(Id.B_RISK),
                label="Risk level at last contact",
                element=StaticSelectElement(
                    action_id=str(Id.A_RISK),
                    placeholder="Choose a level",
                    options=[Option(text=level.capitalize(), value=level) for level in RISK_LEVELS],
                ),
            ),
            InputBlock(
                block_id=str(Id.B_CONSIDERATIONS),
                label="Relevant considerations",
                optional=True,
                element=PlainTextInputElement(
                    action_id=str(Id.A_CONSIDERATIONS), multiline=True, max_length=3000
                ),
            ),
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="Keep it brief but clinically meaningful. The note is stored with "
                        "the client's record and sent to you in a direct message to paste into "
                        "the chart; it never goes to a channel."
                    )
                ]
            ),
        ],
    )

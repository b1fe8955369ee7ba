"""The early heads-up in Slack: the DM (updated in place once answered), its App Home
section and the two modals. Pure: read models in, slack_sdk models out."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.services.readmodels import HEADSUP_REASON_MAX, HeadsUpData
from bot.slack.ids import HeadsUpValue, Id
from bot.slack.views.format import SlackMessage, first_line, when, who

_ANSWERED = {
    "reached_out": ":speech_balloon: Reaching out",
    "expected": ":calendar: Marked as expected",
    "dismissed": ":heavy_minus_sign: Dismissed",
}


def _buttons(data: HeadsUpData, *, block_id: str | None = None) -> ActionsBlock:
    value = HeadsUpValue(h=data.id, c=data.chart_id).dump()
    return ActionsBlock(
        block_id=block_id,
        elements=[
            ButtonElement(
                text="Reach out now",
                action_id=str(Id.HEADSUP_REACH_OUT),
                value=value,
                style="primary",
            ),
            ButtonElement(text="Expected", action_id=str(Id.HEADSUP_EXPECTED), value=value),
            ButtonElement(text="Dismiss", action_id=str(Id.HEADSUP_DISMISS), value=value),
        ],
    )


def headsup_message(data: HeadsUpData) -> SlackMessage:
    """The DM: the pattern in one line with three buttons while it applies; afterwards who
    answered how (never the reason given), or why it no longer applies."""
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=data.text))]
    if data.status in _ANSWERED:
        by = f" by {who(data.resolved_by)}" if data.resolved_by else ""
        at = f", {when(data.resolved_at, data.zone)}" if data.resolved_at else ""
        blocks.append(
            ContextBlock(elements=[MarkdownTextObject(text=f"{_ANSWERED[data.status]}{by}{at}")])
        )
    elif data.current:
        blocks.append(_buttons(data, block_id=str(Id.B_ACTIONS)))
    else:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="No longer needed: the client came to a session, or their care "
                        "moved on."
                    )
                ]
            )
        )
    return SlackMessage(first_line(data.text), blocks)


def headsup_home_blocks(items: list[HeadsUpData]) -> list[Block]:
    """The App Home section: the clinician's own heads-ups still waiting for an answer."""
    if not items:
        return []
    blocks: list[Block] = [DividerBlock(), HeaderBlock(text="Early heads-ups")]
    for item in items:
        link = f"<{item.profile_url}|{item.label}>" if item.profile_url else item.label
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{link}*: {item.line}")))
        blocks.append(_buttons(item))
    return blocks


def home_with_headsups(home: View, items: list[HeadsUpData]) -> View:
    """App Home with the heads-up section right under its header (within Slack's 100 blocks:
    the caseload sections below give way first)."""
    extra = headsup_home_blocks(items)
    if not extra:
        return home
    blocks = list(home.blocks or [])
    merged = [*blocks[:2], *extra, *blocks[2:]][:100]
    return View(type="home", blocks=merged, private_metadata=home.private_metadata)


def expected_modal(value: HeadsUpValue) -> View:
    return View(
        type="modal",
        callback_id=str(Id.HEADSUP_EXPECTED_MODAL),
        private_metadata=value.dump(),
        title="Expected",
        submit="Save",
        close="Cancel",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"Why is the pattern for *{value.c}* expected? You won't hear about it "
                    "again until their next attended session. The reason stays in the bot's "
                    "records; it is never posted in Slack."
                )
            ),
            InputBlock(
                block_id=str(Id.B_HEADSUP_REASON),
                label="Reason",
                element=PlainTextInputElement(
                    action_id=str(Id.A_HEADSUP_REASON),
                    multiline=True,
                    max_length=HEADSUP_REASON_MAX,
                    placeholder="e.g. travelling for two weeks, back on the 20th",
                ),
            ),
        ],
    )


def reach_out_modal(chart_id: str, text: str) -> View:
    """The check-in for an active client, ready to paste into the client's chat."""
    quoted = "\n".join(f">{line}" if line else ">" for line in text.splitlines())
    return View(
        type="modal",
        callback_id=str(Id.HEADSUP_REACH_OUT_MODAL),
        title="Reach out",
        close="Done",
        blocks=[
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"A check-in for *{chart_id}*, ready to paste into the client's chat "
                    "(put their first name where the placeholder is):"
                )
            ),
            SectionBlock(text=MarkdownTextObject(text=quoted[:3000])),
        ],
    )

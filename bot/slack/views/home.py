"""App Home: a clinician's caseload by what it needs; CCT also sees the practice queue.

Each list shows its first rows; the rest is a "See all" modal, paged, so a large caseload
stays far inside Block Kit's 100-block limit. Clients appear by chart id only.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.services.readmodels import HomeData, HomeRow
from bot.slack.ids import CaseloadMetadata, Id, PageValue
from bot.slack.views.format import chunks, when

HOME_ROWS = 8
PAGE_ROWS = 40

SECTIONS: dict[str, tuple[str, str]] = {
    "needs_action": ("Needs your action now", "Nothing needs you right now."),
    "outreach": ("In outreach", "Nobody is in outreach."),
    "discharging": ("Discharge in progress", "No discharges in progress."),
    "recent": ("Recently discharged", "No discharges in the last 30 days."),
    "cct_queue": ("CCT queue (whole practice)", "The CCT queue is empty."),
}


def _line(row: HomeRow, zone: str) -> str:
    text = f"• *{row.chart_id}*: {row.detail}"
    if row.due_at is not None:
        prefix = "on" if row.state.value == "closed" else "since" if row.clinician else "due"
        text += f" ({prefix} {when(row.due_at, zone)})"
    if row.clinician:
        text += f" · <@{row.clinician}>"
    return text


def _rows_blocks(rows: tuple[HomeRow, ...], zone: str) -> list[Block]:
    return [
        SectionBlock(text=MarkdownTextObject(text=text))
        for text in chunks([_line(row, zone) for row in rows])
    ]


def home_view(data: HomeData) -> View:
    blocks: list[Block] = [HeaderBlock(text="Your caseload")]
    blocks.append(
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=f"Times in {data.zone}. Updated {when(data.now, data.zone)}. "
                    "Clients are named by chart id only. Type `/care help` for commands."
                )
            ]
        )
    )
    names = ["needs_action", "outreach", "discharging", "recent"] if data.is_clinician else []
    if data.is_cct:
        names.append("cct_queue")
    if not names:
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(
                    text="You have no clients on the caseload. Once the practice imports a "
                    "caseload naming you, your clients show up here."
                )
            )
        )
    for name in names:
        title, empty = SECTIONS[name]
        rows = data.section(name)
        blocks.append(DividerBlock())
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{title}* ({len(rows)})")))
        if not rows:
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=empty)]))
            continue
        blocks.extend(_rows_blocks(rows[:HOME_ROWS], data.zone))
        if len(rows) > HOME_ROWS:
            blocks.append(
                ActionsBlock(
                    elements=[
                        ButtonElement(
                            text=f"See all {len(rows)}",
                            action_id=str(Id.HOME_MORE),
                            value=PageValue(section=name).dump(),
                        )
                    ]
                )
            )
    if data.is_clinician:
        blocks.append(DividerBlock())
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(text=f"{data.active_count} more client(s) in active care.")
                ]
            )
        )
    blocks.append(
        ActionsBlock(
            elements=[ButtonElement(text="Refresh", action_id=str(Id.HOME_REFRESH), value="1")]
        )
    )
    return View(type="home", blocks=blocks)


def caseload_modal(data: HomeData, metadata: CaseloadMetadata) -> View:
    """One page of one App Home list."""
    title, empty = SECTIONS[metadata.section]
    rows = data.section(metadata.section)
    pages = max(1, -(-len(rows) // PAGE_ROWS))
    page = min(max(metadata.page, 0), pages - 1)
    shown = rows[page * PAGE_ROWS : (page + 1) * PAGE_ROWS]
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=f"*{title}*: page {page + 1} of {pages}"))
    ]
    blocks.extend(_rows_blocks(shown, data.zone) if shown else [])
    if not shown:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=empty)]))
    buttons = []
    if page > 0:
        buttons.append(
            ButtonElement(
                text="Previous",
                action_id=f"{Id.HOME_PAGE}:prev",
                value=PageValue(section=metadata.section, page=page - 1).dump(),
            )
        )
    if page + 1 < pages:
        buttons.append(
            ButtonElement(
                text="Next",
                action_id=f"{Id.HOME_PAGE}:next",
                value=PageValue(section=metadata.section, page=page + 1).dump(),
            )
        )
    if buttons:
        blocks.append(ActionsBlock(elements=buttons))
    return View(
        type="modal",
        callback_id=str(Id.CASELOAD_MODAL),
        private_metadata=CaseloadMetadata(section=metadata.section, page=page).dump(),
        title="Caseload",
        close="Close",
        blocks=blocks,
    )

"""Ephemeral replies to `/care`: help, usage errors, a client's status, the caseload."""

from __future__ import annotations

from collections.abc import Sequence

from slack_sdk.models.blocks import Block, ContextBlock, MarkdownTextObject, SectionBlock

from bot.services.reads import CaseloadRow, Timeline
from bot.slack.care import USAGE
from bot.slack.views.format import SlackMessage, chunks, when

CASELOAD_LINES = 60


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def text_reply(text: str) -> SlackMessage:
    return SlackMessage(text, [_section(text)])


def help_reply() -> SlackMessage:
    return SlackMessage("How to use /care", [_section(USAGE)])


def usage_reply(problem: str) -> SlackMessage:
    return SlackMessage(
        problem,
        [_section(f":warning: {problem}"), ContextBlock(elements=[MarkdownTextObject(text=USAGE)])],
    )


def status_reply(timeline: Timeline, zone: str) -> SlackMessage:
    view = timeline.episodes[-1]
    a = view.assessment
    state = a.state.value.replace("_", " ")
    lines = [
        f"*{timeline.chart_id}* is *{state}*"
        + (f" ({a.closure.value.replace('_', ' ')})" if a.closure else "")
        + "."
    ]
    if a.last_contact_at:
        lines.append(f"Last contact: {when(a.last_contact_at, zone)}.")
    lines.append(f"Check-ins documented: {a.checkins_sent}.")
    if a.booked_session_at:
        lines.append(f"Next booked session: {when(a.booked_session_at, zone)}.")
    upcoming = a.due[0] if a.due else a.next
    if upcoming and view.closed_at is None:
        label = upcoming.kind.value.replace("_", " ") + (
            f" {upcoming.number}" if upcoming.number else ""
        )
        lines.append(f"Next: {label}, {when(upcoming.due_at, zone)}.")
    why = "\n".join(f"• {reason}" for reason in a.reasons[-4:])
    blocks: list[Block] = [_section("\n".join(lines))]
    if why:
        blocks.append(_section(f"*Why*\n{why}"))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Times in {zone}.")]))
    return SlackMessage(lines[0].replace("*", ""), blocks)


def caseload_reply(
    rows: Sequence[CaseloadRow], zone: str, *, summary_only: bool = False, page: int = 1
) -> SlackMessage:
    """The counts by state over the whole caseload, then one page of CASELOAD_LINES clients
    (a few blocks whatever the caseload's size: Slack takes 50 in a message)."""
    if not rows:
        return text_reply("You have no clients on the caseload.")
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.state.value] = counts.get(row.state.value, 0) + 1
    summary = ", ".join(f"{n} {state.replace('_', ' ')}" for state, n in sorted(counts.items()))
    head = f"*Your caseload:* {len(rows)} client(s): {summary}."
    blocks: list[Block] = [_section(head)]
    pages = -(-len(rows) // CASELOAD_LINES)
    if not summary_only and page > pages:
        blocks.append(_section(f"There is no page {page}: your caseload fills {pages}."))
    elif not summary_only:
        first = (page - 1) * CASELOAD_LINES
        lines = []
        for row in rows[first : first + CASELOAD_LINES]:
            line = f"• *{row.chart_id}*: {row.state.value.replace('_', ' ')}"
            if row.next_step and row.due_at:
                words = row.next_title or row.next_step.replace("_", " ")
                line += f"; next {words[:1].lower() + words[1:]}, {when(row.due_at, zone)}"
            lines.append(line)
        blocks.extend(_section(text) for text in chunks(lines))
        if pages > 1:
            shown = f"Clients {first + 1}-{first + len(lines)} (page {page} of {pages})."
            if page < pages:
                shown += f" `/care caseload {page + 1}` shows the next {CASELOAD_LINES}."
            blocks.append(ContextBlock(elements=[MarkdownTextObject(text=shown)]))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Times in {zone}.")]))
    return SlackMessage(head.replace("*", ""), blocks)

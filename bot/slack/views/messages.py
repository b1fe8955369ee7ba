"""The messages the dispatcher posts (and later updates in place), one builder per kind."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    MarkdownTextObject,
    Option,
    SectionBlock,
    StaticSelectElement,
)

from bot.domain.model import ChecklistStep, Classification, State, StepKind
from bot.services.readmodels import OutboxKind, OutboxMessageData, Resolution, Resolved
from bot.slack.ids import Id, PromptValue
from bot.slack.views.format import SlackMessage, chunks, escape, first_line, quote, when, who

CLASSIFICATION_WORDS = {
    Classification.CONTINUING: "continuing care",
    Classification.MET_GOALS: "met their goals",
    Classification.FIT_CONCERN: "fit concern",
    Classification.OTHER: "other",
}

_RESOLVED_WORDS = {
    Resolved.MARKED_SENT: ":white_check_mark: Marked as sent",
    Resolved.SENT_FOR_ME: ":white_check_mark: Sent through the platform",
    Resolved.CLIENT_REPLIED: ":speech_balloon: Client replied",
    Resolved.SNOOZED: ":zzz: Snoozed",
    Resolved.PAUSED: ":double_vertical_bar: Outreach paused",
    Resolved.CLASSIFIED: ":white_check_mark: Classified",
    Resolved.TAKEN: ":raising_hand: Taken",
    Resolved.DONE: ":white_check_mark: Done",
}

_STATE_WORDS = {
    State.ACTIVE: "the client is active again",
    State.OUTREACH: "outreach has moved on",
    State.PAUSED: "outreach is paused",
    State.REPLY_REVIEW: "the client replied",
    State.INACTIVE: "the discharge checklist is open",
    State.CARE_TEAM_REMOVAL: "the client is still seen by other providers",
    State.REMATCH: "the CCT is arranging a rematch",
    State.DISCHARGED: "the client has been discharged",
    State.CLOSED: "this episode is closed",
}


def outbox_message(data: OutboxMessageData) -> SlackMessage:
    """The message for any outbox row (a re-render of the same row gives the same shape)."""
    if data.kind == OutboxKind.SUMMARY_NOTE:
        return summary_note_message(data)
    if data.kind == OutboxKind.CCT_DIGEST:
        return SlackMessage(first_line(data.text), [_section(data.text)])
    kind = StepKind(data.kind)
    if data.attempt and kind is StepKind.CHECKLIST:  # the checklist message above is live
        return SlackMessage(first_line(data.text), [_section(data.text)])
    if kind is StepKind.CHECKIN:
        return checkin_message(data)
    if kind is StepKind.CLASSIFY_REPLY:
        return classify_message(data)
    if kind is StepKind.CHECKLIST:
        return checklist_message(data)
    if kind in (StepKind.REENGAGED_NOTICE, StepKind.RETURNED_NOTICE, StepKind.PAUSE_ENDS):
        return SlackMessage(first_line(data.text), [_section(data.text)])
    return cct_message(data)


# --------------------------------------------------------------------------- pieces


def _section(text: str, *, block_id: str | None = None) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text), block_id=block_id)


def _value(data: OutboxMessageData, choice: str | None = None) -> str:
    return PromptValue(o=data.id, c=data.chart_id or "-", v=choice).dump()


def _button(
    label: str,
    action: Id,
    value: str,
    *,
    style: str | None = None,
    confirm: ConfirmObject | None = None,
) -> ButtonElement:
    return ButtonElement(
        text=label, action_id=str(action), value=value, style=style, confirm=confirm
    )


def _confirm(title: str, text: str, yes: str) -> ConfirmObject:
    return ConfirmObject(
        title=title, text=MarkdownTextObject(text=text), confirm=yes, deny="Cancel"
    )


def _resolution_line(resolution: Resolution, zone: str) -> str:
    words = _RESOLVED_WORDS[resolution.action]
    detail = f" ({resolution.detail})" if resolution.detail else ""
    return f"{words}{detail} by {who(resolution.by)} · {when(resolution.at, zone)}"


def _footer(data: OutboxMessageData) -> list[Block]:
    lines = [_resolution_line(r, data.zone) for r in data.resolutions]
    if not data.current and not data.resolutions and data.state is not None:
        lines.append(f":information_source: No longer needed: {_STATE_WORDS[data.state]}.")
    if not lines:
        return []
    return [
        ContextBlock(
            block_id=str(Id.B_RESOLUTION),
            elements=[MarkdownTextObject(text="\n".join(lines))],
        )
    ]


def is_final(data: OutboxMessageData) -> bool:
    """The message will never offer buttons again: later refreshes can leave it alone.

    An unanswered prompt that is merely not current (outreach paused) may come back.
    """
    final = {r.action for r in data.resolutions} - {Resolved.TAKEN}
    return bool(final) or data.state is State.CLOSED


def _answered(data: OutboxMessageData) -> bool:
    """A prompt stops offering buttons once someone answered it (CCT: once it is done)."""
    final = {r.action for r in data.resolutions} - {Resolved.TAKEN}
    return bool(final) or not data.current


# --------------------------------------------------------------------------- clinician prompts


def checkin_message(data: OutboxMessageData) -> SlackMessage:
    blocks: list[Block] = [_section(data.text)]
    if data.preview:
        blocks.append(_section("*Message for the client's chat*\n" + quote(data.preview)))
    if not _answered(data):
        elements: list[ButtonElement | StaticSelectElement] = [
            _button("Mark as sent", Id.MARK_SENT, _value(data), style="primary"),
        ]
        if data.can_send_for_me:
            elements.append(
                _button(
                    "Send for me",
                    Id.SEND_FOR_ME,
                    _value(data),
                    confirm=_confirm(
                        "Send this check-in?",
                        "The message above goes into the client's chat in the platform, with "
                        "their first name filled in, and the admin note is written for you.",
                        "Send it",
                    ),
                )
            )
        elements.append(_button("Client replied", Id.CLIENT_REPLIED, _value(data)))
        elements.append(
            StaticSelectElement(
                action_id=str(Id.SNOOZE),
                placeholder="Snooze…",
                options=[
                    Option(
                        text=f"{d} day" + ("" if d == 1 else "s"),
                        value=_value(data, str(d)),
                    )
                    for d in data.snooze_days
                ],
            )
        )
        elements.append(
            StaticSelectElement(
                action_id=str(Id.PAUSE),
                placeholder="Pause outreach until…",
                options=[
                    Option(text=f"{d} days from today", value=_value(data, str(d)))
                    for d in data.pause_days
                ],
                confirm=_confirm(
                    "Pause outreach?",
                    "No check-ins are prompted until that day; you're reminded then. Resume "
                    f"sooner with `/care resume {data.chart_id}`.",
                    "Pause",
                ),
            )
        )
        blocks.append(ActionsBlock(block_id=str(Id.B_ACTIONS), elements=elements))
    blocks.extend(_footer(data))
    number = data.title or (
        f"Check-in {data.number} of {data.total}" if data.number else "A check-in"
    )
    return SlackMessage(f"{number} is due for {data.chart_id}", blocks)


def classify_message(data: OutboxMessageData) -> SlackMessage:
    blocks: list[Block] = [_section(data.text)]
    if not _answered(data):
        blocks.append(
            ActionsBlock(
                block_id=str(Id.B_ACTIONS),
                elements=[
                    _button(
                        "Continuing care",
                        Id.CLASSIFY,
                        _value(data, Classification.CONTINUING.value),
                        style="primary",
                    ),
                    _button(
                        "Met their goals",
                        Id.CLASSIFY,
                        _value(data, Classification.MET_GOALS.value),
                        confirm=_confirm(
                            "Met their goals?",
                            "This file closes here; please complete a *Discharge \u2013 Completed* "
                            "in the platform instead of this process.",
                            "Yes, met goals",
                        ),
                    ),
                    _button(
                        "Fit concern",
                        Id.CLASSIFY,
                        _value(data, Classification.FIT_CONCERN.value),
                        confirm=_confirm(
                            "Ask CCT for a rematch?",
                            "The CCT is asked to arrange a rematch under the Fit Guarantee. "
                            "Outreach stays stopped.",
                            "Ask CCT",
                        ),
                    ),
                    _button("Other", Id.CLASSIFY, _value(data, Classification.OTHER.value)),
                ],
            )
        )
    blocks.extend(_footer(data))
    return SlackMessage(f"{data.chart_id} replied: how should the reply be classified?", blocks)


def _step_line(data: OutboxMessageData, index: int) -> str:
    line = data.checklist[index]
    mark = ":white_check_mark:" if line.done_at else ":white_large_square:"
    text = f"{mark} *{index + 1}. {line.title}*"
    if line.automatic and line.done_at:
        text += f"\nFrom the log: last check-in on {when(line.done_at, data.zone)}."
    elif line.done_at:
        answer = f" (answer: {line.answer})" if line.answer else ""
        by = who(line.done_by) if line.done_by else "the bot"
        text += f"\nDone{answer} by {by} · {when(line.done_at, data.zone)}"
    return text


def _step_controls(data: OutboxMessageData, step: ChecklistStep) -> list[Block]:
    value = _value(data, step.value)
    if step is ChecklistStep.ATTEMPTS_DOCUMENTED:
        return [
            _actions(
                _button(
                    "Confirm attempts documented",
                    Id.STEP_CONFIRM,
                    value,
                    style="primary",
                    confirm=_confirm(
                        "Attempts documented?",
                        "Every re-engagement attempt is documented as an admin note in the chart.",
                        "Confirm",
                    ),
                )
            )
        ]
    if step is ChecklistStep.NOTES_SIGNED:
        return [
            _actions(
                _button(
                    "Confirm notes signed",
                    Id.STEP_CONFIRM,
                    value,
                    style="primary",
                    confirm=_confirm(
                        "All notes signed?",
                        "All session notes for this client are complete and signed/locked.",
                        "Confirm",
                    ),
                )
            )
        ]
    if step is ChecklistStep.OTHER_PROVIDERS:
        blocks: list[Block] = []
        if data.other_sessions:
            seen = "; ".join(escape(s) for s in data.other_sessions)
            blocks.append(
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text=f"Sessions with other providers during outreach: {seen}."
                        )
                    ]
                )
            )
        if data.other_providers is not None:
            others = ", ".join(escape(p) for p in data.other_providers) or "nobody else"
            blocks.append(
                ContextBlock(
                    elements=[
                        MarkdownTextObject(text=f"The platform lists on the care team: {others}.")
                    ]
                )
            )
        blocks.append(
            _actions(
                _button(
                    "Yes, still seeing others",
                    Id.OTHER_PROVIDERS,
                    _value(data, "yes"),
                    confirm=_confirm(
                        "Still seeing other providers?",
                        "Then the file stays open: only your part ends, and the CCT is asked "
                        "to remove you from the care team. The checklist ends here.",
                        "Yes",
                    ),
                ),
                _button("No, nobody else", Id.OTHER_PROVIDERS, _value(data, "no"), style="primary"),
            )
        )
        return blocks
    if step is ChecklistStep.SUMMARY_NOTE:
        return [_actions(_button("Write the summary", Id.OPEN_SUMMARY, value, style="primary"))]
    moved = _button(
        "I moved them",
        Id.MOVED_CONFIRM,
        value,
        style=None if data.can_move_for_me else "primary",
        confirm=_confirm(
            f"Moved to {data.discharged_group}?",
            f"The client is in the *{data.discharged_group}* group in the platform. The CCT is "
            "then asked for its chart check and archive.",
            "Confirm",
        ),
    )
    if data.can_move_for_me:
        move = _button(
            "Move for me",
            Id.MOVE_FOR_ME,
            value,
            style="primary",
            confirm=_confirm(
                f"Move to {data.discharged_group}?",
                f"The platform moves the client to *{data.discharged_group}*; the CCT is then "
                "asked for its chart check and archive.",
                "Move",
            ),
        )
        return [_actions(move, moved)]
    return [_actions(moved)]


def _actions(*elements: ButtonElement) -> ActionsBlock:
    return ActionsBlock(block_id=str(Id.B_ACTIONS), elements=list(elements))


def checklist_message(data: OutboxMessageData) -> SlackMessage:
    blocks: list[Block] = [_section(data.text), DividerBlock()]
    for index, line in enumerate(data.checklist):
        blocks.append(_section(_step_line(data, index), block_id=f"{Id.B_STEP}:{line.step}"))
        if data.current and line.step is data.next_step:
            blocks.extend(_step_controls(data, line.step))
    if data.current:
        note = "Nothing is discharged until you confirm each step, in order."
    elif data.state is State.DISCHARGED or (
        data.state is State.CLOSED and all(line.done_at for line in data.checklist)
    ):
        note = (
            ":white_check_mark: Checklist complete. "
            "The CCT is asked for its chart check and archive."
        )
    elif data.state is State.CARE_TEAM_REMOVAL:
        note = (
            "Ended here: the client is still seen by other providers, so the CCT is asked to "
            "remove you from the care team."
        )
    else:
        note = f":information_source: Checklist closed: {_STATE_WORDS[data.state or State.CLOSED]}."
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]))
    return SlackMessage(f"Discharge checklist for {data.chart_id}", blocks)


def summary_note_message(data: OutboxMessageData) -> SlackMessage:
    """The rendered note, in code blocks so it pastes cleanly; only ever to its author's DM."""
    blocks: list[Block] = [
        _section(
            f"Here is the discharge summary for *{data.chart_id}*, ready to paste into the chart "
            "as a note. It is stored with the client's record too."
        )
    ]
    body = escape(data.text)
    for part in chunks(body.splitlines(), limit=2800):
        blocks.append(_section(f"```{part}```"))
    return SlackMessage(f"Discharge summary for {data.chart_id}", blocks)


# --------------------------------------------------------------------------- CCT channel


def cct_message(data: OutboxMessageData) -> SlackMessage:
    blocks: list[Block] = [_section(data.text)]
    if not _answered(data):
        taken = any(r.action is Resolved.TAKEN for r in data.resolutions)
        elements = []
        if not taken:
            elements.append(_button("Take it", Id.CCT_TAKE, _value(data)))
        elements.append(
            _button(
                "Mark done",
                Id.CCT_DONE,
                _value(data),
                style="primary",
                confirm=_confirm(
                    "Mark this done?",
                    "The request is closed on the record and this message shows who did it.",
                    "Done",
                ),
            )
        )
        blocks.append(_actions(*elements))
    blocks.extend(_footer(data))
    return SlackMessage(first_line(data.text), blocks)

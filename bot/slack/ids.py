"""Every action, callback and block id in one StrEnum, and the typed JSON our buttons carry.

Slack hands `value` and `private_metadata` back verbatim, so they are small pydantic models
serialised to JSON (≤ 2,000 / 3,000 characters) and parsed strictly on the way in: a value
that does not parse is a forged or outdated button, not something to guess at.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.domain.errors import DomainError


class Id(StrEnum):
    # check-in prompt
    MARK_SENT = "checkin_mark_sent"
    SEND_FOR_ME = "checkin_send_for_me"
    CLIENT_REPLIED = "checkin_client_replied"
    SNOOZE = "checkin_snooze"
    PAUSE = "checkin_pause"
    NOTE_DOCUMENTED = "checkin_note_documented"
    # reply classification
    CLASSIFY = "reply_classify"
    # discharge checklist
    STEP_CONFIRM = "checklist_confirm"
    OTHER_PROVIDERS = "checklist_other_providers"
    OPEN_SUMMARY = "checklist_open_summary"
    MOVE_FOR_ME = "checklist_move_for_me"
    MOVED_CONFIRM = "checklist_moved_confirm"
    # CCT channel
    CCT_TAKE = "cct_take"
    CCT_DONE = "cct_done"
    # App Home
    HOME_MORE = "home_more"
    HOME_PAGE = "home_page"
    HOME_REFRESH = "home_refresh"
    # the summary modal
    SUMMARY_MODAL = "discharge_summary_modal"
    CASELOAD_MODAL = "caseload_modal"
    B_FOCUS = "summary_focus"
    B_GOALS = "summary_goals"
    B_RISK = "summary_risk"
    B_CONSIDERATIONS = "summary_considerations"
    B_LAST_SESSION = "summary_last_session"
    A_FOCUS = "summary_focus_input"
    A_GOALS = "summary_goals_input"
    A_RISK = "summary_risk_select"
    A_CONSIDERATIONS = "summary_considerations_input"
    A_LAST_SESSION = "summary_last_session_input"
    # the early heads-up (DM and App Home) and its modals
    HEADSUP_REACH_OUT = "headsup_reach_out"
    HEADSUP_EXPECTED = "headsup_expected"
    HEADSUP_DISMISS = "headsup_dismiss"
    HEADSUP_EXPECTED_MODAL = "headsup_expected_modal"
    HEADSUP_REACH_OUT_MODAL = "headsup_reach_out_modal"
    B_HEADSUP_REASON = "headsup_reason"
    A_HEADSUP_REASON = "headsup_reason_input"
    # blocks whose ids other code looks for
    B_ACTIONS = "prompt_actions"
    B_NOTE_ACTIONS = "prompt_note_actions"
    B_RESOLUTION = "prompt_resolution"
    B_STEP = "checklist_step"


def variant(action: Id, choice: str) -> str:
    """The action_id of one of several elements with the same action in one block.

    Slack wants action_id unique within its block; the choice rides after a colon
    (``reply_classify:fit_concern``) and the listener matches them all with `any_variant`.
    """
    return f"{action}:{choice}"


def any_variant(action: Id) -> re.Pattern[str]:
    """Matches `action` itself and every `variant` of it, nothing else."""
    return re.compile(rf"^{re.escape(str(action))}(?::[A-Za-z0-9_.-]+)?$")
#: Row ids fit a signed 64-bit column; a larger one (2**63) is a forgery, not a lookup.
MAX_ROW_ID = 2**62
#: What a chart id may look like (as `/care` and the caseload CSV accept it).
CHART_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"


class _Value(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def dump(self) -> str:
        return self.model_dump_json(exclude_none=True)


class PromptValue(_Value):
    """On every prompt button: the outbox row the message came from and the client."""

    o: int = Field(ge=1, le=MAX_ROW_ID, description="outbox row id of the message")
    c: str = Field(
        min_length=1, max_length=64, pattern=CHART_ID_PATTERN, description="chart id"
    )
    v: str | None = Field(
        None, max_length=32, pattern=r"^[^\x00]*$", description="the choice (snooze days, yes/no…)"
    )


class HeadsUpValue(_Value):
    """On every heads-up button and the *Expected* modal: which heads-up, which client."""

    h: int = Field(description="heads-up id")
    c: str = Field(min_length=1, max_length=64, description="chart id")


class SummaryMetadata(_Value):
    """The summary modal's private_metadata: whose summary, and the checklist message."""

    c: str = Field(min_length=1, max_length=64, pattern=CHART_ID_PATTERN)
    o: int | None = Field(None, ge=1, le=MAX_ROW_ID)


class CaseloadMetadata(_Value):
    """The "more" modal's private_metadata: which list, which page."""

    section: Literal["needs_action", "outreach", "discharging", "recent", "cct_queue"]
    page: int = Field(0, ge=0, le=10_000)


class PageValue(_Value):
    section: Literal["needs_action", "outreach", "discharging", "recent", "cct_queue"]
    page: int = Field(0, ge=0, le=10_000)


M = TypeVar("M", bound=_Value)


class BadValue(DomainError):
    """A button value or modal metadata that does not parse (forged, or from an old version)."""


def parse(model: type[M], raw: str | None) -> M:
    try:
        return model.model_validate_json(raw or "")
    except ValidationError:
        raise BadValue(
            "That button is out of date. Open the latest message, or use /care."
        ) from None

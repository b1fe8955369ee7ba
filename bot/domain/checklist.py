"""The discharge checklist: its steps in the guide's order and what may be ticked when."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.domain.errors import ChecklistOrderError, NeedsReason
from bot.domain.model import ChecklistStep

ORDER: tuple[ChecklistStep, ...] = tuple(ChecklistStep)

TITLES: dict[ChecklistStep, str] = {
    ChecklistStep.ATTEMPTS_DOCUMENTED: "Re-engagement attempts documented",
    ChecklistStep.NOTES_SIGNED: "All session notes completed and signed/locked",
    ChecklistStep.OTHER_PROVIDERS: "Still seeing other providers of the practice?",
    ChecklistStep.SUMMARY_NOTE: "Discharge summary note written",
    ChecklistStep.MOVED_TO_GROUP: "Moved to the Discharged Clients group",
}


@dataclass(frozen=True)
class ChecklistStatus:
    """Which steps are done (and when), and the step the clinician should do next."""

    done: Mapping[ChecklistStep, datetime]
    attempts_auto: bool  # ticked from the log: at least one check-in documented

    def is_done(self, step: ChecklistStep) -> bool:
        if step is ChecklistStep.ATTEMPTS_DOCUMENTED and self.attempts_auto:
            return True
        return step in self.done

    @property
    def next_step(self) -> ChecklistStep | None:
        return next((s for s in ORDER if not self.is_done(s)), None)

    @property
    def complete(self) -> bool:
        return self.next_step is None

    @property
    def done_count(self) -> int:
        return sum(1 for s in ORDER if self.is_done(s))


def checklist_status(
    done: Mapping[ChecklistStep, datetime], *, checkins_documented: int
) -> ChecklistStatus:
    return ChecklistStatus(done=dict(done), attempts_auto=checkins_documented > 0)


def check_can_complete(
    status: ChecklistStatus,
    step: ChecklistStep,
    *,
    by_platform: bool,
    reason: str | None = None,
    chart_id: str = "CLIENT",
) -> None:
    """Steps are ticked in the guide's order; the platform may report the group move any time.
    "Attempts documented" with no documented attempt needs the clinician's reason.

    Raises ChecklistOrderError naming the step that has to come first, NeedsReason when a
    reason is missing.
    """
    if status.is_done(step):
        raise ChecklistOrderError(f"“{TITLES[step]}” is already done.")
    if by_platform and step is ChecklistStep.MOVED_TO_GROUP:
        return
    first_open = status.next_step
    if first_open is not None and first_open is not step:
        raise ChecklistOrderError(f"“{TITLES[first_open]}” comes first; then “{TITLES[step]}”.")
    if step is ChecklistStep.ATTEMPTS_DOCUMENTED and not (reason or "").strip():
        raise NeedsReason(
            ("no re-engagement attempt (check-in) is documented",),
            f"To tick it anyway, confirm with your reason: `/care attempts {chart_id} <reason>`.",
        )

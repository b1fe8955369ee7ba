"""The discharge checklist: the guide's order, the automatic first tick, the platform's group move."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from bot.domain.checklist import ORDER, check_can_complete, checklist_status
from bot.domain.errors import ChecklistOrderError, DomainError, NeedsReason
from bot.domain.model import ChecklistStep, Event, State
from tests.domain.builders import at, checkin, history, local, step

A = ChecklistStep.ATTEMPTS_DOCUMENTED
N = ChecklistStep.NOTES_SIGNED
O = ChecklistStep.OTHER_PROVIDERS  # noqa: E741
S = ChecklistStep.SUMMARY_NOTE
G = ChecklistStep.MOVED_TO_GROUP
T = datetime(2026, 5, 1, 15, tzinfo=UTC)


def test_the_order_is_the_practice_guides() -> None:
    assert ORDER == (A, N, O, S, G)


@pytest.mark.parametrize(
    ("done", "checkins", "next_step"),
    [
        pytest.param((), 0, A, id="nothing-documented-attempts-first"),
        pytest.param((), 1, N, id="a-documented-checkin-ticks-attempts"),
        pytest.param((A,), 0, N, id="attempts-ticked-by-hand"),
        pytest.param((N,), 1, O, id="then-other-providers"),
        pytest.param((N, O), 3, S, id="then-the-summary-note"),
        pytest.param((N, O, S), 2, G, id="then-the-group-move"),
        pytest.param((N, O, S, G), 1, None, id="complete"),
        pytest.param((N, O, S, G), 0, A, id="not-complete-without-attempts"),
    ],
)
def test_next_step_follows_the_order(
    done: tuple[ChecklistStep, ...], checkins: int, next_step: ChecklistStep | None
) -> None:
    status = checklist_status(dict.fromkeys(done, T), checkins_documented=checkins)
    assert status.next_step is next_step
    assert status.complete is (next_step is None)


@pytest.mark.parametrize(
    ("done", "checkins", "ticked", "by_platform", "error"),
    [
        pytest.param((), 1, N, False, None, id="notes-after-the-automatic-tick"),
        pytest.param((N,), 1, O, False, None, id="other-providers-after-notes"),
        pytest.param((N, O), 1, S, False, None, id="summary-after-other-providers"),
        pytest.param((N, O, S), 1, G, False, None, id="group-move-last"),
        pytest.param(
            (),
            1,
            O,
            False,
            "“All session notes completed and signed/locked” comes first",
            id="other-providers-before-notes",
        ),
        pytest.param(
            (N,),
            1,
            S,
            False,
            "“Still seeing other providers of the practice?” comes first",
            id="summary-before-other-providers",
        ),
        pytest.param(
            (),
            0,
            N,
            False,
            "“Re-engagement attempts documented” comes first",
            id="notes-before-any-attempt",
        ),
        pytest.param((N,), 1, G, False, "comes first", id="clinician-moves-group-out-of-order"),
        pytest.param((), 1, G, True, None, id="platform-reports-group-move-any-time"),
        pytest.param((), 0, G, True, None, id="platform-group-move-even-before-attempts"),
        pytest.param((N,), 1, N, False, "is already done", id="a-step-twice"),
        pytest.param((), 1, A, False, "is already done", id="attempts-already-ticked-from-the-log"),
        pytest.param((G,), 1, G, True, "is already done", id="platform-reports-the-move-twice"),
    ],
)
def test_check_can_complete(
    done: tuple[ChecklistStep, ...],
    checkins: int,
    ticked: ChecklistStep,
    by_platform: bool,
    error: str | None,
) -> None:
    status = checklist_status(dict.fromkeys(done, T), checkins_documented=checkins)
    if error is None:
        check_can_complete(status, ticked, by_platform=by_platform)
    else:
        with pytest.raises(ChecklistOrderError, match=re.escape(error)) as caught:
            check_can_complete(status, ticked, by_platform=by_platform)
        assert isinstance(caught.value, DomainError)


INACTIVE_AT = local(2026, 4, 27, 10)


def _inactive_with(*steps: tuple[ChecklistStep, str | None]) -> list[Event]:
    events = [
        checkin(local(2026, 3, 16, 10)),
        checkin(local(2026, 3, 30, 10)),
        checkin(local(2026, 4, 13, 10)),
    ]
    events += [step(local(2026, 4, 28, 10 + i), s, a) for i, (s, a) in enumerate(steps)]
    return events


def test_platform_group_move_out_of_order_is_recorded_and_the_checklist_goes_on() -> None:
    h = history(*_inactive_with((G, None)), last_contact=local(2026, 3, 2, 10))
    a = at(h, local(2026, 4, 28, 12))
    assert a.state is State.INACTIVE
    assert a.checklist.is_done(G)
    assert a.checklist.next_step is N


def test_the_last_missing_step_after_an_early_group_move_discharges() -> None:
    h = history(
        *_inactive_with((G, None), (N, None), (O, "no"), (S, None)),
        last_contact=local(2026, 3, 2, 10),
    )
    assert at(h, local(2026, 4, 28, 16)).state is State.DISCHARGED


def test_attempts_are_never_ticked_with_none_documented_unless_confirmed_with_a_reason() -> None:
    status = checklist_status({}, checkins_documented=0)
    with pytest.raises(NeedsReason, match="no re-engagement attempt") as caught:
        check_can_complete(status, A, by_platform=False, chart_id="R-7")
    assert "`/care attempts R-7 <reason>`" in str(caught.value)
    with pytest.raises(NeedsReason):
        check_can_complete(status, A, by_platform=False, reason="   ")
    check_can_complete(status, A, by_platform=False, reason="Phone disconnected; letter sent")

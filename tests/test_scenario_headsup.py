"""The early heads-up over a simulated calendar: it fires, it can be silenced, and it comes
once per stretch, through the same tick and outbox as every other prompt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.clock import FixedClock
from bot.domain.errors import DomainError, NotAllowed
from bot.domain.model import EventKind, State
from bot.services import Services, build_services
from bot.services.headsup_rules import HEADSUP_KIND
from bot.services.types import Actor, Source
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.models import Episode, HeadsUpRecord, OutboxMessage
from storage.repository import UnitOfWork
from tests.helpers import PLATFORM, import_rows

TORONTO = ZoneInfo("America/Toronto")
CLINICIAN = Actor("U0CLIN1", Source.SLACK)
STRANGER = Actor("U0OTHER", Source.SLACK)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)  # type: ignore[misc]


def monday(week: int) -> datetime:
    """10:00 Toronto time on the Monday `week` weeks after 2026-03-02 (wall clock)."""
    return (datetime(2026, 3, 2, 10, tzinfo=TORONTO) + timedelta(days=7 * week)).astimezone(UTC)


def session(service: Services, clock: FixedClock, kind: EventKind, at: datetime) -> None:
    clock.set(at + timedelta(hours=1))
    service.recording.record_session("R-1", kind, occurred_at=at, actor=PLATFORM)


def book(service: Services, clock: FixedClock, at: datetime, for_: datetime) -> None:
    clock.set(at)
    service.recording.record_session(
        "R-1", EventKind.SESSION_SCHEDULED, occurred_at=at, session_at=for_, actor=PLATFORM
    )


def tick(service: Services, clock: FixedClock, at: datetime) -> list[tuple[str, str]]:
    clock.set(at)
    return [(q.kind, q.key) for q in service.outreach.tick(at).queued]


def weekly_then_slipping(service: Services, clock: FixedClock, clinician: str = "U0CLIN1") -> None:
    """Four Mondays attended (each next one booked), then a no-show on 2026-03-30, a new
    booking two days later, and a second no-show on 2026-04-06."""
    clock.set(local(2026, 3, 2, 9))
    import_rows(service, f"R-1,{clinician},Ana,2026-02-23T10:00,,America/Toronto")
    for week in range(4):
        session(service, clock, EventKind.SESSION_ATTENDED, monday(week))
        book(service, clock, monday(week) + timedelta(hours=2), monday(week + 1))
    session(service, clock, EventKind.SESSION_NO_SHOW, local(2026, 3, 30, 10))
    assert tick(service, clock, local(2026, 3, 30, 11, 5)) == []
    book(service, clock, local(2026, 4, 1, 12), local(2026, 4, 6, 10))
    session(service, clock, EventKind.SESSION_NO_SHOW, local(2026, 4, 6, 10))


def headsups(uow: UnitOfWork) -> list[HeadsUpRecord]:
    with uow() as repo:
        return list(repo.session.query(HeadsUpRecord).order_by(HeadsUpRecord.id))


def outbox_row(uow: UnitOfWork, key: str) -> OutboxMessage:
    with uow() as repo:
        row = repo.outbox_by_key(key)
        assert row is not None
        return row


STRETCH_KEY = "ep1:headsup:20260323T140000Z"  # the stretch began at the 2026-03-23 session


def test_two_misses_in_four_send_one_private_heads_up_through_the_tick(
    service: Services, clock: FixedClock, uow: UnitOfWork
) -> None:
    weekly_then_slipping(service, clock)
    with uow() as repo:
        episode = repo.session.get(Episode, 1)
        assert episode is not None
        assert episode.headsup_due_at == local(2026, 4, 6, 11)  # the indexed column the tick reads
    assert tick(service, clock, local(2026, 4, 6, 11, 5)) == [(HEADSUP_KIND, STRETCH_KEY)]
    [record] = headsups(uow)
    assert record.line == "missed 2 of the last 4; usual gap 7 days, now 14"
    row = outbox_row(uow, STRETCH_KEY)
    assert (row.recipient_kind, row.recipient) == ("clinician", "U0CLIN1")  # never CCT
    assert row.deliver_after == local(2026, 4, 6, 11, 5)
    # once per stretch: later ticks, another booking and more time say nothing more
    assert tick(service, clock, local(2026, 4, 6, 11, 10)) == []
    book(service, clock, local(2026, 4, 7, 9), local(2026, 4, 13, 10))
    assert tick(service, clock, local(2026, 4, 9, 10)) == []
    assert len(headsups(uow)) == 1


def test_a_third_miss_hands_over_to_the_policy_and_no_heads_up_follows(
    service: Services, clock: FixedClock, uow: UnitOfWork
) -> None:
    weekly_then_slipping(service, clock)
    session(service, clock, EventKind.SESSION_NO_SHOW, local(2026, 4, 13, 10))
    assert service.recording.current_state("R-1", actor=CLINICIAN) is State.OUTREACH
    # the attendance path's check-in 1 was queued with the miss; no heads-up follows
    assert outbox_row(uow, "ep1:checkin-1:0").kind == "checkin"
    assert tick(service, clock, local(2026, 4, 13, 11, 5)) == []
    assert headsups(uow) == []


def test_a_heads_up_found_after_hours_waits_for_the_working_morning(
    service: Services, clock: FixedClock, uow: UnitOfWork
) -> None:
    weekly_then_slipping(service, clock)
    assert tick(service, clock, local(2026, 4, 6, 18, 30)) == [(HEADSUP_KIND, STRETCH_KEY)]
    assert outbox_row(uow, STRETCH_KEY).deliver_after == local(2026, 4, 7, 9)


def test_expected_keeps_the_reason_and_silences_the_stretch_until_the_next_session(
    service: Services, clock: FixedClock, uow: UnitOfWork
) -> None:
    weekly_then_slipping(service, clock)
    tick(service, clock, local(2026, 4, 6, 11, 5))
    [record] = headsups(uow)
    with pytest.raises(NotAllowed):
        service.headsups.expected(record.id, "travel", actor=STRANGER)
    with pytest.raises(DomainError):
        service.headsups.expected(record.id, "   ", actor=CLINICIAN)
    data, _ = service.headsups.expected(record.id, "Away for two weeks", actor=CLINICIAN)
    assert data.status == "expected"
    assert not data.current
    with pytest.raises(DomainError, match="already answered"):
        service.headsups.dismiss(record.id, actor=CLINICIAN)
    [record] = headsups(uow)
    assert (record.reason, record.resolved_by) == ("Away for two weeks", "U0CLIN1")
    # a later doubled gap in the same stretch stays silent
    book(service, clock, local(2026, 4, 8, 9), local(2026, 4, 20, 10))
    assert tick(service, clock, local(2026, 4, 9, 12)) == []
    # the client comes back: a new stretch; two more misses are news again
    session(service, clock, EventKind.SESSION_ATTENDED, local(2026, 4, 20, 10))
    book(service, clock, local(2026, 4, 20, 12), local(2026, 4, 27, 10))
    session(service, clock, EventKind.SESSION_NO_SHOW, local(2026, 4, 27, 10))
    book(service, clock, local(2026, 4, 28, 12), local(2026, 5, 4, 10))
    session(service, clock, EventKind.SESSION_NO_SHOW, local(2026, 5, 4, 10))
    assert tick(service, clock, local(2026, 5, 4, 11, 5)) == [
        (HEADSUP_KIND, "ep1:headsup:20260420T140000Z")
    ]
    assert len(headsups(uow)) == 2


def test_reach_out_now_renders_the_active_client_check_in_without_the_name(
    service: Services, clock: FixedClock, uow: UnitOfWork
) -> None:
    weekly_then_slipping(service, clock)
    tick(service, clock, local(2026, 4, 6, 11, 5))
    [record] = headsups(uow)
    text, _ = service.headsups.reach_out(record.id, actor=CLINICIAN)
    assert "haven't been able to meet as regularly" in text
    assert "Ana" not in text
    assert "[client first name]" in text
    assert headsups(uow)[0].status == "reached_out"


def test_one_setting_turns_the_heads_up_off(
    uow: UnitOfWork, clock: FixedClock, settings: Settings, phrases: PhraseLibrary
) -> None:
    service = build_services(
        uow, clock, settings.model_copy(update={"headsup_enabled": False}), phrases
    )
    weekly_then_slipping(service, clock)
    with uow() as repo:
        episode = repo.session.get(Episode, 1)
        assert episode is not None
        assert episode.headsup_due_at is None
    assert tick(service, clock, local(2026, 4, 6, 11, 5)) == []
    assert headsups(uow) == []


def test_a_doubled_gap_alone_is_found_when_its_deadline_comes(
    service: Services, clock: FixedClock, uow: UnitOfWork
) -> None:
    """Weekly sessions, then none, though the client keeps writing (so no outreach)."""
    clock.set(local(2026, 3, 2, 9))
    import_rows(service, "R-1,U0CLIN1,Ana,2026-02-23T10:00,,America/Toronto")
    for week in range(4):
        session(service, clock, EventKind.SESSION_ATTENDED, monday(week))
    clock.set(local(2026, 4, 1, 12))
    service.recording.record_client_message(
        "R-1", occurred_at=local(2026, 4, 1, 12), actor=PLATFORM
    )
    assert tick(service, clock, local(2026, 4, 6, 9, 59)) == []
    assert tick(service, clock, local(2026, 4, 6, 10)) == [(HEADSUP_KIND, STRETCH_KEY)]
    assert headsups(uow)[0].line == "usual gap 7 days, now 14"


def test_an_unanswered_heads_up_lapses_when_the_client_comes_and_outreach_takes_over_later(
    service: Services, clock: FixedClock, uow: UnitOfWork
) -> None:
    weekly_then_slipping(service, clock)
    tick(service, clock, local(2026, 4, 6, 11, 5))
    session(service, clock, EventKind.SESSION_ATTENDED, local(2026, 4, 8, 10))
    with uow() as repo:
        episode = repo.session.get(Episode, 1)
        assert episode is not None
        assert episode.headsup_due_at == local(2026, 4, 8, 11)  # closed out on the next tick
    assert tick(service, clock, local(2026, 4, 8, 11, 5)) == []
    [record] = headsups(uow)
    assert (record.status, record.resolved_by) == ("lapsed", "scheduler")
    with uow() as repo:
        episode = repo.session.get(Episode, 1)
        assert episode is not None
        assert episode.headsup_stretch is None


def test_the_database_keeps_one_heads_up_per_stretch_even_if_the_episode_forgot(
    service: Services, clock: FixedClock, uow: UnitOfWork
) -> None:
    """Say the episode lost track of the stretch it told (outreach that began on stale facts
    and went back): the stored heads-up still wins, and the schedule settles."""
    weekly_then_slipping(service, clock)
    tick(service, clock, local(2026, 4, 6, 11, 5))
    with uow() as repo:
        episode = repo.session.get(Episode, 1)
        assert episode is not None
        episode.headsup_stretch = None
        episode.headsup_due_at = local(2026, 4, 6, 12)
    assert tick(service, clock, local(2026, 4, 6, 12)) == []
    assert len(headsups(uow)) == 1
    with uow() as repo:
        episode = repo.session.get(Episode, 1)
        assert episode is not None
        assert episode.headsup_stretch == STRETCH_KEY.rsplit(":", 1)[-1]
        assert episode.headsup_due_at is None


def test_a_lapsed_heads_up_cannot_be_answered_any_more(
    service: Services, clock: FixedClock, uow: UnitOfWork
) -> None:
    weekly_then_slipping(service, clock)
    tick(service, clock, local(2026, 4, 6, 11, 5))
    session(service, clock, EventKind.SESSION_ATTENDED, local(2026, 4, 8, 10))
    tick(service, clock, local(2026, 4, 8, 11, 5))
    [record] = headsups(uow)
    with pytest.raises(DomainError, match="no longer applies"):
        service.headsups.dismiss(record.id, actor=CLINICIAN)

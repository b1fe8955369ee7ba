"""A step that fell due while nobody looked waits for the clinician's working hours too."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.clock import FixedClock
from bot.services import Services
from tests.helpers import import_rows

TORONTO = ZoneInfo("America/Toronto")


def test_an_overdue_checkin_found_before_work_is_delivered_when_work_starts(
    service: Services, clock: FixedClock
) -> None:
    monday_8am = datetime(2026, 3, 2, 8, 0, tzinfo=TORONTO)
    clock.set(monday_8am)
    import_rows(service, "R-1042,U0CLIN1,Ana,2026-01-31T10:00,,America/Toronto")

    [queued] = service.outreach.tick().queued

    assert queued.kind == "checkin"
    assert queued.deliver_after == datetime(2026, 3, 2, 9, 0, tzinfo=TORONTO).astimezone(UTC)


def test_an_overdue_checkin_found_on_a_saturday_waits_for_monday(
    service: Services, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 3, 7, 12, 0, tzinfo=TORONTO))
    import_rows(service, "R-1042,U0CLIN1,Ana,2026-01-31T10:00,,America/Toronto")

    [queued] = service.outreach.tick().queued

    assert queued.deliver_after == datetime(2026, 3, 9, 9, 0, tzinfo=TORONTO).astimezone(UTC)

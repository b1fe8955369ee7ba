"""Bulk caseloads for scale tests and benchmarks: rows written directly, schedules planned."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import insert

from storage.models import Client, Clinician, Episode, EventRecord
from storage.repository import UnitOfWork


def seed_caseload(
    uow: UnitOfWork,
    *,
    size: int,
    due: int,
    clinicians: int,
    now: datetime,
    zone: str = "America/Toronto",
) -> None:
    """`size` clients over `clinicians`; the first `due` went quiet 20 days before `now`
    (their check-in 1 is due), the rest were seen the day before."""
    with uow() as repo:
        s = repo.session
        s.execute(
            insert(Clinician),
            [
                {
                    "id": c + 1,
                    "slack_user_id": f"U{c:08d}",
                    "timezone": zone,
                    "timezone_source": "caseload",
                    "created_at": now,
                }
                for c in range(clinicians)
            ],
        )
        s.execute(
            insert(Client),
            [
                {
                    "id": i + 1,
                    "chart_id": f"R-{i}",
                    "clinician_id": i % clinicians + 1,
                    "first_name": None,
                    "platform_user_id": f"R-{i}",
                    "created_at": now,
                    "updated_at": now,
                }
                for i in range(size)
            ],
        )
        episodes = []
        for i in range(size):
            last = now - timedelta(days=20 if i < due else 1)
            episodes.append(
                {
                    "id": i + 1,
                    "client_id": i + 1,
                    "opened_at": last,
                    "opened_reason": "imported",
                    "baseline_contact_at": last,
                    "booked_sessions": [],
                    "state": "active",
                    "checkins_sent": 0,
                    "next_step": "checkin 1",
                    "next_due_at": last + timedelta(days=14),
                    "updated_at": now,
                }
            )
        s.execute(insert(Episode), episodes)
        s.execute(
            insert(EventRecord),
            [
                {
                    "client_id": i + 1,
                    "episode_id": i + 1,
                    "kind": "episode_opened",
                    "occurred_at": now,
                    "recorded_at": now - timedelta(days=30),
                    "actor": "system",
                    "source": "system",
                    "data": {},
                }
                for i in range(size)
            ],
        )

"""Small builders shared by the storage and service tests."""

from __future__ import annotations

from collections import Counter

from bot.delivery.outbox import METADATA_EVENT
from bot.services import Services
from bot.services.caseload_file import parse_caseload
from bot.services.types import Actor, Source
from tests.fakes.slack_api import FakeSlackAPI

ADMIN = Actor("cli:admin", Source.CLI)
PLATFORM = Actor("platform", Source.PLATFORM)
HEADER = (
    "client_id,clinician_slack_id,first_name,last_contact_at,next_session_at,clinician_timezone\n"
)


def import_rows(service: Services, *lines: str) -> None:
    rows = parse_caseload(HEADER + "\n".join(lines) + "\n", practice_timezone="America/Toronto")
    service.caseload.import_caseload(rows, actor=ADMIN)


def delivered(fake: FakeSlackAPI) -> Counter[str]:
    """How many times each outbox key is in Slack (by the metadata every post carries)."""
    found: Counter[str] = Counter()
    for channel in fake.channels():
        for message in fake.messages(channel):
            meta = message.get("metadata") or {}
            if meta.get("event_type") == METADATA_EVENT:
                found[meta["event_payload"]["idempotency_key"]] += 1
    return found

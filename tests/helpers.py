"""Small builders shared by the storage and service tests."""

from __future__ import annotations

from bot.caseload import parse_caseload
from bot.services import Actor, CareService, Source

ADMIN = Actor("cli:admin", Source.CLI)
PLATFORM = Actor("platform", Source.PLATFORM)
HEADER = "client_id,clinician_slack_id,first_name,last_contact_at,next_session_at,clinician_timezone\n"


def import_rows(service: CareService, *lines: str) -> None:
    rows = parse_caseload(HEADER + "\n".join(lines) + "\n", practice_timezone="America/Toronto")
    service.import_caseload(rows, actor=ADMIN)

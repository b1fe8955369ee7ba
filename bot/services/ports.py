"""What the services ask of the outside world, as protocols the adapters fit."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol, runtime_checkable

from bot.domain.errors import DomainError
from bot.services.readmodels import ChartLink


class PlatformPort(Protocol):
    """What the bot asks of a clinical platform that can act (Healthie's client fits it).

    Every call is made only after the clinician pressed the button that asks for it.
    """

    def send_chat_message(
        self, client_id: str, clinician_platform_id: str | None, text: str
    ) -> str: ...

    def move_to_group(self, client_id: str, group_name: str) -> str: ...

    def other_providers(
        self, client_id: str, clinician_platform_id: str | None
    ) -> list[str]: ...


@runtime_checkable
class ChartPort(Protocol):
    """A platform whose chart the bot can write to and read from (Healthie's HealthieChart).

    The writes return None when the practice has not set the platform up for them (no form):
    the bot then gives the text to paste instead. Failures to reach the platform raise.
    """

    def write_admin_note(
        self, client_id: str, text: str, *, dated: datetime
    ) -> ChartLink | None: ...

    def write_summary_draft(
        self, client_id: str, text: str, *, dated: datetime
    ) -> ChartLink | None: ...

    def unsigned_notes(self, client_id: str) -> list[ChartLink]: ...

    def member_id_for_email(self, email: str) -> str | None: ...

    def last_session(
        self, client_id: str, clinician_platform_id: str | None, *, before: datetime
    ) -> datetime | None: ...


def chart_of(platform: object | None) -> ChartPort | None:
    """The platform's chart, when it has one the bot can use."""
    return platform if isinstance(platform, ChartPort) else None


def require_platform(platform: PlatformPort | None) -> PlatformPort:
    if platform is None:
        raise DomainError("No clinical platform that can do this is connected.")
    return platform

"""What the services ask of the outside world, as protocols the adapters fit."""

from __future__ import annotations

from typing import Protocol

from bot.domain.errors import DomainError


class PlatformPort(Protocol):
    """What the bot asks of a clinical platform that can act (Healthie's client fits it).

    Every call is made only after the clinician pressed the button that asks for it.
    """

    def send_chat_message(
        self, client_id: str, clinician_platform_id: str | None, text: str
    ) -> str: ...

    def move_to_group(self, client_id: str, group_name: str) -> str: ...

    def other_providers(self, client_id: str, clinician_platform_id: str) -> list[str]: ...


def require_platform(platform: PlatformPort | None) -> PlatformPort:
    if platform is None:
        raise DomainError("No clinical platform that can do this is connected.")
    return platform

"""Clinicians as Slack knows them: who is one, their zone and name."""

from __future__ import annotations

from bot.services.episodes import Episodes
from bot.services.types import saved_or_refused


class Clinicians:
    """A clinician's profile on record, and what Slack tells us about it."""

    def __init__(self, episodes: Episodes) -> None:
        self.episodes = episodes
        self.uow = episodes.uow
        self.clock = episodes.clock

    def is_clinician(self, slack_user_id: str) -> bool:
        with self.uow() as repo:
            return repo.clinician_by_slack_id(slack_user_id) is not None

    def clinician_profile(self, slack_user_id: str) -> tuple[str | None, str | None, str | None]:
        """(zone, zone source, display name) on record for a clinician, or Nones."""
        with self.uow() as repo:
            c = repo.clinician_by_slack_id(slack_user_id)
            if c is None:
                return None, None, None
            return c.timezone, c.timezone_source, c.display_name

    @saved_or_refused
    def learn_clinician(
        self, slack_user_id: str, *, timezone: str | None, display_name: str | None
    ) -> bool:
        """Store what Slack says about a clinician; a zone the caseload set always wins.

        A new zone re-plans the clinician's open episodes, so prompts follow their hours.
        True when anything changed.
        """
        now = self.clock.now()
        with self.uow() as repo:
            clinician = repo.clinician_by_slack_id(slack_user_id)
            if clinician is None:
                return False
            changes: dict[str, str] = {}
            if (
                display_name
                and clinician.display_name_source != "caseload"
                and clinician.display_name != display_name
            ):
                clinician.display_name = display_name
                clinician.display_name_source = "slack"
                changes["display_name"] = "changed"
            if (
                timezone
                and clinician.timezone_source != "caseload"
                and (clinician.timezone != timezone or clinician.timezone_source != "slack")
            ):
                moved = clinician.timezone != timezone
                clinician.timezone = timezone
                clinician.timezone_source = "slack"
                changes["timezone"] = timezone
                if moved:
                    for client in repo.clients(clinician_id=clinician.id):
                        episode = repo.current_episode(client.id)
                        if episode is not None and episode.closed_at is None:
                            self.episodes.store(
                                episode, self.episodes.assess(repo, client, episode, now), now
                            )
            if changes:
                repo.audit(
                    at=now,
                    actor="slack",
                    action="clinician_profile",
                    details={"clinician": slack_user_id, **changes},
                )
            return bool(changes)

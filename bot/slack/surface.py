"""What every listener needs, handed to it through the Bolt context as `surface`.

Its own module so listeners and the app that registers them do not import each other.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bot.services import Services
from bot.services.types import Actor, Source
from bot.settings import Settings
from bot.slack.directory import SlackDirectory
from bot.slack.dispatch import Dispatcher
from bot.slack.inbox import SlackInbox


@dataclass
class Surface:
    """What every listener needs, handed to it through the Bolt context as `surface`."""

    settings: Settings
    services: Services
    dispatcher: Dispatcher
    directory: SlackDirectory
    #: Notes and button presses stored before the answer and applied right after.
    inbox: SlackInbox
    #: When each user's record was last found to agree with Slack (monotonic seconds).
    _checked: dict[str, float] = field(default_factory=dict, repr=False)

    #: Users whose check is remembered at most (a bound, not a cache policy: past it the
    #: memory starts again).
    CHECKED_MAX = 4096

    def actor(self, user_id: str) -> Actor:
        return Actor(user_id, Source.SLACK, is_cct=self.directory.is_cct(user_id))

    def learn(self, user_id: str) -> None:
        """Store a clinician's Slack zone and name (a caseload zone wins); cached lookups.

        Nothing is written (no transaction is even opened) when the record already says
        what Slack says, which is every request but the first after a change; and nothing
        is read either while Slack's profile is the one cached when the record agreed.
        """
        checked = self._checked.get(user_id)
        if checked is not None and time.monotonic() - checked < self.directory.profile_ttl:
            return
        zone, source, name = self.services.clinicians.clinician_profile(user_id)
        if (
            source is None
            and zone is None
            and name is None
            and not self.services.clinicians.is_clinician(user_id)
        ):
            return
        profile = self.directory.profile(user_id)
        if profile is None:
            return
        zone_known = (
            source == "caseload"
            or not profile.timezone
            or (zone == profile.timezone and source == "slack")
        )
        name_known = not profile.real_name or name == profile.real_name
        if not (zone_known and name_known):
            self.services.clinicians.learn_clinician(
                user_id, timezone=profile.timezone, display_name=profile.real_name
            )
        if len(self._checked) >= self.CHECKED_MAX:
            self._checked.clear()
        self._checked[user_id] = time.monotonic()

    def zone_for(self, user_id: str) -> str:
        """The zone to show a user times in: the clinician's on record, else Slack's."""
        zone, _, _ = self.services.clinicians.clinician_profile(user_id)
        if zone:
            return zone
        profile = self.directory.profile(user_id)
        if profile is not None and profile.timezone:
            return profile.timezone
        return self.settings.practice_timezone

"""Who is CCT, and what Slack says about a user (zone, name), each cached briefly.

The profile cache holds at most `max_profiles` users (a long-running `serve` meets every
user of the workspace sooner or later): past that the least recently fetched goes.

CCT membership is CCT_USER_IDS and/or the members of CCT_USERGROUP_ID. A failed user-group
lookup fails closed (not CCT) and is logged; the cache keeps a burst of clicks to one call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class UserProfile:
    timezone: str | None
    real_name: str | None
    email: str | None = None  # only with the users:read.email scope


class SlackDirectory:
    def __init__(
        self,
        client: WebClient,
        settings: Settings,
        *,
        group_ttl: float = 60.0,
        profile_ttl: float = 900.0,
        max_profiles: int = 2000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.settings = settings
        self.group_ttl = group_ttl
        self.profile_ttl = profile_ttl
        self.max_profiles = max_profiles
        self._now = monotonic
        self._lock = threading.Lock()
        self._group: tuple[float, frozenset[str]] | None = None
        #: user id -> (when fetched, profile), oldest fetch first; at most max_profiles.
        self._profiles: dict[str, tuple[float, UserProfile | None]] = {}

    def is_cct(self, user_id: str) -> bool:
        if user_id in self.settings.cct_user_ids:
            return True
        if not self.settings.cct_usergroup_id:
            return False
        return user_id in self._group_members()

    def _group_members(self) -> frozenset[str]:
        group = self.settings.cct_usergroup_id or ""
        with self._lock:
            cached = self._group
            if cached is not None and self._now() - cached[0] < self.group_ttl:
                return cached[1]
        try:
            response = self.client.usergroups_users_list(usergroup=group)
            members = frozenset(str(u) for u in response.get("users") or [])
        except SlackApiError as exc:
            log.warning(
                "could not read the CCT user group %s: %s",
                group,
                exc.response.get("error"),
            )
            return cached[1] if cached else frozenset()
        with self._lock:
            self._group = (self._now(), members)
        return members

    def profile(self, user_id: str) -> UserProfile | None:
        """users.info's zone and real name, or None when Slack can't say."""
        with self._lock:
            cached = self._profiles.get(user_id)
            if cached is not None and self._now() - cached[0] < self.profile_ttl:
                return cached[1]
        try:
            user = self.client.users_info(user=user_id).get("user") or {}
        except SlackApiError as exc:
            log.info("users.info for %s failed: %s", user_id, exc.response.get("error"))
            return None
        except OSError as exc:  # network trouble: try again next time
            log.info("users.info for %s failed: %s", user_id, exc.__class__.__name__)
            return None
        tz = user.get("tz") if isinstance(user, dict) else None
        if isinstance(tz, str) and tz:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                tz = None
        else:
            tz = None
        name = email = None
        if isinstance(user, dict):
            profile = user.get("profile") or {}
            # The name the clinician chose to be seen by (Slack's display name), else their
            # full name: it signs client messages unless the caseload names them.
            name = (
                profile.get("display_name")
                or user.get("real_name")
                or profile.get("real_name")
                or None
            )
            email = profile.get("email") or None
        found = UserProfile(tz, str(name) if name else None, str(email) if email else None)
        with self._lock:
            self._profiles.pop(user_id, None)  # re-inserted last: the order is fetch time
            self._profiles[user_id] = (self._now(), found)
            while len(self._profiles) > self.max_profiles:
                del self._profiles[next(iter(self._profiles))]  # the oldest fetch goes
        return found

"""The use cases, one module per capability; entry points call the capability they need.

`build_services` is the one place they are put together (bootstrap and the Slack surface
call it); `Services` only holds them, it has no behaviour of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.services.caseload import CaseloadImport
from bot.services.cct import Cct
from bot.services.checklist import Checklist
from bot.services.clinicians import Clinicians
from bot.services.digest import Digest
from bot.services.episodes import Episodes
from bot.services.headsups import HeadsUps
from bot.services.messages import Messages
from bot.services.notes import Notes
from bot.services.outreach import Outreach
from bot.services.ports import PlatformPort
from bot.services.reads import Reads
from bot.services.recording import Recording
from bot.services.replies import Replies
from bot.settings import Settings
from smart_phrases import PhraseLibrary
from storage.repository import UnitOfWork


@dataclass(frozen=True)
class Services:
    """The capability services over one unit of work, clock, settings and phrase set."""

    episodes: Episodes
    recording: Recording
    outreach: Outreach
    replies: Replies
    checklist: Checklist
    notes: Notes
    caseload: CaseloadImport
    reads: Reads
    clinicians: Clinicians
    digest: Digest
    messages: Messages
    cct: Cct
    headsups: HeadsUps
    platform: PlatformPort | None = None

    @property
    def uow(self) -> UnitOfWork:
        return self.episodes.uow

    @property
    def clock(self) -> Clock:
        return self.episodes.clock

    @property
    def settings(self) -> Settings:
        return self.episodes.settings

    @property
    def phrases(self) -> PhraseLibrary:
        return self.episodes.phrases


def build_services(
    uow: UnitOfWork,
    clock: Clock,
    settings: Settings,
    phrases: PhraseLibrary,
    *,
    platform: PlatformPort | None = None,
) -> Services:
    episodes = Episodes(uow, clock, settings, phrases)
    checklist = Checklist(episodes, platform)
    digest = Digest(episodes)
    messages = Messages(episodes, checklist, digest)
    headsups = HeadsUps(episodes)
    return Services(
        episodes=episodes,
        recording=Recording(episodes),
        outreach=Outreach(episodes, platform, headsups=headsups),
        replies=Replies(episodes),
        checklist=checklist,
        notes=Notes(episodes),
        caseload=CaseloadImport(episodes),
        reads=Reads(episodes),
        clinicians=Clinicians(episodes),
        digest=digest,
        messages=messages,
        cct=Cct(episodes, messages),
        headsups=headsups,
        platform=platform,
    )


__all__ = ["Services", "build_services"]

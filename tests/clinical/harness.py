"""A practice on a simulated calendar: the real services, tick and Slack delivery against the
fake Slack Web API, a fake clinical platform for the client's chat, and a clock that jumps
from one thing due to the next. What each person sees is recorded as a table of
(local date and time, who, what) that a clinical lead can read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import select

from bot.clock import FixedClock
from bot.delivery.slack_client import make_web_client
from bot.domain.errors import DomainError
from bot.domain.model import Cancellation, ChecklistStep, Classification, EventKind
from bot.services import Services
from bot.services.caseload_file import parse_caseload
from bot.services.types import Actor, Source
from bot.settings import Settings
from bot.slack.app import Surface, build_surface
from smart_phrases import PhraseLibrary
from storage.db import make_engine, make_session_factory, migrate
from storage.models import Episode, OutboxMessage
from tests.fakes.slack_api import FakeSlackAPI

TORONTO = ZoneInfo("America/Toronto")
CLINICIAN = "U0CLIN0001"
NEW_CLINICIAN = "U0CLIN0002"
CCT_MEMBER = "U0CCT00001"
CCT_CHANNEL = "C0CCTCHAN1"
PLATFORM = Actor("platform", Source.PLATFORM)
CCT = Actor(CCT_MEMBER, Source.SLACK, is_cct=True)
HEADER = (
    "client_id,clinician_slack_id,first_name,last_contact_at,next_session_at,clinician_timezone,"
    "last_session_at,clinician_platform_id"
)

#: The summary note's lines a table shows (the facts; never what the clinician wrote).
SUMMARY_LINES = ("Last session date", "Opened before", "Re-engagement attempts confirmed", "The ")

#: Who sees a row of the table.
DM = "clinician DM"
CCT_POST = "CCT channel"
CHAT = "client chat"
DOES = "clinician does"
CLIENT = "client / platform"
CCT_DOES = "CCT does"


@dataclass(frozen=True)
class Row:
    when: str  # local, e.g. "Mon 2026-03-16 10:00"
    who: str
    what: str

    def __str__(self) -> str:
        return f"{self.when} | {self.who} | {self.what}"


@dataclass
class RecordingPlatform:
    """The clinical platform as the bot sees it: the client's chat, the group, the care team."""

    clock: FixedClock
    chat: list[tuple[datetime, str, str]] = field(default_factory=list)
    care_team: list[str] = field(default_factory=list)

    def send_chat_message(self, client_id: str, clinician_platform_id: str | None, text: str) -> str:
        self.chat.append((self.clock.now(), client_id, text))
        return f"msg-{len(self.chat)}"

    def move_to_group(self, client_id: str, group_name: str) -> str:
        return "ok"

    def other_providers(self, client_id: str, clinician_platform_id: str) -> list[str]:
        return list(self.care_team)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=TORONTO).astimezone(UTC)  # type: ignore[misc]


def when(at: datetime) -> str:
    return at.astimezone(TORONTO).strftime("%a %Y-%m-%d %H:%M")


_LINK = re.compile(r"<([^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<@([A-Z0-9]+)>")


def _flat(line: str) -> str:
    line = _LINK.sub(r"\2", line)
    line = _MENTION.sub(r"@\1", line)
    return line.replace("*", "").strip()


def _sentence(line: str) -> str:
    end = line.find(". ")
    return line if end < 0 else line[: end + 1]


def _shown(body: dict[str, Any]) -> str:
    """What the reader sees first: the first block's text (the notification text otherwise)."""
    blocks = body.get("blocks") or []
    if isinstance(blocks, str):
        import json

        blocks = json.loads(blocks)
    for block in blocks:
        text = (block.get("text") or {}).get("text") if isinstance(block, dict) else None
        if text:
            return str(text)
    return str(body.get("text") or "")


def headline(text: str) -> str:
    """A Slack message as a table shows it: its first line, then the first sentence of the
    next one (the why, or the date a late step was due), links and bold flattened."""
    lines = [_flat(line) for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    if len(lines) == 1:
        return lines[0]
    return f"{lines[0]} / {_sentence(lines[1])}"


def chat_summary(text: str) -> str:
    """A client chat message in a table: its opening sentence and, when there is one, the
    support line (the closing check-in's crisis line)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    body = _sentence(lines[1]) if len(lines) > 1 else (lines[0] if lines else "")
    support = next((line for line in lines if "crisis" in line), None)
    return f"{body} / {support}" if support else body


class Clinic:
    """One practice, one clinician in Toronto, a clock that starts where the script says."""

    def __init__(
        self, fake: FakeSlackAPI, url: str, phrases: PhraseLibrary, start: datetime,
        **settings: Any,
    ) -> None:
        self.engine = make_engine(url)
        self.clock = FixedClock(start)
        self.fake = fake
        fake.add_user(CLINICIAN, real_name="Dana Whitfield", tz="America/Toronto")
        fake.add_user(NEW_CLINICIAN, real_name="Sam Okafor", tz="America/Toronto")
        fake.add_user(CCT_MEMBER, real_name="Robin Care", tz="America/Toronto")
        self.settings = Settings(
            _env_file=None,
            database_url=url,
            practice_timezone="America/Toronto",
            slack_signing_secret=SecretStr("clinic-secret"),
            slack_bot_token=SecretStr("xoxb-test"),
            slack_api_url=fake.url,
            cct_channel_id=CCT_CHANNEL,
            cct_user_ids=[CCT_MEMBER],
            slack_pace_seconds=0.0,
            practice_name="Northside Therapy",
            crisis_line="call or text 988 (Suicide Crisis Helpline), any time",
            **settings,
        )
        self.platform = RecordingPlatform(self.clock)
        self.surface: Surface = build_surface(
            self.settings,
            client=make_web_client(self.settings),
            session_factory=make_session_factory(self.engine),
            clock=self.clock,
            phrases=phrases,
            platform=self.platform,
        )
        self.rows: list[Row] = []
        self._seen_posts = 0
        self._seen_chat = 0

    @property
    def service(self) -> Services:
        return self.surface.services

    # -- the calendar ------------------------------------------------------------------
    def _next_due(self) -> datetime | None:
        with self.engine.connect() as conn:
            episode = conn.execute(
                select(Episode.next_due_at)
                .where(Episode.next_due_at.is_not(None))
                .order_by(Episode.next_due_at)
            ).first()
            headsup = conn.execute(
                select(Episode.headsup_due_at)
                .where(Episode.headsup_due_at.is_not(None))
                .order_by(Episode.headsup_due_at)
            ).first()
            outbox = conn.execute(
                select(OutboxMessage.deliver_after)
                .where(OutboxMessage.status == "pending")
                .order_by(OutboxMessage.deliver_after)
            ).first()
        found = [
            r[0] for r in (episode, headsup, outbox) if r is not None and r[0] is not None
        ]
        return min(found) if found else None

    def until(self, end: datetime) -> None:
        """Let the practice run to `end`: tick and deliver at every instant something is due."""
        for _ in range(200):
            due = self._next_due()
            if due is None or due > end:
                break
            self.clock.set(max(due, self.clock.now()))
            self._tick()
        self.clock.set(max(end, self.clock.now()))
        self._tick()

    def _tick(self) -> None:
        self.service.outreach.tick()
        self.surface.dispatcher.deliver_due()
        self._collect()

    def _collect(self) -> None:
        posts = self.fake.calls("chat.postMessage")
        for call in posts[self._seen_posts :]:
            body = call.body
            who = CCT_POST if body.get("channel") == CCT_CHANNEL else DM
            if body.get("channel") in (NEW_CLINICIAN, self.fake.dm_channel(NEW_CLINICIAN)):
                who = "new clinician DM"
            elif who == DM and body.get("channel") not in (
                CLINICIAN,
                self.fake.dm_channel(CLINICIAN),
            ):
                who = f"DM to {body.get('channel')}"
            self.rows.append(Row(when(self.clock.now()), who, headline(_shown(body))))
        self._seen_posts = len(posts)
        for at, _, text in self.platform.chat[self._seen_chat :]:
            self.rows.append(Row(when(at), CHAT, chat_summary(text)))
        self._seen_chat = len(self.platform.chat)

    def at(self, moment: datetime) -> None:
        """Run the practice to `moment` (it is then that the next action happens)."""
        self.until(moment)

    def note(self, who: str, what: str) -> None:
        self.rows.append(Row(when(self.clock.now()), who, what))

    def _after(self) -> None:
        self.surface.dispatcher.deliver_due()
        self._collect()

    # -- what people and the platform do -----------------------------------------------
    def caseload(self, *lines: str) -> None:
        rows = parse_caseload(
            HEADER + "\n" + "\n".join(lines) + "\n", practice_timezone="America/Toronto"
        )
        self.service.caseload.import_caseload(rows, actor=PLATFORM)
        self.note("practice admin", f"imports the caseload ({len(lines)} client(s))")

    def session(
        self,
        chart: str,
        kind: EventKind,
        *,
        session_at: datetime | None = None,
        provider: str | None = None,
        cancellation: Cancellation | None = None,
        moved_to: datetime | None = None,
        said: str,
    ) -> None:
        self.note(CLIENT, said)
        now = self.clock.now()
        # As platforms report them: an attended session or a no-show happened at its time.
        held = kind in (EventKind.SESSION_ATTENDED, EventKind.SESSION_NO_SHOW)
        occurred = session_at if held and session_at is not None and session_at <= now else now
        self.service.recording.record_session(
            chart, kind, occurred_at=occurred, session_at=session_at, actor=PLATFORM,
            provider_id=provider, cancellation=cancellation, rescheduled_to=moved_to,
        )
        self._after()

    def refused(self, what: str, call: Any, *args: Any, **kwargs: Any) -> None:
        """The clinician tries something the bot refuses: the refusal is what they see."""
        self.note(DOES, what)
        try:
            call(*args, **kwargs)
        except DomainError as refusal:
            self.note("clinician sees", str(refusal))
        else:
            raise AssertionError(f"{what}: expected a refusal")
        self._after()

    def message(self, chart: str) -> None:
        self.note(CLIENT, "the client writes in the chat")
        self.service.recording.record_client_message(chart, occurred_at=self.clock.now(), actor=PLATFORM)
        self._after()

    def act(self, what: str, call: Any, *args: Any, who: str = DOES, **kwargs: Any) -> Any:
        self.note(who, what)
        result = call(*args, **kwargs)
        self._after()
        return result

    def send_for_me(self, chart: str) -> None:
        outcome = self.act(
            "presses Send for me", self.service.outreach.send_checkin_via_platform, chart, actor=self.me
        )
        # This platform carries chat messages but writes no chart notes: the clinician pastes
        # the admin note the DM gives and confirms it (step 1 counts only documented attempts).
        number = outcome.assessment.checkin_numbers[-1]
        self.act(
            "pastes the admin note into the chart and presses Documented in chart",
            self.service.chart.confirm_documented, chart, number, actor=self.me,
        )

    def classify(self, chart: str, choice: Classification) -> None:
        self.act(
            f"classifies the reply: {choice.value.replace('_', ' ')}",
            self.service.replies.classify_reply, chart, choice, actor=self.me,
        )

    def step(self, chart: str, step: ChecklistStep, answer: str | None = None) -> None:
        words = step.value.replace("_", " ") + (f" ({answer})" if answer else "")
        self.act(f"ticks {words}", self.service.checklist.complete_step, chart, step, answer=answer, actor=self.me)

    def summary(self, chart: str) -> None:
        """Write the summary (what the modal submits) and show the lines a lead checks."""
        outcome = self.act(
            "writes the discharge summary",
            self.service.checklist.save_discharge_summary, chart,
            treatment_focus="Low mood", goals_progress="Sleep routine restored",
            risk_level="low", actor=self.me,
        )
        for line in (outcome.text or "").splitlines():
            if line.startswith(SUMMARY_LINES) or line.startswith("- 20"):
                self.note("summary note says", line)

    def cct_done(self, chart: str) -> None:
        self.act("marks its part done", self.service.cct.cct_done, chart, actor=CCT, who=CCT_DOES)

    def checklist_context(self, containing: str) -> None:
        """Show the hints the live checklist message carries now (it is updated in place)."""
        self._after()
        for message in reversed(self.fake.messages(self.fake.dm_channel(CLINICIAN))):
            if "Discharge checklist" not in _shown(message):
                continue
            for block in message.get("blocks") or []:
                for element in block.get("elements") or []:
                    text = element.get("text") if isinstance(element, dict) else None
                    if isinstance(text, str) and containing in text:
                        self.note("checklist shows", _flat(text))
            return
        raise AssertionError("no checklist message")

    @property
    def me(self) -> Actor:
        return Actor(CLINICIAN, Source.SLACK)

    def table(self) -> list[str]:
        return [str(r) for r in self.rows]


@contextmanager
def clinic(
    start: datetime, phrases: PhraseLibrary, *, database_url: str | None = None, **settings: Any
) -> Iterator[Clinic]:
    """A practice on an empty, migrated database (`database_url`, else a temporary SQLite)."""
    with FakeSlackAPI(bot_token="xoxb-test") as fake, TemporaryDirectory() as folder:
        url = database_url
        if url is None:
            url = f"sqlite:///{Path(folder) / 'clinic.db'}"
            engine = make_engine(url)
            migrate(engine)
            engine.dispose()
        place = Clinic(fake, url, phrases, start, **settings)
        try:
            yield place
        finally:
            place.engine.dispose()

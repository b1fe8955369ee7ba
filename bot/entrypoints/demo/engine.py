"""The scenario engine: the real app on loopback, driven through weeks of a virtual clock.

A `Stage` runs exactly what `discharge-bot serve` runs -- the Bolt app and the platform
webhooks behind the HTTP front, the scheduler's tick-and-deliver pass, the outbox dispatcher
-- against the fake Slack Web API (`bot.devtools.fake_slack`) and the bot's injected `Clock`.
It talks to the app only the way the outside world does: signed Slack requests (clicks, modal
submissions) and signed platform webhooks in over HTTP, Web API calls out. Everything the app
says or is told is collected as `Entry` rows of a transcript, read back from what the fake
Slack received, so the transcript always shows what the real app did.

Scenario tests use it the same way the demo does: build a `Stage`, `import_caseload`, then
`run_until` with a `Director` that clicks, or call `tick`/`click`/`platform_event` directly.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.delivery.slack_client import make_web_client
from bot.devtools.fake_slack import FakeSlackAPI
from bot.devtools.slack_requests import Answer, SlackRequest, SlackRequests, post
from bot.entrypoints.bootstrap import Runtime, build_runtime
from bot.entrypoints.http import ServerThread, create_wsgi_app
from bot.entrypoints.scheduler import Scheduler, tick_and_deliver
from bot.entrypoints.web import HealthCheck, platform_routes
from bot.platform.generic import sign_generic
from bot.services.caseload_file import parse_caseload
from bot.services.types import Actor, Source
from bot.settings import Settings
from bot.slack.app import build_surface, create_app, create_fast_lane
from bot.slack.surface import Surface
from storage.db import make_engine, migrate
from storage.models import Episode, OutboxMessage

Json = dict[str, Any]

SIGNING_SECRET = "demo-signing-secret"  # noqa: S105 - a local fake, never a real secret
WEBHOOK_SECRET = "demo-platform-secret"  # noqa: S105
BOT_NAME = "discharge-bot"
DEMO_MARK = "demo"  # a runtime mark that says "this database was made by the demo"
CSV_HEADER = (
    "client_id,clinician_slack_id,first_name,last_contact_at,next_session_at,clinician_timezone"
)


@dataclass(frozen=True)
class Person:
    """Someone in the demo workspace: a clinician or a CCT member."""

    slack_id: str
    name: str
    role: str  # "clinician" | "cct"
    timezone: str


@dataclass(frozen=True)
class Entry:
    """One line of the transcript.

    `kind`: "message" (the bot posted), "update" (the bot edited a message in place),
    "ephemeral", "modal" (a modal opened), "click", "submit" (a modal submitted),
    "platform" (the platform told the bot something), "note" (the engine's own remark).
    `blocks` are the Slack blocks as the fake stored them, for rendering.
    """

    at: datetime
    kind: str
    actor: str
    where: str
    zone: str
    summary: str
    chart_id: str | None = None
    blocks: tuple[Json, ...] = ()
    title: str | None = None
    status: int | None = None


@dataclass
class Transcript:
    entries: list[Entry] = field(default_factory=list)
    listeners: list[Callable[[Entry], None]] = field(default_factory=list)

    def add(self, entry: Entry) -> None:
        self.entries.append(entry)
        for listener in self.listeners:
            listener(entry)

    def of(self, *kinds: str) -> list[Entry]:
        return [e for e in self.entries if not kinds or e.kind in kinds]


class AppRefused(RuntimeError):
    """The app answered a click, a submission or a webhook with an error status."""


# --------------------------------------------------------------------------- message helpers


def open_controls(message: Mapping[str, Any]) -> list[Json]:
    """The interactive elements a message still offers, each with its `_block_id`."""
    found: list[Json] = []
    for block in message.get("blocks") or []:
        elements = list(block.get("elements") or []) if block.get("type") == "actions" else []
        if block.get("accessory"):
            elements.append(block["accessory"])
        for element in elements:
            if element.get("action_id"):
                found.append({**element, "_block_id": block.get("block_id")})
    return found


def choice_of(element: Mapping[str, Any]) -> str | None:
    """The `v` (choice) our buttons carry in their JSON value, if any."""
    try:
        value = json.loads(element.get("value") or "{}")
    except json.JSONDecodeError:
        return None
    return value.get("v") if isinstance(value, dict) else None


def chart_of(message: Mapping[str, Any]) -> str | None:
    """The chart id a message is about, from the value its buttons carry."""
    for element in open_controls(message):
        try:
            value = json.loads(element.get("value") or "{}")
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and value.get("c") not in (None, "-"):
            return str(value["c"])
    return None


def label_of(element: Mapping[str, Any]) -> str:
    text = element.get("text") or element.get("placeholder") or {}
    return str(text.get("text", element.get("action_id", "")))


def first_line(text: str) -> str:
    line = next((part for part in text.splitlines() if part.strip()), "")
    return line.strip()


# --------------------------------------------------------------------------- the stage


class Stage:
    """The real app, its fakes and a virtual clock, on loopback. Use as a context manager."""

    def __init__(
        self,
        settings: Settings,
        *,
        database_url: str,
        start: datetime,
        people: Sequence[Person],
        cct_channel: str = "C0DEMOCCT01",
        cct_channel_name: str = "care-coordination",
    ) -> None:
        self.clock = FixedClock(start)
        self.people = {p.slack_id: p for p in people}
        self.cct_channel = cct_channel
        self.cct_channel_name = cct_channel_name
        self.transcript = Transcript()
        self.fake = FakeSlackAPI().start()
        try:
            self._boot(settings, database_url)
        except BaseException:
            self.fake.stop()
            raise

    def _boot(self, settings: Settings, database_url: str) -> None:
        for person in self.people.values():
            self.fake.add_user(person.slack_id, real_name=person.name, tz=person.timezone)
        self.fake.add_channel(self.cct_channel, name=self.cct_channel_name)
        cct = [p.slack_id for p in self.people.values() if p.role == "cct"]
        self.settings = settings.model_copy(
            update={
                "database_url": database_url,
                "slack_bot_token": SecretStr("xoxb-demo"),
                "slack_signing_secret": SecretStr(SIGNING_SECRET),
                "slack_app_token": None,
                "slack_api_url": self.fake.url,
                "cct_channel_id": self.cct_channel,
                "cct_user_ids": cct,
                "cct_usergroup_id": None,
                "platform_webhook_secret": SecretStr(WEBHOOK_SECRET),
                "healthie_api_url": None,
                "healthie_api_key": None,
                "slack_pace_seconds": 0.0,  # the fake has no rate limit to respect
                "clock_start": None,
            }
        )
        engine = make_engine(database_url)
        try:
            migrate(engine)
        finally:
            engine.dispose()
        self.runtime: Runtime = build_runtime(self.settings, clock=self.clock)
        with self.runtime.uow() as repo:
            repo.mark(name=DEMO_MARK, at=self.clock.now(), detail="made by discharge-bot demo")
        client = make_web_client(self.settings)
        factory = self.runtime.uow.session_factory
        self.surface: Surface = build_surface(
            self.settings,
            client=client,
            session_factory=factory,
            clock=self.clock,
            phrases=self.runtime.phrases,
        )
        app = create_app(
            self.settings,
            client=client,
            session_factory=factory,
            clock=self.clock,
            surface=self.surface,
        )
        front = create_wsgi_app(
            slack_app=app,
            routes=platform_routes(self.runtime, None),
            health=HealthCheck(self.runtime),
            slack_lane=create_fast_lane(self.settings, self.surface, client),
        )
        self.server = ServerThread(front).start()
        self.slack = SlackRequests(signing_secret=SIGNING_SECRET)
        self._seen_calls = 0
        self._events = 0
        self._last_user: str | None = None
        self._last_chart: str | None = None
        self._home_wanted = False  # App Home refreshes are noise, except when asked to look
        self.charts: list[str] = []  # chart ids imported, to say what a message is about

    def close(self) -> None:
        self.server.stop()
        self.fake.stop()
        self.runtime.close()

    def __enter__(self) -> Stage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- who and where ------------------------------------------------------------------------
    def person(self, slack_id: str) -> Person | None:
        return self.people.get(slack_id)

    def zone_of(self, slack_id: str | None) -> str:
        person = self.people.get(slack_id or "")
        return person.timezone if person else self.settings.practice_timezone

    def where(self, channel: str) -> tuple[str, str]:
        """A channel id as a reader says it, and the zone its times are shown in."""
        if channel == self.cct_channel:
            return f"#{self.cct_channel_name}", self.settings.practice_timezone
        for person in self.people.values():
            if channel in (person.slack_id, self.fake.dm_channel(person.slack_id)):
                return f"DM {person.name}", person.timezone
        return channel, self.settings.practice_timezone

    def channels(self) -> list[str]:
        """The channels people read: every clinician's and CCT member's DM, the CCT channel."""
        return [self.fake.dm_channel(p) for p in self.people] + [self.cct_channel]

    def messages(self, channel: str) -> list[Json]:
        return self.fake.messages(channel)

    def fresh(self, channel: str, ts: str) -> Json | None:
        return next((m for m in self.fake.messages(channel) if m["ts"] == ts), None)

    def note(self, summary: str, *, chart_id: str | None = None) -> None:
        self.transcript.add(
            Entry(
                self.clock.now(),
                "note",
                "demo",
                "",
                self.settings.practice_timezone,
                summary,
                chart_id,
            )
        )

    # -- setting up -----------------------------------------------------------------------------
    def import_caseload(self, rows: Iterable[str]) -> str:
        """Import caseload CSV rows (no header) the way `discharge-bot import` does."""
        text = CSV_HEADER + "\n" + "\n".join(rows) + "\n"
        parsed = parse_caseload(text, practice_timezone=self.settings.practice_timezone)
        self.charts.extend(row.client_id for row in parsed)
        report = self.runtime.services.caseload.import_caseload(
            parsed, actor=Actor("cli:demo", Source.CLI)
        )
        return str(report)

    # -- moving time -----------------------------------------------------------------------------
    def tick(self) -> None:
        """One pass of the real scheduler job at the clock's instant: queue what is due, then
        deliver it through the outbox dispatcher."""
        tick_and_deliver(self.surface.services, self.surface.dispatcher, deliver_seconds=10.0)
        self.collect()

    def digest(self) -> None:
        """The scheduler's weekly job: the CCT digest, queued and delivered."""
        Scheduler(self.surface.services, self.surface.dispatcher).digest()
        self.collect()

    def next_digest(self, after: datetime) -> datetime:
        """The next weekly digest instant at or after `after` (practice zone settings)."""
        zone = ZoneInfo(self.settings.practice_timezone)
        local = after.astimezone(zone)
        day = local.date() + timedelta(days=(self.settings.digest_weekday - local.weekday()) % 7)
        at = datetime.combine(day, self.settings.digest_time, tzinfo=zone)
        if at < after:
            at += timedelta(days=7)
        return at.astimezone(UTC)

    def next_due(self) -> datetime | None:
        """The earliest instant after now at which the app has something scheduled: an
        episode's next step (the indexed column the tick reads) or a queued message waiting
        for its recipient's working hours."""
        now = self.clock.now()
        with self.runtime.uow() as repo:
            step = repo.session.scalar(
                select(func.min(Episode.next_due_at)).where(Episode.next_due_at > now)
            )
            queued = repo.session.scalar(
                select(func.min(OutboxMessage.deliver_after)).where(
                    OutboxMessage.status == "pending", OutboxMessage.deliver_after > now
                )
            )
        found = [self._aware(v) for v in (step, queued) if v is not None]
        return min(found) if found else None

    @staticmethod
    def _aware(value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    # -- acting as people ------------------------------------------------------------------------
    def click(
        self, channel: str, message: Mapping[str, Any], element: Mapping[str, Any], *, user: str
    ) -> int:
        """Press a button (or choose the option `element["_option"]` of a select) on a message,
        as Slack sends it: a signed `block_actions` request to `/slack/events`."""
        option = element.get("_option")
        common: dict[str, Any] = {
            "user_id": user,
            "message": dict(message),
            "channel_id": channel,
            "block_id": element.get("_block_id"),
        }
        if option is not None:
            request = self.slack.block_actions(
                element["action_id"], selected_option=option, **common
            )
            label = f'chose "{option["text"]["text"]}" in "{label_of(element)}"'
        else:
            request = self.slack.block_actions(
                element["action_id"], value=element.get("value"), **common
            )
            label = f'clicked "{label_of(element)}"'
            confirm = element.get("confirm")
            if confirm:
                label += f' and confirmed "{(confirm.get("confirm") or {}).get("text", "OK")}"'
        self._last_user = user
        self._last_chart = chart_of(message)
        answer = self._post(request)
        where, _ = self.where(channel)
        person = self.person(user)
        self.transcript.add(
            Entry(
                self.clock.now(),
                "click",
                person.name if person else user,
                where,
                self.zone_of(user),
                label,
                chart_of(message),
                status=answer.status,
            )
        )
        if answer.status != 200:
            raise AppRefused(f"{label} on {where}: HTTP {answer.status} {answer.text[:200]}")
        self.collect()
        return answer.status

    def _post(self, request: SlackRequest) -> Answer:
        """Post a signed request, then let the Slack inbox apply what it stored, as the
        server's applier does right after answering (the demo's clock is its own)."""
        answer = post(self.server.url, request)
        self.surface.inbox.drain()
        return answer

    def open_home(self, user: str) -> int:
        """The user opens the bot's Home tab: Slack's `app_home_opened` event, signed; the
        Home the app publishes is added to the transcript."""
        answer = self._post(self.slack.app_home_opened(user))
        if answer.status != 200:
            raise AppRefused(f"app_home_opened for {user}: HTTP {answer.status}")
        self._home_wanted = True
        try:
            self.collect()
        finally:
            self._home_wanted = False
        return answer.status

    def submit_modal(
        self, view: Mapping[str, Any], values: Mapping[str, Any], *, user: str
    ) -> Json:
        """Submit a modal the app opened (as stored by the fake) with `state.values`."""
        request = self.slack.view_submission(
            str(view.get("callback_id", "")),
            values=values,
            private_metadata=str(view.get("private_metadata", "")),
            view=view,
            user_id=user,
        )
        answer = self._post(request)
        person = self.person(user)
        body: Json = answer.json() if answer.body.strip() else {}
        errors = body.get("errors") if body.get("response_action") == "errors" else None
        title = ((view.get("title") or {}).get("text")) or "the form"
        summary = f'submitted "{title}"' + (f" -- refused: {errors}" if errors else "")
        self.transcript.add(
            Entry(
                self.clock.now(),
                "submit",
                person.name if person else user,
                f"modal for {person.name if person else user}",
                self.zone_of(user),
                summary,
                status=answer.status,
            )
        )
        if answer.status != 200:
            raise AppRefused(f"{summary}: HTTP {answer.status}")
        self.collect()
        return body

    def platform_event(
        self,
        event_type: str,
        chart_id: str,
        *,
        occurred_at: datetime | None = None,
        session_at: datetime | None = None,
        summary: str | None = None,
        zone: str | None = None,
    ) -> int:
        """The clinical platform tells the bot something: a signed generic webhook.
        `zone` is the zone the transcript shows its time in (the clinician's)."""
        self._events += 1
        at = occurred_at or self.clock.now()
        payload: Json = {
            "event_id": f"demo-{chart_id}-{self._events}",
            "type": event_type,
            "client_id": chart_id,
            "occurred_at": at.isoformat(),
        }
        if event_type == "client.message":
            payload["text_present"] = True
        if session_at is not None:
            payload["session_at"] = session_at.isoformat()
        body = json.dumps(payload).encode()
        stamp = str(int(time.time()))  # signature windows use the real wall clock
        request = urllib.request.Request(  # noqa: S310 - loopback URL built here
            f"{self.server.url}/platform/events",
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-Platform-Timestamp": stamp,
                "X-Platform-Signature": sign_generic(WEBHOOK_SECRET, stamp, body),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                status = int(response.status)
        except urllib.error.HTTPError as error:
            status = int(error.code)
        self.transcript.add(
            Entry(
                self.clock.now(),
                "platform",
                "platform",
                "webhook",
                zone or self.settings.practice_timezone,
                summary or f"{event_type} for {chart_id}",
                chart_id,
                status=status,
            )
        )
        if status != 200:
            raise AppRefused(f"platform {event_type} for {chart_id}: HTTP {status}")
        # Acknowledged once stored; applied right after. The demo's clock waits for it.
        if self.runtime.inbound is not None:
            self.runtime.inbound.drain()
        self.collect()
        return status

    # -- reading what the app said ---------------------------------------------------------------
    def collect(self) -> None:
        """Turn the Web API calls the app made since the last look into transcript entries."""
        calls = self.fake.calls()
        new, self._seen_calls = calls[self._seen_calls :], len(calls)
        now = self.clock.now()
        for call in new:
            if call.answer != "normal":
                continue
            body = call.body
            if call.method in {"chat.postMessage", "chat.update", "chat.postEphemeral"}:
                channel = str(body.get("channel", ""))
                where, zone = self.where(channel)
                if call.method == "chat.postEphemeral":
                    where += f" (only {self._name(str(body.get('user', '')))} sees it)"
                kind = {"chat.postMessage": "message", "chat.update": "update"}.get(
                    call.method, "ephemeral"
                )
                blocks = tuple(body.get("blocks") or ())
                text = str(body.get("text") or "")
                self.transcript.add(
                    Entry(
                        now,
                        kind,
                        BOT_NAME,
                        where,
                        zone,
                        first_line(text) or "(blocks)",
                        self._about(text, blocks),
                        blocks,
                    )
                )
            elif call.method in {"views.open", "views.update"}:
                view = body.get("view") or {}
                title = (view.get("title") or {}).get("text", "a form")
                for_whom = self._name(self._last_user or "")
                self.transcript.add(
                    Entry(
                        now,
                        "modal",
                        BOT_NAME,
                        f"modal for {for_whom}",
                        self.zone_of(self._last_user),
                        f'opened the form "{title}"',
                        self._last_chart,
                        tuple(view.get("blocks") or ()),
                        title=title,
                    )
                )
            elif call.method == "views.publish" and self._home_wanted:
                view = body.get("view") or {}
                user = str(body.get("user_id", ""))
                self.transcript.add(
                    Entry(
                        now,
                        "home",
                        BOT_NAME,
                        f"Home tab of {self._name(user)}",
                        self.zone_of(user),
                        f"{self._name(user)} opened the bot's Home tab",
                        None,
                        tuple(view.get("blocks") or ()),
                        title="Home",
                    )
                )

    def _about(self, text: str, blocks: Sequence[Json]) -> str | None:
        """The client a message is about: its buttons say so, else the chart id it names."""
        found = chart_of({"blocks": list(blocks)})
        if found:
            return found
        blob = text + json.dumps(list(blocks))
        named = [c for c in self.charts if re.search(rf"(?<![\w-]){re.escape(c)}(?![\w-])", blob)]
        return named[0] if len(named) == 1 else None

    def _name(self, slack_id: str) -> str:
        person = self.people.get(slack_id)
        return person.name if person else slack_id

    def last_modal(self) -> Json | None:
        """The modal the app opened most recently, as Slack holds it now."""
        modals = [v for v in self.fake.views() if v.get("type") == "modal"]
        return modals[-1] if modals else None

    def local(self, value: datetime, zone: str | None = None) -> datetime:
        return value.astimezone(ZoneInfo(zone or self.settings.practice_timezone))

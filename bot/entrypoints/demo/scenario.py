"""Scenarios on the engine: a caseload, what the platform reports when, and how people click.

`Director` plays the people: each message that still offers buttons is answered by whoever
reads it (the clinician in their DM, a CCT member in the channel) a little later, inside
their working hours, with the button their script says; an unfamiliar prompt gets its
primary button. `run_scenario` moves the virtual clock from one thing to the next -- the
next scripted platform event, the next click, the next instant the app itself has something
due -- ticking the real scheduler at each, until the end date.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.model import Closure, State
from bot.entrypoints.demo.engine import Json, Person, Stage, chart_of, choice_of, open_controls
from bot.services.types import Actor, Source
from bot.slack.ids import Id

MAX_STEP = timedelta(hours=24)  # a safety net: every due instant is visited anyway
MIN_STEP = timedelta(minutes=1)


@dataclass(frozen=True)
class Planned:
    """Something the clinical platform reports about a client, by signed webhook.

    `trigger` says when, relative to what: "start" (the scenario's first day), "checkin:N"
    (the app has N check-ins documented), "state:S" (the client's episode reached state S),
    "after" (the previous planned event), "at_session" (the previous event's session time,
    50 minutes on: an outcome reported after the hour). `days` and `at` (local time in the
    clinician's zone) place it from there; `session` gives a session's day (from the event's
    own day; moved off weekends) and local time.
    """

    type: str
    trigger: str
    days: int = 0
    at: str = "10:00"
    session: tuple[int, str] | None = None
    say: str = ""


@dataclass(frozen=True)
class DemoClient:
    chart_id: str
    first_name: str
    clinician: Person
    path: str
    last_contact_days_ago: int
    next_session: tuple[int, str] | None = None
    planned: tuple[Planned, ...] = ()
    classify: str = "continuing"  # what the clinician answers when the client replies
    other_providers: str = "no"  # checklist step 3
    expect_closures: tuple[Closure, ...] = ()
    expect_now: State | None = None


@dataclass
class Outcome:
    client: DemoClient
    checkins: int
    story: str
    now: State
    closures: tuple[Closure, ...]
    reached: bool


# --------------------------------------------------------------------------- helpers


def ongoing_care(first: Planned, sessions: int, every_days: int = 14) -> tuple[Planned, ...]:
    """`first` (a booking), then `sessions` sessions attended, each followed by the next
    booking `every_days` on: a client in ongoing care, always with a session booked."""
    planned = [first]
    for n in range(sessions):
        planned.append(Planned("session.attended", "at_session", say="the client attends"))
        planned.append(
            Planned(
                "session.scheduled",
                "after",
                0,
                "11:30" if n % 2 else "14:15",
                (every_days, first.session[1] if first.session else "10:00"),
                "the client books the next session",
            )
        )
    return tuple(planned)


def _hm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def at_local(day: datetime, hm: str, zone: str, *, weekday_only: bool = False) -> datetime:
    """`day`'s date (in `zone`) at local time `hm`, as aware UTC-comparable datetime."""
    local = day.astimezone(ZoneInfo(zone))
    value = datetime.combine(local.date(), _hm(hm), tzinfo=ZoneInfo(zone))
    while weekday_only and value.weekday() >= 5:
        value += timedelta(days=1)
    return value


def working_time(value: datetime, zone: str, rng: random.Random) -> datetime:
    """`value`, or the next working morning (Mon-Fri 09:00-17:00 local) when it is outside."""
    local = value.astimezone(ZoneInfo(zone))
    if local.weekday() < 5 and time(9, 0) <= local.time() < time(17, 0):
        return value
    day = local.date() if local.time() < time(9, 0) else local.date() + timedelta(days=1)
    morning = datetime.combine(day, time(9, 0), tzinfo=ZoneInfo(zone))
    while morning.weekday() >= 5:
        morning += timedelta(days=1)
    return morning + timedelta(minutes=rng.randint(5, 50))


# --------------------------------------------------------------------------- the people


#: Demo text for the summary form's free-text fields (synthetic; no real client).
SUMMARY_TEXT = {
    str(Id.B_FOCUS): "Low mood and poor sleep after a change of job (synthetic demo client)",
    str(Id.B_GOALS): "Sleep routine partly restored; two of three goals met at last contact",
}
PREFERRED_OPTIONS = ("low",)
#: Buttons a scripted person never presses unless a rule above says so: they postpone the
#: work or tell the app something the scenario did not say happened.
NEVER_CLICKED = frozenset(str(i) for i in (Id.SNOOZE, Id.PAUSE, Id.CLIENT_REPLIED, Id.SEND_FOR_ME))


def fill_form(view: Mapping[str, Any], today: str) -> Json:
    """`state.values` for a modal: keep what the app pre-filled, fill the rest with demo text.

    Reads the input blocks the app actually sent, so a new field is filled too.
    """
    values: Json = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        element = block.get("element") or {}
        block_id, action_id, kind = (
            block.get("block_id"),
            element.get("action_id"),
            element.get("type"),
        )
        if not block_id or not action_id:
            continue
        answer: Json = {"type": kind}
        if kind == "plain_text_input":
            text = element.get("initial_value") or SUMMARY_TEXT.get(block_id)
            if text is None and not block.get("optional"):
                text = "Demo entry"
            answer["value"] = text
        elif kind in {"static_select", "radio_buttons"}:
            options = element.get("options") or []
            chosen = element.get("initial_option") or next(
                (o for o in options if o.get("value") in PREFERRED_OPTIONS),
                options[0] if options else None,
            )
            answer["selected_option"] = chosen
        elif kind == "checkboxes":
            answer["selected_options"] = element.get("initial_options") or []
        elif kind == "datepicker":
            answer["selected_date"] = element.get("initial_date") or today
        else:
            continue
        values[block_id] = {action_id: answer}
    return values


@dataclass
class _Action:
    due: datetime
    channel: str
    ts: str
    user: str
    signature: frozenset[str]


@dataclass
class Director:
    """Plays the clinicians and the CCT: reads their channels and clicks, after a while."""

    stage: Stage
    clients: Mapping[str, DemoClient]
    rng: random.Random
    pending: list[_Action] = field(default_factory=list)
    handled: set[tuple[str, str, frozenset[str]]] = field(default_factory=set)

    def reader_of(self, channel: str) -> Person | None:
        if channel == self.stage.cct_channel:
            return next((p for p in self.stage.people.values() if p.role == "cct"), None)
        for person in self.stage.people.values():
            if self.stage.fake.dm_channel(person.slack_id) == channel:
                return person
        return None

    def look(self) -> None:
        """Notice messages that offer something to do; plan to answer each once."""
        now = self.stage.clock.now()
        for channel in self.stage.channels():
            reader = self.reader_of(channel)
            if reader is None:
                continue
            for message in self.stage.messages(channel):
                controls = open_controls(message)
                if not controls:
                    continue
                signature = frozenset(str(c["action_id"]) for c in controls)
                key = (channel, str(message["ts"]), signature)
                if key in self.handled:
                    continue
                self.handled.add(key)
                delay = self._delay(reader, signature)
                due = working_time(now + delay, reader.timezone, self.rng)
                self.pending.append(
                    _Action(due, channel, str(message["ts"]), reader.slack_id, signature)
                )

    def _delay(self, reader: Person, signature: frozenset[str]) -> timedelta:
        if reader.role == "cct":
            if Id.CCT_TAKE in signature:
                return timedelta(minutes=self.rng.randint(40, 150))
            return timedelta(hours=self.rng.randint(20, 26))
        return timedelta(minutes=self.rng.randint(15, 75))

    def next_due(self) -> datetime | None:
        return min((a.due for a in self.pending), default=None)

    def act(self) -> None:
        """Answer every message whose time has come, as its reader."""
        now = self.stage.clock.now()
        due = sorted((a for a in self.pending if a.due <= now), key=lambda a: a.due)
        self.pending = [a for a in self.pending if a.due > now]
        for action in due:
            message = self.stage.fresh(action.channel, action.ts)
            if message is None:
                continue
            controls = open_controls(message)
            if frozenset(str(c["action_id"]) for c in controls) != action.signature:
                continue  # the message moved on meanwhile; look() sees its new shape
            element = self.choose(controls)
            if element is None:
                continue
            self.stage.click(action.channel, message, element, user=action.user)
            if element["action_id"] == Id.OPEN_SUMMARY:
                self._fill_summary(action.user)

    def choose(self, controls: Sequence[Json]) -> Json | None:
        by_id: dict[str, list[Json]] = {}
        for control in controls:
            by_id.setdefault(str(control["action_id"]), []).append(control)
        client = None
        for control in controls:
            chart = chart_of({"blocks": [{"type": "actions", "elements": [control]}]})
            client = self.clients.get(chart or "")
            if client:
                break

        def pick(action: Id, choice: str | None = None) -> Json | None:
            for control in by_id.get(str(action), []):
                if choice is None or choice_of(control) == choice:
                    return control
            return None

        if Id.CLASSIFY in by_id:
            return pick(Id.CLASSIFY, client.classify if client else "continuing")
        if Id.OTHER_PROVIDERS in by_id:
            return pick(Id.OTHER_PROVIDERS, client.other_providers if client else "no")
        for action in (
            Id.CCT_TAKE,
            Id.CCT_DONE,
            Id.MOVE_FOR_ME,
            Id.MOVED_CONFIRM,
            Id.MARK_SENT,
            Id.STEP_CONFIRM,
            Id.OPEN_SUMMARY,
        ):
            found = pick(action)
            if found is not None:
                return found
        # A prompt this director has no rule for: do what the app suggests (its primary
        # button), else the first button that does not put the work off or change the story.
        buttons = [
            c
            for c in controls
            if c.get("type") == "button" and str(c["action_id"]) not in NEVER_CLICKED
        ]
        primary = next((c for c in buttons if c.get("style") == "primary"), None)
        return primary or (buttons[0] if buttons else None)

    def _fill_summary(self, user: str) -> None:
        view = self.stage.last_modal()
        if view is None:
            return
        self.stage.clock.set(self.stage.clock.now() + timedelta(minutes=self.rng.randint(6, 14)))
        today = self.stage.local(self.stage.clock.now(), self.stage.zone_of(user)).date()
        self.stage.submit_modal(view, fill_form(view, today.isoformat()), user=user)


# --------------------------------------------------------------------------- the platform


@dataclass
class _Fired:
    at: datetime
    session_at: datetime | None


@dataclass
class PlatformScript:
    """Fires each client's planned platform events when their trigger has happened."""

    stage: Stage
    clients: Sequence[DemoClient]
    start: datetime
    queued: list[tuple[datetime, DemoClient, int, datetime | None]] = field(default_factory=list)
    fired: dict[tuple[str, int], _Fired] = field(default_factory=dict)
    scheduled: set[tuple[str, int]] = field(default_factory=set)
    _seen: int = -1

    def plan(self) -> None:
        """Schedule every planned event whose trigger has now happened. The app's state only
        changes when something happened, so it is read again only after a new entry."""
        seen = len(self.stage.transcript.entries)
        if seen == self._seen:
            return
        self._seen = seen
        rows = {r.chart_id: r for r in self.stage.surface.services.reads.caseload()}
        now = self.stage.clock.now()
        for client in self.clients:
            zone = client.clinician.timezone
            row = rows.get(client.chart_id)
            for index, event in enumerate(client.planned):
                key = (client.chart_id, index)
                if key in self.scheduled:
                    continue
                since: datetime | None = None
                previous = self.fired.get((client.chart_id, index - 1))
                if event.trigger == "start":
                    since = self.start
                elif event.trigger in {"after", "at_session"}:
                    since = previous.at if previous else None
                elif event.trigger.startswith("checkin:") and row is not None:
                    since = now if row.checkins_sent >= int(event.trigger.split(":")[1]) else None
                elif event.trigger.startswith("state:") and row is not None:
                    since = now if row.state.value == event.trigger.split(":")[1] else None
                if since is None or (index > 0 and previous is None):
                    continue
                if event.trigger == "at_session":
                    if previous is None or previous.session_at is None:
                        continue
                    fire = previous.session_at + timedelta(minutes=50)
                    session_at: datetime | None = previous.session_at
                else:
                    fire = at_local(since + timedelta(days=event.days), event.at, zone)
                    if fire < since:
                        fire += timedelta(days=1)
                    session_at = None
                    if event.session is not None:
                        days, hm = event.session
                        session_at = at_local(
                            fire + timedelta(days=days), hm, zone, weekday_only=True
                        )
                self.scheduled.add(key)
                self.queued.append((max(fire, now), client, index, session_at))

    def next_due(self) -> datetime | None:
        return min((q[0] for q in self.queued), default=None)

    def fire(self) -> None:
        now = self.stage.clock.now()
        for item in sorted((q for q in self.queued if q[0] <= now), key=lambda q: q[0]):
            self.queued.remove(item)
            _, client, index, session_at = item
            event = client.planned[index]
            self.stage.platform_event(
                event.type,
                client.chart_id,
                occurred_at=now,
                session_at=session_at,
                summary=event.say or f"{event.type} for {client.chart_id}",
                zone=client.clinician.timezone,
            )
            self.fired[(client.chart_id, index)] = _Fired(now, session_at)


# --------------------------------------------------------------------------- running


def run_scenario(
    stage: Stage,
    clients: Sequence[DemoClient],
    *,
    end: datetime,
    seed: int = 1,
    on_step: Callable[[datetime], None] | None = None,
) -> list[Outcome]:
    """Import the caseload, then move the clock to `end`, ticking, clicking and reporting."""
    start = stage.clock.now()
    rows = []
    for c in clients:
        contact = at_local(
            start - timedelta(days=c.last_contact_days_ago), "10:00", c.clinician.timezone
        )
        booked = ""
        if c.next_session is not None:
            days, hm = c.next_session
            booked = at_local(start + timedelta(days=days), hm, c.clinician.timezone).isoformat()
        rows.append(
            f"{c.chart_id},{c.clinician.slack_id},{c.first_name},{contact.isoformat()},{booked},"
            f"{c.clinician.timezone}"
        )
    stage.note(f"Imported the caseload: {stage.import_caseload(rows)}")
    director = Director(stage, {c.chart_id: c for c in clients}, random.Random(seed))
    script = PlatformScript(stage, clients, start)
    digest_at = stage.next_digest(start)
    halfway: datetime | None = start + (end - start) / 2
    while True:
        now = stage.clock.now()
        script.plan()
        script.fire()
        stage.tick()
        if halfway is not None and now >= halfway:
            open_homes(stage)  # halfway, a look at the caseload while work is under way
            halfway = None
        if now >= digest_at:
            stage.digest()
            digest_at = stage.next_digest(now + MIN_STEP)
        director.act()
        director.look()
        script.plan()  # what just happened may trigger the next platform event
        if on_step is not None:
            on_step(now)
        if now >= end:
            break
        candidates = [
            t
            for t in (
                stage.next_due(),
                director.next_due(),
                script.next_due(),
                digest_at,
                now + MAX_STEP,
                end,
            )
            if t is not None and t > now
        ]
        stage.clock.set(max(min(candidates), now + MIN_STEP))
    open_homes(stage)  # at the end, everyone looks at their caseload once more
    return outcomes(stage, clients)


def open_homes(stage: Stage) -> None:
    """Every clinician opens the bot's Home tab (their caseload dashboard)."""
    for person in stage.people.values():
        if person.role == "clinician":
            stage.open_home(person.slack_id)


CLOSURE_WORDS = {
    Closure.ARCHIVED: "discharged; CCT archived the chart",
    Closure.CARE_TEAM_REMOVED: "still seen by others; CCT removed the clinician from the care team",
    Closure.MET_GOALS: "met their goals (Discharge - Completed)",
    Closure.REMATCHED: "fit concern; CCT rematched",
    Closure.REENGAGED: "re-engaged",
    Closure.CONTINUING: "replied; continuing care",
    Closure.RETURNED: "came back after the discharge",
}
STATE_WORDS = {
    State.ACTIVE: "active",
    State.OUTREACH: "in outreach",
    State.PAUSED: "outreach paused",
    State.REPLY_REVIEW: "reply to classify",
    State.INACTIVE: "checklist open",
    State.CARE_TEAM_REMOVAL: "waiting for CCT (care-team removal)",
    State.REMATCH: "waiting for CCT (rematch)",
    State.DISCHARGED: "waiting for CCT (chart check and archive)",
    State.CLOSED: "closed",
}


def outcomes(stage: Stage, clients: Sequence[DemoClient]) -> list[Outcome]:
    """Each client's end, read from the app's own timeline (never from the script)."""
    actor = Actor("cli:demo", Source.CLI)
    found = []
    for client in clients:
        timeline = stage.surface.services.reads.timeline(client.chart_id, actor=actor)
        parts: list[str] = []
        closures: list[Closure] = []
        checkins = 0
        for view in timeline.episodes:
            a = view.assessment
            checkins = max(checkins, a.checkins_sent)
            opened = "" if view.opened_reason == "imported" else f"{view.opened_reason} -> "
            if a.closure is not None:
                closures.append(a.closure)
                parts.append(opened + CLOSURE_WORDS.get(a.closure, a.closure.value))
            elif view.closed_at is None:
                parts.append(opened + "now " + STATE_WORDS.get(a.state, a.state.value))
        now_state = timeline.episodes[-1].assessment.state if timeline.episodes else State.CLOSED
        reached = _in_order(client.expect_closures, closures) and (
            client.expect_now is None or now_state is client.expect_now
        )
        found.append(
            Outcome(client, checkins, "; ".join(parts), now_state, tuple(closures), reached)
        )
    return found


def _in_order(wanted: Sequence[Closure], got: Sequence[Closure]) -> bool:
    it = iter(got)
    return all(any(g is w for g in it) for w in wanted)

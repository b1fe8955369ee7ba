"""`/care` parsed into a typed command before anything is touched: bad input writes nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.model import EventKind

USAGE = """*`/care` commands*
• `/care help`: this list
• `/care status [CLIENT]`: your caseload at a glance, or one client's state, why, and what's next
• `/care caseload [PAGE]`: every client on your caseload with their next step, 60 a page
• `/care note CLIENT TEXT`: add an admin note to the client's log
• `/care outreach CLIENT`: start outreach now
• `/care pause CLIENT [YYYY-MM-DD]`: pause outreach until a date (default 30 days; reminded then)
• `/care resume CLIENT`: resume paused outreach
• `/care replied CLIENT`: the client replied (outreach stops; you'll be asked what it means)
• `/care session CLIENT attended|cancelled|noshow [YYYY-MM-DD]`: record a session (default today)
• `/care discharge CLIENT [REASON]`: open the discharge checklist now (a reason if early)
• `/care attempts CLIENT REASON`: tick "attempts documented" with none on record, and why
Clients are named by chart id, e.g. `R-1042`. Replies here are only visible to you."""


class Verb(StrEnum):
    HELP = "help"
    STATUS = "status"
    CASELOAD = "caseload"
    NOTE = "note"
    OUTREACH = "outreach"
    PAUSE = "pause"
    RESUME = "resume"
    REPLIED = "replied"
    SESSION = "session"
    DISCHARGE = "discharge"
    ATTEMPTS = "attempts"


SESSION_WORDS = {
    "attended": EventKind.SESSION_ATTENDED,
    "cancelled": EventKind.SESSION_CANCELLED,
    "canceled": EventKind.SESSION_CANCELLED,
    "noshow": EventKind.SESSION_NO_SHOW,
    "no-show": EventKind.SESSION_NO_SHOW,
    "no_show": EventKind.SESSION_NO_SHOW,
}

_CHART_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class CareUsageError(Exception):
    """The command text is wrong; the message says how, and the usage follows it."""


@dataclass(frozen=True)
class CareCommand:
    verb: Verb
    client: str | None = None
    text: str | None = None
    outcome: EventKind | None = None
    on: date | None = None
    page: int = 1


def _client(word: str | None, verb: Verb) -> str:
    if not word:
        raise CareUsageError(
            f"`/care {verb}` needs a client's chart id, e.g. `/care {verb} R-1042`."
        )
    if not _CHART_ID.match(word):
        raise CareUsageError(f"`{word}` doesn't look like a chart id (e.g. `R-1042`).")
    return word


def parse_care(text: str) -> CareCommand:
    words = text.strip().split(None, 2)
    if not words:
        return CareCommand(Verb.HELP)
    try:
        verb = Verb(words[0].lower())
    except ValueError:
        raise CareUsageError(f"I don't know the command `{words[0]}`.") from None
    rest = words[1:]
    if verb is Verb.HELP:
        return CareCommand(verb)
    if verb is Verb.CASELOAD:
        if not rest:
            return CareCommand(verb)
        page = " ".join(rest)
        if not page.isdigit() or int(page) < 1:
            raise CareUsageError(
                f"`{page}` isn't a page number; `/care caseload 2` shows the second page."
            )
        return CareCommand(verb, page=int(page))
    if verb is Verb.STATUS:
        return CareCommand(verb, client=_client(rest[0], verb) if rest else None)
    client = _client(rest[0] if rest else None, verb)
    tail = rest[1] if len(rest) > 1 else ""
    if verb is Verb.NOTE:
        if not tail.strip():
            raise CareUsageError(
                "Write the note after the chart id: `/care note R-1042 Called, left a voicemail`."
            )
        return CareCommand(verb, client=client, text=tail.strip())
    if verb is Verb.DISCHARGE:
        return CareCommand(verb, client=client, text=tail.strip() or None)
    if verb is Verb.ATTEMPTS:
        if not tail.strip():
            raise CareUsageError(
                "Give your reason after the chart id: "
                "`/care attempts R-1042 Called twice, the number is out of service`."
            )
        return CareCommand(verb, client=client, text=tail.strip())
    if verb is Verb.PAUSE and tail.strip():
        try:
            return CareCommand(verb, client=client, on=date.fromisoformat(tail.strip()))
        except ValueError:
            raise CareUsageError(
                f"`{tail.strip()}` isn't a date I can read; use YYYY-MM-DD, e.g. 2026-05-01."
            ) from None
    if verb is Verb.SESSION:
        parts = tail.split()
        if not parts or parts[0].lower() not in SESSION_WORDS:
            raise CareUsageError(
                "Say how the session went: "
                "`/care session R-1042 attended|cancelled|noshow [YYYY-MM-DD]`."
            )
        if len(parts) > 2:
            raise CareUsageError("Too many words: give the outcome and, optionally, a date.")
        on = None
        if len(parts) == 2:
            try:
                on = date.fromisoformat(parts[1])
            except ValueError:
                raise CareUsageError(
                    f"`{parts[1]}` isn't a date I can read; use YYYY-MM-DD, e.g. 2026-03-16."
                ) from None
        return CareCommand(verb, client=client, outcome=SESSION_WORDS[parts[0].lower()], on=on)
    if tail.strip():
        raise CareUsageError(f"`/care {verb}` takes only a chart id.")
    return CareCommand(verb, client=client)


def session_instant(on: date | None, now: datetime, zone: str) -> datetime:
    """A session date typed in the user's zone: today means now; another day its noon."""
    tz = ZoneInfo(zone)
    if on is None or on == now.astimezone(tz).date():
        return now
    return datetime.combine(on, time(12, 0), tzinfo=tz)

"""Small text helpers shared by the views: times in a reader's zone, who did something."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block

SECTION_LIMIT = 3000


@dataclass(frozen=True)
class SlackMessage:
    """A message's notification text and its blocks (validated when turned into a dict).

    Every explicit block_id gets a revision suffix, a digest of the message's content
    (``prompt_actions.3f2a9c1e``): a message updated in place to new content carries fresh
    block_ids, so Slack does not keep a stale selection or state on a block that changed,
    while a re-render of the same content is byte-for-byte the same.
    """

    text: str
    blocks: list[Block] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        blocks = [block.to_dict() for block in self.blocks]
        if not any(block.get("block_id") for block in blocks):
            return {"text": self.text, "blocks": blocks}  # nothing to revise (a reply)
        content = json.dumps(
            [{k: v for k, v in b.items() if k != "block_id"} for b in blocks] + [self.text],
            sort_keys=True,
        )
        revision = hashlib.sha256(content.encode()).hexdigest()[:8]
        for block in blocks:
            if block.get("block_id"):
                block["block_id"] = f"{block['block_id']}.{revision}"
        return {"text": self.text, "blocks": blocks}


def when(instant: datetime, zone: str) -> str:
    """'Mon 16 Mar 2026, 10:05 EDT' in `zone`."""
    local = _local(instant, zone)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M %Z}"


def _local(instant: datetime, zone: str | None) -> datetime:
    """`instant` in `zone`; a date at the calendar's edge stays as stored."""
    try:
        return instant.astimezone(ZoneInfo(zone)) if zone else instant
    except OverflowError:
        return instant


def day(value: date | datetime, zone: str | None = None) -> str:
    """'Mon 16 Mar 2026' (a datetime is read in `zone`)."""
    if isinstance(value, datetime):
        value = _local(value, zone).date()
    return f"{value:%a} {value.day} {value:%b %Y}"


def who(actor: str) -> str:
    """A Slack user as a mention; other doors by name."""
    if actor[:1] in {"U", "W"} and actor.isalnum():
        return f"<@{actor}>"
    if actor.startswith("platform"):
        return "the clinical platform"
    if actor.startswith("cli:"):
        return "a practice admin"
    return "the bot"


def escape(text: str) -> str:
    """Slack mrkdwn escaping for text we did not write ourselves."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def split_long(line: str, limit: int) -> list[str]:
    """`line` in pieces of at most `limit` characters, cut at a space where there is one and
    never inside an escape such as `&amp;` - nothing is dropped."""
    pieces: list[str] = []
    while len(line) > limit:
        cut = line.rfind(" ", limit // 2, limit + 1)
        if cut <= 0:
            cut = limit
            entity = line.rfind("&", max(0, cut - 6), cut)
            if entity > 0 and ";" not in line[entity:cut]:
                cut = entity
        pieces.append(line[:cut])
        line = line[cut:].lstrip(" ") if line[cut : cut + 1] == " " else line[cut:]
    pieces.append(line)
    return pieces


def chunks(lines: list[str], *, limit: int = SECTION_LIMIT - 100) -> list[str]:
    """Join lines into texts that each fit one section block; a line longer than a block is
    split across blocks, never cut short."""
    out: list[str] = []
    current = ""
    for line in (piece for whole in lines for piece in split_long(whole, limit)):
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            out.append(current)
            current = line
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def first_line(text: str, *, limit: int = 150) -> str:
    """A notification line from mrkdwn: the first line, without the bold markers."""
    line = next((part for part in text.splitlines() if part.strip()), "")
    line = line.replace("*", "")
    return line if len(line) <= limit else line[: limit - 1] + "…"

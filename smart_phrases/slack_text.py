"""How a rendered phrase is laid out in Slack blocks, shared by the bot's views and the lint.

The lint must measure what Slack will actually receive, not the raw rendered text: a client
check-in shown to the clinician as a preview gains a header and a ``>`` on every line, so a
phrase that renders to 2,950 characters does not fit one 3,000-character section. The preview
is therefore split over as many sections as it needs, and the lint checks that the whole
check-in message still fits Slack's 50 blocks.
"""

from __future__ import annotations

from typing import Final

SLACK_SECTION_LIMIT: Final = 3000
"""Slack's limit on the text of one section block, in characters."""

SLACK_MESSAGE_BLOCKS: Final = 50
"""Slack's limit on the blocks of one message."""

PREVIEW_HEADER: Final = "*Message for the client's chat*"

CHECKIN_OTHER_BLOCKS: Final = 3
"""Blocks of a check-in prompt besides the preview: the prompt, its buttons, its footer."""

MAX_PREVIEW_SECTIONS: Final = SLACK_MESSAGE_BLOCKS - CHECKIN_OTHER_BLOCKS


def quote(text: str) -> str:
    return "\n".join(f">{line}" if line else ">" for line in text.splitlines())


def preview_sections(text: str, *, limit: int = SLACK_SECTION_LIMIT) -> list[str]:
    """The client-facing `text` as quoted section texts, each within `limit`, header first.

    Lines are kept whole where they fit; a line longer than a section is cut into pieces (each
    quoted), never truncated: the clinician must see every word the client will get.
    """
    pieces: list[str] = []
    for line in quote(text).splitlines():
        while len(line) > limit:
            cut = limit - 1
            pieces.append(line[:cut])
            line = ">" + line[cut:]
        pieces.append(line)
    sections: list[str] = []
    current = PREVIEW_HEADER
    for piece in pieces:
        candidate = f"{current}\n{piece}"
        if len(candidate) > limit:
            sections.append(current)
            current = piece
        else:
            current = candidate
    sections.append(current)
    return sections

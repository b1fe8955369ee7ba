"""Issue 9, item 7: the "ready to paste" summary DM carries the whole note, however long."""

from __future__ import annotations

import html

from bot.slack.ids import Id
from bot.slack.views.format import SECTION_LIMIT, chunks
from tests.slack.conftest import CLINICIAN, SUMMARY_VALUES, Bot
from tests.slack.test_end_to_end import _to_checklist

LONG_FOCUS = ("Anxiety & low mood <work> " * 200)[:2980] + " END-OF-FOCUS"
ESCAPING_GOALS = "&<>" * 900 + " END-OF-GOALS"  # 2,713 characters that grow to 11,713


def _pasted(message: dict) -> str:
    """What the clinician copies: the code blocks' text, unescaped, joined."""
    parts = []
    for block in message["blocks"][1:]:
        text = block["text"]["text"]
        assert len(text) <= SECTION_LIMIT
        parts.append(text.removeprefix("```").removesuffix("```"))
    return html.unescape("\n".join(parts))


def test_a_long_summary_is_split_across_blocks_never_truncated(bot: Bot) -> None:
    checklist = _to_checklist(bot, "R-6001", "Zephyrine")
    bot.click(checklist, Id.OTHER_PROVIDERS, label="No, nobody else")
    bot.click(bot.fresh(checklist), "checklist_open_summary")
    modal = bot.fake.calls("views.open")[-1].body["view"]
    values = {
        **SUMMARY_VALUES,
        "summary_focus": {"summary_focus_input": {"type": "plain_text_input",
                                                  "value": LONG_FOCUS}},
        "summary_goals": {"summary_goals_input": {"type": "plain_text_input",
                                                  "value": ESCAPING_GOALS}},
    }
    answer = bot.send(bot.slack.view_submission(
        modal["callback_id"], private_metadata=modal["private_metadata"], values=values,
        user_id=CLINICIAN,
    ))
    assert answer.status == 200, answer.body
    assert answer.body in (b"", b"{}"), answer.body
    [note] = [m for m in bot.dm() if "ready to paste" in str(m.get("blocks"))]
    pasted = _pasted(note)
    assert "…" not in pasted
    assert "END-OF-FOCUS" in pasted
    assert "END-OF-GOALS" in pasted
    squeezed = pasted.replace("\n", " ").replace("  ", " ")
    assert ESCAPING_GOALS in pasted.replace("\n", "")
    assert "Anxiety & low mood <work>" in squeezed
    assert len(note["blocks"]) > 3


def test_split_long_keeps_every_character_and_never_cuts_an_escape() -> None:
    from bot.slack.views.format import split_long

    line = "&amp;" * 1000
    pieces = split_long(line, 2800)
    assert "".join(pieces) == line
    assert all(len(p) <= 2800 and p.count("&") == p.count(";") for p in pieces)
    text = "word " * 2000
    assert " ".join(chunks([text.strip()], limit=100)).replace("\n", " ") == text.strip()

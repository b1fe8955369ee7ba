"""A practice's folder overrides phrases by name; everything it leaves out falls back."""

from __future__ import annotations

from pathlib import Path

from smart_phrases import PhraseLibrary, sample_context
from tests.smart_phrases.helpers import write_phrase


def render_all(library: PhraseLibrary) -> dict[str, str]:
    return {
        name: library.render(name, sample_context(library.get(name).meta.audience))
        for name in library.names()
    }


def test_override_folder_with_one_phrase_changes_only_that_phrase(tmp_path: Path) -> None:
    written = write_phrase(
        tmp_path,
        "reply_received",
        "*{{ client.label }}* wrote back. How should we read it?",
        variables={"client.label": "the client's label"},
    )
    defaults = PhraseLibrary.load()

    practice = PhraseLibrary.load(tmp_path)

    before, after = render_all(defaults), render_all(practice)
    assert practice.names() == defaults.names()
    assert after["reply_received"] == "*R-1042* wrote back. How should we read it?"
    assert {name for name in before if before[name] != after[name]} == {"reply_received"}
    assert practice.get("reply_received").path == written.path
    assert practice.get("reply_received").overridden
    assert not practice.get("checkin_1").overridden


def test_override_of_a_client_phrase_keeps_the_first_name_rules(tmp_path: Path) -> None:
    write_phrase(
        tmp_path,
        "checkin_1",
        "Hello {{ client.first_name|default('there', true) }}, we miss you at {{ practice.name }}.",
        audience="client",
        fmt="html-chat",
        variables={"client.first_name": "first name", "practice.name": "practice"},
    )
    library = PhraseLibrary.load(tmp_path)
    ctx = sample_context("client")

    assert library.render("checkin_1", ctx) == "Hello Sam, we miss you at Sample Practice."
    assert library.render("checkin_1", ctx, channel="slack").startswith(
        "Hello [client first name],"
    )


def test_files_that_are_not_phrases_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("notes for the practice admin", encoding="utf-8")

    assert PhraseLibrary.load(tmp_path).names() == PhraseLibrary.load().names()

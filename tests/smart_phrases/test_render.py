"""Rendering: channel escaping, where a client's first name may and may not go, and errors."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from jinja2 import FunctionLoader
from jinja2.exceptions import SecurityError, TemplateAssertionError, UndefinedError
from markupsafe import Markup

from smart_phrases import (
    FIRST_NAME_PLACEHOLDER,
    ClientContext,
    ClinicianContext,
    DigestRow,
    Effort,
    PhraseLibrary,
    PhraseRenderError,
    RenderContext,
    SummaryContext,
    UnknownPhraseError,
    sample_context,
)
from smart_phrases.environment import ClientRef, make_environment

HOSTILE = "<b>&Co</b>"


@pytest.fixture(scope="module")
def library() -> PhraseLibrary:
    return PhraseLibrary.load()


def hostile_context(audience: str, first_name: str = HOSTILE) -> RenderContext:
    """Every free-text value a phrase could print is markup; the first name is set for all."""
    ctx = sample_context(audience)  # type: ignore[arg-type]
    assert ctx.episode is not None
    assert ctx.practice is not None
    return replace(
        ctx,
        client=ClientContext(
            chart_id=HOSTILE,
            label=HOSTILE,
            first_name=first_name,
            profile_url="https://platform.example/c?a=1&b=<2>",
        ),
        clinician=ClinicianContext(display_name=HOSTILE, slack_user_id="U1<!channel>"),
        episode=replace(
            ctx.episode,
            reason=HOSTILE,
            next_step=HOSTILE,
            efforts=(Effort(date(2025, 2, 3), HOSTILE),),
        ),
        practice=replace(ctx.practice, name=HOSTILE, discharged_group_name=HOSTILE),
        summary=SummaryContext(HOSTILE, HOSTILE, HOSTILE, HOSTILE) if ctx.summary else None,
        digest=(
            replace(ctx.digest, rows=(DigestRow(HOSTILE, 1, (HOSTILE,)),)) if ctx.digest else None
        ),
    )


def all_renders(library: PhraseLibrary, channel: str) -> list[tuple[str, str]]:
    return [
        (name, library.render(name, hostile_context(library.get(name).meta.audience),
                              channel=channel))  # type: ignore[arg-type]
        for name in library.names()
    ]  # fmt: skip


def test_markup_in_values_cannot_inject_into_slack_output(library: PhraseLibrary) -> None:
    for name, text in all_renders(library, "slack"):
        assert "<b>" not in text, name
        assert "&Co" not in text, name
        assert "<!channel>" not in text, name
        assert "&lt;b&gt;&amp;Co&lt;/b&gt;" in text, name  # shown, harmlessly


def test_markup_in_values_cannot_inject_into_chat_output(library: PhraseLibrary) -> None:
    for name, text in all_renders(library, "chat"):
        assert "<b>" not in text, name
        assert "&Co" not in text, name
        assert "&lt;b&gt;&amp;Co&lt;/b&gt;" in text, name


def test_client_name_is_escaped_in_the_chat_check_in(library: PhraseLibrary) -> None:
    text = library.render("checkin_1", hostile_context("client"), channel="chat")

    assert text.startswith("Hi &lt;b&gt;&amp;Co&lt;/b&gt;,")


def test_markup_objects_get_no_pass_from_escaping(library: PhraseLibrary) -> None:
    ctx = hostile_context("client", first_name=Markup("<i>Sam</i>"))

    text = library.render("checkin_1", ctx, channel="chat")

    assert "<i>" not in text
    assert "&lt;i&gt;Sam&lt;/i&gt;" in text


def test_slack_escape_leaves_quotes_alone(library: PhraseLibrary) -> None:
    ctx = replace(sample_context("clinician"), client=ClientContext("R-1", 'O\'Neil "R-1"'))

    text = library.render("reply_received", ctx, channel="slack")

    assert 'O\'Neil "R-1"' in text


def test_first_name_never_appears_in_slack_or_plain_renders(library: PhraseLibrary) -> None:
    for channel in ("slack", "plain"):
        for name, text in all_renders(library, channel):
            assert "Zelda" not in text, (channel, name)
        for name in library.names():
            ctx = hostile_context(library.get(name).meta.audience, first_name="Zelda")
            assert "Zelda" not in library.render(name, ctx, channel=channel), (channel, name)  # type: ignore[arg-type]


def test_client_phrase_preview_in_slack_shows_the_placeholder(library: PhraseLibrary) -> None:
    ctx = sample_context("client")
    assert ctx.client is not None
    assert ctx.client.first_name == "Sam"

    preview = library.render("checkin_2", ctx, channel="slack")
    chat = library.render("checkin_2", ctx)

    assert preview.startswith(f"Hi {FIRST_NAME_PLACEHOLDER},")
    assert chat.startswith("Hi Sam,")
    assert "Sam" not in preview


def test_check_in_without_a_first_name_still_greets(library: PhraseLibrary) -> None:
    ctx = sample_context("client", minimal=True)

    assert library.render("checkin_1", ctx).startswith("Hi,\n")


def test_non_client_phrases_get_a_client_with_no_first_name_at_all() -> None:
    """The runtime half of the rule lint enforces statically: the field is simply not there."""
    env = make_environment("slack", FunctionLoader(lambda _name: None))
    client = ClientRef(chart_id="R-1", label="R-1")

    with pytest.raises(UndefinedError):
        env.from_string("{{ client.first_name }}").render(client=client)


@pytest.mark.parametrize(
    ("source", "error"),
    [
        ("{{ ''.__class__ }}", SecurityError),
        ("{{ client.__class__ }}", SecurityError),
        ("{{ client.label.upper() }}", SecurityError),
        ("{{ '{0.label}'.format(client) }}", SecurityError),
        ("{{ client|attr('__class__') }}", TemplateAssertionError),
    ],
)
def test_sandbox_blocks_attribute_access_beyond_the_fields_at_runtime(
    source: str, error: type[Exception]
) -> None:
    env = make_environment("plain", FunctionLoader(lambda _name: None))
    client = ClientRef(chart_id="R-1", label="R-1")

    with pytest.raises(error):
        env.from_string(source).render(client=client)


def test_rendering_without_a_needed_context_object_names_it(library: PhraseLibrary) -> None:
    ctx = RenderContext(clinician=ClinicianContext("Alex", "U1"))

    with pytest.raises(PhraseRenderError) as raised:
        library.render("checkin_due", ctx)

    assert "needs 'client'" in str(raised.value)
    assert raised.value.path.name == "checkin_due.j2"


def test_unknown_phrase_name_lists_the_known_ones(library: PhraseLibrary) -> None:
    with pytest.raises(UnknownPhraseError, match="checkin_1"):
        library.get("checkin_9")


def test_default_channel_follows_the_phrase_format(library: PhraseLibrary) -> None:
    ctx = hostile_context("clinician")

    assert "&lt;b&gt;" in library.render("discharge_checklist", ctx)  # slack-mrkdwn
    assert HOSTILE in library.render("discharge_summary", ctx)  # plain: no escaping
    assert "&lt;b&gt;" in library.render("discharge_summary", ctx, channel="slack")


def test_phrase_metadata_is_exposed(library: PhraseLibrary) -> None:
    phrase = library.get("checkin_3")

    assert phrase.meta.audience == "client"
    assert phrase.meta.format == "html-chat"
    assert "client.first_name" in phrase.meta.variables
    assert phrase.path.name == "checkin_3.j2"
    assert not phrase.overridden

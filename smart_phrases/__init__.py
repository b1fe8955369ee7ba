"""Smart Phrases: every word the bot sends, as Jinja2 templates a practice can read and edit.

The app uses `PhraseLibrary.load(settings.smart_phrases_dir)` once at start-up and
`library.render(name, RenderContext(...), channel=...)` for each message. This package
imports nothing from `bot` or `storage`.
"""

from smart_phrases.context import (
    ClientContext,
    ClinicianContext,
    DigestContext,
    DigestRow,
    Effort,
    EpisodeContext,
    PracticeContext,
    RenderContext,
    SummaryContext,
)
from smart_phrases.environment import (
    FIRST_NAME_PLACEHOLDER,
    SLACK_SECTION_LIMIT,
    Audience,
    Channel,
    Format,
)
from smart_phrases.errors import PhraseRenderError, PhraseSetError, Problem, UnknownPhraseError
from smart_phrases.header import PhraseMeta
from smart_phrases.library import Phrase, PhraseLibrary, lint
from smart_phrases.samples import sample_context

__all__ = [
    "FIRST_NAME_PLACEHOLDER",
    "SLACK_SECTION_LIMIT",
    "Audience",
    "Channel",
    "ClientContext",
    "ClinicianContext",
    "DigestContext",
    "DigestRow",
    "Effort",
    "EpisodeContext",
    "Format",
    "Phrase",
    "PhraseLibrary",
    "PhraseMeta",
    "PhraseRenderError",
    "PhraseSetError",
    "PracticeContext",
    "Problem",
    "RenderContext",
    "SummaryContext",
    "UnknownPhraseError",
    "lint",
    "sample_context",
]

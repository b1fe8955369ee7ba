"""The sandboxed Jinja environment phrases run in, and how each channel escapes values.

Escaping is done by `finalize`, which sees every `{{ ... }}` result, rather than by
Jinja autoescape: Slack mrkdwn needs only `&`, `<`, `>` escaped (HTML autoescape would
also turn quotes into `&#34;`, which Slack shows literally), and `finalize` ignores
`Markup`, so no value can opt out of escaping. The phrase's own text is never escaped:
it is the author's markup (e.g. a Slack link `<url|label>`).
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, is_dataclass
from datetime import date, datetime
from typing import Any, Final, Literal

from jinja2 import BaseLoader, StrictUndefined, TemplateRuntimeError, Undefined
from jinja2.runtime import LoopContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from smart_phrases.context import (
    ClientContext,
    ClinicianContext,
    DigestContext,
    DigestRow,
    Effort,
    EpisodeContext,
    PracticeContext,
    SummaryContext,
)
from smart_phrases.slack_text import SLACK_SECTION_LIMIT as SLACK_SECTION_LIMIT

Channel = Literal["slack", "chat", "plain"]
Audience = Literal["client", "clinician", "cct"]
Format = Literal["plain", "slack-mrkdwn", "html-chat"]

CHANNELS: Final[tuple[Channel, ...]] = ("slack", "chat", "plain")
AUDIENCES: Final[tuple[Audience, ...]] = ("client", "clinician", "cct")
FORMATS: Final[tuple[Format, ...]] = ("plain", "slack-mrkdwn", "html-chat")

DEFAULT_CHANNEL: Final[Mapping[Format, Channel]] = {
    "plain": "plain",
    "slack-mrkdwn": "slack",
    "html-chat": "chat",
}

FIRST_NAME_PLACEHOLDER: Final = "[client first name]"
"""What a client-audience phrase shows instead of the first name anywhere but the chat."""



@dataclass(frozen=True, slots=True)
class ClientRef:
    """The client as clinician and CCT phrases see it: no first name field exists at all."""

    chart_id: str
    label: str
    profile_url: str | None = None


TEMPLATE_TYPES: Final[tuple[type, ...]] = (
    ClientContext,
    ClientRef,
    ClinicianContext,
    EpisodeContext,
    Effort,
    PracticeContext,
    SummaryContext,
    DigestContext,
    DigestRow,
)
FIELDS: Final[Mapping[type, frozenset[str]]] = {
    cls: frozenset(f.name for f in fields(cls)) for cls in TEMPLATE_TYPES
}
LOOP_ATTRIBUTES: Final = frozenset(
    {
        "index", "index0", "revindex", "revindex0", "first", "last", "length",
        "previtem", "nextitem", "depth", "depth0", "cycle", "changed",
    }
)  # fmt: skip

# Jinja's built-in filters minus those that emit markup or bypass escaping
# (safe, escape, forceescape, urlize, xmlattr), dump whole objects (pprint, tojson)
# or reach attributes by name (attr): all either break channel escaping or the
# "only declared fields" rule. `longdate` is ours.
ALLOWED_BUILTIN_FILTERS: Final = frozenset(
    {
        "abs", "batch", "capitalize", "center", "count", "d", "default", "filesizeformat",
        "first", "float", "format", "indent", "int", "join", "last", "length", "list",
        "lower", "map", "max", "min", "reject", "rejectattr", "replace", "reverse",
        "round", "select", "selectattr", "slice", "sort", "string", "sum", "title",
        "trim", "truncate", "unique", "upper", "wordcount", "wordwrap",
    }
)  # fmt: skip


class PhraseValueError(TemplateRuntimeError):
    """A phrase printed something that cannot become text safely (None, a whole object)."""


def slack_escape(text: str) -> str:
    """Slack mrkdwn control characters only; everything else Slack shows as typed."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def chat_escape(text: str) -> str:
    return html.escape(text, quote=True)


def _no_escape(text: str) -> str:
    return text


ESCAPERS: Final[Mapping[Channel, Callable[[str], str]]] = {
    "slack": slack_escape,
    "chat": chat_escape,
    "plain": _no_escape,
}


def to_text(value: Any) -> str:
    """The text of a printed value, refusing values that would print as nonsense.

    `None` would print "None" into a client's chat, and a whole object would print
    its repr (every field); both are template bugs, so they raise. `str.__str__` turns
    a `Markup` (or any str subclass) into a plain str so it is escaped like any other.
    """
    if isinstance(value, Undefined):
        return str(value)  # StrictUndefined raises here with the missing name
    if value is None:
        raise PhraseValueError(
            "printed an empty value (None); guard it with {% if ... %} or |default('...')"
        )
    if is_dataclass(value) or isinstance(value, (list, tuple, dict, set)):
        raise PhraseValueError(
            f"printed a whole {type(value).__name__}; print one field, or use |join for a list"
        )
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return str.__str__(value)
    return str(value)


def _finalizer(escape: Callable[[str], str]) -> Callable[[Any], str]:
    def finalize(value: Any) -> str:
        return escape(to_text(value))

    return finalize


_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June", "July",
    "August", "September", "October", "November", "December",
)  # fmt: skip


def longdate(value: Any) -> str:
    """`March 3, 2025`: unambiguous for readers in any locale, no platform-specific strftime."""
    if isinstance(value, Undefined):
        return str(value)
    if not isinstance(value, date):
        raise PhraseValueError(
            f"longdate needs a date, got {'None' if value is None else type(value).__name__}; "
            "guard optional dates with {% if ... %}"
        )
    return f"{_MONTHS[value.month - 1]} {value.day}, {value.year}"


class PhraseSandbox(ImmutableSandboxedEnvironment):
    """Attribute access is limited to the fields of the phrase context types.

    The stock sandbox still allows public attributes and methods of any value
    (`'x'.upper`, `date.replace`, ...); a phrase has no use for them, and allowing
    only dataclass fields is what makes "a phrase sees only what it is given" true.
    """

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        allowed = FIELDS.get(type(obj))
        if allowed is not None:
            return attr in allowed
        if isinstance(obj, LoopContext):
            return attr in LOOP_ATTRIBUTES
        return False

    def wrap_str_format(self, value: Any) -> None:
        """No `'...'.format` either; the stock sandbox hands it out before `is_safe_attribute`."""
        return None


def make_environment(channel: Channel, loader: BaseLoader) -> PhraseSandbox:
    """A fresh environment escaping for `channel`; `loader` must serve only the library's phrases.

    No globals (no `range`, `lipsum`, `namespace`, ...): a phrase works with its
    variables and filters only, and the linter can then treat every free name as a
    variable that must be declared.
    """
    env = PhraseSandbox(
        loader=loader,
        undefined=StrictUndefined,
        autoescape=False,
        finalize=_finalizer(ESCAPERS[channel]),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.globals.clear()
    filters = {name: env.filters[name] for name in ALLOWED_BUILTIN_FILTERS}
    filters["longdate"] = longdate
    env.filters.clear()
    env.filters.update(filters)
    return env

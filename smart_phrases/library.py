"""The phrase library: loads defaults plus a practice's overrides, lints them, renders them.

`PhraseLibrary.load` and `lint` run the same checks, so whatever `lint` accepts is
exactly what the bot will start with, and a broken set stops the bot before any
client or clinician sees a half-rendered message.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final, Literal

from jinja2 import FunctionLoader, TemplateError, TemplateSyntaxError

from smart_phrases.analysis import check_declarations, check_template
from smart_phrases.context import RenderContext
from smart_phrases.environment import (
    CHANNELS,
    DEFAULT_CHANNEL,
    FIRST_NAME_PLACEHOLDER,
    SLACK_SECTION_LIMIT,
    Channel,
    ClientRef,
    PhraseSandbox,
    make_environment,
)
from smart_phrases.errors import PhraseRenderError, PhraseSetError, Problem, UnknownPhraseError
from smart_phrases.header import PhraseMeta, parse_header
from smart_phrases.samples import sample_context

DEFAULTS_DIR: Final = Path(__file__).resolve().with_name("defaults")
SUFFIX: Final = ".j2"


@dataclass(frozen=True, slots=True)
class Phrase:
    """One loaded, linted phrase. `overridden` is True when it came from the practice's folder."""

    meta: PhraseMeta
    path: Path
    source: str
    header_line: int
    overridden: bool = False

    @property
    def version(self) -> str:
        """A short fingerprint of the text: the report counts which wording brought clients
        back, and an edited phrase (or a practice's override) is a new version."""
        return hashlib.sha256(self.source.encode()).hexdigest()[:8]

    @property
    def needs(self) -> frozenset[str]:
        """The context objects this phrase receives: the top of each declared variable."""
        return frozenset(variable.split(".")[0] for variable in self.meta.variables)


@dataclass(frozen=True, slots=True)
class _Source:
    name: str
    path: Path
    overridden: bool


class PhraseLibrary:
    """An immutable, linted set of phrases; build it with `PhraseLibrary.load`."""

    def __init__(self, phrases: Mapping[str, Phrase]) -> None:
        """Unchecked: use `load`, which refuses a set with lint problems."""
        self._phrases = dict(phrases)
        loader = FunctionLoader(self._loader_source)
        self._envs: dict[Channel, PhraseSandbox] = {
            channel: make_environment(channel, loader) for channel in CHANNELS
        }

    @classmethod
    def load(cls, override_dir: Path | None = None) -> PhraseLibrary:
        """The defaults, with any phrase of the same name in `override_dir` taking its place.

        Raises `PhraseSetError` listing every problem (file:line: why) when the
        resulting set does not lint clean; the app should refuse to start on it.
        """
        library, problems = _build(override_dir)
        if problems:
            raise PhraseSetError(problems)
        return library

    def names(self) -> list[str]:
        return sorted(self._phrases)

    def get(self, name: str) -> Phrase:
        try:
            return self._phrases[name]
        except KeyError:
            raise UnknownPhraseError(
                f"no Smart Phrase named '{name}' (known: {', '.join(self.names())})"
            ) from None

    def render(
        self,
        name: str,
        ctx: RenderContext,
        *,
        channel: Literal["slack", "chat", "plain"] | None = None,
    ) -> str:
        """Render phrase `name` for `channel` (default: the one its `format` implies).

        Every substituted value is escaped for the channel (slack: `&`, `<`, `>`;
        chat: HTML; plain: none). A client-audience phrase sees the client's first
        name only when rendered for `chat`; for `slack` and `plain` it sees
        `[client first name]`, so a Slack preview can never carry the name. Other
        phrases receive a client object with no first name field at all.
        Raises `PhraseRenderError` when `ctx` lacks an object the phrase declares.
        """
        phrase = self.get(name)
        chosen: Channel = channel or DEFAULT_CHANNEL[phrase.meta.format]
        if chosen not in CHANNELS:
            raise ValueError(f"unknown channel {chosen!r} (use one of {', '.join(CHANNELS)})")
        variables = _variables_for(phrase, ctx, chosen)
        try:
            text = self._envs[chosen].get_template(name).render(variables)
        except Exception as exc:  # any failure inside a phrase is reported at its line
            line = _template_line(exc, phrase.path) or phrase.header_line
            raise PhraseRenderError(phrase.path, line, _describe(exc)) from exc
        return tidy(text)

    def _loader_source(self, name: str) -> tuple[str, str, Callable[[], bool]] | None:
        phrase = self._phrases.get(name)
        if phrase is None:
            return None
        return phrase.source, str(phrase.path), lambda: True


def lint(dir: Path | None = None) -> list[Problem]:
    """Every problem in the set `PhraseLibrary.load(dir)` would build (empty when it is fine).

    Checks: the header is complete and valid; the template parses; it uses only
    declared variables, known filters and tests, and no attribute outside the phrase
    variables (sandbox escapes included); it renders against the full and the
    minimal sample for its audience; Slack renders fit one section (3,000 chars).
    """
    return _build(dir)[1]


def tidy(text: str) -> str:
    """Drop trailing spaces and runs of blank lines that `{% if %}` blocks leave behind."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines))


def _variables_for(phrase: Phrase, ctx: RenderContext, channel: Channel) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for top in sorted(phrase.needs):
        value = getattr(ctx, top, None)
        if value is None:
            raise PhraseRenderError(
                phrase.path,
                phrase.header_line,
                f"phrase '{phrase.meta.name}' needs '{top}' but the RenderContext has none",
            )
        if top == "client":
            if phrase.meta.audience != "client":
                value = ClientRef(
                    chart_id=value.chart_id, label=value.label, profile_url=value.profile_url
                )
            elif channel != "chat":
                value = replace(value, first_name=FIRST_NAME_PLACEHOLDER)
        variables[top] = value
    return variables


def _template_line(exc: BaseException, path: Path) -> int:
    """The phrase line Jinja's rewritten traceback points at (0 if none)."""
    if isinstance(exc, TemplateSyntaxError):
        return exc.lineno
    line = 0
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == str(path) and frame.lineno:
            line = frame.lineno
    return line


def _describe(exc: BaseException) -> str:
    """Jinja's own errors read well as they are; anything else is named by its type."""
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, TemplateError):
        return message or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _collect(override_dir: Path | None) -> tuple[dict[str, _Source], list[Problem]]:
    sources = {
        path.stem: _Source(path.stem, path, overridden=False)
        for path in sorted(DEFAULTS_DIR.glob(f"*{SUFFIX}"))
    }
    problems: list[Problem] = []
    if override_dir is None:
        return sources, problems
    if not override_dir.is_dir():
        return sources, [Problem(override_dir, 0, "the Smart Phrases folder does not exist")]
    known = sorted(sources)
    for path in sorted(override_dir.glob(f"*{SUFFIX}")):
        name = path.stem
        if name not in sources or sources[name].overridden:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(
                Problem(
                    path,
                    0,
                    f"'{name}' is not a phrase the bot uses{hint}; an override must use "
                    f"the name of a default phrase ({', '.join(known)})",
                )
            )
            continue
        sources[name] = _Source(name, path, overridden=True)
    return sources, problems


def _build(override_dir: Path | None) -> tuple[PhraseLibrary, list[Problem]]:
    sources, problems = _collect(override_dir)
    defaults: dict[str, PhraseMeta] = {}
    phrases: dict[str, Phrase] = {}
    # Parsing and the filter/test names need an environment but no loader.
    probe = make_environment("plain", FunctionLoader(lambda _name: None))
    for source in sources.values():
        phrase, found = _check_file(source, probe)
        problems += found
        if phrase is None:
            continue
        if source.overridden:
            default_meta = _default_meta(source.name, defaults)
            if default_meta is not None:
                problems += _check_same_role(phrase, default_meta)
        phrases[source.name] = phrase
    library = PhraseLibrary(phrases)
    for phrase in phrases.values():
        problems += _check_renders(library, phrase)
    problems.sort(key=lambda p: (str(p.path), p.line))
    return library, problems


def _check_file(source: _Source, env: PhraseSandbox) -> tuple[Phrase | None, list[Problem]]:
    path = source.path
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(path, 0, f"cannot read the phrase file: {exc}")]
    parsed, problems = parse_header(path, text)
    try:
        tree = env.parse(text, source.name, str(path))
    except TemplateSyntaxError as exc:
        problems.append(Problem(path, exc.lineno, f"template syntax error: {exc.message}"))
        return None, problems
    if parsed is None:
        return None, problems
    meta = parsed.meta
    found = check_declarations(parsed.variable_lines, meta.audience, meta.format)
    found += check_template(tree, env, meta.audience, meta.format, meta.variables)
    problems += [Problem(path, line, message) for line, message in found]
    if problems:
        return None, problems
    phrase = Phrase(meta, path, text, parsed.start_line, overridden=source.overridden)
    return phrase, []


def _default_meta(name: str, cache: dict[str, PhraseMeta]) -> PhraseMeta | None:
    if name not in cache:
        path = DEFAULTS_DIR / f"{name}{SUFFIX}"
        parsed, _ = parse_header(path, path.read_text(encoding="utf-8"))
        if parsed is None:
            return None
        cache[name] = parsed.meta
    return cache[name]


def _check_same_role(phrase: Phrase, default: PhraseMeta) -> list[Problem]:
    """The app decides where each phrase goes; an override cannot change who reads it or how."""
    problems = []
    for key in ("audience", "format"):
        mine, theirs = getattr(phrase.meta, key), getattr(default, key)
        if mine != theirs:
            problems.append(
                Problem(
                    phrase.path,
                    phrase.header_line,
                    f"{key} must stay '{theirs}' as in the default '{phrase.meta.name}' "
                    f"(the bot delivers it that way), not '{mine}'",
                )
            )
    return problems


def _check_renders(library: PhraseLibrary, phrase: Phrase) -> list[Problem]:
    meta = phrase.meta
    channels: list[Channel] = [DEFAULT_CHANNEL[meta.format]]
    if meta.audience == "client" and "slack" not in channels:
        channels.append("slack")  # the preview the clinician sees
    problems: list[Problem] = []
    too_long = False
    for minimal in (False, True):
        ctx = sample_context(meta.audience, minimal=minimal)
        sample = "minimal sample" if minimal else "sample"
        for channel in channels:
            try:
                text = library.render(meta.name, ctx, channel=channel)
            except PhraseRenderError as exc:
                problems.append(
                    Problem(
                        phrase.path,
                        exc.line,
                        f"fails to render for {channel} with the {sample}: {exc.message}",
                    )
                )
                return problems
            if not text:
                problems.append(
                    Problem(phrase.path, phrase.header_line, f"renders to empty text ({sample})")
                )
            if channel == "slack" and len(text) > SLACK_SECTION_LIMIT and not too_long:
                too_long = True  # once is enough; the minimal sample would only repeat it
                problems.append(
                    Problem(
                        phrase.path,
                        phrase.header_line,
                        f"renders to {len(text)} characters for Slack with the {sample}; "
                        f"a Slack section holds at most {SLACK_SECTION_LIMIT}",
                    )
                )
    return problems

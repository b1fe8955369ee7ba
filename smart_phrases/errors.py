"""Problems and errors: every one names the phrase file and line an admin has to open."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Problem:
    """One lint finding. `line` is 1-based; 0 means the whole file or folder."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class PhraseSetError(Exception):
    """The phrase set (defaults + overrides) has problems; the bot must not start with it."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        listing = "\n".join(f"  {problem}" for problem in problems)
        count = len(problems)
        super().__init__(
            f"the Smart Phrase set has {count} problem{'s' if count != 1 else ''}:\n{listing}"
        )


class UnknownPhraseError(KeyError):
    """No phrase of that name; the message lists the names that exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown phrase"


class PhraseRenderError(Exception):
    """A render failed: the context lacked something the phrase needs, or the phrase misused it.

    Lint renders every phrase against sample data before the bot starts, so this
    should only be seen when the app passes an incomplete `RenderContext`.
    """

    def __init__(self, path: Path, line: int, message: str) -> None:
        self.path = path
        self.line = line
        self.message = message
        super().__init__(f"{path}:{line}: {message}")

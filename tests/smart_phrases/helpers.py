"""Builds phrase files in a temporary folder, knowing which line each part lands on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Written:
    path: Path
    body_line: int  # the file line the first body line lands on


DEFAULT_VARIABLES = {
    "client.label": "the client's label",
    "client.profile_url": "link to the client",
}


def write_phrase(
    folder: Path,
    name: str,
    body: str,
    *,
    audience: str = "clinician",
    fmt: str = "slack-mrkdwn",
    variables: dict[str, str] | None = None,
    omit: str | None = None,
) -> Written:
    """Write `name.j2` with a valid header (minus the `omit` key) and `body` after it."""
    declared = DEFAULT_VARIABLES if variables is None else variables
    header = {
        "name": f"name: {name}",
        "title": "title: A phrase written by a test",
        "audience": f"audience: {audience}",
        "format": f"format: {fmt}",
        "variables": "variables:" + ("" if declared else " {}"),
    }
    lines = ["{# ---"]
    for key, line in header.items():
        if key == omit:
            continue
        lines.append(line)
        if key == "variables":
            lines += [f"  {var}: {meaning}" for var, meaning in declared.items()]
    lines.append("--- #}")
    path = folder / f"{name}.j2"
    path.write_text("\n".join(lines) + "\n" + body, encoding="utf-8")
    return Written(path, len(lines) + 1)

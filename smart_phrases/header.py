"""The metadata header at the top of every phrase file, and its parser.

A header is a Jinja comment, so the file stays a valid template and Jinja's line
numbers stay the file's line numbers:

    {# ---
    name: checkin_1
    title: Check-in 1 - a first, gentle hello
    audience: client          # client | clinician | cct
    format: html-chat         # plain | slack-mrkdwn | html-chat
    variables:
      client.first_name: the client's first name (chat only)
    --- #}

`variables` maps each variable the phrase uses (`client`, or one field such as
`episode.checkin_number`) to a one-line meaning for whoever edits the phrase.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, cast

import yaml

from smart_phrases.environment import AUDIENCES, FORMATS, Audience, Format
from smart_phrases.errors import Problem

HEADER_RE: Final = re.compile(
    r"\A\s*\{#-?[ \t]*---[ \t]*\r?\n(?P<body>.*?)^[ \t]*---[ \t]*-?#\}",
    re.DOTALL | re.MULTILINE,
)
REQUIRED_KEYS: Final = ("name", "title", "audience", "format", "variables")
HEADER_EXAMPLE: Final = "{# --- name/title/audience/format/variables in YAML --- #}"


@dataclass(frozen=True, slots=True)
class PhraseMeta:
    name: str
    title: str
    audience: Audience
    format: Format
    variables: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class ParsedHeader:
    """The metadata plus where each key sits, so later checks can point at the right line."""

    meta: PhraseMeta
    start_line: int
    key_lines: Mapping[str, int] = field(default_factory=dict)
    variable_lines: Mapping[str, int] = field(default_factory=dict)


def parse_header(path: Path, source: str) -> tuple[ParsedHeader | None, list[Problem]]:
    """Parse and validate the header on its own; variables are checked later by the linter."""
    match = HEADER_RE.match(source)
    if match is None:
        return None, [
            Problem(
                path,
                1,
                "missing metadata header: the file must start with a Jinja comment "
                f"holding YAML between '---' lines, e.g. {HEADER_EXAMPLE}",
            )
        ]
    start_line = source.count("\n", 0, match.start("body"))  # line of '{# ---'
    offset = start_line + 1  # YAML line 0 is the file line after '{# ---'
    try:
        root = yaml.compose(match.group("body"), Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = offset + mark.line if mark is not None else start_line
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Problem(path, line, f"header is not valid YAML: {reason}")]
    if not isinstance(root, yaml.MappingNode):
        return None, [Problem(path, start_line, "header must be a YAML mapping of key: value")]

    problems: list[Problem] = []
    values: dict[str, yaml.Node] = {}
    key_lines: dict[str, int] = {}
    for key_node, value_node in root.value:
        key = str(key_node.value)
        line = offset + key_node.start_mark.line
        if key in values:
            problems.append(Problem(path, line, f"header key '{key}' appears twice"))
        elif key not in REQUIRED_KEYS:
            problems.append(
                Problem(
                    path, line, f"unknown header key '{key}' (known: {', '.join(REQUIRED_KEYS)})"
                )
            )
        values[key] = value_node
        key_lines[key] = line

    for key in REQUIRED_KEYS:
        if key not in values:
            problems.append(Problem(path, start_line, f"header is missing '{key}'"))

    def scalar(key: str) -> str | None:
        node = values.get(key)
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
            problems.append(
                Problem(path, key_lines[key], f"header '{key}' must be a non-empty text")
            )
            return None
        return str(node.value).strip()

    name = scalar("name")
    title = scalar("title")
    audience = scalar("audience")
    fmt = scalar("format")
    if name is not None and name != path.stem:
        problems.append(
            Problem(
                path,
                key_lines["name"],
                f"header name '{name}' must match the file name '{path.stem}'",
            )
        )
    if audience is not None and audience not in AUDIENCES:
        problems.append(
            Problem(
                path,
                key_lines["audience"],
                f"audience '{audience}' is not one of {', '.join(AUDIENCES)}",
            )
        )
    if fmt is not None and fmt not in FORMATS:
        problems.append(
            Problem(path, key_lines["format"], f"format '{fmt}' is not one of {', '.join(FORMATS)}")
        )

    variables: dict[str, str] = {}
    variable_lines: dict[str, int] = {}
    var_node = values.get("variables")
    if var_node is not None:
        if not isinstance(var_node, yaml.MappingNode):
            problems.append(
                Problem(
                    path,
                    key_lines["variables"],
                    "header 'variables' must map each variable to its meaning",
                )
            )
        else:
            for key_node, value_node in var_node.value:
                var = str(key_node.value).strip()
                line = offset + key_node.start_mark.line
                meaning = (
                    str(value_node.value).strip() if isinstance(value_node, yaml.ScalarNode) else ""
                )
                if not meaning or "\n" in meaning:
                    problems.append(
                        Problem(path, line, f"variable '{var}' needs a one-line meaning")
                    )
                variables[var] = meaning
                variable_lines[var] = line

    if problems or name is None or title is None or audience is None or fmt is None:
        return None, problems
    meta = PhraseMeta(
        name=name,
        title=title,
        audience=cast(Audience, audience),
        format=cast(Format, fmt),
        variables=variables,
    )
    return ParsedHeader(meta, start_line, key_lines, variable_lines), []

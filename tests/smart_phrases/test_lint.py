"""Lint: the defaults are clean, and each kind of broken phrase is named by file and line."""

from __future__ import annotations

from pathlib import Path

import pytest

from smart_phrases import PhraseLibrary, PhraseSetError, Problem, lint
from tests.smart_phrases.helpers import write_phrase


def only_problem(folder: Path) -> Problem:
    problems = lint(folder)
    assert len(problems) == 1, "\n".join(map(str, problems))
    return problems[0]


def test_default_phrases_lint_clean() -> None:
    assert lint() == []
    assert len(PhraseLibrary.load().names()) == 20


def test_an_empty_override_folder_lints_clean(tmp_path: Path) -> None:
    assert lint(tmp_path) == []


# Each case: (phrase body, line of the problem relative to the body, words the message says).
BROKEN_BODIES = {
    "syntax_error": ("Hi {{ client.label }}\n{% if client.label %}never closed", 1, "syntax"),
    "undeclared_variable": ("{{ client.label }}\n{{ episode.due_date }}", 1, "episode.due_date"),
    "unknown_variable": ("{{ client.label }}\n\n{{ patient }}", 2, "undeclared variable 'patient'"),
    "unknown_filter": ("{{ client.label }}\n{{ client.label|shout }}", 1, "unknown filter 'shout'"),
    "unknown_test": ("{% if client.label is shouty %}x{% endif %}", 0, "unknown test 'shouty'"),
    "dunder_class": ("{{ client.label }}\n{{ ''.__class__ }}", 1, "'__class__'"),
    "dunder_mro_chain": (
        "{{ client.label }}\n\n{{ client.label.__class__.__mro__[1].__subclasses__() }}",
        2,
        "private attribute",
    ),
    "subscript_escape": ("{{ client.label }}\n{{ client['__class__'] }}", 1, "'__class__'"),
    "attr_filter_escape": ("{{ client.label }}\n{{ client|attr('__class__') }}", 1, "attr"),
    "method_call": ("{{ client.label.upper() }}", 0, "calling functions"),
    "str_format_escape": (
        "{{ client.label }}\n{{ '{0.__class__}'.format(client) }}",
        1,
        "not a phrase variable",
    ),
    "global_function": ("{{ client.label }}\n{% for i in range(3) %}{% endfor %}", 1, "range"),
    "include": ("{{ client.label }}\n{% include 'checkin_1' %}", 1, "include"),
    "safe_filter": ("{{ client.label|safe }}", 0, "unknown filter 'safe'"),
    "unknown_field": ("{{ client.label }}\n{{ client.name }}", 1, "no field 'name'"),
    "first_name_outside_client_phrases": (
        "{{ client.label }}\n{{ client.first_name }}",
        1,
        "client.first_name is only available to client-audience phrases",
    ),
    "prints_a_whole_object": ("{{ client.label }}\n{{ client }}", 1, "whole"),
}


@pytest.mark.parametrize("case", sorted(BROKEN_BODIES))
def test_broken_phrase_is_reported_with_file_and_line(tmp_path: Path, case: str) -> None:
    body, relative_line, words = BROKEN_BODIES[case]
    written = write_phrase(tmp_path, "reply_received", body)

    problems = lint(tmp_path)

    line = written.body_line + relative_line
    assert problems, "the broken phrase passed lint"
    assert {p.path for p in problems} == {written.path}
    assert any(p.line == line and words in p.message for p in problems), "\n".join(
        map(str, problems)
    )
    assert any(str(p).startswith(f"{written.path}:{line}: ") for p in problems)


@pytest.mark.parametrize("missing", ["name", "title", "audience", "format", "variables"])
def test_missing_header_field_is_reported(tmp_path: Path, missing: str) -> None:
    written = write_phrase(tmp_path, "reply_received", "{{ client.label }}", omit=missing)

    problems = lint(tmp_path)

    assert [p.path for p in problems] == [written.path], "\n".join(map(str, problems))
    assert any(f"header is missing '{missing}'" in p.message and p.line == 1 for p in problems)


def test_file_without_header_is_reported_at_line_1(tmp_path: Path) -> None:
    path = tmp_path / "reply_received.j2"
    path.write_text("{{ client.label }} replied\n", encoding="utf-8")

    problem = only_problem(tmp_path)

    assert (problem.path, problem.line) == (path, 1)
    assert "missing metadata header" in problem.message


def test_invalid_header_values_point_at_their_line(tmp_path: Path) -> None:
    path = tmp_path / "reply_received.j2"
    path.write_text(
        "{# ---\nname: reply_received\ntitle: t\naudience: patients\nformat: slack-mrkdwn\n"
        "variables:\n  client.label: label\n--- #}\n{{ client.label }}\n",
        encoding="utf-8",
    )

    problem = only_problem(tmp_path)

    assert problem.line == 4
    assert "audience 'patients'" in problem.message


def test_header_name_must_match_the_file(tmp_path: Path) -> None:
    path = tmp_path / "reply_received.j2"
    path.write_text(
        "{# ---\nname: checkin_due\ntitle: t\naudience: clinician\nformat: slack-mrkdwn\n"
        "variables:\n  client.label: label\n--- #}\n{{ client.label }}\n",
        encoding="utf-8",
    )

    problem = only_problem(tmp_path)

    assert (problem.line, "must match the file name") == (2, "must match the file name")


def test_over_long_slack_output_is_reported(tmp_path: Path) -> None:
    written = write_phrase(tmp_path, "reply_received", "{{ client.label }} " + "x" * 3000)

    problem = only_problem(tmp_path)

    assert problem.path == written.path
    assert problem.line == 1
    assert "3000" in problem.message


def test_undeclared_header_variable_that_does_not_exist_is_reported(tmp_path: Path) -> None:
    written = write_phrase(
        tmp_path,
        "reply_received",
        "{{ client.label }}",
        variables={"client.label": "label", "client.diagnosis": "no such thing"},
    )

    problem = only_problem(tmp_path)

    assert problem.path == written.path
    assert problem.line == 8  # the 'client.diagnosis' line of the header
    assert "no field 'diagnosis'" in problem.message


def test_summary_text_is_refused_in_slack_phrases(tmp_path: Path) -> None:
    write_phrase(
        tmp_path,
        "reply_received",
        "{{ summary.risk_level }}",
        variables={"summary.risk_level": "risk"},
    )

    problems = lint(tmp_path)

    assert problems
    assert all("clinical note text" in p.message for p in problems)


def test_a_clinicians_reason_for_an_early_discharge_is_refused_in_slack_phrases(
    tmp_path: Path,
) -> None:
    write_phrase(
        tmp_path,
        "reply_received",
        "{{ episode.early_discharge }}",
        variables={"episode.early_discharge": "why"},
    )

    problems = lint(tmp_path)

    assert problems
    assert all("the clinician's own words" in p.message for p in problems)


def test_client_phrase_text_cannot_carry_markup(tmp_path: Path) -> None:
    written = write_phrase(
        tmp_path,
        "checkin_1",
        "Hi,\n<b>please</b> come back",
        audience="client",
        fmt="html-chat",
        variables={},
    )

    problem = only_problem(tmp_path)

    assert problem.path == written.path
    assert "markup" in problem.message


def test_printing_an_optional_value_unguarded_is_caught_by_the_minimal_sample(
    tmp_path: Path,
) -> None:
    written = write_phrase(
        tmp_path,
        "reply_received",
        "{{ client.label }}\nLast contact {{ episode.last_contact_date }}",
        variables={"client.label": "label", "episode.last_contact_date": "last contact"},
    )

    problem = only_problem(tmp_path)

    assert (problem.path, problem.line) == (written.path, written.body_line + 1)
    assert "minimal sample" in problem.message
    assert "None" in problem.message


def test_override_with_an_unknown_name_is_reported_with_a_suggestion(tmp_path: Path) -> None:
    (tmp_path / "checkin1.j2").write_text("whatever", encoding="utf-8")

    problem = only_problem(tmp_path)

    assert problem.path == tmp_path / "checkin1.j2"
    assert "did you mean 'checkin_1'" in problem.message


def test_override_cannot_change_audience_or_format(tmp_path: Path) -> None:
    write_phrase(tmp_path, "checkin_1", "{{ client.label }}", audience="clinician")

    problems = lint(tmp_path)

    messages = " / ".join(p.message for p in problems)
    assert "audience must stay 'client'" in messages
    assert "format must stay 'html-chat'" in messages


def test_missing_override_folder_is_a_problem(tmp_path: Path) -> None:
    problem = only_problem(tmp_path / "nope")

    assert "does not exist" in problem.message


def test_load_refuses_a_broken_set_and_names_the_file(tmp_path: Path) -> None:
    written = write_phrase(tmp_path, "reply_received", "{{ client.label|shout }}")

    with pytest.raises(PhraseSetError) as raised:
        PhraseLibrary.load(tmp_path)

    assert [p.path for p in raised.value.problems] == [written.path]
    assert f"{written.path}:{written.body_line}: unknown filter 'shout'" in str(raised.value)

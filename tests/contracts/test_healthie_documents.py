"""Every GraphQL document the bot can send to Healthie is valid against Healthie's schema.

Two levels: each document in the registry is parsed and validated with graphql-core, and each
variable set the adapter actually builds (every variant: with and without a clinician id, a
cursor or none, ...) is coerced against the schema's input types. The adapter's public calls
are driven against the schema-checking fake, which refuses anything Healthie would refuse.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from graphql import OperationDefinitionNode, parse, validate

from bot.platform import healthie_documents as docs
from bot.platform.healthie_api import HealthieClient, PlatformUnavailable
from tests.fakes.healthie import (
    API_KEY,
    FakeHealthie,
    healthie_schema,
    schema_errors_for,
)

CLIENT = "4242"
CLINICIAN = "77"


@pytest.mark.parametrize("operation", sorted(docs.DOCUMENTS))
def test_every_document_validates_against_healthies_schema(operation: str) -> None:
    document = parse(docs.DOCUMENTS[operation])

    assert [e.message for e in validate(healthie_schema(), document)] == []
    [definition] = document.definitions
    assert isinstance(definition, OperationDefinitionNode)
    assert definition.name is not None
    assert definition.name.value == operation


def test_every_document_constant_is_in_the_registry() -> None:
    constants = {
        value for name, value in vars(docs).items()
        if name.endswith(("_QUERY", "_MUTATION")) and isinstance(value, str)
    }
    assert constants == set(docs.DOCUMENTS.values())


def test_move_to_group_mutation_uses_the_types_updateclient_expects() -> None:
    """The bug the contract tests were written for: ID vs ID!, String vs ID."""
    old = """
    mutation DischargeBotMoveToGroup($id: ID, $user_group_id: String) {
      updateClient(input: {id: $id, user_group_id: $user_group_id}) {
        user { id user_group_id }
        messages { field message }
      }
    }"""
    messages = [e["message"] for e in schema_errors_for(old, {"id": "1"}, None)]
    assert messages == [
        "Variable '$id' of type 'ID' used in position expecting type 'ID!'.",
        "Variable '$user_group_id' of type 'String' used in position expecting type 'ID'.",
    ]
    assert schema_errors_for(docs.MOVE_TO_GROUP_MUTATION, {"id": "1", "user_group_id": "5"},
                             "DischargeBotMoveToGroup") == []


def test_variables_are_checked_against_the_schemas_input_types() -> None:
    errors = schema_errors_for(
        docs.CREATE_CHARTING_NOTE_MUTATION,
        {"custom_module_form_id": "1", "user_id": CLIENT, "finished": "yes",
         "form_answers": [{"custom_module_id": "9", "answer": "x", "no_such_field": 1}]},
        "DischargeBotCreateChartingNote",
    )
    assert {e["extensions"]["code"] for e in errors} == {"variableMismatch"}
    text = " ".join(e["message"] for e in errors)
    assert "finished" in text
    assert "no_such_field" in text


# --- the adapter's calls, every variant, against the schema-checking fake ---------------------


@pytest.fixture
def fake() -> Iterator[FakeHealthie]:
    fake = FakeHealthie().start()
    fake.add_user(CLIENT, dietitian_id=CLINICIAN, other_provider_ids=["78"])
    fake.add_user("4343")
    fake.add_user(CLINICIAN, is_patient=False, full_name="Sam Okafor", email="sam@example.org")
    fake.add_user("78", is_patient=False, full_name="Dana Reyes", title="Psychiatrist")
    fake.add_group("11", "Discharged Clients")
    fake.add_form("300", "Outreach Admin Note", questions=[("3001", "textarea", "Note")])
    fake.add_appointment("501", client_id=CLIENT, provider_id=CLINICIAN,
                         date=datetime(2026, 1, 5, 15, tzinfo=UTC), pm_status="Occurred")
    fake.add_conversation("900", owner_id=CLINICIAN, member_ids=[CLIENT])
    fake.add_note("950", conversation_id="900", creator_id=CLIENT, content="hi",
                  created_at=datetime(2026, 1, 6, tzinfo=UTC))
    fake.add_webhook("1", url="https://bot.example.org/platform/healthie",
                     event_types=["appointment.updated"])
    yield fake
    fake.stop()


def every_call(client: HealthieClient) -> None:
    """Each public adapter call, in each of its variants."""
    client.get_appointment("501")
    client.get_note("950")
    client.get_user(CLIENT)
    client.get_provider("78")
    client.send_chat_message(CLIENT, CLINICIAN, "Checking in.")  # conversation exists
    client.send_chat_message("4343", None, "Checking in.")  # API account's own, created
    client.move_to_group(CLIENT, "Discharged Clients")
    client.other_providers(CLIENT, CLINICIAN)
    form = client.find_form(form_id=None, name="Outreach Admin Note")
    assert client.find_form(form_id="300", name="ignored") == form
    client.create_charting_note(CLIENT, form, "Check-in 1 sent.",
                                dated=datetime(2026, 2, 2, 15, tzinfo=UTC))
    client.charting_notes(CLIENT)
    client.charting_note_client("9000")
    client.find_member_id_by_email("sam@example.org")
    client.last_occurred_session(CLIENT, CLINICIAN, before=datetime(2026, 3, 1, tzinfo=UTC))
    client.last_occurred_session(CLIENT, None, before=datetime(2026, 3, 1, tzinfo=UTC))
    client.current_user_id()
    client.webhooks()


def test_every_adapter_call_is_accepted_by_the_schema_checking_fake(fake: FakeHealthie) -> None:
    client = HealthieClient(fake.url, API_KEY, timeout=2)

    every_call(client)

    assert fake.schema_errors == []
    sent = {c.operation for c in fake.calls}
    assert sent == set(docs.DOCUMENTS)  # every document was exercised


def test_paginated_reads_follow_the_cursor_and_stay_valid(fake: FakeHealthie) -> None:
    for index in range(230):
        fake.add_charting_note(f"n{index}", client_id=CLIENT, form_id="300",
                               created_at=datetime(2025, 1, 1, tzinfo=UTC), locked=True)
    client = HealthieClient(fake.url, API_KEY, timeout=2)

    assert len(client.charting_notes(CLIENT)) == 230

    pages = fake.calls_to("formAnswerGroups")
    assert [c.variables["after"] for c in pages] == [None, "100", "200"]
    assert fake.schema_errors == []


def test_the_fake_answers_an_invalid_document_as_healthie_does(fake: FakeHealthie) -> None:
    client = HealthieClient(fake.url, API_KEY, timeout=2)
    bad: dict[str, Any] = {"id": None}

    with pytest.raises(PlatformUnavailable, match="used in position expecting type 'ID!'"):
        client.execute("DischargeBotMoveToGroup", docs.MOVE_TO_GROUP_MUTATION.replace(
            "$id: ID!", "$id: ID"), bad)

    [error, *_] = fake.schema_errors
    assert set(error) == {"message", "locations", "extensions"}
    assert fake.calls_to("updateClient") == []  # nothing was run

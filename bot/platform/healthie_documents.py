"""Every GraphQL document the bot sends to Healthie, in one place, so tests can check them all.

Each document is a constant and is listed in `DOCUMENTS` under its operation name (which
starts with DischargeBot, so Healthie's audit log shows who asked). Variables carry every
value; documents are never assembled from strings at run time, so the set below is the whole
contract: `tests/contracts/test_healthie_documents.py` validates each one against Healthie's
published schema, and the fake Healthie refuses anything else.
"""

from __future__ import annotations

from typing import Final

APPOINTMENT_QUERY: Final = """
query DischargeBotAppointment($id: ID) {
  appointment(id: $id, include_deleted: true) {
    id date pm_status pm_status_changed_at created_at updated_at deleted_at user_id
    attendees { id }
    provider { id }
  }
}"""

NOTE_QUERY: Final = """
query DischargeBotNote($id: ID) {
  note(id: $id) {
    id content created_at conversation_id is_autoresponse
    creator { id is_patient }
  }
}"""

USER_QUERY: Final = """
query DischargeBotUser($id: ID) {
  user(id: $id) {
    id is_patient updated_at dietitian_id other_provider_ids user_group_id doc_share_id
    user_group { id name }
  }
}"""

# A provider as the checklist names them: full name and role, never contact details.
PROVIDER_QUERY: Final = """
query DischargeBotProvider($id: ID) {
  user(id: $id) {
    id full_name first_name last_name qualifications
    organization_membership { title org_role }
  }
}"""

CONVERSATIONS_QUERY: Final = """
query DischargeBotConversations($client_id: String, $provider_id: ID) {
  conversationMemberships(client_id: $client_id, provider_id: $provider_id,
                          active_status: "active", conversation_type: "individual", first: 50) {
    nodes { convo { id includes_multiple_clients } }
  }
}"""

CREATE_CONVERSATION_MUTATION: Final = """
mutation DischargeBotCreateConversation($owner_id: ID, $simple_added_users: String) {
  createConversation(input: {owner_id: $owner_id, simple_added_users: $simple_added_users}) {
    conversation { id }
    messages { field message }
  }
}"""

CREATE_NOTE_MUTATION: Final = """
mutation DischargeBotCreateNote($conversation_id: ID!, $content: String, $org_chat: Boolean,
                                $hide_org_chat_confirmation: Boolean) {
  createNote(input: {conversation_id: $conversation_id, content: $content, org_chat: $org_chat,
                     hide_org_chat_confirmation: $hide_org_chat_confirmation}) {
    note { id }
    messages { field message }
  }
}"""

USER_GROUPS_QUERY: Final = """
query DischargeBotUserGroups($keywords: String) {
  userGroups(keywords: $keywords, first: 100) {
    nodes { id name }
  }
}"""

# updateClientInput.id is ID! and user_group_id is ID (schema 2026-01-01).
MOVE_TO_GROUP_MUTATION: Final = """
mutation DischargeBotMoveToGroup($id: ID!, $user_group_id: ID) {
  updateClient(input: {id: $id, user_group_id: $user_group_id}) {
    user { id user_group_id }
    messages { field message }
  }
}"""

# --- charting notes (guides/filled_out_forms) ------------------------------------------------

FORM_FIELDS: Final = """
    id name use_for_charting deleted_at
    custom_modules { id mod_type label position }
"""

FORM_QUERY: Final = f"""
query DischargeBotForm($id: ID) {{
  customModuleForm(id: $id) {{{FORM_FIELDS}  }}
}}"""

FORMS_BY_NAME_QUERY: Final = f"""
query DischargeBotFormsByName($keywords: String) {{
  customModuleForms(keywords: $keywords, first: 100) {{
    nodes {{{FORM_FIELDS}    }}
  }}
}}"""

# `finished: true` makes the note visible in the chart and in formAnswerGroups; `date` is the
# date of service (the day of the attempt); `form_answers[].user_id` must be the client's.
CREATE_CHARTING_NOTE_MUTATION: Final = """
mutation DischargeBotCreateChartingNote($custom_module_form_id: ID!, $user_id: ID!,
                                        $finished: Boolean!, $date: ISO8601DateTime,
                                        $form_answers: [FormAnswerInput]!) {
  createFormAnswerGroup(input: {custom_module_form_id: $custom_module_form_id,
                                user_id: $user_id, finished: $finished, date: $date,
                                form_answers: $form_answers}) {
    form_answer_group { id finished is_locked }
    messages { field message }
  }
}"""

CHARTING_NOTES_QUERY: Final = """
query DischargeBotChartingNotes($user_id: ID!, $after: String) {
  formAnswerGroups(user_id: $user_id, use_for_charting: true,
                   order_by: CREATED_AT_DESC, first: 100, after: $after) {
    nodes {
      id name created_at finished is_locked locked_at
      custom_module_form { id name }
      form_answer_group_signings { id }
      appointment { id date }
    }
    page_info { has_next_page end_cursor }
  }
}"""

FORM_ANSWER_GROUP_QUERY: Final = """
query DischargeBotFormAnswerGroup($id: ID) {
  formAnswerGroup(id: $id) { id user_id }
}"""

# --- the care team and the calendar ----------------------------------------------------------

ORGANIZATION_MEMBERS_QUERY: Final = """
query DischargeBotOrganizationMembers($keywords: String, $after: String) {
  organizationMembers(keywords: $keywords, first: 100, after: $after) {
    nodes { id email full_name }
    page_info { has_next_page end_cursor }
  }
}"""

LAST_OCCURRED_APPOINTMENT_QUERY: Final = """
query DischargeBotLastOccurredAppointment($user_id: ID!, $provider_id: ID,
                                          $before: ISO8601DateTime) {
  appointments(user_id: $user_id, provider_id: $provider_id,
               filter_by_appointment_status: "Occurred", endDate: $before,
               with_all_statuses: true, order_by: DATE_DESC, first: 1) {
    nodes { id date pm_status user_id provider { id } }
  }
}"""

# --- what `discharge-bot doctor` asks -------------------------------------------------------

CURRENT_USER_QUERY: Final = """
query DischargeBotCurrentUser {
  currentUser { id }
}"""

WEBHOOKS_QUERY: Final = """
query DischargeBotWebhooks {
  webhooks(first: 100) {
    nodes { id event_type is_enabled should_retry url webhook_events { event_type } }
  }
}"""


DOCUMENTS: Final[dict[str, str]] = {
    "DischargeBotAppointment": APPOINTMENT_QUERY,
    "DischargeBotNote": NOTE_QUERY,
    "DischargeBotUser": USER_QUERY,
    "DischargeBotProvider": PROVIDER_QUERY,
    "DischargeBotConversations": CONVERSATIONS_QUERY,
    "DischargeBotCreateConversation": CREATE_CONVERSATION_MUTATION,
    "DischargeBotCreateNote": CREATE_NOTE_MUTATION,
    "DischargeBotUserGroups": USER_GROUPS_QUERY,
    "DischargeBotMoveToGroup": MOVE_TO_GROUP_MUTATION,
    "DischargeBotForm": FORM_QUERY,
    "DischargeBotFormsByName": FORMS_BY_NAME_QUERY,
    "DischargeBotCreateChartingNote": CREATE_CHARTING_NOTE_MUTATION,
    "DischargeBotChartingNotes": CHARTING_NOTES_QUERY,
    "DischargeBotFormAnswerGroup": FORM_ANSWER_GROUP_QUERY,
    "DischargeBotOrganizationMembers": ORGANIZATION_MEMBERS_QUERY,
    "DischargeBotLastOccurredAppointment": LAST_OCCURRED_APPOINTMENT_QUERY,
    "DischargeBotCurrentUser": CURRENT_USER_QUERY,
    "DischargeBotWebhooks": WEBHOOKS_QUERY,
}

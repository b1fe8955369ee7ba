"""Healthie's GraphQL API: the few reads the webhook needs and the confirmed outbound calls.

Every request carries `Authorization: Basic <key>`, `AuthorizationSource: API` and
`Healthie-GraphQL-API-Version` (docs.gethealthie.com, "Authentication" and "Versioning").
Anything that keeps Healthie from answering — network errors, timeouts, HTTP errors, a
GraphQL `errors` array — raises `PlatformUnavailable`; the webhook turns that into 503 so
Healthie retries. An answer that refuses what we asked (mutation `messages`, a missing
group or client) raises `PlatformRejected`. Neither message carries chart content.
"""

from __future__ import annotations

import html
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from urllib.parse import quote

log = logging.getLogger(__name__)

DEFAULT_API_VERSION = "2026-01-01"
DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 4 * 1024 * 1024


class PlatformError(Exception):
    """Base of everything the Healthie adapter raises."""


class PlatformUnavailable(PlatformError):
    """Healthie did not give a usable answer now (network, timeout, HTTP or GraphQL error)."""


class PlatformRejected(PlatformError):
    """Healthie answered, but refused or lacks what was asked; retrying will not help."""


class GroupNotFound(PlatformRejected):
    """No client group in Healthie has exactly that name."""


# --- what we read --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HealthieAppointment:
    id: str
    date: datetime | None
    pm_status: str | None
    pm_status_changed_at: datetime | None
    created_at: datetime | None
    updated_at: datetime | None
    deleted_at: datetime | None
    client_id: str | None
    provider_id: str | None


@dataclass(frozen=True, slots=True)
class HealthieNote:
    id: str
    created_at: datetime | None
    conversation_id: str | None
    creator_id: str | None
    creator_is_patient: bool
    is_autoresponse: bool
    has_text: bool


@dataclass(frozen=True, slots=True)
class HealthieUser:
    id: str
    is_patient: bool
    updated_at: datetime | None
    dietitian_id: str | None
    other_provider_ids: tuple[str, ...]
    user_group_id: str | None
    user_group_name: str | None
    doc_share_id: str | None


# Operation names start with DischargeBot so Healthie's audit log shows who asked.
APPOINTMENT_QUERY = """
query DischargeBotAppointment($id: ID) {
  appointment(id: $id, include_deleted: true) {
    id date pm_status pm_status_changed_at created_at updated_at deleted_at user_id
    attendees { id }
    provider { id }
  }
}"""

NOTE_QUERY = """
query DischargeBotNote($id: ID) {
  note(id: $id) {
    id content created_at conversation_id is_autoresponse
    creator { id is_patient }
  }
}"""

USER_QUERY = """
query DischargeBotUser($id: ID) {
  user(id: $id) {
    id is_patient updated_at dietitian_id other_provider_ids user_group_id doc_share_id
    user_group { id name }
  }
}"""

CONVERSATIONS_QUERY = """
query DischargeBotConversations($client_id: String, $provider_id: ID) {
  conversationMemberships(client_id: $client_id, provider_id: $provider_id,
                          active_status: "active", conversation_type: "individual", first: 50) {
    nodes { convo { id includes_multiple_clients } }
  }
}"""

CREATE_CONVERSATION_MUTATION = """
mutation DischargeBotCreateConversation($owner_id: ID, $simple_added_users: String) {
  createConversation(input: {owner_id: $owner_id, simple_added_users: $simple_added_users}) {
    conversation { id }
    messages { field message }
  }
}"""

CREATE_NOTE_MUTATION = """
mutation DischargeBotCreateNote($conversation_id: ID!, $content: String, $org_chat: Boolean,
                                $hide_org_chat_confirmation: Boolean) {
  createNote(input: {conversation_id: $conversation_id, content: $content, org_chat: $org_chat,
                     hide_org_chat_confirmation: $hide_org_chat_confirmation}) {
    note { id }
    messages { field message }
  }
}"""

USER_GROUPS_QUERY = """
query DischargeBotUserGroups($keywords: String) {
  userGroups(keywords: $keywords, first: 100) {
    nodes { id name }
  }
}"""

MOVE_TO_GROUP_MUTATION = """
mutation DischargeBotMoveToGroup($id: ID, $user_group_id: String) {
  updateClient(input: {id: $id, user_group_id: $user_group_id}) {
    user { id user_group_id }
    messages { field message }
  }
}"""


class HealthieClient:
    """A small, synchronous GraphQL client for Healthie (standard library HTTP only)."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
    ) -> None:
        if not api_url or not api_key:
            raise ValueError("HEALTHIE_API_URL and HEALTHIE_API_KEY are both needed")
        self._url = api_url
        self._key = api_key
        self._version = api_version
        self._timeout = timeout

    # --- transport --------------------------------------------------------------------------

    def execute(
        self, operation: str, query: str, variables: Mapping[str, object]
    ) -> dict[str, Any]:
        """POST one GraphQL operation and return its `data`; raise PlatformUnavailable."""
        body = json.dumps(
            {"operationName": operation, "query": query, "variables": dict(variables)}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - the URL is the configured API URL
            self._url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Basic {self._key}",
                "AuthorizationSource": "API",
                "Healthie-GraphQL-API-Version": self._version,
                "User-Agent": "discharge-bot",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                raw = response.read(MAX_RESPONSE_BYTES + 1)
        except urllib.error.HTTPError as exc:
            raise PlatformUnavailable(f"Healthie {operation}: HTTP {exc.code}") from None
        except TimeoutError:
            raise PlatformUnavailable(
                f"Healthie {operation}: no answer within {self._timeout:g}s"
            ) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                raise PlatformUnavailable(
                    f"Healthie {operation}: no answer within {self._timeout:g}s"
                ) from None
            raise PlatformUnavailable(f"Healthie {operation}: unreachable ({reason})") from None
        if len(raw) > MAX_RESPONSE_BYTES:
            raise PlatformUnavailable(f"Healthie {operation}: answer too large")
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise PlatformUnavailable(f"Healthie {operation}: answer is not JSON") from None
        if not isinstance(document, dict):
            raise PlatformUnavailable(f"Healthie {operation}: answer is not a JSON object")
        errors = document.get("errors")
        if errors:
            raise PlatformUnavailable(f"Healthie {operation}: {_describe_errors(errors)}")
        data = document.get("data")
        if not isinstance(data, dict):
            raise PlatformUnavailable(f"Healthie {operation}: answer has no data")
        return data

    # --- reads for the webhook -------------------------------------------------------------

    def get_appointment(self, appointment_id: str) -> HealthieAppointment | None:
        """The appointment, deleted ones included; None if Healthie does not know it."""
        data = self.execute("DischargeBotAppointment", APPOINTMENT_QUERY, {"id": appointment_id})
        record = data.get("appointment")
        if not isinstance(record, dict):
            return None
        client_id = _id(record.get("user_id"))
        if client_id is None:
            attendees = [a for a in record.get("attendees") or [] if isinstance(a, dict)]
            if len(attendees) == 1:
                client_id = _id(attendees[0].get("id"))
        provider = record.get("provider")
        return HealthieAppointment(
            id=str(record.get("id") or appointment_id),
            date=parse_healthie_datetime(record.get("date")),
            pm_status=(record.get("pm_status") or None),
            pm_status_changed_at=parse_healthie_datetime(record.get("pm_status_changed_at")),
            created_at=parse_healthie_datetime(record.get("created_at")),
            updated_at=parse_healthie_datetime(record.get("updated_at")),
            deleted_at=parse_healthie_datetime(record.get("deleted_at")),
            client_id=client_id,
            provider_id=_id(provider.get("id")) if isinstance(provider, dict) else None,
        )

    def get_note(self, note_id: str) -> HealthieNote | None:
        """A chat message; its text is only looked at to say whether there was any."""
        data = self.execute("DischargeBotNote", NOTE_QUERY, {"id": note_id})
        record = data.get("note")
        if not isinstance(record, dict):
            return None
        creator = _as_dict(record.get("creator"))
        content = record.get("content")
        return HealthieNote(
            id=str(record.get("id") or note_id),
            created_at=parse_healthie_datetime(record.get("created_at")),
            conversation_id=_id(record.get("conversation_id")),
            creator_id=_id(creator.get("id")),
            creator_is_patient=creator.get("is_patient") is True,
            is_autoresponse=record.get("is_autoresponse") is True,
            has_text=isinstance(content, str) and bool(_strip_tags(content).strip()),
        )

    def get_user(self, user_id: str) -> HealthieUser | None:
        data = self.execute("DischargeBotUser", USER_QUERY, {"id": user_id})
        record = data.get("user")
        if not isinstance(record, dict):
            return None
        group = _as_dict(record.get("user_group"))
        others = record.get("other_provider_ids") or []
        return HealthieUser(
            id=str(record.get("id") or user_id),
            is_patient=record.get("is_patient") is True,
            updated_at=parse_healthie_datetime(record.get("updated_at")),
            dietitian_id=_id(record.get("dietitian_id")),
            other_provider_ids=tuple(i for i in (_id(o) for o in others) if i is not None),
            user_group_id=_id(record.get("user_group_id")) or _id(group.get("id")),
            user_group_name=group.get("name") if isinstance(group.get("name"), str) else None,
            doc_share_id=_id(record.get("doc_share_id")),
        )

    # --- outbound, only after the clinician confirmed in Slack -----------------------------

    def send_chat_message(
        self, client_id: str, clinician_platform_id: str | None, text: str
    ) -> str:
        """Post `text` into the client's chat with the clinician; return the note id.

        The conversation is the clinician's active one-to-one conversation with the client,
        created (owned by the clinician) when there is none. The API key's account is not its
        owner, so the note is sent as organisation chat (`org_chat`), i.e. on behalf of the
        clinician. Without a clinician id the API key's own conversation is used. The text is
        HTML-escaped (Healthie note content is HTML); line breaks are kept.
        """
        if not text.strip():
            raise ValueError("refusing to send an empty message")
        conversation_id = self._find_conversation(client_id, clinician_platform_id)
        if conversation_id is None:
            conversation_id = self._create_conversation(client_id, clinician_platform_id)
        data = self.execute(
            "DischargeBotCreateNote",
            CREATE_NOTE_MUTATION,
            {
                "conversation_id": conversation_id,
                "content": html.escape(text, quote=False),
                "org_chat": clinician_platform_id is not None,
                "hide_org_chat_confirmation": True,
            },
        )
        payload = _mutation_payload(data, "createNote")
        note = payload.get("note")
        if not isinstance(note, dict) or not note.get("id"):
            raise PlatformRejected("Healthie createNote: no note was created")
        return str(note["id"])

    def move_to_group(self, client_id: str, group_name: str) -> str:
        """Put the client in the group named exactly `group_name`; return the group id."""
        group_id = self.find_group_id(group_name)
        data = self.execute(
            "DischargeBotMoveToGroup",
            MOVE_TO_GROUP_MUTATION,
            {"id": client_id, "user_group_id": group_id},
        )
        payload = _mutation_payload(data, "updateClient")
        user = payload.get("user")
        if not isinstance(user, dict):
            raise PlatformRejected("Healthie updateClient: the client was not updated")
        return group_id

    def find_group_id(self, group_name: str) -> str:
        data = self.execute("DischargeBotUserGroups", USER_GROUPS_QUERY, {"keywords": group_name})
        connection = data.get("userGroups")
        nodes = connection.get("nodes") if isinstance(connection, dict) else connection
        matches = [
            str(node["id"])
            for node in nodes or []
            if isinstance(node, dict) and node.get("name") == group_name and node.get("id")
        ]
        if not matches:
            raise GroupNotFound(
                f"Healthie has no client group named exactly {group_name!r}; create it in "
                "Healthie or set DISCHARGE_DISCHARGED_GROUP_NAME to the group's exact name"
            )
        if len(matches) > 1:
            raise PlatformRejected(
                f"Healthie has {len(matches)} client groups named {group_name!r}"
            )
        return matches[0]

    def other_providers(self, client_id: str, clinician_platform_id: str) -> list[str]:
        """The client's care team (primary provider and other providers) minus this clinician."""
        user = self.get_user(client_id)
        if user is None:
            raise PlatformRejected("Healthie does not know this client")
        team = [user.dietitian_id, *user.other_provider_ids]
        seen: set[str] = set()
        others: list[str] = []
        for provider in team:
            if provider and provider != clinician_platform_id and provider not in seen:
                seen.add(provider)
                others.append(provider)
        return others

    def _find_conversation(self, client_id: str, provider_id: str | None) -> str | None:
        data = self.execute(
            "DischargeBotConversations",
            CONVERSATIONS_QUERY,
            {"client_id": client_id, "provider_id": provider_id},
        )
        connection = data.get("conversationMemberships")
        nodes = connection.get("nodes") if isinstance(connection, dict) else connection
        for node in nodes or []:
            convo = node.get("convo") if isinstance(node, dict) else None
            if (
                isinstance(convo, dict)
                and convo.get("id")
                and not convo.get("includes_multiple_clients")
            ):
                return str(convo["id"])
        return None

    def _create_conversation(self, client_id: str, owner_id: str | None) -> str:
        user = self.get_user(client_id)
        if user is None:
            raise PlatformRejected("Healthie does not know this client")
        share_id = user.doc_share_id or f"user-{client_id}"
        data = self.execute(
            "DischargeBotCreateConversation",
            CREATE_CONVERSATION_MUTATION,
            {"owner_id": owner_id, "simple_added_users": share_id},
        )
        payload = _mutation_payload(data, "createConversation")
        conversation = payload.get("conversation")
        if not isinstance(conversation, dict) or not conversation.get("id"):
            raise PlatformRejected("Healthie createConversation: no conversation was created")
        return str(conversation["id"])


class _Secret(Protocol):
    def get_secret_value(self) -> str: ...


class HealthieSettings(Protocol):
    """The part of `bot.settings.Settings` the client needs."""

    @property
    def healthie_api_url(self) -> str | None: ...

    @property
    def healthie_api_key(self) -> _Secret | None: ...


def healthie_client_from_settings(
    settings: HealthieSettings,
    *,
    api_version: str = DEFAULT_API_VERSION,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
) -> HealthieClient | None:
    """The client when the adapter is on (HEALTHIE_API_URL and HEALTHIE_API_KEY set), else None."""
    if not settings.healthie_api_url or settings.healthie_api_key is None:
        return None
    return HealthieClient(
        settings.healthie_api_url,
        settings.healthie_api_key.get_secret_value(),
        api_version=api_version,
        timeout=timeout,
    )


def profile_url(app_url: str | None, client_id: str) -> str | None:
    """Deep link to the client's profile in the platform, from PLATFORM_APP_URL.

    PLATFORM_APP_URL is either a base (``https://secure.gethealthie.com`` or a white-label
    domain; the link is ``{base}/users/{id}``) or a template containing ``{client_id}``.
    """
    if not app_url:
        return None
    safe_id = quote(client_id, safe="")
    if "{client_id}" in app_url:
        return app_url.replace("{client_id}", safe_id)
    return f"{app_url.rstrip('/')}/users/{safe_id}"


def parse_healthie_datetime(value: object) -> datetime | None:
    """Healthie's ISO8601DateTime (older versions: ``2024-05-01 10:00:00 -0400``) -> UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    for attempt in (text, text.replace(" ", "T", 1)):
        try:
            parsed = datetime.fromisoformat(attempt)
            break
        except ValueError:
            continue
    else:
        try:
            parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z")
        except ValueError:
            raise PlatformRejected("Healthie sent a date-time we cannot read") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise PlatformRejected("Healthie sent a date-time without a time zone")
    try:
        return parsed.astimezone(UTC)
    except OverflowError:
        raise PlatformRejected("Healthie sent a date-time outside the usable range") from None


def _mutation_payload(data: Mapping[str, Any], field: str) -> dict[str, Any]:
    payload = data.get(field)
    if not isinstance(payload, dict):
        raise PlatformRejected(f"Healthie {field}: empty answer")
    messages = payload.get("messages") or []
    if messages:
        fields = ", ".join(str(m.get("field") or "?") for m in messages if isinstance(m, dict))
        raise PlatformRejected(f"Healthie {field} refused the change (fields: {fields})")
    return payload


def _describe_errors(errors: object) -> str:
    if not isinstance(errors, list):
        return "GraphQL error"
    parts = []
    for error in errors[:3]:
        if isinstance(error, dict):
            code = (
                (error.get("extensions") or {}).get("code")
                if isinstance(error.get("extensions"), dict)
                else None
            )
            message = str(error.get("message") or "")[:120]
            parts.append(f"{code}: {message}" if code else message)
    return "GraphQL error: " + ("; ".join(parts) or "unspecified")


def _as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _id(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _strip_tags(content: str) -> str:
    out, inside = [], False
    for char in content:
        if char == "<":
            inside = True
        elif char == ">":
            inside = False
        elif not inside:
            out.append(char)
    return "".join(out)

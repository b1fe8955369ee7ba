"""Healthie's GraphQL API: the reads the webhook and checklist need, and the confirmed writes.

Every request carries `Authorization: Basic <key>`, `AuthorizationSource: API` and
`Healthie-GraphQL-API-Version` (docs.gethealthie.com, "Authentication" and "Versioning") over
one pooled httpx connection. Anything that keeps Healthie from answering (network errors,
timeouts, HTTP errors, a GraphQL `errors` array, rate limiting after bounded retries) raises
`PlatformUnavailable`; the webhook turns that into 503 so Healthie retries (when retries are
switched on for the webhook). An answer that refuses what we asked (mutation `messages`, a
missing group, form or client) raises `PlatformRejected`. No message carries chart content.

The documents themselves are in `bot.platform.healthie_documents`.
"""

from __future__ import annotations

import html
import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import quote

from bot.clock import Clock, SystemClock
from bot.platform import healthie_documents as docs

if TYPE_CHECKING:  # imported when a client is built: processes without Healthie start faster
    import httpx

log = logging.getLogger(__name__)

# Healthie sunsets every version before 2026-07-01 on 2027-01-31 (guides/api-concepts/versioning).
DEFAULT_API_VERSION = "2026-07-01"
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_MAX_WAIT_SECONDS = 8.0
RETRY_BASE_SECONDS = 1.0
MAX_RESPONSE_BYTES = 4 * 1024 * 1024
MAX_PAGES = 20  # of 100 records: a bound on any paginated read

class PlatformError(Exception):
    """Base of everything the Healthie adapter raises."""


class PlatformUnavailable(PlatformError):
    """Healthie did not give a usable answer now (network, timeout, HTTP or GraphQL error)."""


class PlatformRejected(PlatformError):
    """Healthie answered, but refused or lacks what was asked; retrying will not help."""


class PlatformThrottled(PlatformUnavailable):
    """Healthie is rate limiting us (TOO_MANY_REQUESTS or HTTP 429) and retries ran out."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class FormNotFound(PlatformRejected):
    """The charting form named in settings does not exist or has no text question."""


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


@dataclass(frozen=True, slots=True)
class ApiWarning:
    """One `extensions.warnings` entry as Healthie sent it (no chart content in these)."""

    code: str
    message: str
    requested_version: str | None
    sunset_date: str | None
    latest_version: str | None
    last_seen: datetime


class ApiWarnings:
    """The warnings Healthie attaches to its answers, latest per code.

    Healthie repeats them on every response; the log gets each code once per UTC day.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._latest: dict[str, ApiWarning] = {}
        self._logged_on: dict[str, date] = {}

    def record(self, warnings: object) -> None:
        if not isinstance(warnings, list):
            return
        now = self._clock.now()
        for entry in warnings:
            if not isinstance(entry, dict) or not entry.get("code"):
                continue
            warning = ApiWarning(
                code=str(entry["code"])[:80],
                message=str(entry.get("message") or "")[:300],
                requested_version=_optional_str(entry.get("requested_version")),
                sunset_date=_optional_str(entry.get("sunset_date")),
                latest_version=_optional_str(entry.get("latest_version")),
                last_seen=now,
            )
            with self._lock:
                self._latest[warning.code] = warning
                first_today = self._logged_on.get(warning.code) != now.date()
                if first_today:
                    self._logged_on[warning.code] = now.date()
            if first_today:
                log.warning(
                    "healthie api warning code=%s sunset_date=%s latest_version=%s: %s",
                    warning.code, warning.sunset_date or "-", warning.latest_version or "-",
                    warning.message,
                )

    def current(self) -> list[ApiWarning]:
        with self._lock:
            return sorted(self._latest.values(), key=lambda w: w.code)


@dataclass(frozen=True, slots=True)
class ChartingForm:
    """A Healthie form template (CustomModuleForm) and the question the bot writes into."""

    id: str
    name: str
    text_question_id: str


@dataclass(frozen=True, slots=True)
class ChartingNote:
    """A filled-out charting form (FormAnswerGroup) in the client's chart."""

    id: str
    name: str
    form_id: str | None
    created_at: datetime | None
    finished: bool
    locked: bool
    signed: bool


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    name: str
    role: str | None

    @property
    def label(self) -> str:
        return f"{self.name} ({self.role})" if self.role else self.name


@dataclass(frozen=True, slots=True)
class WebhookSubscription:
    id: str
    url: str | None
    enabled: bool
    retries: bool
    event_types: tuple[str, ...] = field(default=())


# Question kinds a free text fits in (CustomModule.mod_type).
TEXT_QUESTION_TYPES = frozenset({"textarea", "text"})


# The documents live in healthie_documents (one registry the contract tests check).
APPOINTMENT_QUERY = docs.APPOINTMENT_QUERY
NOTE_QUERY = docs.NOTE_QUERY
USER_QUERY = docs.USER_QUERY
CONVERSATIONS_QUERY = docs.CONVERSATIONS_QUERY
CREATE_CONVERSATION_MUTATION = docs.CREATE_CONVERSATION_MUTATION
CREATE_NOTE_MUTATION = docs.CREATE_NOTE_MUTATION
USER_GROUPS_QUERY = docs.USER_GROUPS_QUERY
MOVE_TO_GROUP_MUTATION = docs.MOVE_TO_GROUP_MUTATION


class HealthieClient:
    """A synchronous GraphQL client for Healthie over one pooled, keep-alive HTTP connection.

    Rate limiting (guides/api-concepts/rate-limits) arrives as a GraphQL error with
    ``extensions.code: TOO_MANY_REQUESTS`` (or, at the edge, HTTP 429): the call is retried
    after a growing pause (``Retry-After`` when given), at most `max_attempts` times and never
    for longer than `max_wait` seconds in all; then `PlatformThrottled` is raised, which the
    webhook answers with 503 + Retry-After so Healthie delivers the event again.

    Every answer's ``extensions.warnings`` (API_VERSION_SUNSET_WARNING,
    MISSING_API_VERSION_HEADER) is kept in `warnings` for `/healthz` and `doctor`, and logged
    at WARNING once per code and UTC day.
    """

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        api_version: str = DEFAULT_API_VERSION,
        timeout: float = DEFAULT_TIMEOUT_SECONDS,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_wait: float = DEFAULT_MAX_WAIT_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
        clock: Clock | None = None,
    ) -> None:
        if not api_url or not api_key:
            raise ValueError("HEALTHIE_API_URL and HEALTHIE_API_KEY are both needed")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._url = api_url
        self._version = api_version
        self._timeout = timeout
        self._max_attempts = max_attempts
        self._max_wait = max_wait
        self._sleep = sleep
        self.warnings = ApiWarnings(clock or SystemClock())
        import httpx

        self._http = httpx.Client(
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Authorization": f"Basic {api_key}",
                "AuthorizationSource": "API",
                "Healthie-GraphQL-API-Version": api_version,
                "User-Agent": "discharge-bot",
            },
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(
                max_connections=10, max_keepalive_connections=4, keepalive_expiry=30.0
            ),
            follow_redirects=False,
        )

    @property
    def api_version(self) -> str:
        return self._version

    def close(self) -> None:
        """Close the pooled connections (the client is not usable afterwards)."""
        self._http.close()

    # --- transport --------------------------------------------------------------------------

    def execute(
        self, operation: str, query: str, variables: Mapping[str, object]
    ) -> dict[str, Any]:
        """POST one GraphQL operation and return its `data`.

        Raises PlatformThrottled after bounded retries on rate limiting, PlatformUnavailable
        for anything else that keeps Healthie from answering.
        """
        body = json.dumps(
            {"operationName": operation, "query": query, "variables": dict(variables)}
        ).encode()
        waited = 0.0
        for attempt in range(1, self._max_attempts + 1):
            try:
                return self._post_once(operation, body)
            except PlatformThrottled as throttled:
                pause = throttled.retry_after or RETRY_BASE_SECONDS * 2 ** (attempt - 1)
                if attempt == self._max_attempts or waited + pause > self._max_wait:
                    log.warning(
                        "healthie operation=%s throttled: gave up after %s attempts (%.1fs)",
                        operation, attempt, waited,
                    )
                    raise
                log.info(
                    "healthie operation=%s throttled: retry %s in %.1fs",
                    operation, attempt + 1, pause,
                )
                self._sleep(pause)
                waited += pause
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _post_once(self, operation: str, body: bytes) -> dict[str, Any]:
        import httpx

        try:
            response = self._http.post(self._url, content=body)
        except httpx.TimeoutException:
            raise PlatformUnavailable(
                f"Healthie {operation}: no answer within {self._timeout:g}s"
            ) from None
        except httpx.HTTPError as exc:
            raise PlatformUnavailable(
                f"Healthie {operation}: unreachable ({type(exc).__name__})"
            ) from None
        if response.status_code == 429:
            raise PlatformThrottled(
                f"Healthie {operation}: HTTP 429", retry_after=_retry_after(response)
            )
        raw = response.content
        if len(raw) > MAX_RESPONSE_BYTES:
            raise PlatformUnavailable(f"Healthie {operation}: answer too large")
        if response.status_code >= 400:
            raise PlatformUnavailable(f"Healthie {operation}: HTTP {response.status_code}")
        try:
            document = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise PlatformUnavailable(f"Healthie {operation}: answer is not JSON") from None
        if not isinstance(document, dict):
            raise PlatformUnavailable(f"Healthie {operation}: answer is not a JSON object")
        extensions = document.get("extensions")
        if isinstance(extensions, dict):
            self.warnings.record(extensions.get("warnings"))
        errors = document.get("errors")
        if errors:
            if _error_codes(errors) & {"TOO_MANY_REQUESTS"}:
                raise PlatformThrottled(
                    f"Healthie {operation}: too many requests", retry_after=_retry_after(response)
                )
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

    def care_team(self, client_id: str, clinician_platform_id: str | None) -> list[Provider]:
        """The client's providers (primary and others) other than this clinician, by name.

        Without the clinician's own id the list cannot leave them out, so it refuses
        (PlatformRejected) rather than name the clinician as "another provider".
        """
        if not clinician_platform_id:
            raise PlatformRejected("the clinician's Healthie id is not known")
        user = self.get_user(client_id)
        if user is None:
            raise PlatformRejected("Healthie does not know this client")
        seen: set[str] = {clinician_platform_id}
        team: list[Provider] = []
        for provider_id in (user.dietitian_id, *user.other_provider_ids):
            if not provider_id or provider_id in seen:
                continue
            seen.add(provider_id)
            team.append(self.get_provider(provider_id) or Provider(provider_id, "a provider", None))
        return team

    def other_providers(self, client_id: str, clinician_platform_id: str | None) -> list[str]:
        """`care_team` as labels for the checklist: "Name (role)"."""
        return [p.label for p in self.care_team(client_id, clinician_platform_id)]

    def get_provider(self, provider_id: str) -> Provider | None:
        data = self.execute("DischargeBotProvider", docs.PROVIDER_QUERY, {"id": provider_id})
        record = data.get("user")
        if not isinstance(record, dict):
            return None
        name = _optional_str(record.get("full_name")) or " ".join(
            part for part in (_optional_str(record.get("first_name")),
                              _optional_str(record.get("last_name"))) if part
        )
        membership = _as_dict(record.get("organization_membership"))
        role = (
            _optional_str(membership.get("title"))
            or _optional_str(record.get("qualifications"))
            or _optional_str(membership.get("org_role"))
        )
        return Provider(str(record.get("id") or provider_id), name or "a provider", role)

    def find_member_id_by_email(self, email: str) -> str | None:
        """The organization member (staff) whose email is exactly `email`, any case."""
        wanted = email.strip().lower()
        if not wanted:
            return None
        for node in self._pages(
            "DischargeBotOrganizationMembers", docs.ORGANIZATION_MEMBERS_QUERY,
            {"keywords": wanted}, "organizationMembers",
        ):
            if str(node.get("email") or "").strip().lower() == wanted and node.get("id"):
                return str(node["id"])
        return None

    def last_occurred_session(
        self, client_id: str, provider_id: str | None, *, before: datetime
    ) -> datetime | None:
        """The date of the client's last appointment marked Occurred (with this provider)."""
        data = self.execute(
            "DischargeBotLastOccurredAppointment",
            docs.LAST_OCCURRED_APPOINTMENT_QUERY,
            {"user_id": client_id, "provider_id": provider_id,
             "before": before.astimezone(UTC).isoformat()},
        )
        connection = _as_dict(data.get("appointments"))
        latest: datetime | None = None
        for node in connection.get("nodes") or []:
            if not isinstance(node, dict) or node.get("pm_status") != "Occurred":
                continue
            when = parse_healthie_datetime(node.get("date"))
            if when is not None and when <= before and (latest is None or when > latest):
                latest = when
        return latest

    # --- charting notes ----------------------------------------------------------------------

    def find_form(self, *, form_id: str | None, name: str) -> ChartingForm:
        """The form template by id (when configured) or by exact name, with its text question."""
        if form_id:
            data = self.execute("DischargeBotForm", docs.FORM_QUERY, {"id": form_id})
            record = data.get("customModuleForm")
            if not isinstance(record, dict) or record.get("deleted_at"):
                raise FormNotFound(f"Healthie has no form with id {form_id}")
            return _charting_form(record)
        data = self.execute("DischargeBotFormsByName", docs.FORMS_BY_NAME_QUERY, {"keywords": name})
        connection = _as_dict(data.get("customModuleForms"))
        matches = [
            node for node in connection.get("nodes") or []
            if isinstance(node, dict) and not node.get("deleted_at")
            and str(node.get("name") or "").strip().lower() == name.strip().lower()
        ]
        if not matches:
            raise FormNotFound(f"Healthie has no form named exactly {name!r}")
        if len(matches) > 1:
            raise FormNotFound(f"Healthie has {len(matches)} forms named {name!r}; set its id")
        return _charting_form(matches[0])

    def create_charting_note(
        self, client_id: str, form: ChartingForm, text: str, *, dated: datetime,
        finished: bool = True,
    ) -> str:
        """Write `text` into the form's text question as a note in the client's chart.

        `finished: true` makes it appear in the chart; a note is never locked by the bot, so
        the clinician can still read, correct and sign it.
        """
        if not text.strip():
            raise ValueError("refusing to write an empty note")
        data = self.execute(
            "DischargeBotCreateChartingNote",
            docs.CREATE_CHARTING_NOTE_MUTATION,
            {
                "custom_module_form_id": form.id,
                "user_id": client_id,
                "finished": finished,
                "date": dated.astimezone(UTC).isoformat(),
                "form_answers": [
                    {
                        "custom_module_id": form.text_question_id,
                        "answer": html.escape(text, quote=False),
                        "user_id": client_id,
                    }
                ],
            },
        )
        payload = _mutation_payload(data, "createFormAnswerGroup")
        group = payload.get("form_answer_group")
        if not isinstance(group, dict) or not group.get("id"):
            raise PlatformRejected("Healthie createFormAnswerGroup: no note was created")
        return str(group["id"])

    def charting_notes(self, client_id: str) -> list[ChartingNote]:
        """Every charting note in the client's chart, newest first."""
        notes = []
        for node in self._pages(
            "DischargeBotChartingNotes", docs.CHARTING_NOTES_QUERY, {"user_id": client_id},
            "formAnswerGroups",
        ):
            if not node.get("id"):
                continue
            form = _as_dict(node.get("custom_module_form"))
            notes.append(ChartingNote(
                id=str(node["id"]),
                name=str(node.get("name") or form.get("name") or "Charting note")[:120],
                form_id=_id(form.get("id")),
                created_at=parse_healthie_datetime(node.get("created_at")),
                finished=node.get("finished") is True,
                locked=node.get("is_locked") is True,
                signed=bool(node.get("form_answer_group_signings")),
            ))
        return notes

    def charting_note_client(self, note_id: str) -> str | None:
        """The client whose chart holds the charting note (FormAnswerGroup) `note_id`."""
        data = self.execute("DischargeBotFormAnswerGroup", docs.FORM_ANSWER_GROUP_QUERY,
                            {"id": note_id})
        return _id(_as_dict(data.get("formAnswerGroup")).get("user_id"))

    # --- for doctor -------------------------------------------------------------------------

    def current_user_id(self) -> str | None:
        data = self.execute("DischargeBotCurrentUser", docs.CURRENT_USER_QUERY, {})
        return _id(_as_dict(data.get("currentUser")).get("id"))

    def webhooks(self) -> list[WebhookSubscription]:
        data = self.execute("DischargeBotWebhooks", docs.WEBHOOKS_QUERY, {})
        result = []
        for node in _as_dict(data.get("webhooks")).get("nodes") or []:
            if not isinstance(node, dict) or not node.get("id"):
                continue
            types = {str(node["event_type"])} if node.get("event_type") else set()
            for event in node.get("webhook_events") or []:
                if isinstance(event, dict) and event.get("event_type"):
                    types.add(str(event["event_type"]))
            result.append(WebhookSubscription(
                id=str(node["id"]),
                url=_optional_str(node.get("url")),
                enabled=node.get("is_enabled") is True,
                retries=node.get("should_retry") is True,
                event_types=tuple(sorted(types)),
            ))
        return result

    def _pages(
        self, operation: str, query: str, variables: Mapping[str, object], root: str
    ) -> list[dict[str, Any]]:
        """All nodes of a cursor-paginated connection (at most MAX_PAGES pages)."""
        nodes: list[dict[str, Any]] = []
        after: str | None = None
        for _page in range(MAX_PAGES):
            data = self.execute(operation, query, {**variables, "after": after})
            connection = _as_dict(data.get(root))
            nodes.extend(n for n in connection.get("nodes") or [] if isinstance(n, dict))
            info = _as_dict(connection.get("page_info"))
            after = _optional_str(info.get("end_cursor"))
            if info.get("has_next_page") is not True or after is None:
                return nodes
        log.warning("healthie operation=%s: stopped after %s pages", operation, MAX_PAGES)
        return nodes

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
    clock: Clock | None = None,
) -> HealthieClient | None:
    """The client when the adapter is on (HEALTHIE_API_URL and HEALTHIE_API_KEY set), else None."""
    if not settings.healthie_api_url or settings.healthie_api_key is None:
        return None
    return HealthieClient(
        settings.healthie_api_url,
        settings.healthie_api_key.get_secret_value(),
        api_version=api_version,
        timeout=timeout,
        clock=clock,
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


def _charting_form(record: Mapping[str, Any]) -> ChartingForm:
    questions = sorted(
        (m for m in record.get("custom_modules") or [] if isinstance(m, dict)),
        key=lambda m: (m.get("position") is None, m.get("position") or 0),
    )
    text = next(
        (q for q in questions
         if str(q.get("mod_type") or "") in TEXT_QUESTION_TYPES and q.get("id")),
        None,
    )
    name = str(record.get("name") or "")
    if text is None:
        raise FormNotFound(f"Healthie form {name!r} has no text question to write into")
    return ChartingForm(id=str(record["id"]), name=name, text_question_id=str(text["id"]))


def _error_codes(errors: object) -> set[str]:
    codes = set()
    for error in errors if isinstance(errors, list) else []:
        extensions = error.get("extensions") if isinstance(error, dict) else None
        if isinstance(extensions, dict) and extensions.get("code"):
            codes.add(str(extensions["code"]))
    return codes


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    try:
        seconds = float(value)
    except ValueError:
        return None
    return min(max(seconds, 0.0), 60.0)


def _optional_str(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


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

"""A fake Healthie for tests: a loopback GraphQL endpoint and a webhook sender.

The GraphQL side is as strict as Healthie's server about what it accepts: every document is
parsed and validated against Healthie's published schema (tests/contracts/), the operation
named by ``operationName`` must exist, and the variables are coerced against the schema's
input types. Anything invalid is answered the way the real server answers it (HTTP 200, an
``errors`` array with messages, locations and ``extensions.code``, no ``data``), so a test
cannot pass on a document Healthie would refuse; `schema_errors` keeps them for asserts.

Valid operations are answered from a small in-memory state (dispatched on the root field),
after the auth headers Healthie requires are checked. Versions before 2026-07-01 and a missing
version header get Healthie's ``extensions.warnings`` (guides/api-concepts/versioning). The fake
can be told to fail: GraphQL ``errors``, HTTP 500, rate limiting (TOO_MANY_REQUESTS), or hang
past the client's timeout. The sender signs and posts webhooks the way Healthie does
(Content-Digest, Signature over "method path query digest application/json length").
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from graphql import GraphQLError, GraphQLSchema, OperationDefinitionNode, build_schema, parse
from graphql import validate as validate_document
from graphql.execution.values import get_variable_values

API_KEY = "test-healthie-key"
API_VERSION = "2026-07-01"
SCHEMA_PATH = Path(__file__).resolve().parent.parent / "contracts" / "healthie-schema-2026-01-01.graphql"
# Healthie's versions (guides/api-concepts/versioning, changelog); before 2026-07-01 they are
# deprecated and sunset on 2027-01-31. A missing header falls back to the 2024-06-01 baseline.
KNOWN_VERSIONS = frozenset({"2024-06-01", "2025-01-01", "2025-07-01", "2025-10-15",
                            "2026-01-01", "2026-07-01"})
CURRENT_VERSION = "2026-07-01"
BASELINE_VERSION = "2024-06-01"
SUNSET_DATE = "2027-01-31"


@cache
def healthie_schema() -> GraphQLSchema:
    """Healthie's published schema, built once per test session (about 0.7 s)."""
    return build_schema(SCHEMA_PATH.read_text(encoding="utf-8"))


def schema_errors_for(
    query: str, variables: dict[str, Any] | None, operation_name: str | None
) -> list[dict[str, Any]]:
    """What Healthie's server says about a request before running it; [] when it is valid."""
    schema = healthie_schema()
    try:
        document = parse(query)
    except GraphQLError as error:
        return [_error_json(error, "parseError")]
    invalid = validate_document(schema, document)
    if invalid:
        return [_error_json(error, "validationError") for error in invalid]
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        chosen = [o for o in operations if o.name and o.name.value == operation_name]
    else:
        chosen = operations if len(operations) == 1 else []
    if len(chosen) != 1:
        return [{"message": f"No operation named \"{operation_name}\"" if operation_name
                 else "An operation name is required", "extensions": {"code": "operationNotFound"}}]
    coerced = get_variable_values(
        schema, chosen[0].variable_definitions or (), variables or {}, max_errors=20
    )
    if isinstance(coerced, list):
        return [_error_json(error, "variableMismatch") for error in coerced]
    return []


def _error_json(error: GraphQLError, code: str) -> dict[str, Any]:
    shaped: dict[str, Any] = {"message": error.message}
    if error.locations:
        shaped["locations"] = [{"line": loc.line, "column": loc.column}
                               for loc in error.locations]
    shaped["extensions"] = {"code": code}
    return shaped


def version_warnings(requested: str | None) -> list[dict[str, Any]]:
    """Healthie's extensions.warnings for a request on `requested` (None: header missing)."""
    warnings: list[dict[str, Any]] = []
    effective = requested or BASELINE_VERSION
    if requested is None:
        warnings.append({
            "code": "MISSING_API_VERSION_HEADER",
            "message": "No Healthie-GraphQL-API-Version header was sent. Defaulting to baseline "
                       f"version {BASELINE_VERSION}. This fallback will be removed on "
                       f"{SUNSET_DATE}; please include the header in all requests.",
            "latest_version": CURRENT_VERSION,
        })
    if effective < CURRENT_VERSION:
        warnings.append({
            "code": "API_VERSION_SUNSET_WARNING",
            "message": f"API version {effective} is deprecated and will be sunset on "
                       f"{SUNSET_DATE}. Please upgrade to a supported version.",
            "requested_version": effective,
            "sunset_date": SUNSET_DATE,
            "latest_version": CURRENT_VERSION,
        })
    return warnings


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


@dataclass
class Call:
    operation: str | None
    root_field: str
    variables: dict[str, Any]
    headers: dict[str, str]


@dataclass
class FakeHealthieState:
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # id -> name
    appointments: dict[str, dict[str, Any]] = field(default_factory=dict)
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    forms: dict[str, dict[str, Any]] = field(default_factory=dict)
    charting_notes: dict[str, dict[str, Any]] = field(default_factory=dict)
    webhooks: dict[str, dict[str, Any]] = field(default_factory=dict)
    api_user_id: str = "service-account"


class FakeHealthie:
    """Start with `start()` (port 0 on 127.0.0.1), point HealthieClient at `url`."""

    def __init__(self, *, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.state = FakeHealthieState()
        self.calls: list[Call] = []
        self.schema_errors: list[dict[str, Any]] = []
        self.connections: set[tuple[str, int]] = set()  # client (host, port) pairs seen
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(9000)
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeHealthie:
        healthie_schema()  # built before the first request, not inside a client's timeout
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Healthie's edge does
            disable_nagle_algorithm = True  # headers and body leave at once, as a server's do

            def do_POST(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/graphql"

    # --- test controls --------------------------------------------------------------------

    def fail_next(self, kind: str, times: int = 1) -> None:
        """Make the next `times` calls fail.

        'graphql_error', 'http_500', 'hang' (past the client's timeout), 'throttled' (Healthie's
        TOO_MANY_REQUESTS GraphQL error) or 'http_429'.
        """
        assert kind in {"graphql_error", "http_500", "hang", "throttled", "http_429"}
        with self._lock:
            self._failures.extend([kind] * times)

    def calls_to(self, root_field: str) -> list[Call]:
        return [c for c in self.calls if c.root_field == root_field]

    def new_id(self) -> str:
        return str(next(self._ids))

    def add_user(
        self,
        user_id: str,
        *,
        is_patient: bool = True,
        dietitian_id: str | None = None,
        other_provider_ids: list[str] | None = None,
        user_group_id: str | None = None,
        updated_at: datetime | None = None,
        full_name: str | None = None,
        email: str | None = None,
        title: str | None = None,
        qualifications: str | None = None,
    ) -> None:
        first, _, last = (full_name or "").partition(" ")
        self.state.users[user_id] = {
            "id": user_id,
            "is_patient": is_patient,
            "full_name": full_name,
            "first_name": first or None,
            "last_name": last or None,
            "email": email,
            "qualifications": qualifications,
            "organization_membership": None if is_patient else {"title": title,
                                                                "org_role": "Standard"},
            "dietitian_id": dietitian_id,
            "other_provider_ids": other_provider_ids or [],
            "user_group_id": user_group_id,
            "doc_share_id": f"user-{user_id}",
            "updated_at": iso(updated_at or datetime(2025, 1, 1, tzinfo=UTC)),
        }

    def add_form(
        self, form_id: str, name: str, *, questions: list[tuple[str, str, str]],
        use_for_charting: bool = True,
    ) -> None:
        """A form template; `questions` are (custom_module id, mod_type, label) in order."""
        self.state.forms[form_id] = {
            "id": form_id, "name": name, "use_for_charting": use_for_charting,
            "deleted_at": None,
            "custom_modules": [
                {"id": qid, "mod_type": kind, "label": label, "position": float(index)}
                for index, (qid, kind, label) in enumerate(questions)
            ],
        }

    def add_charting_note(
        self, note_id: str, *, client_id: str, form_id: str, created_at: datetime,
        locked: bool = False, signed: bool = False, name: str | None = None,
    ) -> None:
        self.state.charting_notes[note_id] = {
            "id": note_id, "user_id": client_id, "custom_module_form_id": form_id,
            "name": name or self.state.forms[form_id]["name"], "finished": True,
            "created_at": iso(created_at), "date": iso(created_at), "is_locked": locked,
            "locked_at": iso(created_at) if locked else None,
            "signings": [{"id": f"s{note_id}"}] if signed else [], "answers": [],
        }

    def lock_note(self, note_id: str, *, signed: bool = True) -> None:
        note = self.state.charting_notes[note_id]
        note["is_locked"] = True
        note["locked_at"] = note["created_at"]
        if signed:
            note["signings"] = [{"id": f"s{note_id}"}]

    def add_webhook(
        self, webhook_id: str, *, url: str, event_types: list[str], should_retry: bool = False,
        is_enabled: bool = True,
    ) -> None:
        self.state.webhooks[webhook_id] = {
            "id": webhook_id, "url": url, "is_enabled": is_enabled,
            "should_retry": should_retry, "event_types": list(event_types),
        }

    def add_group(self, group_id: str, name: str) -> None:
        self.state.groups[group_id] = name

    def set_group(self, user_id: str, group_id: str | None, *, updated_at: datetime) -> None:
        self.state.users[user_id]["user_group_id"] = group_id
        self.state.users[user_id]["updated_at"] = iso(updated_at)

    def add_appointment(
        self,
        appointment_id: str,
        *,
        client_id: str | None,
        provider_id: str,
        date: datetime,
        pm_status: str | None = None,
        pm_status_changed_at: datetime | None = None,
        created_at: datetime | None = None,
        deleted_at: datetime | None = None,
    ) -> None:
        self.state.appointments[appointment_id] = {
            "id": appointment_id,
            "user_id": client_id,
            "provider": {"id": provider_id},
            "attendees": [{"id": client_id}] if client_id else [],
            "date": iso(date),
            "pm_status": pm_status or "",
            "pm_status_changed_at": iso(pm_status_changed_at) if pm_status_changed_at else None,
            "created_at": iso(created_at or date),
            "updated_at": iso(pm_status_changed_at or created_at or date),
            "deleted_at": iso(deleted_at) if deleted_at else None,
        }

    def add_conversation(
        self, conversation_id: str, *, owner_id: str, member_ids: list[str]
    ) -> None:
        self.state.conversations[conversation_id] = {
            "id": conversation_id,
            "owner_id": owner_id,
            "member_ids": list(member_ids),
        }

    def add_note(
        self,
        note_id: str,
        *,
        conversation_id: str,
        creator_id: str,
        content: str,
        created_at: datetime,
        is_autoresponse: bool = False,
    ) -> None:
        self.state.notes[note_id] = {
            "id": note_id,
            "conversation_id": conversation_id,
            "creator_id": creator_id,
            "content": content,
            "created_at": iso(created_at),
            "is_autoresponse": is_autoresponse,
        }

    # --- HTTP -----------------------------------------------------------------------------

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length)
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
            self.connections.add(request.client_address)
        if failure == "hang":
            self._release.wait(10)
            return
        if failure == "http_500":
            self._reply(request, 500, {"error": "Internal Server Error"})
            return
        if failure == "http_429":
            self._reply(request, 429, {"errors": [{"message": "Too many requests"}]},
                        extra_headers={"Retry-After": "2"})
            return
        if headers.get("authorization") != f"Basic {self.api_key}" or headers.get(
            "authorizationsource"
        ) != "API":
            self._reply(request, 401, {"errors": [{"message": "Unauthorized"}]})
            return
        version = headers.get("healthie-graphql-api-version")
        if version is not None and version not in KNOWN_VERSIONS:
            self._reply(request, 200, {"errors": [{
                "message": f"API version '{version}' is not a recognized Healthie release date.",
                "extensions": {"code": "UNSUPPORTED_API_VERSION"}}]})
            return
        extensions = {"warnings": version_warnings(version)} if version_warnings(version) else None
        document = json.loads(raw)
        query = document["query"]
        variables = document.get("variables") or {}
        operation = document.get("operationName")
        invalid = schema_errors_for(query, variables, operation)
        if invalid:
            with self._lock:
                self.schema_errors.extend(invalid)
            self._reply(request, 200, {"errors": invalid})
            return
        root = _root_field(query)
        with self._lock:
            self.calls.append(Call(operation, root, variables, headers))
        if failure == "graphql_error":
            self._reply(request, 200, {"data": None, "errors": [
                {"message": "Something went wrong", "extensions": {"code": "INTERNAL"}}]})
            return
        if failure == "throttled":
            self._reply(request, 200, {"errors": [{
                "message": "Too many requests. Please try again later.",
                "extensions": {"code": "TOO_MANY_REQUESTS"}}]})
            return
        resolver = getattr(self, f"_resolve_{root}", None)
        if resolver is None:
            raise AssertionError(f"the fake Healthie has no resolver for {root}; add one")
        with self._lock:
            data = resolver(variables)
        answer: dict[str, Any] = {"data": {root: data}}
        if extensions:
            answer["extensions"] = extensions
        self._reply(request, 200, answer)

    @staticmethod
    def _reply(
        request: BaseHTTPRequestHandler, status: int, payload: object,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        body = json.dumps(payload).encode()
        try:
            request.send_response(status)
            for name, value in (extra_headers or {}).items():
                request.send_header(name, value)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # --- resolvers (one per root field the adapter uses) ----------------------------------

    def _user_view(self, user_id: str | None) -> dict[str, Any] | None:
        user = self.state.users.get(str(user_id)) if user_id is not None else None
        if user is None:
            return None
        group_id = user["user_group_id"]
        group = {"id": group_id, "name": self.state.groups[group_id]} if group_id else None
        return {**user, "user_group": group}

    def _resolve_appointment(self, variables: dict[str, Any]) -> dict[str, Any] | None:
        return self.state.appointments.get(str(variables.get("id")))

    def _resolve_note(self, variables: dict[str, Any]) -> dict[str, Any] | None:
        note = self.state.notes.get(str(variables.get("id")))
        if note is None:
            return None
        creator = self.state.users.get(note["creator_id"], {"id": note["creator_id"]})
        return {
            **{k: v for k, v in note.items() if k != "creator_id"},
            "user_id": note["creator_id"],
            "creator": {"id": creator["id"], "is_patient": creator.get("is_patient", False)},
        }

    def _resolve_user(self, variables: dict[str, Any]) -> dict[str, Any] | None:
        return self._user_view(variables.get("id"))

    def _resolve_conversationMemberships(self, variables: dict[str, Any]) -> dict[str, Any]:
        client_id = variables.get("client_id")
        provider_id = variables.get("provider_id")
        nodes = []
        for convo in self.state.conversations.values():
            members = set(convo["member_ids"]) | {convo["owner_id"]}
            if client_id and client_id not in members:
                continue
            if provider_id and provider_id not in members:
                continue
            patients = [m for m in members if self.state.users.get(m, {}).get("is_patient")]
            nodes.append({"convo": {"id": convo["id"],
                                    "includes_multiple_clients": len(patients) > 1}})
        return {"nodes": nodes}

    def _resolve_createConversation(self, variables: dict[str, Any]) -> dict[str, Any]:
        owner = variables.get("owner_id") or "service-account"
        added = [u.removeprefix("user-") for u in (variables.get("simple_added_users") or "")
                 .split(",") if u.startswith("user-")]
        conversation_id = self.new_id()
        self.add_conversation(conversation_id, owner_id=owner, member_ids=added)
        return {"conversation": {"id": conversation_id}, "messages": []}

    def _resolve_createNote(self, variables: dict[str, Any]) -> dict[str, Any]:
        conversation_id = str(variables.get("conversation_id"))
        if conversation_id not in self.state.conversations:
            return {"note": None, "messages": [{"field": "conversation_id",
                                                "message": "not found"}]}
        note_id = self.new_id()
        self.state.notes[note_id] = {
            "id": note_id,
            "conversation_id": conversation_id,
            "creator_id": "service-account",
            "content": variables.get("content"),
            "created_at": iso(datetime.now(UTC)),
            "is_autoresponse": False,
        }
        return {"note": {"id": note_id}, "messages": []}

    def _resolve_userGroups(self, variables: dict[str, Any]) -> dict[str, Any]:
        keywords = (variables.get("keywords") or "").lower()
        nodes = [{"id": gid, "name": name} for gid, name in self.state.groups.items()
                 if keywords in name.lower()]
        return {"nodes": nodes}

    def _resolve_updateClient(self, variables: dict[str, Any]) -> dict[str, Any]:
        user_id = str(variables.get("id"))
        if user_id not in self.state.users:
            return {"user": None, "messages": [{"field": "id", "message": "not found"}]}
        group_id = variables.get("user_group_id")
        if group_id and group_id not in self.state.groups:
            return {"user": None, "messages": [{"field": "user_group_id",
                                                "message": "not found"}]}
        self.state.users[user_id]["user_group_id"] = group_id or None
        return {"user": {"id": user_id, "user_group_id": group_id}, "messages": []}


    # --- charting, care team, calendar, doctor ------------------------------------------

    def _form_view(self, form: dict[str, Any]) -> dict[str, Any]:
        return {k: form[k] for k in ("id", "name", "use_for_charting", "deleted_at",
                                     "custom_modules")}

    def _resolve_customModuleForm(self, variables: dict[str, Any]) -> dict[str, Any] | None:
        form = self.state.forms.get(str(variables.get("id")))
        return self._form_view(form) if form else None

    def _resolve_customModuleForms(self, variables: dict[str, Any]) -> dict[str, Any]:
        keywords = (variables.get("keywords") or "").lower()
        return {"nodes": [self._form_view(f) for f in self.state.forms.values()
                          if keywords in f["name"].lower()]}

    def _resolve_createFormAnswerGroup(self, variables: dict[str, Any]) -> dict[str, Any]:
        form = self.state.forms.get(str(variables.get("custom_module_form_id")))
        user_id = str(variables.get("user_id"))
        if form is None:
            return {"form_answer_group": None,
                    "messages": [{"field": "custom_module_form_id", "message": "not found"}]}
        if user_id not in self.state.users:
            return {"form_answer_group": None,
                    "messages": [{"field": "user_id", "message": "not found"}]}
        question_ids = {m["id"] for m in form["custom_modules"]}
        answers = variables.get("form_answers") or []
        for answer in answers:
            if answer.get("custom_module_id") not in question_ids:
                return {"form_answer_group": None, "messages": [
                    {"field": "custom_module_id", "message": "is not a question of this form"}]}
            if str(answer.get("user_id")) != user_id:
                return {"form_answer_group": None, "messages": [
                    {"field": "user_id", "message": "answers must belong to the form's user"}]}
        note_id = self.new_id()
        now = iso(datetime.now(UTC))
        self.state.charting_notes[note_id] = {
            "id": note_id, "user_id": user_id, "custom_module_form_id": form["id"],
            "name": form["name"], "finished": variables.get("finished") is True,
            "created_at": now, "date": variables.get("date") or now, "is_locked": False,
            "locked_at": None, "signings": [],
            "answers": [{"custom_module_id": a["custom_module_id"], "answer": a.get("answer")}
                        for a in answers],
        }
        return {"form_answer_group": {"id": note_id,
                                      "finished": variables.get("finished") is True,
                                      "is_locked": False},
                "messages": []}

    def _resolve_formAnswerGroups(self, variables: dict[str, Any]) -> dict[str, Any]:
        user_id = str(variables.get("user_id"))
        nodes = []
        for note in sorted(self.state.charting_notes.values(),
                           key=lambda n: n["created_at"], reverse=True):
            form = self.state.forms.get(note["custom_module_form_id"], {})
            if note["user_id"] != user_id or not note["finished"]:
                continue  # unfinished notes are only found by id (guides/filled_out_forms)
            if variables.get("use_for_charting") and not form.get("use_for_charting"):
                continue
            nodes.append({
                "id": note["id"], "name": note["name"], "created_at": note["created_at"],
                "finished": note["finished"], "is_locked": note["is_locked"],
                "locked_at": note["locked_at"],
                "custom_module_form": {"id": form.get("id"), "name": form.get("name")},
                "form_answer_group_signings": note["signings"], "appointment": None,
            })
        return self._page(nodes, variables)

    def _resolve_formAnswerGroup(self, variables: dict[str, Any]) -> dict[str, Any] | None:
        note = self.state.charting_notes.get(str(variables.get("id")))
        return {"id": note["id"], "user_id": note["user_id"]} if note else None

    def _resolve_organizationMembers(self, variables: dict[str, Any]) -> dict[str, Any]:
        keywords = (variables.get("keywords") or "").lower()
        nodes = [
            {"id": u["id"], "email": u.get("email"), "full_name": u.get("full_name")}
            for u in self.state.users.values()
            if not u["is_patient"] and keywords in " ".join(
                str(u.get(k) or "") for k in ("email", "full_name")).lower()
        ]
        return self._page(nodes, variables)

    def _resolve_appointments(self, variables: dict[str, Any]) -> dict[str, Any]:
        status = "Occurred"  # the bot's only appointments query names this status
        before = variables.get("before")
        matches = [
            a for a in self.state.appointments.values()
            if a["user_id"] == variables.get("user_id")
            and (not variables.get("provider_id")
                 or a["provider"]["id"] == variables.get("provider_id"))
            and a["pm_status"] == status and not a["deleted_at"]
            and (before is None or a["date"] <= before)
        ]
        matches.sort(key=lambda a: a["date"], reverse=True)
        return {"nodes": [{"id": a["id"], "date": a["date"], "pm_status": a["pm_status"],
                           "user_id": int(a["user_id"]), "provider": a["provider"]}
                          for a in matches[:1]]}

    def _resolve_currentUser(self, variables: dict[str, Any]) -> dict[str, Any]:
        return {"id": self.state.api_user_id}

    def _resolve_webhooks(self, variables: dict[str, Any]) -> dict[str, Any]:
        return {"nodes": [
            {"id": w["id"], "url": w["url"], "is_enabled": w["is_enabled"],
             "should_retry": w["should_retry"], "event_type": _enum(w["event_types"][0]),
             "webhook_events": [{"event_type": _enum(t)} for t in w["event_types"]]}
            for w in self.state.webhooks.values()
        ]}

    @staticmethod
    def _page(nodes: list[dict[str, Any]], variables: dict[str, Any]) -> dict[str, Any]:
        """Cursor pagination as Healthie's connections do it: `first`, `after`, page_info."""
        size = int(variables.get("first") or 100)
        start = int(variables["after"]) if variables.get("after") else 0
        page = nodes[start:start + size]
        has_next = start + size < len(nodes)
        return {"nodes": page,
                "page_info": {"has_next_page": has_next,
                              "end_cursor": str(start + size) if has_next else None}}


def _enum(event: str) -> str:
    """appointment.created -> APPOINTMENT_CREATED, as WebhookEventType serializes."""
    return event.replace(".", "_").upper()


def _root_field(query: str) -> str:
    """The first field inside the operation's selection set: `query X($a: ID) { user(...`."""
    depth, start = 0, None
    for index, char in enumerate(query):
        if char == "(" and start is None:
            depth += 1
        elif char == ")" and start is None:
            depth -= 1
        elif char == "{" and depth == 0:
            start = index + 1
            break
    match = re.match(r"\s*(\w+)", query[start or 0:])
    return match.group(1) if match else ""


# --- the webhook sender ------------------------------------------------------------------------


def content_digest(body: bytes, *, style: str = "rfc") -> str:
    """'rfc': ``sha-256=:b64:`` (RFC 9530); 'bare': ``sha-256=b64``."""
    encoded = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return f"sha-256=:{encoded}:" if style == "rfc" else f"sha-256={encoded}"


def healthie_signature(
    secret: str, *, method: str, path: str, query: str, digest_value: str, length: int
) -> str:
    data = f"{method.lower()} {path} {query} {digest_value} application/json {length}"
    return "sig1=" + hmac.new(secret.encode(), data.encode(), hashlib.sha256).hexdigest()


@dataclass
class WebhookReply:
    status: int
    body: dict[str, Any]


class HealthieWebhookSender:
    """Signs and posts webhooks as Healthie does, to `url`.

    `signed_path` is the path Healthie believes it calls (a proxy may strip a prefix before
    our server sees it); it defaults to the URL's own path.
    """

    def __init__(self, secret: str, url: str, *, signed_path: str | None = None) -> None:
        self.secret = secret
        self.url = url
        parts = urlsplit(url)
        self.path = signed_path or parts.path
        self.query = parts.query

    def send(
        self,
        payload: dict[str, Any] | bytes,
        *,
        secret: str | None = None,
        digest_style: str = "rfc",
        tamper_body: bytes | None = None,
        digest_override: str | None = None,
        omit: tuple[str, ...] = (),
    ) -> WebhookReply:
        body = payload if isinstance(payload, bytes) else json.dumps(
            payload, separators=(",", ":")).encode()
        digest = digest_override or content_digest(body, style=digest_style)
        digest_value = digest.split("=", 1)[1]
        signature = healthie_signature(
            secret or self.secret, method="POST", path=self.path, query=self.query,
            digest_value=digest_value, length=len(body),
        )
        sent = tamper_body if tamper_body is not None else body
        headers = {
            "Content-Type": "application/json",
            "Content-Digest": digest,
            "Signature-Input": 'sig1=("@method" "@path" "@query" "content-digest" '
                               '"content-type" "content-length")',
            "Signature": signature,
            "Content-Length": str(len(sent)),
        }
        for name in omit:
            headers.pop(name, None)
        return post(self.url, sent, headers)

    def event(self, event_type: str, resource_id: str, *, resource_type: str,
              changed_fields: list[str] | None = None) -> WebhookReply:
        return self.send({
            "resource_id": resource_id,
            "resource_id_type": resource_type,
            "event_type": event_type,
            "changed_fields": changed_fields or [],
        })


def post(url: str, body: bytes, headers: dict[str, str]) -> WebhookReply:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("POST", target, body=body, headers=headers)
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        parsed = json.loads(raw) if raw else {}
    except json.JSONDecodeError:
        parsed = {"raw": raw.decode(errors="replace")}
    return WebhookReply(response.status, parsed)

"""A fake Healthie for tests: a loopback GraphQL endpoint and a webhook sender.

The GraphQL side answers the operations the adapter sends (dispatched on the root field of
the query), from a small in-memory state, checks the auth headers Healthie requires, records
every call, and can be told to fail: GraphQL ``errors``, HTTP 500, or hang past the client's
timeout. The sender signs and posts webhooks the way Healthie does (Content-Digest,
Signature over "method path query digest application/json length", Content-Length).
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
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

API_KEY = "test-healthie-key"
API_VERSION = "2026-01-01"


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


class FakeHealthie:
    """Start with `start()` (port 0 on 127.0.0.1), point HealthieClient at `url`."""

    def __init__(self, *, api_key: str = API_KEY) -> None:
        self.api_key = api_key
        self.state = FakeHealthieState()
        self.calls: list[Call] = []
        self._failures: list[str] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(9000)
        self._release = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> FakeHealthie:
        fake = self

        class Handler(BaseHTTPRequestHandler):
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
        """Make the next `times` calls fail: 'graphql_error', 'http_500' or 'hang'."""
        assert kind in {"graphql_error", "http_500", "hang"}
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
    ) -> None:
        self.state.users[user_id] = {
            "id": user_id,
            "is_patient": is_patient,
            "dietitian_id": dietitian_id,
            "other_provider_ids": other_provider_ids or [],
            "user_group_id": user_group_id,
            "doc_share_id": f"user-{user_id}",
            "updated_at": iso(updated_at or datetime(2025, 1, 1, tzinfo=UTC)),
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
        if failure == "hang":
            self._release.wait(10)
            return
        if failure == "http_500":
            self._reply(request, 500, {"error": "Internal Server Error"})
            return
        if headers.get("authorization") != f"Basic {self.api_key}" or headers.get(
            "authorizationsource"
        ) != "API":
            self._reply(request, 401, {"errors": [{"message": "Unauthorized"}]})
            return
        if not headers.get("healthie-graphql-api-version"):
            self._reply(request, 400, {"errors": [{"message": "missing version header"}]})
            return
        document = json.loads(raw)
        query = document["query"]
        variables = document.get("variables") or {}
        root = _root_field(query)
        with self._lock:
            self.calls.append(Call(document.get("operationName"), root, variables, headers))
        if failure == "graphql_error":
            self._reply(request, 200, {"data": None, "errors": [
                {"message": "Something went wrong", "extensions": {"code": "INTERNAL"}}]})
            return
        resolver = getattr(self, f"_resolve_{root}", None)
        if resolver is None:
            self._reply(request, 200, {"errors": [{"message": f"unknown field {root}"}]})
            return
        with self._lock:
            data = resolver(variables)
        self._reply(request, 200, {"data": {root: data}})

    @staticmethod
    def _reply(request: BaseHTTPRequestHandler, status: int, payload: object) -> None:
        body = json.dumps(payload).encode()
        try:
            request.send_response(status)
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

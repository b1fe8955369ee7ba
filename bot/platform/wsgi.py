"""Mount the platform webhook handlers in any WSGI server (waitress, wsgiref, a test server).

    app = platform_wsgi_app({
        "/platform/events": functools.partial(handle_generic, secret=..., wall_clock=..., sink=...),
        "/platform/healthie": functools.partial(handle_healthie, secret=..., client=..., ...),
    })

A body whose declared length is over the cap is refused with 413 before it is read, so a
large upload cannot tie up memory; other paths get 404 (the app owner can fall through to
the Slack/health routes with `fallback`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

from bot.platform.events import (
    MAX_BODY_BYTES,
    HttpResponse,
    WebhookError,
    error_response,
    json_response,
)

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    411: "Length Required",
    413: "Content Too Large",
    422: "Unprocessable Content",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class WebhookHandler(Protocol):
    def __call__(
        self, method: str, path: str, query: str, headers: Mapping[str, str], body: bytes
    ) -> HttpResponse: ...


def platform_wsgi_app(
    routes: Mapping[str, WebhookHandler], *, fallback: WsgiApp | None = None
) -> WsgiApp:
    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = request_path(environ)
        handler = routes.get(path.rstrip("/") or "/") or routes.get(path)
        if handler is None:
            if fallback is not None:
                return fallback(environ, start_response)
            return _send(start_response, json_response(404, {"ok": False, "error": "not found"}))
        try:
            body = read_body(environ)
        except WebhookError as refused:
            log.warning(
                "platform webhook path=%s status=%s outcome=%s",
                path,
                refused.status,
                refused.reason,
            )
            return _send(start_response, error_response(refused))
        response = handler(
            environ.get("REQUEST_METHOD", "GET"),
            path,
            environ.get("QUERY_STRING", ""),
            request_headers(environ),
            body,
        )
        return _send(start_response, response)

    return app


def request_path(environ: Mapping[str, Any]) -> str:
    """The path as the client sent it (percent-encoded), which is what Healthie signs."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw.split("?", 1)[0]
    decoded = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    # WSGI hands PATH_INFO over as latin-1-decoded bytes; re-encode it the way it arrived.
    return quote(decoded.encode("latin-1"), safe="/:@!$&'()*+,;=-._~%") or "/"


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = str(value)
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        if environ.get(key):
            headers[key.replace("_", "-").lower()] = str(environ[key])
    return headers


def read_body(environ: Mapping[str, Any], limit: int = MAX_BODY_BYTES) -> bytes:
    declared = str(environ.get("CONTENT_LENGTH") or "").strip()
    if declared and not declared.isdigit():
        raise WebhookError(400, "bad Content-Length")
    length = int(declared) if declared else 0
    if length > limit:
        raise WebhookError(413, f"body over {limit} bytes")
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if not declared and environ.get("wsgi.input_terminated"):
        # A chunked upload the server de-chunked: read at most one byte past the cap.
        chunked: bytes = stream.read(limit + 1)
        if len(chunked) > limit:
            raise WebhookError(413, f"body over {limit} bytes")
        return chunked
    if length == 0:
        return b""
    body: bytes = stream.read(length)
    return body


def _send(start_response: StartResponse, response: HttpResponse) -> list[bytes]:
    status, headers, body = response
    start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
    return [body]

"""The HTTP front: one WSGI app for Slack, the platform webhooks and the health check.

Routes:

* `POST /slack/events` - events, slash commands and interactivity, handed to Bolt through
  `slack_bolt.adapter.wsgi` (Bolt checks the signature and its 5-minute window).
* `GET /healthz` - the health callable's verdict: 200 or 503 with a JSON body.
* extra `POST` routes given by the caller (`/platform/events`, `/platform/healthie`), each a
  plain callable that receives the raw request and returns the raw response.

Every body is capped before it is read (413), and each request leaves one log line with
method, path, status, size and time - never the body or query string, which may carry PHI.

Run it under waitress (`serve_http`), in a background thread for tests (`ServerThread`), or
let Slack traffic arrive over Socket Mode (`run_socket_mode`) while this front still serves
the webhooks and the health check.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any, Protocol
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest

from bot.load import AnswerLoad, process_load
from bot.logging_setup import log_context

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
DEFAULT_MAX_BODY_BYTES = 1024 * 1024
"""Slack's largest payloads (a modal's full state) are far below 1 MiB; webhooks are tiny."""

Headers = Mapping[str, str]


class RouteHandler(Protocol):
    """A raw endpoint such as the platform webhook.

    Receives the method, the path, the raw query string, the request headers (lower-case
    names) and the body as bytes - exactly what a signature check needs. Returns the status,
    the response headers and the body (bytes, or str sent as UTF-8). An exception becomes a
    500 with a reference id in the log; a handler should answer 4xx itself for bad input.
    """

    def __call__(
        self, method: str, path: str, query: str, headers: Headers, body: bytes
    ) -> tuple[int, Headers | Sequence[tuple[str, str]], bytes | str]: ...


SlackLane = Callable[[Headers, bytes], "tuple[int, dict[str, str], bytes] | None"]
"""Answers some Slack requests before Bolt (`bot.slack.door.FastLane`); None passes one on."""

HealthCheck = Callable[[], tuple[bool, Mapping[str, Any]]]
"""Returns (healthy, details); details are shown in the JSON body and must hold no PHI."""


class _TooLarge(Exception):
    pass


class _BadRequest(Exception):
    pass


class HttpFront:
    """The WSGI application built by `create_wsgi_app`."""

    def __init__(
        self,
        *,
        slack_app: App | None,
        routes: Mapping[str, RouteHandler],
        health: HealthCheck | None,
        max_body_bytes: int,
        slack_lane: SlackLane | None = None,
        load: AnswerLoad | None = None,
    ) -> None:
        for path in routes:
            if not path.startswith("/") or path in {SLACK_PATH, HEALTH_PATH}:
                raise ValueError(f"cannot route {path!r}: not a path, or a path this front owns")
        self._slack = SlackRequestHandler(slack_app, path=SLACK_PATH) if slack_app else None
        self._lane = slack_lane if slack_app else None
        self._load = load or process_load()
        self._routes = dict(routes)
        self._health = health
        self._max_body = max_body_bytes

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        with log_context(request_id=uuid.uuid4().hex[:12]):
            return self._serve(environ, start_response)

    def _serve(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = str(environ.get("REQUEST_METHOD", "GET")).upper()
        path = str(environ.get("PATH_INFO", "") or "/")
        size = 0
        try:
            if method == "POST":  # an answer someone waits for (a health probe is not)
                with self._load.answering():
                    status, headers, body, size = self._dispatch(method, path, environ)
            else:
                status, headers, body, size = self._dispatch(method, path, environ)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("unhandled error on %s %s (ref %s)", method, path, ref)
            status, headers, body = _json(500, {"ok": False, "error": "internal_error", "ref": ref})
        log.info(
            "%s %s -> %d (%d bytes in, %.1f ms)",
            method,
            path,
            status,
            size,
            (time.perf_counter() - started) * 1000,
        )
        header_list = [(k, v) for k, v in headers.items() if k.lower() != "content-length"]
        header_list.append(("Content-Length", str(len(body))))
        start_response(_status_line(status), header_list)
        return [] if method == "HEAD" else [body]

    def _dispatch(
        self, method: str, path: str, environ: WSGIEnvironment
    ) -> tuple[int, dict[str, str], bytes, int]:
        if path == HEALTH_PATH:
            if method not in {"GET", "HEAD"}:
                return (*_not_allowed("GET, HEAD"), 0)
            return (*self._check_health(), 0)

        handler = self._routes.get(path)
        if handler is None and not (path == SLACK_PATH and self._slack is not None):
            return (*_json(404, {"ok": False, "error": "not_found"}), 0)
        if method != "POST":
            return (*_not_allowed("POST"), 0)

        try:
            body = self._read_body(environ)
        except _TooLarge:
            return (*_json(413, {"ok": False, "error": "body_too_large"}), 0)
        except _BadRequest as exc:
            return (*_json(400, {"ok": False, "error": str(exc)}), 0)

        if handler is not None:
            status, headers, answer = handler(
                method, path, str(environ.get("QUERY_STRING", "")), _request_headers(environ), body
            )
            raw = answer.encode("utf-8") if isinstance(answer, str) else bytes(answer)
            return int(status), dict(headers), raw, len(body)
        if self._lane is not None:
            quick = self._lane(_request_headers(environ), body)
            if quick is not None:
                return (*quick, len(body))
        try:
            return (*self._to_bolt(environ, body), len(body))
        except _BadRequest as exc:
            return (*_json(400, {"ok": False, "error": str(exc)}), len(body))

    def _read_body(self, environ: WSGIEnvironment) -> bytes:
        """The request body, refusing to read past the cap whatever the client claims."""
        stream = environ.get("wsgi.input") or io.BytesIO()
        declared = str(environ.get("CONTENT_LENGTH") or "").strip()
        if declared:
            try:
                length = int(declared)
            except ValueError:
                raise _BadRequest("bad_content_length") from None
            if length < 0:
                raise _BadRequest("bad_content_length")
            if length > self._max_body:
                raise _TooLarge
            return bytes(stream.read(length))
        data = bytes(stream.read(self._max_body + 1))
        if len(data) > self._max_body:
            raise _TooLarge
        return data

    def _to_bolt(self, environ: WSGIEnvironment, body: bytes) -> tuple[int, dict[str, str], bytes]:
        assert self._slack is not None
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise _BadRequest("body_not_utf8") from None
        if not _parses_as_slack_payload(body.decode("utf-8"), environ.get("CONTENT_TYPE")):
            # Bolt would raise while parsing it (or trip over a list): Slack never sends one.
            raise _BadRequest("malformed_payload")
        # Bolt's adapter reads the body again from wsgi.input: hand it the bytes already read.
        bolt_environ = dict(environ)
        bolt_environ["wsgi.input"] = io.BytesIO(body)
        bolt_environ["CONTENT_LENGTH"] = str(len(body))
        try:
            response = self._slack.dispatch(WsgiHttpRequest(bolt_environ))
        except Exception as exc:
            # Listener and middleware errors reach the app's error handler; what escapes
            # Bolt is a payload it could not even take apart. No trace: the input is theirs.
            log.warning("slack request not understood (%s) -> 400", type(exc).__name__)
            raise _BadRequest("malformed_payload") from None
        headers = {name: ", ".join(values) for name, values in response.headers.items()}
        raw = response.body.encode("utf-8") if isinstance(response.body, str) else response.body
        return response.status, headers, raw

    def _check_health(self) -> tuple[int, dict[str, str], bytes]:
        if self._health is None:
            return _json(200, {"ok": True, "details": {}})
        try:
            ok, details = self._health()
        except Exception:
            ref = uuid.uuid4().hex[:8]
            log.exception("health check raised (ref %s)", ref)
            details = {"error": "health check failed", "ref": ref}
            return _json(503, {"ok": False, "details": details})
        return _json(200 if ok else 503, {"ok": bool(ok), "details": dict(details)})


def create_wsgi_app(
    *,
    slack_app: App | None,
    routes: Mapping[str, RouteHandler] | None = None,
    health: HealthCheck | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    slack_lane: SlackLane | None = None,
    load: AnswerLoad | None = None,
) -> HttpFront:
    """Build the WSGI app.

    `slack_app` is the Bolt app from `create_app`, or None when Slack traffic arrives over
    Socket Mode (then `/slack/events` is a 404). `routes` maps extra POST paths to raw
    handlers. The Bolt app should be built with `process_before_response=True` so the HTTP
    answer leaves only when the listener has finished its work. `slack_lane`
    (`create_fast_lane`) answers notes and stored-first presses before Bolt. Every POST is
    counted in `load` (default: the process's, `bot.load`), which the appliers consult.
    """
    return HttpFront(
        slack_app=slack_app,
        routes=routes or {},
        health=health,
        max_body_bytes=max_body_bytes,
        slack_lane=slack_lane,
        load=load,
    )


# --------------------------------------------------------------------------- servers


def serve_http(
    wsgi_app: WSGIApplication,
    *,
    port: int,
    host: str = "0.0.0.0",  # noqa: S104 - a container's port must be reachable from outside
    threads: int = 8,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve `wsgi_app` under waitress until the process is stopped (blocks).

    Waitress also caps the body, so an oversized upload is refused before it is buffered.
    `sockets`: an already listening socket shared by several worker processes.
    """
    import waitress

    where: dict[str, Any] = {"sockets": sockets} if sockets else {"host": host, "port": port}
    log.info("serving HTTP on %s:%d", host, port)
    waitress.serve(
        wsgi_app,
        threads=threads,
        max_request_body_size=max_body_bytes,
        ident="discharge-bot",
        **where,
    )


def listening_socket(port: int, host: str = "0.0.0.0") -> socket.socket:  # noqa: S104
    """One listening socket for `serve --workers N`: bound before the workers fork, so they
    all accept on the same port and the kernel spreads the connections among them."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.setblocking(False)
    return sock


class ServerThread:
    """Waitress on 127.0.0.1 (port 0: the OS picks one) in a background thread, for tests.

    with ServerThread(create_wsgi_app(slack_app=app)) as server:
        post(server.url, ...)
    """

    def __init__(
        self, wsgi_app: WSGIApplication, *, host: str = "127.0.0.1", port: int = 0, threads: int = 4
    ) -> None:
        from waitress.server import create_server

        self._server: Any = create_server(
            wsgi_app,
            host=host,
            port=port,
            threads=threads,
            ident="discharge-bot",
            asyncore_loop_timeout=0.05,  # so stop() is noticed at once
        )
        self._thread = threading.Thread(target=self._run, name="http-front", daemon=True)

    def _run(self) -> None:
        try:
            self._server.run()
        except OSError:
            # close() from another thread can pull the socket out from under select().
            log.debug("test HTTP server loop ended", exc_info=True)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. http://127.0.0.1:54321."""
        return f"http://{self._server.effective_host}:{self._server.effective_port}"

    def start(self) -> ServerThread:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Let requests in hand finish, then close the listening socket and the loop."""
        from waitress import wasyncore

        self._server.task_dispatcher.shutdown(timeout=5)
        self._server.close()
        self._thread.join(timeout=2)
        # Connections whose client hung up just now may still be in the loop's map:
        # close them too, or their sockets leak (ResourceWarning) with the stopped loop.
        wasyncore.close_all(self._server._map)
        self._thread.join(timeout=2)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_socket_mode(bolt_app: App, app_token: str) -> SocketModeHandler:
    """Connect `bolt_app` to Slack over Socket Mode without blocking; `close()` it when done.

    Uses the SDK's built-in websocket client (no extra dependency). Use this form when the
    process also serves `/platform/*` and `/healthz` over HTTP.
    """
    handler = SocketModeHandler(bolt_app, app_token=app_token)
    handler.connect()  # type: ignore[no-untyped-call]
    return handler


def run_socket_mode(bolt_app: App, app_token: str) -> None:
    """Receive Slack traffic over Socket Mode (`SLACK_APP_TOKEN`, `xapp-…`) until stopped."""
    SocketModeHandler(bolt_app, app_token=app_token).start()  # type: ignore[no-untyped-call]


# --------------------------------------------------------------------------- helpers


def _request_headers(environ: WSGIEnvironment) -> dict[str, str]:
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key in {"CONTENT_TYPE", "CONTENT_LENGTH"} and value:
            headers[key.lower().replace("_", "-")] = str(value)
        elif key.startswith("HTTP_"):
            headers[key[5:].lower().replace("_", "-")] = str(value)
    return headers


def _parses_as_slack_payload(text: str, content_type: object) -> bool:
    """What Bolt's own body parser makes of `text` is an object (not an error, not a list)."""
    from slack_bolt.request.internals import parse_body

    kind = str(content_type or "").split(";")[0].strip().lower()
    try:
        parsed = parse_body(text, kind or None)
    except ValueError:  # JSONDecodeError, and integers of more than 4,300 digits
        return False
    except RecursionError:
        return False
    return isinstance(parsed, dict)


def _json(status: int, payload: Mapping[str, Any]) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps(payload, default=str).encode("utf-8")
    return status, {"Content-Type": "application/json; charset=utf-8"}, body


def _not_allowed(allow: str) -> tuple[int, dict[str, str], bytes]:
    status, headers, body = _json(405, {"ok": False, "error": "method_not_allowed"})
    return status, {**headers, "Allow": allow}, body


def _status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"

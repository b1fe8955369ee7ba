"""Logs: one JSON object a line off a terminal, with the request and episode ids in force."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from bot.entrypoints.http import create_wsgi_app
from bot.logging_setup import HANDLER_NAME, configure_logging, log_context

#: Its database backend is its own (a SQLite file, or none): the PostgreSQL pass skips it.
pytestmark = pytest.mark.once


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = configure_logging(stream=out)
    yield out
    logging.getLogger().removeHandler(handler)


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_off_a_terminal_each_record_is_one_json_object_with_its_ids(stream: io.StringIO) -> None:
    log = logging.getLogger("bot.test")
    with log_context(episode_id=42):
        log.warning("tick queued %d message(s)\nforged line", 2)
    log.info("outside")
    first, second = lines(stream)
    assert first["msg"] == "tick queued 2 message(s)\nforged line"  # one line: \n is escaped
    assert first["episode_id"] == 42
    assert first["level"] == "warning"
    assert "episode_id" not in second
    assert len(stream.getvalue().splitlines()) == 2


def test_every_http_request_logs_under_its_own_request_id_and_never_its_body(
    stream: io.StringIO,
) -> None:
    seen: list[str] = []

    def route(method: str, path: str, query: str, headers: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        logging.getLogger("bot.route").info("handling %d bytes", len(body))
        return 200, {}, b"{}"

    front = create_wsgi_app(slack_app=None, routes={"/platform/events": route})
    for body in (b'{"first_name": "Zephyrine"}', b'{"first_name": "Balthazar"}'):
        environ = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/platform/events",
            "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        }
        front(environ, lambda status, headers: seen.append(status))
    records = lines(stream)
    ids = [r["request_id"] for r in records]
    assert len(records) == 4
    assert ids[0] == ids[1] != ids[2] == ids[3]
    assert "Zephyrine" not in stream.getvalue()
    assert "Balthazar" not in stream.getvalue()


def test_on_a_terminal_a_readable_line_with_the_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    handler = configure_logging(stream=out, json_lines=False)
    try:
        with log_context(request_id="abc123"):
            logging.getLogger("bot.x").warning("two\nlines")
    finally:
        logging.getLogger().removeHandler(handler)
    [line] = out.getvalue().splitlines()
    assert line.endswith("WARNING bot.x: two\\nlines [request_id=abc123]")


def test_configuring_twice_keeps_one_handler_and_leaves_others_alone() -> None:
    other = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(other)
    try:
        configure_logging(stream=io.StringIO())
        handler = configure_logging(stream=io.StringIO())
        ours = [h for h in root.handlers if h.get_name() == HANDLER_NAME]
        assert ours == [handler]
        assert other in root.handlers
    finally:
        root.removeHandler(other)
        root.removeHandler(handler)


def test_log_format_variable_forces_json_or_text(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setenv("LOG_FORMAT", "json")
    out = Terminal()
    handler = configure_logging(stream=out)
    try:
        logging.getLogger("bot.y").warning("hello")
    finally:
        logging.getLogger().removeHandler(handler)
    assert json.loads(out.getvalue())["msg"] == "hello"

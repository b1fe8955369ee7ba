"""Issue 9: every entry point under generated input, on whichever backend the run uses.

Each test drives one door of the real app - Slack (unsigned and signed bodies, `/care` text,
the summary modal), both platform webhooks, the CSV importers - with at least 10,000
generated cases, through the WSGI front in-process (no sockets on our side; the fake Slack
and Healthie still answer over loopback). For every case: no 500, no traceback in the log,
no partial write (a refusal changes no table), and an unverified request makes no Web API
call. Cases are generated in batches, so hypothesis' own overhead stays small and one app
serves every example.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import random
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import text

from bot.clock import FixedClock
from bot.delivery.slack_client import make_web_client
from bot.domain.errors import DomainError
from bot.entrypoints.bootstrap import Runtime, build_runtime
from bot.entrypoints.http import HttpFront, create_wsgi_app
from bot.platform.generic import sign_generic
from bot.services.caseload_file import CaseloadError, parse_caseload, parse_sessions
from bot.settings import Settings
from bot.slack.app import build_surface, create_app
from tests.fakes.healthie import API_KEY, FakeHealthie, content_digest, healthie_signature
from tests.fakes.slack_api import FakeSlackAPI
from tests.fakes.slack_requests import SlackRequests
from tests.fuzzing import NAME, mutate_bytes, to_json_bytes, variants
from tests.helpers import ADMIN, HEADER, import_rows

CASES = 10_000  # per entry point, as the issue asks
SLACK_SECRET = "fuzz-slack-secret"
GENERIC_SECRET = "fuzz-generic-secret"
HEALTHIE_SECRET = "fuzz-healthie-secret"
CLINICIAN, STRANGER, CCT = "U0CLIN0001", "U0STRANGER", "U0CCT00001"
HEALTHIE_CLIENT = "4242"
MARKER = NAME  # a client's name: must never reach a log
START = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
TABLES = ("events", "admin_notes", "outbox", "audit_log", "clients", "episodes")


def fuzz_settings(batch: int) -> Any:
    return settings(
        max_examples=CASES // batch,
        deadline=None,
        derandomize=True,  # the same cases in every CI run; a failure reproduces
        database=None,
        # Every failure names its exact case (see run_batch): shrinking a batch would only
        # spend minutes re-running it.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


class Traces(logging.Handler):
    """Records that carry a traceback, are errors, or mention the marker name."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.bad: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.exc_info or record.levelno >= logging.ERROR or MARKER in message:
            trace = ""
            if record.exc_info:
                trace = " | " + " / ".join(
                    line.strip() for line in traceback.format_exception(*record.exc_info)[-4:]
                )
            self.bad.append(f"{record.levelname} {record.name}: {message[:300]}{trace[:1500]}")


@dataclass
class Front:
    wsgi: HttpFront
    runtime: Runtime
    slack: SlackRequests
    fake: FakeSlackAPI
    healthie: FakeHealthie
    traces: Traces

    def call(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        environ: dict[str, Any] = {
            "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(body),
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": headers.get("Content-Type", ""),
        }
        for name, value in headers.items():
            if name.lower() not in ("content-type", "content-length"):
                environ["HTTP_" + name.upper().replace("-", "_")] = value
        status: list[str] = []
        chunks = self.wsgi(environ, lambda s, h, *a: status.append(s))  # type: ignore[arg-type]
        return int(status[0].split()[0]), b"".join(chunks)

    def counts(self) -> tuple[int, ...]:
        query = "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in TABLES)
        with self.runtime.engine.connect() as conn:
            return tuple(conn.execute(text(query)).one())

    def settle(self, refused: bool, case: Any) -> None:
        """One count per case: a refusal must leave the tables as the previous case did."""
        now = self.counts()
        last = getattr(self, "_last", None)
        if refused and last is not None:
            assert now == last, ("a refusal wrote", case)
        self._last = now

    def web_calls(self) -> int:
        return len(self.fake.calls())

    def clean(self) -> None:
        assert self.traces.bad == [], self.traces.bad[:5]


@pytest.fixture
def front(database_url: str) -> Iterator[Front]:
    fake = FakeSlackAPI().__enter__()
    for user in (CLINICIAN, STRANGER, CCT):
        fake.add_user(user, real_name="Someone", tz="America/Toronto")
    healthie = FakeHealthie().start()
    healthie.add_group("10", "Active Clients")
    healthie.add_group("11", "Discharged Clients")
    healthie.add_user(HEALTHIE_CLIENT, dietitian_id="77", other_provider_ids=[], user_group_id="10")
    healthie.add_user("77", is_patient=False)
    for n, when in enumerate([datetime(9999, 12, 31, tzinfo=UTC), datetime(1, 1, 1, 5, tzinfo=UTC),
                              START - timedelta(days=3), START + timedelta(days=3)]):
        healthie.add_appointment(str(500 + n), client_id=HEALTHIE_CLIENT, provider_id="77",
                                 date=when, pm_status="Occurred" if n % 2 else None)
    config = Settings(
        _env_file=None, database_url=database_url, cct_channel_id="C0CCT",
        cct_user_ids=[CCT], slack_signing_secret=SecretStr(SLACK_SECRET),
        slack_bot_token=SecretStr("xoxb-fuzz"), slack_api_url=fake.url,
        healthie_api_url=healthie.url, healthie_api_key=SecretStr(API_KEY),
        healthie_webhook_secret=SecretStr(HEALTHIE_SECRET),
        platform_webhook_secret=SecretStr(GENERIC_SECRET), healthie_timeout_seconds=2.0,
        slack_pace_seconds=0.0,
    )
    runtime = build_runtime(config, clock=FixedClock(START))
    import_rows(runtime.services, f"R-1042,{CLINICIAN},{MARKER},2026-02-20T10:00,,",
                f"{HEALTHIE_CLIENT},{CLINICIAN},{MARKER},2026-02-25T10:00,,")
    client = make_web_client(config)
    surface = build_surface(config, client=client, session_factory=runtime.uow.session_factory,
                            clock=runtime.clock, phrases=runtime.phrases, platform=runtime.healthie)
    app = create_app(config, client=client, session_factory=runtime.uow.session_factory,
                     clock=runtime.clock, surface=surface)
    from bot.entrypoints.web import platform_routes

    wsgi = create_wsgi_app(slack_app=app, routes=platform_routes(runtime, runtime.healthie))
    traces = Traces()
    root = logging.getLogger()
    root.addHandler(traces)
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        yield Front(wsgi, runtime, SlackRequests(signing_secret=SLACK_SECRET), fake, healthie,
                    traces)
    finally:
        root.setLevel(level)
        root.removeHandler(traces)
        runtime.close()
        healthie.stop()
        fake.__exit__(None, None, None)


# -- strategies -------------------------------------------------------------------------------

WORDS = st.sampled_from(["R-1042", "4242", "R-7777", "note", "status", "session", "attended",
                         "noshow", "2026-03-01", "2025-11-30", "9999-12-31", "0001-01-01",
                         "pause", "resume", "outreach", "replied", "discharge", "caseload",
                         "help", MARKER, "\x00", "\n", "&<>", "`", "*", " ", "-1", "2**63"])
SOME_TEXT = st.one_of(st.text(max_size=40), st.lists(WORDS, max_size=6).map(" ".join))
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
                      st.floats(allow_nan=False), SOME_TEXT)
JSON = st.recursive(JSON_LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(SOME_TEXT, inner, max_size=3)), max_leaves=8)
USERS = st.sampled_from([CLINICIAN, STRANGER, CCT, "", "x", MARKER])


def slack_payload() -> st.SearchStrategy[dict[str, Any]]:
    action = st.fixed_dictionaries({"action_id": st.sampled_from(
        ["checkin_mark_sent", "checkin_snooze", "reply_classify", "checklist_confirm",
         "checklist_open_summary", "cct_done", "home_more", "x"])},
        optional={"value": st.one_of(SOME_TEXT, st.builds(lambda o, c: json.dumps({"o": o, "c": c}),
                  st.integers(min_value=-(2**64), max_value=2**64), WORDS)), "block_id": SOME_TEXT,
                  "selected_option": JSON})
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("block_actions")}, optional={
            "user": st.one_of(JSON, st.builds(lambda u: {"id": u}, USERS)),
            "actions": st.one_of(JSON, st.lists(action, max_size=2)),
            "container": JSON, "channel": JSON, "view": JSON, "message": JSON, "state": JSON}),
        st.fixed_dictionaries({"type": st.sampled_from(["view_submission", "view_closed"])},
                              optional={"user": st.builds(lambda u: {"id": u}, USERS),
                                        "view": JSON}),
        st.fixed_dictionaries({"type": st.just("event_callback")}, optional={
            "event_id": JSON, "event": st.one_of(JSON, st.fixed_dictionaries(
                {"type": st.sampled_from(["message", "app_home_opened", "x"])},
                optional={"user": USERS, "channel": JSON, "channel_type": st.just("im"),
                          "text": SOME_TEXT, "tab": SOME_TEXT}))}),
        st.dictionaries(SOME_TEXT, JSON, max_size=4),
    )


# -- the doors --------------------------------------------------------------------------------

PER_EXAMPLE = 50  # cases derived from each hypothesis example (tests/fuzzing.py)
SEEDS = st.integers(min_value=0, max_value=2**32)


def each(front: Front, cases: list[Any], one: Callable[[Front, Any], None]) -> None:
    for case in cases:
        one(front, case)
        assert front.traces.bad == [], (case, front.traces.bad[:3])


def slack_body(payload: Any, rng: random.Random) -> tuple[bytes, str]:
    """As Slack sends it (form field `payload`, or JSON for events), sometimes damaged."""
    if isinstance(payload, dict) and payload.get("type") == "event_callback":
        body, ctype = to_json_bytes(payload), "application/json"
    elif isinstance(payload, dict) and "command" in payload:
        fields = {str(k): str(v) for k, v in payload.items()}
        body, ctype = urlencode(fields).encode(), "application/x-www-form-urlencoded"
    else:
        body = urlencode({"payload": to_json_bytes(payload).decode("utf-8", "surrogatepass")},
                         encoding="utf-8", errors="surrogatepass").encode()
        ctype = "application/x-www-form-urlencoded"
    if rng.random() < 0.15:
        body = mutate_bytes(body, rng)
    return body, ctype


def test_unsigned_slack_requests_never_act(front: Front) -> None:
    before, calls = front.counts(), front.web_calls()
    now = int(time.time())
    stamps = ["abc", "1e10", "", "-1", str(now - 400), str(now + 400), "9" * 30,
              "\xd9\xa1\xd9\xa2", str(now), " " + str(now), str(now) + ".0", "0x10"]

    def one(front: Front, case: tuple[Any, int]) -> None:
        payload, seed = case
        rng = random.Random(seed)
        body, ctype = slack_body(payload, rng)
        ts = rng.choice(stamps)
        if rng.random() < 0.5:  # a real v0 signature, with the wrong secret
            base = f"v0:{ts}:".encode("latin-1") + body
            sig = "v0=" + hmac.new(b"not-the-secret", base, hashlib.sha256).hexdigest()
        else:
            sig = rng.choice(["", "v0=", "v0=" + "0" * 64, "v1=abc", "v0=zz" * 13])
        headers = {"Content-Type": rng.choice([ctype, "application/json", ""]),
                   "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sig}
        if rng.random() < 0.1:
            del headers["X-Slack-Signature"]
        status, _ = front.call("/slack/events", body, headers)
        assert status in (400, 401), case

    @fuzz_settings(batch=PER_EXAMPLE)
    @given(slack_payload().map(lambda p: {**p, "marker": MARKER}), SEEDS)
    def check(template: dict[str, Any], seed: int) -> None:
        cases = variants(template, seed, PER_EXAMPLE)
        each(front, [(case, seed + n) for n, case in enumerate(cases)], one)
        assert front.web_calls() == calls
        assert front.counts() == before

    check()


def test_signed_slack_payloads_never_fail_and_never_write(front: Front) -> None:
    before = front.counts()

    def one(front: Front, case: tuple[Any, int]) -> None:
        payload, seed = case
        body, ctype = slack_body(payload, random.Random(seed))
        status, _ = front.call("/slack/events", body, dict(front.slack.signed(body, ctype).headers))
        assert status in (200, 400, 404), case

    @fuzz_settings(batch=PER_EXAMPLE)
    @given(st.one_of(slack_payload(), JSON), SEEDS)
    def check(template: Any, seed: int) -> None:
        cases = variants(template, seed, PER_EXAMPLE)
        each(front, [(case, seed + n) for n, case in enumerate(cases)], one)
        assert front.counts() == before

    check()


CARE_WORDS = ["note", "status", "session", "attended", "noshow", "cancelled", "pause", "resume",
              "outreach", "replied", "discharge", "caseload", "help", "R-1042", "4242", "R-7777",
              "2026-03-01", "2025-11-30", "9999-12-31", "0001-01-01", "2026-02-30", "\x00", "\n",
              MARKER, "&<>", "`", "*", "-", "R-1042\x00", "x" * 70, "\u00e9", "\t"]


def test_care_text_is_answered_and_refusals_write_nothing(front: Front) -> None:
    front.runtime.services.clinicians.learn_clinician(CLINICIAN, timezone="America/Toronto", display_name="C")

    def one(front: Front, case: tuple[str, str]) -> None:
        words, user = case
        request = front.slack.slash_command(words, user_id=user)
        status, answer = front.call("/slack/events", request.body, dict(request.headers))
        assert status == 200, (case, status, answer[:300])
        said = answer.decode()
        front.settle(":no_entry:" in said or ":warning:" in said, case)  # refusal or usage

    @fuzz_settings(batch=PER_EXAMPLE)
    @given(SOME_TEXT, SEEDS)
    def check(text: str, seed: int) -> None:
        rng = random.Random(seed)
        cases = [(text, CLINICIAN)]
        for _ in range(PER_EXAMPLE - 1):
            words = [rng.choice(CARE_WORDS) for _ in range(rng.randint(0, 5))]
            if rng.random() < 0.3:
                words.insert(rng.randint(0, len(words)), text)
            cases.append((" ".join(words), rng.choice([CLINICIAN, STRANGER, CCT])))
        each(front, cases, one)

    check()


def test_summary_modal_submissions_are_refused_cleanly(front: Front) -> None:
    before = front.counts()

    def one(front: Front, view: dict[str, Any]) -> None:
        request = front.slack.view_submission(
            "discharge_summary_modal", values={}, private_metadata="", user_id=CLINICIAN)
        payload = request.payload
        if isinstance(view, dict):
            payload["view"].update(view)
        else:
            payload["view"] = view
        body, ctype = slack_body(payload, random.Random(len(str(view))))
        status, _ = front.call("/slack/events", body, dict(front.slack.signed(body, ctype).headers))
        assert status in (200, 400), view

    def values(focus: str, goals: str, risk: str) -> dict[str, Any]:
        return {
            "private_metadata": json.dumps({"c": "R-1042"}),
            "state": {"values": {
                "summary_focus": {"summary_focus_input": {"type": "plain_text_input",
                                                          "value": focus}},
                "summary_goals": {"summary_goals_input": {"type": "plain_text_input",
                                                          "value": goals}},
                "summary_risk": {"summary_risk_select": {"type": "static_select",
                                                         "selected_option": {"value": risk}}},
                "summary_considerations": {"summary_considerations_input": {
                    "type": "plain_text_input", "value": None}},
            }},
        }

    @fuzz_settings(batch=PER_EXAMPLE)
    @given(st.builds(values, SOME_TEXT, SOME_TEXT, st.sampled_from(["low", "moderate", "high", ""])),
           SEEDS)
    def check(template: dict[str, Any], seed: int) -> None:
        each(front, variants(template, seed, PER_EXAMPLE), one)
        assert front.counts() == before

    check()


def _instant() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.datetimes(timezones=st.timezones()).map(lambda d: d.isoformat()),
        st.sampled_from(["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59",
                         "2026-03-01T10:00:00Z", "2026-03-01", "1e10"]),
    )


def test_generic_webhook_refusals_write_nothing_and_nothing_is_a_500(front: Front) -> None:
    def one(front: Front, case: tuple[Any, int]) -> None:
        payload, seed = case
        rng = random.Random(seed)
        body = to_json_bytes(payload)
        if rng.random() < 0.1:
            body = mutate_bytes(body, rng)
        ts = rng.choice([str(int(time.time()))] * 4 + ["1" * 5000, "\xd9\xa1", "abc"])
        secret = GENERIC_SECRET if rng.random() < 0.8 else "wrong"
        headers = {"Content-Type": "application/json", "X-Platform-Timestamp": ts,
                   "X-Platform-Signature": sign_generic(secret, ts, body)}
        status, _ = front.call("/platform/events", body, headers)
        assert status in (200, 400, 401, 422), case
        front.settle(status != 200, case)

    event = st.fixed_dictionaries({
        "event_id": st.uuids().map(str),
        "type": st.sampled_from(["session.attended", "session.cancelled", "session.no_show",
                                 "session.scheduled", "client.message",
                                 "client.discharged_group"]),
        "client_id": st.sampled_from(["R-1042", "4242", "R-7777"]),
        "occurred_at": _instant(), "session_at": _instant(),
    }, optional={"text_present": st.booleans(), "provider_id": st.just("77")})

    @fuzz_settings(batch=PER_EXAMPLE)
    @given(event, SEEDS)
    def check(template: dict[str, Any], seed: int) -> None:
        cases = variants(template, seed, PER_EXAMPLE)
        each(front, [(case, seed + n) for n, case in enumerate(cases)], one)

    check()


def test_healthie_webhooks_never_answer_500(front: Front) -> None:
    def one(front: Front, case: tuple[Any, int]) -> None:
        payload, seed = case
        rng = random.Random(seed)
        body = to_json_bytes(payload)
        if rng.random() < 0.1:
            body = mutate_bytes(body, rng)
        digest = content_digest(body)
        signed = rng.random() < 0.3  # a signed one costs a GraphQL round trip to the fake
        signature = healthie_signature(
            HEALTHIE_SECRET if signed else "x", method="POST", path="/platform/healthie",
            query="", digest_value=digest.split("=", 1)[1], length=len(body))
        headers = {"Content-Type": "application/json", "Content-Digest": digest,
                   "Signature": signature}
        status, _ = front.call("/platform/healthie", body, headers)
        assert status in (200, 400, 401), case
        front.settle(status != 200, case)

    payload = st.fixed_dictionaries({
        "event_type": st.sampled_from(["appointment.updated", "appointment.created",
                                       "appointment.deleted", "message.created",
                                       "patient.updated"]),
        "resource_id": st.sampled_from(["500", "501", "502", "503", "999"]),
    }, optional={"changed_fields": st.lists(st.sampled_from(["user_group_id", "pm_status"]))})

    @fuzz_settings(batch=PER_EXAMPLE)
    @given(payload, SEEDS)
    def check(template: dict[str, Any], seed: int) -> None:
        cases = variants(template, seed, PER_EXAMPLE)
        each(front, [(case, seed + n) for n, case in enumerate(cases)], one)

    check()


CSV_CELLS = ["R-1042", "R-9", "U0CLIN0009", MARKER, "2026-02-01T10:00", "2026-02-01",
             "9999-12-31", "0001-01-01T00:30+05:00", "America/Toronto", "Mars/Olympus",
             "attended", "no_show", "", " ", "\x00", '"', '"a\nb"', "\r", "x" * 200, "é",
             "client_id", "first_name", "2026-02-30"]


def test_csv_importers_refuse_or_import_whole(front: Front) -> None:
    service = front.runtime.services

    def one(front: Front, case: tuple[str, bool]) -> None:
        content, sessions = case
        refusal = None
        try:
            if sessions:
                parse_sessions(content, practice_timezone="America/Toronto")
            else:
                rows = parse_caseload(content, practice_timezone="America/Toronto")
                service.caseload.import_caseload(rows, actor=ADMIN)
        except (CaseloadError, DomainError) as refused:
            refusal = str(refused)
        assert refusal is None or MARKER not in refusal, case
        if refusal is not None or not sessions:  # parse_sessions alone writes nothing
            front.settle(refusal is not None, case)

    @fuzz_settings(batch=PER_EXAMPLE)
    @given(st.sampled_from([HEADER.strip(), "client_id,occurred_at,outcome"]), SEEDS)
    def check(header: str, seed: int) -> None:
        rng = random.Random(seed)
        cases = []
        for _ in range(PER_EXAMPLE):
            columns = header.split(",")
            if rng.random() < 0.1:
                columns.append(rng.choice(columns))
            rows = [",".join(rng.choice(CSV_CELLS) for _ in range(rng.randint(1, 8)))
                    for _ in range(rng.randint(0, 4))]
            cases.append(("\n".join([",".join(columns), *rows]) + "\n", header.count(",") == 2))
        each(front, cases, one)

    check()

"""Outbox delivery to Slack: exactly once as far as Slack allows, paced, retried, dead-lettered.

The dispatcher claims due outbox rows with a lease, turns each into one Web API call (the
`prepare` function the Slack surface supplies) and records the outcome. What it guarantees:

* A message counts as sent only after Slack accepted it; its channel and ts are stored.
* Every posted message carries `metadata` naming its idempotency key. A row that may already
  have reached Slack (a previous try ended in a lost answer, or its dispatcher died) is first
  looked for in the channel's recent history, so a crash between Slack's answer and our
  commit does not post twice. (slack_sdk's own connection-error retry would post twice.)
* 429 waits `Retry-After` for that channel; 5xx and connection errors back off
  exponentially with jitter; errors that cannot succeed go to the dead-letter state at once,
  transient ones after `max_attempts`. Dead letters are logged and reported to CCT.
* `chat.postMessage` is paced to about one per second per channel.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.client import HTTPException
from typing import Any, Protocol
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.clock import Clock, SystemClock
from bot.logging_setup import log_context
from storage import outbox as store
from storage.models import OutboxMessage
from storage.repository import UnitOfWork

log = logging.getLogger(__name__)

METADATA_EVENT = "discharge_bot_outbox"

#: ok:false errors that say the bot's own token no longer works (for chat.* methods Slack's
#: `account_inactive` means the token's user or bot was deactivated, not "no such recipient").
#: No row is at fault: delivery stops, every row is kept, and the operator is alerted.
TOKEN_DEAD_ERRORS = frozenset(
    {"account_inactive", "invalid_auth", "not_authed", "token_revoked", "token_expired"}
)
#: ok:false errors that no retry can fix: the row is dead-lettered at once.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "user_not_found",
        "user_not_visible",
        "user_disabled",
        "is_archived",
        "missing_scope",
        "no_permission",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "metadata_too_large",
        "edit_window_closed",
        "no_text",
        "message_not_found",
        "cant_update_message",
        "restricted_action",
        "team_access_not_granted",
        "cannot_dm_bot",
    }
)
# Errors after which the request may or may not have reached Slack (a JSON error is an
# answer Slack's edge garbled, e.g. an HTML 502 page).
_CONNECTION_ERRORS = (OSError, URLError, HTTPException, TimeoutError, ValueError)


@dataclass(frozen=True)
class SlackCall:
    """One Web API call that says an outbox row: `chat.postMessage` or `chat.update`.

    `channel` may be a user id for a DM; the dispatcher opens the DM first.
    """

    method: str
    channel: str
    text: str
    blocks: Sequence[dict[str, Any]] | None = None
    ts: str | None = None  # for chat.update
    on_sent: Callable[[], None] | None = None  # bookkeeping once Slack accepted it

    @property
    def posts(self) -> bool:
        return self.method == "chat.postMessage"


class Prepare(Protocol):
    """Turn a row into its call; None when there is nothing to say any more (skipped).

    May raise `NotReady` when the row depends on another not yet sent (an in-place update of
    a message that has not been posted): the row is retried shortly.
    """

    def __call__(self, row: OutboxMessage) -> SlackCall | None: ...


class NotReady(Exception):
    """The row cannot be said yet (e.g. it updates a message not yet posted): retry soon."""


class Undeliverable(Exception):
    """The row can never be said (e.g. no recipient configured): dead-letter it."""


@dataclass
class Report:
    """What one pass (or a drain) did, by idempotency key."""

    claimed: int = 0
    sent: list[str] = field(default_factory=list)
    reconciled: list[str] = field(default_factory=list)  # found already in Slack, not re-sent
    retried: list[tuple[str, str]] = field(default_factory=list)  # (key, error), kept for later
    dead: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    halted: str | None = None  # the token error that stopped delivery, if any
    #: Due but handed back unsaid by an impatient pass (their channel's pace was not free).
    deferred: list[str] = field(default_factory=list)

    @property
    def delivered(self) -> list[str]:
        return [*self.sent, *self.reconciled]

    @property
    def failed(self) -> list[tuple[str, str]]:
        return [*self.retried, *self.dead]

    def add(self, other: Report) -> None:
        self.claimed += other.claimed
        self.sent += other.sent
        self.reconciled += other.reconciled
        self.retried += other.retried
        self.dead += other.dead
        self.skipped += other.skipped
        self.halted = self.halted or other.halted
        self.deferred += other.deferred

    def __str__(self) -> str:
        text = f"{len(self.delivered)} delivered"
        if self.retried:
            text += f", {len(self.retried)} to retry"
        if self.dead:
            text += f", {len(self.dead)} dead-lettered"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        if self.halted:
            text += f"; STOPPED: Slack refused the bot's token ({self.halted})"
        return text


@dataclass
class DeliveryPolicy:
    lease_seconds: float = 60.0
    max_attempts: int = 6
    backoff_base_seconds: float = 2.0
    backoff_cap_seconds: float = 300.0
    pace_seconds: float = 1.0
    history_window: timedelta = timedelta(days=2)
    batch: int = 200


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Dispatcher:
    def __init__(
        self,
        uow: UnitOfWork,
        client: WebClient,
        prepare: Prepare,
        *,
        clock: Clock,
        wall: Clock | None = None,
        policy: DeliveryPolicy | None = None,
        owner: str | None = None,
        on_dead: Callable[[OutboxMessage, str], None] | None = None,
        on_token_dead: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.uow = uow
        self.client = client
        self.prepare = prepare
        self.clock = clock  # business time: what is due, leases
        self.wall = wall or SystemClock()  # real time: Slack's message timestamps
        self.policy = policy or DeliveryPolicy()
        self.owner = owner or new_owner()
        self.on_dead = on_dead
        self.on_token_dead = on_token_dead
        self.token_dead: str | None = None  # set once Slack refuses the token; sticky
        self.sleep = sleep
        self.rng = rng or random.Random()
        self._dm: dict[str, str] = {}
        self._ready_at: dict[str, float] = {}  # monotonic time a channel may be posted to
        self._anchor: tuple[datetime, float] | None = None
        self.stopping = False

    # -- the loop ---------------------------------------------------------------------------
    def run_once(self, *, keys: Sequence[str] | None = None, patient: bool = True) -> Report:
        """Claim one batch of due rows (only these `keys`, when given) and say them,
        channel by channel in turn.

        `patient=False` never sleeps for pacing (a listener must answer Slack within 3 s):
        a row whose channel is not ready yet is handed back for the next pass.
        """
        if self.token_dead is not None:
            return Report(halted=self.token_dead)
        now = self._now()
        lease_until = now + timedelta(seconds=self.policy.lease_seconds)
        with self.uow() as repo:
            rows = list(
                store.claim(
                    repo.session,
                    owner=self.owner,
                    now=now,
                    lease_until=lease_until,
                    limit=self.policy.batch,
                    keys=keys,
                )
            )
        report = Report(claimed=len(rows))
        pending = _round_robin(rows)
        while pending and not self.stopping and self.token_dead is None:
            row = self._next_ready(pending, patient=patient)
            if row is None:
                break
            pending.remove(row)
            self._deliver(row, report)
        report.halted = self.token_dead
        if pending:  # stopping, halted or impatient: give the rest back now, not at lease end
            if not self.stopping and self.token_dead is None:  # impatient: their pace
                report.deferred += [row.idempotency_key for row in pending]
            with self.uow() as repo:
                for row in pending:
                    store.release(
                        repo.session,
                        row_id=row.id,
                        owner=self.owner,
                        retry_at=now,
                        error=None,
                        refund_attempt=True,
                    )
        return report

    def drain(self, *, timeout: float = 60.0, idle_wait: float = 0.2) -> Report:
        """Deliver what is due now, waiting for its retries, for at most `timeout` seconds.

        Rows due later (next week's prompts) are not waited for; retries and rows held by a
        dispatcher that may have died (until their lease runs out) are.
        """
        total = Report()
        deadline = time.monotonic() + timeout
        self._anchor = (self.clock.now(), time.monotonic())
        try:
            while not self.stopping and time.monotonic() < deadline:
                report = self.run_once()
                total.add(report)
                if report.halted:
                    break
                if report.claimed == 0:
                    if not self._retries_pending(within=deadline - time.monotonic()):
                        break
                    self.sleep(idle_wait)
        finally:
            self._anchor = None
        return total

    def _now(self) -> datetime:
        """Business time, running forward with real time during a drain even when the
        business clock is frozen (`tick --now`, tests), so that retries come due."""
        if self._anchor is None:
            return self.clock.now()
        start, started = self._anchor
        return max(self.clock.now(), start + timedelta(seconds=time.monotonic() - started))

    def _retries_pending(self, *, within: float) -> bool:
        horizon = self._now() + timedelta(seconds=max(within, 0))
        with self.uow() as repo:
            rows = repo.outbox(statuses=[store.PENDING, store.IN_FLIGHT], limit=5000)
        retry = [r for r in rows if r.status == store.PENDING and r.last_error is not None]
        held = [r for r in rows if r.status == store.IN_FLIGHT and r.lease_until is not None]
        return any(r.deliver_after <= horizon for r in retry) or any(
            r.lease_until is not None and r.lease_until <= horizon for r in held
        )

    def _next_ready(self, pending: list[OutboxMessage], *, patient: bool) -> OutboxMessage | None:
        """The first row whose channel may be posted to now; sleeps when none may (or,
        impatient, answers None)."""
        while True:
            now = time.monotonic()
            for row in pending:
                if _ready(row, self._ready_at, now):
                    return row
            if not patient:
                return None
            wait = min(self._ready_at.get(_pace_key(r), 0.0) for r in pending) - now
            self.sleep(max(wait, 0.01))

    # -- one row ----------------------------------------------------------------------------
    def _deliver(self, row: OutboxMessage, report: Report) -> None:
        with log_context(episode_id=row.episode_id, outbox_id=row.id):
            self._deliver_row(row, report)

    def _deliver_row(self, row: OutboxMessage, report: Report) -> None:
        try:
            call = self.prepare(row)
        except NotReady as exc:
            self._release(
                row, report, delay=self.policy.backoff_base_seconds, error=str(exc), refund=True
            )
            return
        except Exception as exc:  # a broken row must not stop the others
            log.exception("could not prepare outbox %s", row.idempotency_key)
            self._dead(row, report, f"prepare failed: {exc.__class__.__name__}")
            return
        if call is None:
            with self.uow() as repo:
                store.finish(
                    repo.session,
                    row_id=row.id,
                    owner=self.owner,
                    status=store.SKIPPED,
                    error="nothing to say any more",
                )
            report.skipped.append(row.idempotency_key)
            return
        channel = call.channel
        try:
            if call.posts:
                channel = self._conversation(call.channel)
                found = self._reconcile(row, channel) if _may_have_reached_slack(row) else None
                if found is not None:
                    self._sent(row, channel, found, call)
                    report.reconciled.append(row.idempotency_key)
                    return
                self._pace(row)
                answer = self.client.chat_postMessage(
                    channel=channel,
                    text=call.text,
                    blocks=list(call.blocks) if call.blocks else None,
                    metadata={
                        "event_type": METADATA_EVENT,
                        "event_payload": {"idempotency_key": row.idempotency_key},
                    },
                    unfurl_links=False,
                    unfurl_media=False,
                )
            else:
                answer = self.client.chat_update(
                    channel=channel,
                    ts=call.ts or "",
                    text=call.text,
                    blocks=list(call.blocks) if call.blocks else None,
                )
        except SlackApiError as exc:
            self._api_error(row, report, exc, channel)
            return
        except _CONNECTION_ERRORS as exc:
            # The request may or may not have reached Slack: the next try looks first.
            self._backoff(row, report, f"connection: {exc.__class__.__name__}", channel)
            return
        channel = str(answer.get("channel") or channel)
        self._sent(row, channel, str(answer.get("ts") or call.ts or ""), call)
        report.sent.append(row.idempotency_key)

    def _api_error(
        self, row: OutboxMessage, report: Report, exc: SlackApiError, channel: str
    ) -> None:
        response = exc.response
        status = getattr(response, "status_code", 0)
        error = (
            str(response.get("error") or f"http_{status}") if response is not None else "unknown"
        )
        if status == 429 or error == "ratelimited":
            retry_after = float(
                response.headers.get("Retry-After", 1) if response is not None else 1
            )
            self._ready_at[_pace_key(row)] = time.monotonic() + retry_after
            log.info("rate limited on %s; waiting %.0f s", _pace_key(row), retry_after)
            self._release(
                row, report, delay=retry_after, error="ratelimited", refund=True, channel=channel
            )
        elif error in TOKEN_DEAD_ERRORS:
            self._halt(row, report, error, channel)
        elif error in PERMANENT_ERRORS:
            self._dead(row, report, error)
        else:  # 5xx and the transient ok:false errors (internal_error, fatal_error, ...)
            self._backoff(row, report, error, channel)

    def _halt(self, row: OutboxMessage, report: Report, error: str, channel: str) -> None:
        """The token is dead: keep the row (uncharged), stop delivering, alert once."""
        self._release(row, report, delay=0, error=error, refund=True, channel=channel)
        first = self.token_dead is None
        self.token_dead = error
        if not first:
            return
        log.critical(
            "Slack refused the bot's token (%s): delivery is stopped and every message is kept. "
            "Reinstall the Slack app or set a working SLACK_BOT_TOKEN, then restart.",
            error,
        )
        if self.on_token_dead is not None:
            try:
                self.on_token_dead(error)
            except Exception:
                log.exception("alerting about the dead token failed")

    def _backoff(self, row: OutboxMessage, report: Report, error: str, channel: str | None) -> None:
        if row.attempts >= self.policy.max_attempts:
            self._dead(row, report, f"{error} (gave up after {row.attempts} tries)")
            return
        delay = min(
            self.policy.backoff_cap_seconds,
            self.policy.backoff_base_seconds * 2 ** (row.attempts - 1),
        )
        delay *= 0.5 + self.rng.random()  # full jitter around the step
        self._release(row, report, delay=delay, error=error, channel=channel)

    def _release(
        self,
        row: OutboxMessage,
        report: Report,
        *,
        delay: float,
        error: str,
        refund: bool = False,
        channel: str | None = None,
    ) -> None:
        with self.uow() as repo:
            store.release(
                repo.session,
                row_id=row.id,
                owner=self.owner,
                retry_at=self._now() + timedelta(seconds=delay),
                error=error,
                channel=channel,
                refund_attempt=refund,
            )
        report.retried.append((row.idempotency_key, error))

    def _dead(self, row: OutboxMessage, report: Report, error: str) -> None:
        with self.uow() as repo:
            ended = store.finish(
                repo.session, row_id=row.id, owner=self.owner, status=store.DEAD, error=error
            )
        if not ended:
            return
        report.dead.append((row.idempotency_key, error))
        log.error("outbox %s dead-lettered: %s", row.idempotency_key, error)
        if self.on_dead is not None:
            try:
                self.on_dead(row, error)
            except Exception:
                log.exception("reporting dead letter %s failed", row.idempotency_key)

    def _sent(self, row: OutboxMessage, channel: str, ts: str, call: SlackCall) -> None:
        # an in-place update keeps the row's own channel/ts empty: they belong to its target
        kept_channel, kept_ts = (channel, ts) if call.posts else (None, None)
        with self.uow() as repo:
            store.mark_sent(
                repo.session,
                row_id=row.id,
                owner=self.owner,
                channel=kept_channel,
                ts=kept_ts,
                now=self._now(),
            )
        if call.on_sent is not None:
            try:
                call.on_sent()
            except Exception:
                log.exception("bookkeeping after sending %s failed", row.idempotency_key)

    # -- Slack helpers --------------------------------------------------------------------------
    def _conversation(self, channel: str) -> str:
        """A user id becomes its DM channel (cached); channel ids pass through."""
        if not channel.startswith(("U", "W")):
            return channel
        if channel not in self._dm:
            opened = self.client.conversations_open(users=channel)
            self._dm[channel] = str(opened["channel"]["id"])
        return self._dm[channel]

    def _reconcile(self, row: OutboxMessage, channel: str) -> str | None:
        """The ts of this row's message if Slack already has it (found by its metadata)."""
        oldest = (self.wall.now() - self.policy.history_window).timestamp()
        cursor: str | None = None
        for _ in range(20):
            page = self.client.conversations_history(
                channel=channel,
                oldest=f"{oldest:.6f}",
                limit=200,
                include_all_metadata=True,
                cursor=cursor,
            )
            for message in page.get("messages") or []:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                if (
                    meta.get("event_type") == METADATA_EVENT
                    and payload.get("idempotency_key") == row.idempotency_key
                ):
                    log.info(
                        "outbox %s was already in Slack; not posting again", row.idempotency_key
                    )
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not page.get("has_more") or not cursor:
                return None
        return None

    def _pace(self, row: OutboxMessage) -> None:
        # _next_ready only hands out rows whose channel is ready: just note this post.
        self._ready_at[_pace_key(row)] = time.monotonic() + self.policy.pace_seconds


#: Rows of this kind edit a message in place (chat.update): Slack's one-post-per-second
#: pacing does not apply to them.
UPDATE_KIND = "message_update"


def _pace_key(row: OutboxMessage) -> str:
    return row.recipient or row.channel or "-"


def _ready(row: OutboxMessage, ready_at: dict[str, float], now: float) -> bool:
    return row.kind == UPDATE_KIND or ready_at.get(_pace_key(row), 0.0) <= now


def _may_have_reached_slack(row: OutboxMessage) -> bool:
    """Tried before (claimed twice, or a try ended without a clear answer)."""
    return row.attempts > 1 or row.last_error is not None


def _round_robin(rows: Iterable[OutboxMessage]) -> list[OutboxMessage]:
    """Interleave channels so pacing one channel never holds up the others."""
    by_channel: dict[str, list[OutboxMessage]] = {}
    for row in rows:
        by_channel.setdefault(_pace_key(row), []).append(row)
    ordered: list[OutboxMessage] = []
    queues = list(by_channel.values())
    while queues:
        for queue in list(queues):
            ordered.append(queue.pop(0))
            if not queue:
                queues.remove(queue)
    return ordered

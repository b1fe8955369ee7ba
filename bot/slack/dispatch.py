"""Outbox → Slack: what each row says (a message, or an in-place update of one).

The delivery guarantees — leases, pacing, backoff, dead letters, reconciling a lost answer
against the channel's history — are `bot.delivery.outbox`'s. This module only knows how a row is
worded: it asks the services for the row's read model and renders it with the views.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from slack_sdk import WebClient
from sqlalchemy.exc import DBAPIError

from bot.clock import Clock
from bot.delivery.outbox import DeliveryPolicy, NotReady, Report, SlackCall, Undeliverable
from bot.delivery.outbox import Dispatcher as Engine
from bot.domain.errors import DomainError
from bot.services import Services
from bot.services.episodes import LIVE_KINDS
from bot.services.headsup_rules import HEADSUP_KIND
from bot.services.readmodels import OutboxKind, OutboxMessageData
from bot.slack.directory import SlackDirectory
from bot.slack.views.headsups import headsup_message
from bot.slack.views.messages import is_final, outbox_message
from storage.models import OutboxMessage
from storage.retry import is_transient, lock_waits_within

log = logging.getLogger(__name__)

DispatchReport = Report  # the name the surface has always used
DELIVERY_FAILED = "delivery_failed"


class Dispatcher:
    """Says outbox rows in Slack through the delivery engine."""

    def __init__(
        self,
        services: Services,
        client: WebClient,
        directory: SlackDirectory | None = None,
        *,
        policy: DeliveryPolicy | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.services = services
        self.client = client
        self.directory = directory
        self.engine = Engine(
            services.uow,
            client,
            self.prepare,
            clock=clock or services.clock,
            policy=policy or policy_from_settings(services),
            on_dead=self._report_dead,
        )
        #: What a listener could not say at once is said within seconds, in the background.
        self.followups = (
            FollowUps(self._deliver_patiently, first_wait=self.engine.policy.pace_seconds)
            if services.settings.followups_in_background
            else None
        )

    def _deliver_patiently(self, keys: list[str]) -> Report:
        return self.engine.run_once(keys=keys, patient=True)

    def deliver_due(self, *, timeout: float = 30.0) -> Report:
        """Send every row whose time has come, waiting out short retries (bounded)."""
        return self.engine.drain(timeout=timeout)

    def deliver(self, keys: Iterable[str]) -> Report:
        """Send these rows now if they are due (a listener's follow-ups), so the clinician
        sees the effect at once. One try each and no waiting on pacing - Slack wants its
        answer within 3 s: whatever cannot go now is left to the next pass."""
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return Report()
        # The change that queued these is already committed: a busy database here must not
        # turn its answer into an error, so lock waits stay within the budget and a failure
        # leaves the rows (durable in the outbox) to the next pass.
        try:
            with lock_waits_within(self.services.settings.write_budget_seconds):
                report = self.engine.run_once(keys=wanted, patient=False)
        except DBAPIError as error:
            if not is_transient(error):
                raise
            log.warning(
                "follow-ups handed to the background: the database was busy (%s)",
                error.__class__.__name__,
            )
            report = Report(deferred=wanted)
        if self.followups is not None:
            self.followups.add([*report.deferred, *(key for key, _ in report.retried)])
        return report

    def stop(self) -> None:
        """Finish the row in hand, give the rest back, claim nothing more."""
        self.engine.stopping = True
        if self.followups is not None:
            self.followups.stop()

    # -- wording ----------------------------------------------------------------------------
    def prepare(self, row: OutboxMessage) -> SlackCall | None:
        if row.kind == DELIVERY_FAILED:
            return SlackCall("chat.postMessage", row.recipient or "", str(row.payload.get("text")))
        if row.kind == HEADSUP_KIND or (
            row.kind == OutboxKind.MESSAGE_UPDATE and row.payload.get("headsup_target")
        ):
            return self._prepare_headsup(row)
        try:
            data = self._data(row.id)
        except DomainError as exc:
            raise Undeliverable(str(exc)) from exc
        message = outbox_message(data).to_dict()
        if data.is_update:
            if not data.channel or not data.ts:
                if data.status in ("pending", "in_flight"):
                    raise NotReady("the message to update is not posted yet")
                return None  # its message never reached Slack: nothing to update
            target = data.id
            retire = self.services.messages.retire_message
            on_sent = (lambda: retire(target)) if is_final(data) else None
            return SlackCall(
                "chat.update",
                data.channel,
                message["text"],
                message["blocks"],
                ts=data.ts,
                on_sent=on_sent,
            )
        if data.kind in LIVE_KINDS and not data.current:
            return None  # overtaken before it went out (the client replied, returned...)
        if not data.recipient:
            raise Undeliverable("no recipient (is CCT_CHANNEL_ID set?)")
        return SlackCall("chat.postMessage", data.recipient, message["text"], message["blocks"])

    def _prepare_headsup(self, row: OutboxMessage) -> SlackCall | None:
        """A heads-up (clinician DM only), or an in-place update of one once answered."""
        try:
            data = self.services.headsups.for_outbox(row.id)
        except DomainError as exc:
            raise Undeliverable(str(exc)) from exc
        if data is None:
            raise Undeliverable("not a heads-up")
        message = headsup_message(data).to_dict()
        if row.kind == OutboxKind.MESSAGE_UPDATE:
            target = (
                self.services.headsups.outbox_message_ref(data.outbox_id)
                if data.outbox_id
                else None
            )
            channel, ts = target or (None, None)
            if not channel or not ts:
                return None  # the heads-up never reached Slack: nothing to update
            return SlackCall("chat.update", channel, message["text"], message["blocks"], ts=ts)
        if not data.current:
            return None  # overtaken before it went out (the client came back)
        return SlackCall(
            "chat.postMessage", row.recipient or "", message["text"], message["blocks"]
        )

    def _data(self, outbox_id: int) -> OutboxMessageData:
        data = self.services.messages.outbox_message(outbox_id)
        if (
            self.directory is not None
            and data.recipient_kind == "clinician"
            and data.recipient
            and not data.is_update
        ):
            # Learn the clinician's zone and name before the first words reach them
            # (the check-in preview is signed with the name).
            profile = self.directory.profile(data.recipient)
            learned = profile is not None and self.services.clinicians.learn_clinician(
                data.recipient, timezone=profile.timezone, display_name=profile.real_name
            )
            # Who they are in the platform, from their Slack email (when not on record).
            mapped = profile is not None and self.services.chart.map_clinician(
                data.recipient, profile.email
            )
            if learned or mapped:
                data = self.services.messages.outbox_message(outbox_id)
        return data

    def _report_dead(self, row: OutboxMessage, error: str) -> None:
        """Tell CCT (no client detail: the kind, the chart id, the error) unless the failure
        is the CCT channel itself or a report of one."""
        if row.kind == DELIVERY_FAILED or row.recipient == self.services.settings.cct_channel_id:
            return
        self.services.messages.queue_delivery_failure(row.id, error)


class FollowUps:
    """A listener's follow-ups that could not go at once — their channel's pace was not
    free, or Slack failed for a moment — are tried again by one background thread within
    seconds (pacing honoured), instead of waiting for the next scheduler pass. The rows stay
    in the outbox throughout, so a stop or a crash only leaves them to the scheduler."""

    TRIES = 4

    def __init__(self, deliver: Callable[[list[str]], Report], *, first_wait: float) -> None:
        self._deliver = deliver
        self._first_wait = max(first_wait, 0.05)
        self._waiting: dict[str, tuple[float, int]] = {}  # key -> (when, tries left)
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stopping = False

    def add(self, keys: Iterable[str], *, wait: float | None = None, tries: int = TRIES) -> None:
        keys = [k for k in keys if k]
        if not keys:
            return
        when = time.monotonic() + (self._first_wait if wait is None else wait)
        with self._cond:
            if self._stopping:
                return
            for key in keys:
                self._waiting[key] = (when, tries)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="follow-ups", daemon=True)
                self._thread.start()
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._waiting.clear()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping:
                    now = time.monotonic()
                    due = {k: v for k, v in self._waiting.items() if v[0] <= now}
                    if due:
                        break
                    if not self._waiting:
                        self._cond.wait(30)
                        if not self._waiting:
                            self._thread = None
                            return
                        continue
                    self._cond.wait(min(when for when, _ in self._waiting.values()) - now)
                if self._stopping:
                    return
                for key in due:
                    del self._waiting[key]
            try:
                report = self._deliver(list(due))
            except Exception:
                log.exception("follow-ups left to the scheduler: the background send failed")
                continue
            again = [*report.deferred, *(key for key, _ in report.retried)]
            for key in again:
                left = due[key][1] - 1 if key in due else 0
                if left > 0:
                    self.add([key], wait=self._first_wait * 2 ** (self.TRIES - left), tries=left)


def policy_from_settings(services: Services) -> DeliveryPolicy:
    settings = services.settings
    return DeliveryPolicy(
        lease_seconds=settings.outbox_lease_seconds,
        max_attempts=settings.outbox_max_attempts,
        pace_seconds=settings.slack_pace_seconds,
    )

"""Outbox → Slack: each due row becomes a message (or an in-place update of one).

A row is marked sent only after Slack accepted it; the answer's channel and ts are stored
so the message can be updated later. Every post carries `metadata` naming the row's
idempotency key, so a crash between Slack's answer and our commit can be reconciled
against the channel's history (issue 6). A refusal or a network error is recorded on the
row (attempts + 1, last_error) and the row stays pending for the next pass.

Issue 6 extends `deliver_one` with leases, backoff, pacing and dead letters; the shape
here is deliberately one row in, one Web API call out, one record written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.readmodels import OutboxMessageData
from bot.services import CareService
from bot.slack.directory import SlackDirectory
from bot.slack.views.messages import is_final, outbox_message

log = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "discharge_bot_outbox"


@dataclass
class DispatchReport:
    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        text = f"{len(self.sent)} delivered"
        if self.failed:
            text += f", {len(self.failed)} failed (kept for retry)"
        if self.skipped:
            text += f", {len(self.skipped)} skipped"
        return text


class Dispatcher:
    def __init__(
        self,
        service: CareService,
        client: WebClient,
        directory: SlackDirectory | None = None,
    ) -> None:
        self.service = service
        self.client = client
        self.directory = directory

    def deliver_due(self, *, now: datetime | None = None, limit: int = 500) -> DispatchReport:
        """Send every pending row whose time has come."""
        report = DispatchReport()
        for outbox_id in self.service.due_outbox_ids(now=now, limit=limit):
            self.deliver_one(outbox_id, report)
        return report

    def deliver(self, keys: Iterable[str]) -> DispatchReport:
        """Send these rows now if they are due (a listener's follow-ups); others wait."""
        report = DispatchReport()
        wanted = list(dict.fromkeys(keys))
        if wanted:
            for outbox_id in self.service.due_outbox_ids(keys=wanted, limit=len(wanted)):
                self.deliver_one(outbox_id, report)
        return report

    def deliver_one(self, outbox_id: int, report: DispatchReport | None = None) -> None:
        report = report if report is not None else DispatchReport()
        try:
            data = self._data(outbox_id)
        except Exception:
            log.exception("outbox %s could not be rendered", outbox_id)
            self.service.mark_outbox_failed(outbox_id, error="render_failed")
            report.failed.append((str(outbox_id), "render_failed"))
            return
        try:
            if data.is_update:
                self._update(data, report)
            else:
                self._post(data, report)
        except SlackApiError as exc:
            error = str(exc.response.get("error") or f"http_{exc.response.status_code}")
            self._failed(data, error, report)
        except OSError as exc:  # connection refused/reset, timeouts
            self._failed(data, exc.__class__.__name__, report)

    def _data(self, outbox_id: int) -> OutboxMessageData:
        data = self.service.outbox_message(outbox_id)
        if (
            self.directory is not None
            and data.recipient_kind == "clinician"
            and data.recipient
            and not data.is_update
        ):
            # Learn the clinician's zone and name before the first words reach them
            # (the check-in preview is signed with the name).
            profile = self.directory.profile(data.recipient)
            if profile is not None and self.service.learn_clinician(
                data.recipient, timezone=profile.timezone, display_name=profile.real_name
            ):
                data = self.service.outbox_message(outbox_id)
        return data

    def _post(self, data: OutboxMessageData, report: DispatchReport) -> None:
        if not data.recipient:
            self._failed(data, "no recipient (is CCT_CHANNEL_ID set?)", report)
            return
        message = outbox_message(data).to_dict()
        response = self.client.chat_postMessage(
            channel=data.recipient,
            text=message["text"],
            blocks=message["blocks"],
            metadata={
                "event_type": METADATA_EVENT_TYPE,
                "event_payload": {"idempotency_key": data.key},
            },
            unfurl_links=False,
            unfurl_media=False,
        )
        self.service.mark_outbox_sent(
            data.delivery_id, channel=response.get("channel"), ts=response.get("ts")
        )
        report.sent.append(data.key)

    def _update(self, data: OutboxMessageData, report: DispatchReport) -> None:
        if not data.channel or not data.ts:
            self.service.mark_outbox_skipped(data.delivery_id, reason="not posted yet")
            report.skipped.append(data.key)
            return
        message = outbox_message(data).to_dict()
        self.client.chat_update(
            channel=data.channel, ts=data.ts, text=message["text"], blocks=message["blocks"]
        )
        self.service.mark_outbox_sent(data.delivery_id, channel=None, ts=None)
        if is_final(data):
            self.service.retire_message(data.id)
        report.sent.append(data.key)

    def _failed(self, data: OutboxMessageData, error: str, report: DispatchReport) -> None:
        log.warning("outbox %s (%s) not delivered: %s", data.delivery_id, data.kind, error)
        self.service.mark_outbox_failed(data.delivery_id, error=error)
        report.failed.append((data.key, error))

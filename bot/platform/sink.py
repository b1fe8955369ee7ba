"""Where platform webhook events land: each one becomes one service call, de-duplicated."""

from __future__ import annotations

import logging

from bot.domain.errors import DomainError, NotSaved, UnknownClient
from bot.domain.model import Cancellation, ChecklistStep, EventKind, State
from bot.platform.events import PlatformEvent, PlatformEventType, SinkResult
from bot.services import Services
from bot.services.types import Actor, Outcome, Source

log = logging.getLogger(__name__)

_SESSION_KINDS = {
    PlatformEventType.SESSION_ATTENDED: EventKind.SESSION_ATTENDED,
    PlatformEventType.SESSION_CANCELLED: EventKind.SESSION_CANCELLED,
    PlatformEventType.SESSION_NO_SHOW: EventKind.SESSION_NO_SHOW,
    PlatformEventType.SESSION_SCHEDULED: EventKind.SESSION_SCHEDULED,
}


class ServiceSink:
    """The `EventSink` the webhooks are given: the event and its id are stored together.

    A fact the policy cannot use right now (a group move while no checklist is open, an
    "attended" reported for a future date) is logged and acknowledged, not retried for days.
    """

    def __init__(self, services: Services) -> None:
        self.services = services

    def __call__(self, event: PlatformEvent, /) -> SinkResult:
        actor = Actor(f"platform:{event.source}", Source.PLATFORM)
        try:
            outcome = self._apply(event, actor)
        except UnknownClient:
            return SinkResult.UNKNOWN_CLIENT
        except NotSaved:
            raise  # a 5xx: the platform delivers it again later, and nothing was kept
        except DomainError as refused:
            log.warning(
                "platform event %s (%s) not applied: %s", event.event_id, event.type, refused
            )
            return SinkResult.APPLIED
        if outcome is None:
            return SinkResult.APPLIED
        return SinkResult.DUPLICATE if outcome.duplicate else SinkResult.APPLIED

    def _apply(self, event: PlatformEvent, actor: Actor) -> Outcome | None:
        services = self.services
        if event.type is PlatformEventType.CLIENT_MESSAGE:
            return services.recording.record_client_message(
                event.client_id,
                occurred_at=event.occurred_at,
                actor=actor,
                delivery_id=event.event_id,
            )
        if event.type is PlatformEventType.CHART_NOTE_SIGNED:
            # Look at step 2 again (it ticks itself once no note is left unsigned).
            services.chart.notes_changed(event.client_id, actor=actor)
            return None
        if event.type is PlatformEventType.CLIENT_DISCHARGED_GROUP:
            state = services.recording.current_state(event.client_id, actor=actor)
            if state is not State.INACTIVE:
                log.info(
                    "group move for a client whose checklist is not open (%s): noted only", state
                )
                return services.recording.acknowledge_delivery(
                    event.client_id, delivery_id=event.event_id, actor=actor
                )
            return services.checklist.complete_step(
                event.client_id,
                ChecklistStep.MOVED_TO_GROUP,
                actor=actor,
                by_platform=True,
                delivery_id=event.event_id,
            )
        kind = _SESSION_KINDS[event.type]
        session_at = event.session_at
        if kind is EventKind.SESSION_SCHEDULED and session_at is None:
            session_at = event.occurred_at
        return services.recording.record_session(
            event.client_id,
            kind,
            occurred_at=event.occurred_at,
            session_at=session_at,
            actor=actor,
            delivery_id=event.event_id,
            provider_id=event.provider_id,
            cancellation=Cancellation(event.cancellation) if event.cancellation else None,
            rescheduled_to=event.rescheduled_to,
        )

"""The in-process scheduler: one periodic job that ticks and then delivers.

The database is the schedule; APScheduler only wakes us up. Issue 6 adds the weekly digest
job, leases and graceful shutdown here.
"""

from __future__ import annotations

import logging
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from bot.services import CareService
from bot.slack.dispatch import Dispatcher, DispatchReport

log = logging.getLogger(__name__)


def tick_and_deliver(service: CareService, dispatcher: Dispatcher | None) -> DispatchReport | None:
    """One pass: queue what is due now, then send what is due (when Slack is configured)."""
    result = service.tick()
    if result.queued:
        log.info("tick queued %d message(s)", len(result.queued))
    if dispatcher is None:
        return None
    report = dispatcher.deliver_due()
    if report.sent or report.failed:
        log.info("dispatch: %s", report)
    return report


def start_scheduler(
    service: CareService, dispatcher: Dispatcher | None, *, tick_seconds: int
) -> Any:
    """Start the tick job in a background thread; `shutdown()` the returned scheduler."""
    scheduler = BackgroundScheduler(timezone="UTC")

    def job() -> None:
        try:
            tick_and_deliver(service, dispatcher)
        except Exception:
            log.exception("the scheduled tick failed; the next one retries")

    scheduler.add_job(
        job,
        "interval",
        seconds=tick_seconds,
        id="tick",
        coalesce=True,
        max_instances=1,
        next_run_time=service.clock.now(),
    )
    scheduler.start()
    return scheduler
